use super::{checks, Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use std::io;

/// How a [`Resize`] changes the file's size.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ResizeKind {
    /// IORING_OP_FTRUNCATE (6.9): the file becomes exactly this long.
    SetLen(u64),
    /// IORING_OP_FALLOCATE (5.6) mode 0: blocks are allocated for
    /// `offset..offset + len` and the file grows to cover it.
    Allocate { offset: u64, len: u64 },
}

/// Change an open file's size or allocation.
pub(crate) struct Resize {
    fd: SharedFd,
    kind: ResizeKind,
}

impl Resize {
    pub(crate) fn submit(fd: &SharedFd, kind: ResizeKind) -> Op<Resize> {
        let checked = match kind {
            ResizeKind::SetLen(len) => checks::offset(len).map(drop),
            ResizeKind::Allocate { offset, len } => checks::offset(offset)
                .and_then(|_| checks::offset(len))
                .and_then(|_| match offset.checked_add(len) {
                    Some(end) if end <= i64::MAX as u64 => Ok(()),
                    _ => Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("range {offset} + {len} ends past i64::MAX"),
                    )),
                }),
        };
        let op = Resize {
            fd: fd.clone(),
            kind,
        };
        match checked {
            Ok(()) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }

    /// Whether this kernel has IORING_OP_FTRUNCATE.
    pub(crate) fn can_set_len() -> bool {
        super::supported(opcode::Ftruncate::CODE)
    }
}

// SAFETY: the entry carries no pointers; `fd` is kept open by `self`.
unsafe impl OpCode for Resize {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        match self.kind {
            ResizeKind::SetLen(len) => self.fd.entry(|fd| opcode::Ftruncate::new(fd, len).build()),
            ResizeKind::Allocate { offset, len } => self
                .fd
                .entry(|fd| opcode::Fallocate::new(fd, len).offset(offset).build()),
        }
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }

    fn orphan(self) {
        // Nothing the kernel writes lives here: release the descriptor.
        drop(self);
    }
}
