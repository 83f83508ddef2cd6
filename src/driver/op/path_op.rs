use super::path::c_path;
use super::{Op, OpCode};
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;
use std::path::Path;

/// What a [`PathOp`] does to the names it carries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PathOpKind {
    /// IORING_OP_UNLINKAT (5.11): remove a file's name.
    RemoveFile,
    /// IORING_OP_UNLINKAT with AT_REMOVEDIR: remove an empty directory.
    RemoveDir,
    /// IORING_OP_MKDIRAT (5.15), with this mode (before the umask).
    CreateDir(u32),
    /// IORING_OP_RENAMEAT (5.11): `first` becomes `second`, replacing it.
    Rename,
    /// IORING_OP_LINKAT (5.15): `second` becomes a hard link to `first`.
    HardLink,
    /// IORING_OP_SYMLINKAT (5.15): `second` becomes a symbolic link whose
    /// target is `first`.
    Symlink,
}

/// An operation on names in the file system, relative to the current
/// directory: one path, or two for rename and links.
pub(crate) struct PathOp {
    kind: PathOpKind,
    first: CString,
    second: CString,
}

impl PathOp {
    /// Submit `kind` on `first` (and `second`, for the two-path kinds).
    pub(crate) fn submit(kind: PathOpKind, first: &Path, second: Option<&Path>) -> Op<PathOp> {
        let paths = c_path(first).and_then(|a| match second {
            Some(b) => Ok((a, c_path(b)?)),
            None => Ok((a, CString::default())),
        });
        match paths {
            Ok((first, second)) => Op::submit(PathOp {
                kind,
                first,
                second,
            }),
            Err(e) => Op::fail(
                PathOp {
                    kind,
                    first: CString::default(),
                    second: CString::default(),
                },
                e,
            ),
        }
    }
}

// SAFETY: the entry points at `first` and `second`, heap buffers owned by
// `self`.
unsafe impl OpCode for PathOp {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        let (a, b) = (self.first.as_ptr(), self.second.as_ptr());
        match self.kind {
            PathOpKind::RemoveFile => opcode::UnlinkAt::new(cwd, a).build(),
            PathOpKind::RemoveDir => opcode::UnlinkAt::new(cwd, a)
                .flags(libc::AT_REMOVEDIR)
                .build(),
            PathOpKind::CreateDir(mode) => opcode::MkDirAt::new(cwd, a).mode(mode).build(),
            PathOpKind::Rename => opcode::RenameAt::new(cwd, a, cwd, b).build(),
            PathOpKind::HardLink => opcode::LinkAt::new(cwd, a, cwd, b).build(),
            PathOpKind::Symlink => opcode::SymlinkAt::new(cwd, a, b).build(),
        }
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }
}
