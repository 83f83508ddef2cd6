use super::path::c_path;
use super::{Op, OpCode};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;
use std::path::Path;

/// What corio asks statx for: the basic fields, the birth time and the
/// direct-I/O alignment (6.1; older kernels leave it out of `stx_mask`).
const MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN;

/// IORING_OP_STATX (5.6) of a path, or of an open descriptor (an empty
/// path with AT_EMPTY_PATH).
pub(crate) struct Statx {
    /// Kept open until the kernel is done (the descriptor form).
    fd: Option<SharedFd>,
    path: CString,
    flags: i32,
    /// Boxed: the kernel writes here after the op may have moved.
    buf: Box<libc::statx>,
}

fn zeroed() -> Box<libc::statx> {
    // SAFETY: `statx` is a plain C struct of integers, for which all zero
    // bytes is a valid value.
    Box::new(unsafe { std::mem::zeroed() })
}

impl Statx {
    /// The status of `path`; of the link itself if `follow` is false.
    pub(crate) fn path(path: &Path, follow: bool) -> Op<Statx> {
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        match c_path(path) {
            Ok(path) => Op::submit(Statx {
                fd: None,
                path,
                flags,
                buf: zeroed(),
            }),
            Err(e) => Op::fail(
                Statx {
                    fd: None,
                    path: CString::default(),
                    flags,
                    buf: zeroed(),
                },
                e,
            ),
        }
    }

    /// The status of the open file `fd`.
    pub(crate) fn fd(fd: &SharedFd) -> Op<Statx> {
        Op::submit(Statx {
            fd: Some(fd.clone()),
            path: CString::default(),
            flags: libc::AT_EMPTY_PATH,
            buf: zeroed(),
        })
    }
}

// SAFETY: the entry points at `path` and `buf`, heap memory owned by
// `self`; the descriptor form keeps its descriptor open through `fd`.
unsafe impl OpCode for Statx {
    type Output = io::Result<libc::statx>;

    fn entry(&mut self) -> squeue::Entry {
        // statx takes a real descriptor, never a fixed-file slot.
        let dirfd = self.fd.as_ref().map_or(libc::AT_FDCWD, SharedFd::raw);
        let buf: *mut libc::statx = &mut *self.buf;
        opcode::Statx::new(types::Fd(dirfd), self.path.as_ptr(), buf.cast())
            .flags(self.flags)
            .mask(MASK)
            .build()
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<libc::statx> {
        result.map(|_| *self.buf)
    }

    fn orphan(self) {
        // The kernel may still write the buffer; the descriptor is released.
        std::mem::forget(self.buf);
        drop(self.fd);
        std::mem::forget(self.path);
    }
}
