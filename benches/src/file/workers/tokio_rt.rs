//! tokio file workers, on a `current_thread` runtime (`enable_all`) with the
//! default blocking pool; the `qd` loops are `spawn_local`ed on a `LocalSet`
//! (they share an `Rc<RefCell<Histogram>>`, as corio's worker does).
//!
//! - `random_read_fs`: `tokio::fs::File`, what tokio users write: one
//!   handle per loop (`qd` handles), `seek` + `read_exact` of one block
//!   into the loop's [`AlignedBuf`]. Under the hood the seek and the read
//!   are each a blocking-pool job, and the read lands in the `File`'s own
//!   buffer and is copied out.
//! - `random_read_pread`: one `spawn_blocking` running one `pread`
//!   (`FileExt::read_at` on an `Arc<std::fs::File>`) per read, straight into
//!   the loop's [`AlignedBuf`] (moved into the job and back).
//! - `seq_write`: `tokio::fs::File`, one handle per loop: `seek` (only when
//!   the cursor is not already at the block, so never at QD 1) +
//!   `write_all`, a `flush` at the end of each loop, then `sync_all`.

use super::{
    check_block, fill_block, histogram, open_flags, AlignedBuf, ReadResult, ReadSpec, WriteResult,
    WriteSpec,
};
use crate::stats::Rng;
use std::cell::RefCell;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::task::{spawn_local, LocalSet};

/// Run `f` on a fresh current-thread runtime inside a `LocalSet`.
fn run<F: Future<Output = io::Result<T>>, T>(f: F) -> io::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    LocalSet::new().block_on(&rt, f)
}

fn join_err(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("tokio task failed: {e}"))
}

/// `tokio::fs::File` reads into its own `Vec` (then copies into the
/// caller's slice), which is not 4096-aligned, so with O_DIRECT every read
/// fails with EINVAL: there is no way to hand it an aligned buffer. Say so
/// plainly (the message starts with "n/a") instead of a bare EINVAL.
fn direct_unsupported(e: io::Error, direct: bool) -> io::Error {
    if direct && e.raw_os_error() == Some(libc::EINVAL) {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "n/a: tokio::fs::File reads through its own unaligned buffer, so O_DIRECT reads fail with EINVAL",
        )
    } else {
        e
    }
}

pub fn random_read_fs(spec: &ReadSpec) -> io::Result<ReadResult> {
    run(async {
        let mut files = Vec::with_capacity(spec.qd);
        for _ in 0..spec.qd {
            files.push(
                tokio::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(open_flags(spec.direct))
                    .open(&spec.path)
                    .await?,
            );
        }
        let hist = Rc::new(RefCell::new(histogram()));
        let start = Instant::now();
        let deadline = start + spec.duration;
        let mut loops = Vec::new();
        for (k, mut file) in files.into_iter().enumerate() {
            let (hist, spec) = (hist.clone(), spec.clone());
            loops.push(spawn_local(async move {
                let mut rng = Rng::new(spec.seed + k as u64);
                let mut buf = AlignedBuf::new(spec.block);
                let mut ops = 0u64;
                // One clock read per read, as in the raw loop: the end of one
                // read is the start of the next and the deadline check.
                let mut t = Instant::now();
                while t < deadline {
                    let offset = rng.below(spec.blocks) * spec.block as u64;
                    file.seek(SeekFrom::Start(offset)).await?;
                    let n = file
                        .read_exact(&mut buf.as_mut_slice()[..spec.block])
                        .await
                        .map_err(|e| direct_unsupported(e, spec.direct))?;
                    let done = Instant::now();
                    let elapsed = (done - t).as_nanos() as u64;
                    t = done;
                    check_block(&buf.as_slice()[..n], offset, spec.full_check)?;
                    let _ = hist.borrow_mut().record(elapsed.max(1));
                    ops += 1;
                }
                io::Result::Ok(ops)
            }));
        }
        let mut ops = 0;
        for handle in loops {
            ops += handle.await.map_err(join_err)??;
        }
        let elapsed = start.elapsed();
        let hist = hist.borrow().clone();
        Ok(ReadResult { ops, elapsed, hist })
    })
}

pub fn random_read_pread(spec: &ReadSpec) -> io::Result<ReadResult> {
    run(async {
        let file = Arc::new(
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(open_flags(spec.direct))
                .open(&spec.path)?,
        );
        let hist = Rc::new(RefCell::new(histogram()));
        let start = Instant::now();
        let deadline = start + spec.duration;
        let mut loops = Vec::new();
        for k in 0..spec.qd {
            let (file, hist, spec) = (file.clone(), hist.clone(), spec.clone());
            loops.push(spawn_local(async move {
                let mut rng = Rng::new(spec.seed + k as u64);
                let mut buf = AlignedBuf::new(spec.block);
                let mut ops = 0u64;
                // One clock read per read, as in the raw loop: the end of one
                // read is the start of the next and the deadline check.
                let mut t = Instant::now();
                while t < deadline {
                    let offset = rng.below(spec.blocks) * spec.block as u64;
                    let (file, block) = (file.clone(), spec.block);
                    let (res, b) = tokio::task::spawn_blocking(move || {
                        let res = file.read_at(&mut buf.as_mut_slice()[..block], offset);
                        (res, buf)
                    })
                    .await
                    .map_err(join_err)?;
                    buf = b;
                    let n = res?;
                    let done = Instant::now();
                    let elapsed = (done - t).as_nanos() as u64;
                    t = done;
                    check_block(&buf.as_slice()[..n], offset, spec.full_check)?;
                    let _ = hist.borrow_mut().record(elapsed.max(1));
                    ops += 1;
                }
                io::Result::Ok(ops)
            }));
        }
        let mut ops = 0;
        for handle in loops {
            ops += handle.await.map_err(join_err)??;
        }
        let elapsed = start.elapsed();
        let hist = hist.borrow().clone();
        Ok(ReadResult { ops, elapsed, hist })
    })
}

pub fn seq_write(spec: &WriteSpec) -> io::Result<WriteResult> {
    run(async {
        let start = Instant::now();
        let mut files = vec![tokio::fs::File::create(&spec.path).await?];
        for _ in 1..spec.qd {
            files.push(
                tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&spec.path)
                    .await?,
            );
        }
        let blocks = spec.total.div_ceil(spec.block as u64);
        let mut loops = Vec::new();
        for (k, mut file) in files.into_iter().enumerate() {
            let spec = spec.clone();
            loops.push(spawn_local(async move {
                let mut buf = AlignedBuf::new(spec.block);
                fill_block(buf.as_mut_slice(), 0);
                let block = spec.block as u64;
                let mut cursor = 0u64;
                let mut j = k as u64;
                while j < blocks {
                    if cursor != j * block {
                        file.seek(SeekFrom::Start(j * block)).await?;
                    }
                    // tokio::fs::File copies the block into its own buffer
                    // and writes it behind; the next seek or the flush waits
                    // for that write and reports its error.
                    file.write_all(&buf.as_slice()[..spec.block]).await?;
                    cursor = (j + 1) * block;
                    j += spec.qd as u64;
                }
                file.flush().await?;
                io::Result::Ok(file)
            }));
        }
        let mut first = None;
        for handle in loops {
            let file = handle.await.map_err(join_err)??;
            first.get_or_insert(file);
        }
        if let Some(file) = first {
            file.sync_all().await?;
        }
        Ok(WriteResult {
            bytes: blocks * spec.block as u64,
            elapsed: start.elapsed(),
        })
    })
}
