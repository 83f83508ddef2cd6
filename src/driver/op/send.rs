use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_SEND with MSG_NOSIGNAL: a closed peer gives EPIPE, never SIGPIPE.
pub(crate) struct Send<B> {
    fd: SharedFd,
    buf: B,
    len: u32,
}

impl<B: IoBuf> Send<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B) -> Op<Send<B>> {
        let len = checks::clamp_length(buf.bytes_init());
        Op::submit(Send {
            fd: fd.clone(),
            buf,
            len,
        })
    }
}

// SAFETY: the entry points at `len` initialised bytes of `buf`'s stable
// memory (IoBuf contract), which `self` owns.
unsafe impl<B: IoBuf> OpCode for Send<B> {
    type Output = BufResult<usize, B>;

    fn entry(&mut self) -> squeue::Entry {
        self.fd.entry(|fd| {
            opcode::Send::new(fd, self.buf.stable_ptr(), self.len)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        })
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, B> {
        (result.map(|n| n as usize), self.buf)
    }

    fn orphan(self) {
        // The kernel may still read the buffer; the socket is released.
        std::mem::forget(self.buf);
    }
}
