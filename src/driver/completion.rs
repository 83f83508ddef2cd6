use std::io;

/// What the kernel said about one operation: its completion entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    /// `cqe.res`: a count on success, `-errno` on failure.
    pub(crate) res: i32,
    /// `cqe.flags` (IORING_CQE_F_MORE, buffer ids, ...).
    #[allow(dead_code)]
    pub(crate) flags: u32,
}

impl Completion {
    /// The result as `io::Result`: `res >= 0` is success.
    pub(crate) fn result(&self) -> io::Result<u32> {
        if self.res >= 0 {
            Ok(self.res as u32)
        } else {
            Err(io::Error::from_raw_os_error(-self.res))
        }
    }
}
