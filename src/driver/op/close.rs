use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;
use std::os::fd::RawFd;

/// IORING_OP_CLOSE of a descriptor handed off by its last owner.
pub(crate) struct Close {
    fd: RawFd,
}

/// Close `fd` (which must be the last reference) through the ring, or with
/// `close(2)` when no runtime is running on this thread.
pub(crate) async fn close(fd: SharedFd) -> io::Result<()> {
    if crate::runtime::context::driver().is_none() {
        drop(fd);
        return Ok(());
    }
    let raw = fd.hand_off();
    drop(fd);
    Op::submit(Close { fd: raw }).await
}

// SAFETY: the entry carries no pointers.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        opcode::Close::new(types::Fd(self.fd)).build()
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }
}
