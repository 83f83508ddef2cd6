use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;

/// IORING_OP_FSYNC, optionally with IORING_FSYNC_DATASYNC (`fdatasync`).
pub(crate) struct Fsync {
    fd: SharedFd,
    data_only: bool,
}

impl Fsync {
    pub(crate) fn submit(fd: &SharedFd, data_only: bool) -> Op<Fsync> {
        Op::submit(Fsync {
            fd: fd.clone(),
            data_only,
        })
    }
}

// SAFETY: the entry carries no pointers; `fd` is kept open by `self`.
unsafe impl OpCode for Fsync {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        let flags = if self.data_only {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        self.fd
            .entry(|fd| opcode::Fsync::new(fd).flags(flags).build())
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }

    fn orphan(self) {
        // Nothing the kernel writes lives here: release the descriptor.
        drop(self);
    }
}
