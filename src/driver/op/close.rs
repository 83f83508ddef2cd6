use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

/// IORING_OP_CLOSE of a descriptor handed off by its last owner.
pub(crate) struct Close {
    /// Ours until the kernel has taken it: an operation that never reached
    /// the kernel closes it with `close(2)` (in `fail`, or when dropped).
    fd: Option<OwnedFd>,
}

/// Close `fd` (which must be the last reference) through the ring, or with
/// `close(2)` when no runtime is running on this thread or the ring cannot
/// take the request.
pub(crate) async fn close(fd: SharedFd) -> io::Result<()> {
    if crate::runtime::context::driver().is_none() {
        drop(fd);
        return Ok(());
    }
    let raw = fd.hand_off();
    drop(fd);
    // SAFETY: `hand_off` gave us the descriptor: no clone closes it now.
    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
    Op::submit(Close { fd: Some(owned) }).await
}

impl Close {
    /// The kernel took the descriptor (whatever its result, Linux has
    /// released the number): never close it again.
    fn taken(&mut self) {
        if let Some(fd) = self.fd.take() {
            let _ = fd.into_raw_fd();
        }
    }
}

// SAFETY: the entry carries no pointers.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        let raw = self.fd.as_ref().map_or(-1, AsRawFd::as_raw_fd);
        opcode::Close::new(types::Fd(raw)).build()
    }

    fn complete(mut self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        self.taken();
        result.map(drop)
    }

    fn fail(mut self, _err: io::Error) -> io::Result<()> {
        // The ring refused the request: close it here, now.
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        // SAFETY: we own `fd`; it is closed exactly once, here.
        match unsafe { libc::close(fd.into_raw_fd()) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    fn complete_abandoned(mut self, _completion: crate::driver::Completion) {
        self.taken();
    }

    fn orphan(mut self) {
        // The kernel may close it yet; closing the number again could close
        // someone else's descriptor.
        self.taken();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A close the ring never took (its submission failed) still closes
    /// the descriptor (before, it stayed open for good).
    #[test]
    fn a_close_that_never_reached_the_kernel_closes_the_descriptor() {
        crate::block_on(async {
            let file = std::fs::File::open("/dev/null").unwrap();
            let raw = file.as_raw_fd();
            let op = Op::fail(
                Close {
                    fd: Some(OwnedFd::from(file)),
                },
                io::Error::other("the ring refused it"),
            );
            op.await.expect("closed with close(2)");
            // SAFETY: fcntl on a number we just closed only reads its state.
            let res = unsafe { libc::fcntl(raw, libc::F_GETFD) };
            assert_eq!(res, -1, "the descriptor is closed");
            assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EBADF));

            // Dropped without being polled: closed as well.
            let file = std::fs::File::open("/dev/null").unwrap();
            let raw = file.as_raw_fd();
            drop(Op::fail(
                Close {
                    fd: Some(OwnedFd::from(file)),
                },
                io::Error::other("refused"),
            ));
            // SAFETY: as above.
            assert_eq!(unsafe { libc::fcntl(raw, libc::F_GETFD) }, -1);
        });
    }
}
