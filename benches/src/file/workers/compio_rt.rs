//! compio file worker (io_uring driver): `compio::fs::File::read_at` /
//! `write_all_at` with owned [`AlignedBuf`]s, `qd` tasks on one runtime
//! thread, ring of max(256, 2·qd) entries (as corio's worker; compio's own
//! default is 1024).

use super::{
    check_block, fill_block, histogram, open_flags, AlignedBuf, ReadResult, ReadSpec, WriteResult,
    WriteSpec,
};
use crate::stats::Rng;
use compio::buf::{IoBuf, IoBufMut, SetLen};
use compio::fs::{File, OpenOptions};
use compio::io::{AsyncReadAt, AsyncWriteAtExt};
use compio::BufResult;
use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::Instant;

// compio-buf 0.8's traits are safe to implement; the slices they hand out
// are what the driver points the kernel at. The AlignedBuf's allocation
// never moves while the value lives, so the pointers stay valid while
// compio owns the buffer.
impl IoBuf for AlignedBuf {
    fn as_init(&self) -> &[u8] {
        self.as_slice()
    }
}

impl SetLen for AlignedBuf {
    unsafe fn set_len(&mut self, len: usize) {
        // SAFETY: forwarded contract (`len <= capacity`); every byte is
        // initialised anyway.
        unsafe { AlignedBuf::set_len(self, len) }
    }
}

impl IoBufMut for AlignedBuf {
    fn as_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: the allocation holds `capacity()` bytes, exclusively
        // borrowed through `&mut self`; `MaybeUninit<u8>` has the layout of
        // `u8`, and the kernel only ever writes initialised bytes into it.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.as_mut_ptr().cast::<MaybeUninit<u8>>(),
                self.capacity(),
            )
        }
    }
}

fn runtime(entries: u32) -> io::Result<compio::runtime::Runtime> {
    let mut proactor = compio::driver::ProactorBuilder::new();
    proactor.capacity(entries);
    compio::runtime::Runtime::builder()
        .with_proactor(proactor)
        .build()
}

pub fn random_read(spec: &ReadSpec) -> io::Result<ReadResult> {
    runtime((spec.qd as u32 * 2).max(256))?.block_on(async {
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
            loops.push(compio::runtime::spawn(async move {
                let mut rng = Rng::new(spec.seed + k as u64);
                let mut buf = AlignedBuf::new(spec.block);
                let mut ops = 0u64;
                // One clock read per read, as in the raw loop: the end of one
                // read is the start of the next and the deadline check.
                let mut t = Instant::now();
                while t < deadline {
                    let offset = rng.below(spec.blocks) * spec.block as u64;
                    // compio reads into the start of the buffer (the whole
                    // capacity) and only raises the length; the bytes read
                    // are `..n`.
                    let BufResult(res, b) = file.read_at(buf, offset).await;
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
            ops += handle.await.map_err(io::Error::from)??;
        }
        let elapsed = start.elapsed();
        let hist = hist.borrow().clone();
        Ok(ReadResult { ops, elapsed, hist })
    })
}

pub fn seq_write(spec: &WriteSpec) -> io::Result<WriteResult> {
    runtime(256)?.block_on(async {
        let start = Instant::now();
        let file = Rc::new(File::create(&spec.path).await?);
        let blocks = spec.total.div_ceil(spec.block as u64);
        let mut loops = Vec::new();
        for k in 0..spec.qd as u64 {
            let (file, spec) = (file.clone(), spec.clone());
            loops.push(compio::runtime::spawn(async move {
                let mut buf = AlignedBuf::new(spec.block);
                fill_block(buf.as_mut_slice(), 0);
                // compio's positional writes take `&mut self`; `&File`
                // implements them.
                let mut f: &File = &file;
                let mut j = k;
                while j < blocks {
                    let BufResult(res, b) = f.write_all_at(buf, j * spec.block as u64).await;
                    buf = b;
                    res?;
                    j += spec.qd as u64;
                }
                io::Result::Ok(())
            }));
        }
        for handle in loops {
            handle.await.map_err(io::Error::from)??;
        }
        file.sync_all().await?;
        Ok(WriteResult {
            bytes: blocks * spec.block as u64,
            elapsed: start.elapsed(),
        })
    })
}
