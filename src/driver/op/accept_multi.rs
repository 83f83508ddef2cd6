use super::{Multishot, OpStream};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::Waker;

/// Multishot IORING_OP_ACCEPT (Linux 5.19): armed once, it completes with
/// every connection the listener accepts. Connections accepted after the
/// stream was dropped are closed as their completions arrive.
pub(crate) struct AcceptMulti {
    fd: SharedFd,
}

impl AcceptMulti {
    pub(crate) fn stream(fd: &SharedFd) -> OpStream<AcceptMulti> {
        OpStream::new(AcceptMulti { fd: fd.clone() })
    }
}

/// The descriptor a successful accept completion carries.
fn accepted(result: io::Result<u32>) -> io::Result<OwnedFd> {
    // SAFETY: a successful accept returns a new descriptor we now own.
    result.map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

// SAFETY: the entry holds no pointer (no peer address is asked for); the
// listener's descriptor is kept open by `fd`.
unsafe impl Multishot for AcceptMulti {
    type Item = io::Result<OwnedFd>;

    fn entry(&mut self) -> squeue::Entry {
        self.fd.entry(|fd| {
            opcode::AcceptMulti::new(fd)
                .flags(libc::SOCK_CLOEXEC)
                .build()
        })
    }

    fn next(&mut self, result: io::Result<u32>, _flags: u32) -> Self::Item {
        accepted(result).map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "multishot accept refused with EINVAL: it needs Linux 5.19 or newer, and a \
                 listening socket",
            ),
            _ => e,
        })
    }

    fn abandoned(&mut self, completion: Completion, _wakers: &mut VecDeque<Waker>) {
        // Nobody will take this connection: close it (a system call, no
        // foreign code).
        drop(accepted(completion.result()));
    }

    fn orphan(self) {
        // Nothing the kernel writes lives here: release the listener.
        drop(self);
    }
}
