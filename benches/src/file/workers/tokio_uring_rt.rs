//! tokio-uring file worker: `tokio_uring::fs::File::read_at` /
//! `write_all_at` with owned [`AlignedBuf`]s, `qd` tasks on one runtime
//! thread, ring of max(256, 2·qd) entries (as corio's worker).

use super::{
    check_block, fill_block, histogram, open_flags, AlignedBuf, ReadResult, ReadSpec, WriteResult,
    WriteSpec,
};
use crate::stats::Rng;
use std::cell::RefCell;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::time::Instant;
use tokio_uring::fs::{File, OpenOptions};

// SAFETY: the allocation never moves or changes while the buffer lives (the
// pointer is stable across moves of the AlignedBuf value), `len <= cap`, and
// every byte of the allocation is initialised (zeroed at allocation).
unsafe impl tokio_uring::buf::IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: see IoBuf; the whole capacity is owned and writable.
unsafe impl tokio_uring::buf::IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // tokio-uring's contract: `pos` is a high-water mark (only raises
        // the initialised length).
        if pos > self.len() {
            // SAFETY: the caller guarantees `pos <= bytes_total()`; all bytes
            // are initialised anyway.
            unsafe { self.set_len(pos) }
        }
    }
}

fn ring_entries(qd: usize) -> u32 {
    (qd as u32 * 2).max(256)
}

fn join_err(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("tokio-uring task failed: {e}"))
}

pub fn random_read(spec: &ReadSpec) -> io::Result<ReadResult> {
    tokio_uring::builder()
        .entries(ring_entries(spec.qd))
        .start(async {
            let file = Rc::new(
                OpenOptions::new()
                    .read(true)
                    .custom_flags(open_flags(spec.direct))
                    .open(&spec.path)
                    .await?,
            );
            let hist = Rc::new(RefCell::new(histogram()));
            let start = Instant::now();
            let deadline = start + spec.duration;
            let mut loops = Vec::new();
            for k in 0..spec.qd {
                let (file, hist, spec) = (file.clone(), hist.clone(), spec.clone());
                loops.push(tokio_uring::spawn(async move {
                    let mut rng = Rng::new(spec.seed + k as u64);
                    let mut buf = AlignedBuf::new(spec.block);
                    let mut ops = 0u64;
                    // One clock read per read, as in the raw loop: the end of one
                    // read is the start of the next and the deadline check.
                    let mut t = Instant::now();
                    while t < deadline {
                        let offset = rng.below(spec.blocks) * spec.block as u64;
                        let (res, b) = file.read_at(buf, offset).await;
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
    tokio_uring::builder().entries(256).start(async {
        let start = Instant::now();
        let file = Rc::new(File::create(&spec.path).await?);
        let blocks = spec.total.div_ceil(spec.block as u64);
        let mut loops = Vec::new();
        for k in 0..spec.qd as u64 {
            let (file, spec) = (file.clone(), spec.clone());
            loops.push(tokio_uring::spawn(async move {
                let mut buf = AlignedBuf::new(spec.block);
                fill_block(buf.as_mut_slice(), 0);
                let mut j = k;
                while j < blocks {
                    let (res, b) = file.write_all_at(buf, j * spec.block as u64).await;
                    buf = b;
                    res?;
                    j += spec.qd as u64;
                }
                io::Result::Ok(())
            }));
        }
        for handle in loops {
            handle.await.map_err(join_err)??;
        }
        file.sync_all().await?;
        Ok(WriteResult {
            bytes: blocks * spec.block as u64,
            elapsed: start.elapsed(),
        })
    })
}
