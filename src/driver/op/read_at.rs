use super::{checks, recv::received, Op, OpCode};
use crate::buf::{BufResult, IoBufMut};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_READ: `pread` into an owned buffer — or, on a byte stream
/// (pipe, FIFO, character device), a plain `read` whose bytes, if its
/// future is dropped after they arrived, go to the descriptor for the next
/// read (as [`Recv`](super::Recv) does).
pub(crate) struct ReadAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    len: u32,
    /// A read of a byte stream: rescue the bytes of a dropped read.
    stream: bool,
}

impl<B: IoBufMut> ReadAt<B> {
    /// Read at `offset` of a seekable file.
    pub(crate) fn submit(fd: &SharedFd, buf: B, offset: u64) -> Op<ReadAt<B>> {
        let checked = checks::offset(offset);
        Self::checked(fd, buf, offset, checked, false)
    }

    /// Read the next bytes of a byte stream.
    pub(crate) fn submit_stream(fd: &SharedFd, buf: B) -> Op<ReadAt<B>> {
        // -1: "the current position", which a stream does not have.
        Self::checked(fd, buf, u64::MAX, Ok(u64::MAX), true)
    }

    fn checked(
        fd: &SharedFd,
        buf: B,
        offset: u64,
        checked_offset: io::Result<u64>,
        stream: bool,
    ) -> Op<ReadAt<B>> {
        let checked = checked_offset
            .and_then(|_| checks::length(buf.bytes_total()))
            .and_then(|len| buf.check_read_target().map(|()| len));
        let op = ReadAt {
            fd: fd.clone(),
            buf,
            offset,
            len: *checked.as_ref().unwrap_or(&0),
            stream,
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
        let (ptr, len, offset) = (self.buf.stable_mut_ptr(), self.len, self.offset);
        // A registered buffer of this ring: READ_FIXED skips pinning it.
        match self.buf.fixed_buffer().and_then(|b| b.slot_here()) {
            Some(slot) => self.fd.entry(|fd| {
                opcode::ReadFixed::new(fd, ptr, len, slot)
                    .offset(offset)
                    .build()
            }),
            None => self
                .fd
                .entry(|fd| opcode::Read::new(fd, ptr, len).offset(offset).build()),
        }
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

    fn abandon(&mut self) {
        if self.stream {
            self.fd.read_abandoned();
        }
    }

    fn complete_abandoned(self, completion: Completion) {
        if self.stream {
            self.fd
                .read_settled(received(&self.buf, self.len, completion));
        }
    }

    fn orphan(self) {
        if self.stream {
            self.fd.read_orphaned();
        }
        // The kernel may still write into the buffer.
        std::mem::forget(self.buf);
    }
}
