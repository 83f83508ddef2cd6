use std::io;

/// What the kernel said about one operation: its completion entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    /// `cqe.res`: a count on success, `-errno` on failure.
    pub(crate) res: i32,
    /// `cqe.flags` (IORING_CQE_F_MORE, buffer ids, ...).
    pub(crate) flags: u32,
}

impl Completion {
    /// IORING_CQE_F_MORE: a multishot operation will post more completions.
    pub(crate) fn more(&self) -> bool {
        io_uring::cqueue::more(self.flags)
    }

    /// The result as `io::Result`: `res >= 0` is success.
    pub(crate) fn result(&self) -> io::Result<u32> {
        if self.res >= 0 {
            Ok(self.res as u32)
        } else if self.res == -libc::EBADR {
            // No operation of ours fails with EBADR itself: the driver sets
            // it for operations caught in a loss of completions.
            Err(io::Error::other(
                "the kernel dropped completions of this ring (io_uring_enter: EBADR, no \
                 memory to keep an overflowing completion queue) without saying whose: this \
                 operation was cancelled rather than risk waiting for a completion that will \
                 never come; it may or may not have taken effect",
            ))
        } else {
            Err(io::Error::from_raw_os_error(-self.res))
        }
    }
}
