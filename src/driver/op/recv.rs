use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_RECV on a stream socket. If its future is dropped after the
/// kernel received bytes, they are handed to the descriptor and the next
/// read returns them first.
pub(crate) struct Recv<B> {
    fd: SharedFd,
    buf: B,
    len: u32,
}

impl<B: IoBufMut> Recv<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B) -> Op<Recv<B>> {
        let len = checks::clamp_length(buf.bytes_total());
        let checked = buf.check_read_target();
        let op = Recv {
            fd: fd.clone(),
            buf,
            len,
        };
        match checked {
            Ok(()) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry points at `len` writable bytes of `buf`'s stable memory
// (IoBufMut contract), which `self` owns.
unsafe impl<B: IoBufMut> OpCode for Recv<B> {
    type Output = BufResult<usize, B>;

    fn entry(&mut self) -> squeue::Entry {
        // No IORING_RECVSEND_POLL_FIRST: measured, it saves an attempt only
        // when the socket is really empty, and under load (C=1024 echo) the
        // next message is usually there already: +20 % server CPU.
        self.fd
            .entry(|fd| opcode::Recv::new(fd, self.buf.stable_mut_ptr(), self.len).build())
    }

    fn complete(mut self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, B> {
        let result = result.map(|n| {
            // SAFETY: the kernel wrote `n <= len` bytes from the start.
            unsafe { self.buf.set_init(n as usize) };
            n as usize
        });
        (result, self.buf)
    }

    fn abandon(&mut self) {
        self.fd.read_abandoned();
    }

    fn complete_abandoned(self, completion: Completion) {
        self.fd
            .read_settled(received(&self.buf, self.len, completion));
    }

    fn orphan(self) {
        self.fd.read_orphaned();
        // The kernel may still write into the buffer.
        std::mem::forget(self.buf);
    }
}

/// The bytes a dropped read's final completion says the kernel wrote at the
/// start of `buf` (none if it failed or was cancelled).
pub(super) fn received<B: IoBuf>(buf: &B, len: u32, completion: Completion) -> &[u8] {
    let n = match completion.result() {
        Ok(n) => n.min(len) as usize,
        Err(_) => 0,
    };
    // SAFETY: the kernel wrote `n <= len <= bytes_total` bytes at the
    // buffer's start and is done with it (this is the final completion).
    unsafe { std::slice::from_raw_parts(buf.stable_ptr(), n) }
}
