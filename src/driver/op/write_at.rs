use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_WRITE at an offset: `pwrite` from an owned buffer.
pub(crate) struct WriteAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    len: u32,
}

impl<B: IoBuf> WriteAt<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B, offset: u64) -> Op<WriteAt<B>> {
        let checked = checks::offset(offset).and_then(|_| checks::length(buf.bytes_init()));
        let op = WriteAt {
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

// SAFETY: the entry points at `len` initialised bytes of `buf`'s stable
// memory (IoBuf contract), which `self` owns.
unsafe impl<B: IoBuf> OpCode for WriteAt<B> {
    type Output = BufResult<usize, B>;

    fn entry(&mut self) -> squeue::Entry {
        let (ptr, len, offset) = (self.buf.stable_ptr(), self.len, self.offset);
        // A registered buffer of this ring: WRITE_FIXED skips pinning it.
        match self.buf.fixed_buffer().and_then(|b| b.slot_here()) {
            Some(slot) => self.fd.entry(|fd| {
                opcode::WriteFixed::new(fd, ptr, len, slot)
                    .offset(offset)
                    .build()
            }),
            None => self
                .fd
                .entry(|fd| opcode::Write::new(fd, ptr, len).offset(offset).build()),
        }
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, B> {
        (result.map(|n| n as usize), self.buf)
    }

    fn orphan(self) {
        // The kernel may still read the buffer; the file is released.
        std::mem::forget(self.buf);
    }
}
