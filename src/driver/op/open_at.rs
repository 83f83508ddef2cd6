use super::path::c_path;
use super::{Op, OpCode};
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

/// IORING_OP_OPENAT relative to the current directory.
pub(crate) struct OpenAt {
    /// Heap-allocated, so its address survives moves of the op.
    path: CString,
    flags: i32,
    mode: u32,
}

impl OpenAt {
    pub(crate) fn submit(path: &Path, flags: i32, mode: u32) -> Op<OpenAt> {
        match c_path(path) {
            Ok(path) => Op::submit(OpenAt {
                path,
                flags: flags | libc::O_CLOEXEC,
                mode,
            }),
            Err(e) => Op::fail(
                OpenAt {
                    path: CString::default(),
                    flags,
                    mode,
                },
                e,
            ),
        }
    }
}

// SAFETY: the entry points at `path`'s heap buffer, owned by `self`.
unsafe impl OpCode for OpenAt {
    type Output = io::Result<OwnedFd>;

    fn entry(&mut self) -> squeue::Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<OwnedFd> {
        // SAFETY: a successful openat returns a new descriptor we now own.
        result.map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    fn complete_abandoned(self, completion: crate::driver::Completion) {
        // The open succeeded after its future was dropped: close what
        // nobody will ever see, so no descriptor leaks.
        drop(self.complete(completion.result(), completion.flags));
    }
}
