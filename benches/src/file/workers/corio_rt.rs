use super::{
    check_block, fill_block, histogram, open_flags, AlignedBuf, ReadResult, ReadSpec, WriteResult,
    WriteSpec,
};
use crate::stats::Rng;
use corio::buf::{FixedBufPool, IoBufMut};
use corio::fs::OpenOptions;
use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Instant;

// SAFETY: the allocation is fixed for the buffer's life and `len <= cap`
// bytes are initialised (all of them are, zeroed at allocation).
unsafe impl corio::buf::IoBuf for AlignedBuf {
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

// SAFETY: see IoBuf; the whole capacity is writable.
unsafe impl corio::buf::IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded contract (`pos <= capacity`).
        unsafe { self.set_len(pos) }
    }
}

/// Random reads, each task reusing one buffer (from the heap, or with
/// `fixed`, from a registered `FixedBufPool`: READ_FIXED).
fn random_read_with(spec: &ReadSpec, fixed: bool) -> io::Result<ReadResult> {
    let rt = corio::Builder::new()
        .entries((spec.qd as u32 * 2).max(256))
        .build()?;
    rt.block_on(async {
        let file = Rc::new(
            OpenOptions::new()
                .read(true)
                .custom_flags(open_flags(spec.direct))
                .open(&spec.path)
                .await?,
        );
        let pool = if fixed {
            Some(FixedBufPool::new(spec.qd as u16, spec.block)?)
        } else {
            None
        };
        let hist = Rc::new(RefCell::new(histogram()));
        let start = Instant::now();
        let mut loops = Vec::new();
        for k in 0..spec.qd {
            let (file, hist, spec) = (file.clone(), hist.clone(), spec.clone());
            let reads = match &pool {
                Some(pool) => {
                    let buf = pool.try_take().expect("one buffer per task");
                    corio::spawn(read_loop(file, hist, spec, k, buf, |b| &b[..]))
                }
                None => {
                    let buf = AlignedBuf::new(spec.block);
                    corio::spawn(read_loop(file, hist, spec, k, buf, |b| b.as_slice()))
                }
            };
            loops.push(reads);
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

/// One task's reads until the deadline; its op count.
async fn read_loop<B: IoBufMut>(
    file: Rc<corio::fs::File>,
    hist: Rc<RefCell<Histogram<u64>>>,
    spec: ReadSpec,
    k: usize,
    mut buf: B,
    view: fn(&B) -> &[u8],
) -> io::Result<u64> {
    let deadline = Instant::now() + spec.duration;
    let mut rng = Rng::new(spec.seed + k as u64);
    let mut ops = 0u64;
    // One clock read per read, as in the raw loop: the end of one read is
    // the start of the next and the deadline check.
    let mut t = Instant::now();
    while t < deadline {
        let offset = rng.below(spec.blocks) * spec.block as u64;
        let (res, b) = file.read_at(buf, offset).await;
        buf = b;
        let n = res?;
        let done = Instant::now();
        let elapsed = (done - t).as_nanos() as u64;
        t = done;
        check_block(&view(&buf)[..n], offset, spec.full_check)?;
        let _ = hist.borrow_mut().record(elapsed.max(1));
        ops += 1;
    }
    Ok(ops)
}

pub fn random_read(spec: &ReadSpec) -> io::Result<ReadResult> {
    random_read_with(spec, false)
}

/// As `random_read`, the buffers registered with the ring (READ_FIXED).
pub fn random_read_fixed(spec: &ReadSpec) -> io::Result<ReadResult> {
    random_read_with(spec, true)
}

pub fn seq_write(spec: &WriteSpec) -> io::Result<WriteResult> {
    let rt = corio::Builder::new().entries(256).build()?;
    rt.block_on(async {
        let start = Instant::now();
        let file = Rc::new(corio::fs::File::create(&spec.path).await?);
        let blocks = spec.total.div_ceil(spec.block as u64);
        let mut loops = Vec::new();
        for k in 0..spec.qd as u64 {
            let (file, spec) = (file.clone(), spec.clone());
            loops.push(corio::spawn(async move {
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
            handle.await.map_err(io::Error::from)??;
        }
        file.sync_all().await?;
        Ok(WriteResult {
            bytes: blocks * spec.block as u64,
            elapsed: start.elapsed(),
        })
    })
}
