use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use socket2::SockAddr;
use std::io;

/// IORING_OP_CONNECT.
pub(crate) struct Connect {
    fd: SharedFd,
    /// Boxed: older kernels read the address when the request is issued,
    /// which can be after submission.
    addr: Box<SockAddr>,
}

impl Connect {
    pub(crate) fn submit(fd: &SharedFd, addr: SockAddr) -> Op<Connect> {
        Op::submit(Connect {
            fd: fd.clone(),
            addr: Box::new(addr),
        })
    }
}

// SAFETY: the entry points at the boxed address owned by `self`.
unsafe impl OpCode for Connect {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        self.fd.entry(|fd| {
            opcode::Connect::new(fd, self.addr.as_ptr().cast(), self.addr.len()).build()
        })
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }

    fn orphan(self) {
        // The kernel may still read the address; the socket is released.
        std::mem::forget(self.addr);
    }
}
