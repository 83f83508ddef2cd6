use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// What an in-kernel copy goes through: a pipe, asked for 1 MiB of room
/// (F_SETPIPE_SZ; the default 64 KiB where the system's limit is lower).
pub(crate) const PIPE_CHUNK: u32 = 1 << 20;

/// A new pipe, close-on-exec: (read end, write end, capacity in bytes).
pub(crate) fn pipe() -> io::Result<(SharedFd, SharedFd, u32)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both descriptors are new and ours.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on our own descriptor with integer arguments.
    let size = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, PIPE_CHUNK as libc::c_int) };
    let size = if size > 0 {
        size
    } else {
        // SAFETY: fcntl on our own descriptor with integer arguments.
        unsafe { libc::fcntl(fds[1], libc::F_GETPIPE_SZ) }
    };
    let size = u32::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(64 * 1024);
    Ok((SharedFd::new(read), SharedFd::new(write), size))
}

/// IORING_OP_SPLICE (5.7): move up to `len` bytes from `from` to `to`
/// inside the kernel, one of them a pipe. An offset of `None` means the
/// descriptor's own position (a pipe or socket has none).
pub(crate) struct Splice {
    from: SharedFd,
    from_offset: Option<u64>,
    to: SharedFd,
    len: u32,
}

impl Splice {
    pub(crate) fn submit(
        from: &SharedFd,
        from_offset: Option<u64>,
        to: &SharedFd,
        len: u32,
    ) -> Op<Splice> {
        let op = Splice {
            from: from.clone(),
            from_offset,
            to: to.clone(),
            len,
        };
        match from_offset.map(super::checks::offset).transpose() {
            Ok(_) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry carries no pointers; both descriptors are kept open by
// `self`.
unsafe impl OpCode for Splice {
    type Output = io::Result<u32>;

    fn entry(&mut self) -> squeue::Entry {
        // -1: "no offset" (the descriptor's own position, or none).
        let off_in = self.from_offset.map_or(-1, |o| o as i64);
        opcode::Splice::new(
            types::Fd(self.from.raw()),
            off_in,
            types::Fd(self.to.raw()),
            -1,
            self.len,
        )
        .flags(libc::SPLICE_F_MOVE)
        .build()
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<u32> {
        result
    }

    fn orphan(self) {
        // Nothing the kernel writes lives here: release the descriptors.
        drop(self);
    }
}
