use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBufMut};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_READ at an offset: `pread` into an owned buffer.
pub(crate) struct ReadAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    len: u32,
}

impl<B: IoBufMut> ReadAt<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B, offset: u64) -> Op<ReadAt<B>> {
        let checked = checks::offset(offset).and_then(|_| checks::length(buf.bytes_total()));
        let op = ReadAt {
            fd: fd.clone(),
            buf,
            offset,
            len: *checked.as_ref().unwrap_or(&0),
        };
        match checked {
            Ok(_) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry points at `buf`'s stable memory (IoBufMut contract),
// `len` bytes of it, which `self` owns.
unsafe impl<B: IoBufMut> OpCode for ReadAt<B> {
    type Output = BufResult<usize, B>;

    fn entry(&mut self) -> squeue::Entry {
        self.fd.entry(|fd| {
            opcode::Read::new(fd, self.buf.stable_mut_ptr(), self.len)
                .offset(self.offset)
                .build()
        })
    }

    fn complete(mut self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, B> {
        let result = result.map(|n| {
            // SAFETY: the kernel wrote `n <= len <= bytes_total` bytes from
            // the buffer's start.
            unsafe { self.buf.set_init(n as usize) };
            n as usize
        });
        (result, self.buf)
    }
}
