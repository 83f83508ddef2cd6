//! File status through IORING_OP_STATX: [`Metadata`], [`FileType`],
//! [`metadata`] and [`symlink_metadata`].

use crate::driver::op::Statx;
use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The status of a file, as `statx(2)` reports it (std's
/// `std::fs::Metadata`, through the ring).
#[derive(Clone)]
pub struct Metadata {
    stx: libc::statx,
}

/// What kind of file a [`Metadata`] describes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    /// The `S_IFMT` bits of the mode.
    format: u32,
}

/// The status of `path`, following symbolic links.
///
/// A missing path gives `NotFound`; a path through a file that is not a
/// directory gives `NotADirectory`; no search permission on a directory of
/// the path gives `PermissionDenied`.
///
/// Cancel-safe: nothing changes on disk.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Statx::path(path.as_ref(), true).await.map(Metadata::new)
}

/// The status of `path` itself: a symbolic link is described, not
/// followed.
///
/// Cancel-safe: nothing changes on disk.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Statx::path(path.as_ref(), false).await.map(Metadata::new)
}

impl Metadata {
    pub(crate) fn new(stx: libc::statx) -> Metadata {
        Metadata { stx }
    }

    /// Size in bytes (for a symbolic link, the length of its target).
    pub fn len(&self) -> u64 {
        self.stx.stx_size
    }

    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind of file.
    pub fn file_type(&self) -> FileType {
        FileType {
            format: u32::from(self.stx.stx_mode) & libc::S_IFMT,
        }
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// A symbolic link (only from [`symlink_metadata`]: the other forms
    /// follow links).
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// Permission bits, as std reports them (the whole mode).
    pub fn permissions(&self) -> std::fs::Permissions {
        std::fs::Permissions::from_mode(self.mode())
    }

    /// The whole `st_mode`: file type and permission bits.
    pub fn mode(&self) -> u32 {
        u32::from(self.stx.stx_mode)
    }

    /// Last modification of the contents.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_MTIME, self.stx.stx_mtime, "modification")
    }

    /// Last access (as far as the mount's `atime` options record it).
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_ATIME, self.stx.stx_atime, "access")
    }

    /// Creation ("birth") time. File systems that do not record it (and
    /// kernels before 4.11) give an `Unsupported` error.
    pub fn created(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_BTIME, self.stx.stx_btime, "creation")
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.stx.stx_ino
    }

    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        u64::from(self.stx.stx_nlink)
    }

    /// Owner's user id.
    pub fn uid(&self) -> u32 {
        self.stx.stx_uid
    }

    /// Owner's group id.
    pub fn gid(&self) -> u32 {
        self.stx.stx_gid
    }

    /// Blocks of 512 bytes allocated to the file.
    pub fn blocks(&self) -> u64 {
        self.stx.stx_blocks
    }

    /// The alignment direct I/O (`O_DIRECT`) needs of a buffer's address
    /// and of an offset and length, in bytes, where the file system reports
    /// it (statx's DIOALIGN, Linux 6.1); `None` where it does not or direct
    /// I/O is not supported on this file.
    pub fn direct_io_align(&self) -> Option<(u32, u32)> {
        let reported = self.stx.stx_mask & libc::STATX_DIOALIGN != 0;
        let (mem, offset) = (self.stx.stx_dio_mem_align, self.stx.stx_dio_offset_align);
        (reported && mem != 0 && offset != 0).then_some((mem, offset))
    }

    fn time(&self, bit: u32, ts: libc::statx_timestamp, what: &str) -> io::Result<SystemTime> {
        if self.stx.stx_mask & bit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the file system does not record this file's {what} time"),
            ));
        }
        let nanos = Duration::from_nanos(u64::from(ts.tv_nsec));
        let time = if ts.tv_sec >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(ts.tv_sec as u64) + nanos)
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(ts.tv_sec.unsigned_abs()))
                .and_then(|t| t.checked_add(nanos))
        };
        time.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the file's {what} time is out of SystemTime's range"),
            )
        })
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("mode", &format_args!("{:#o}", self.mode()))
            .field("ino", &self.ino())
            .finish_non_exhaustive()
    }
}

impl FileType {
    pub(crate) fn from_format(format: u32) -> FileType {
        FileType { format }
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.format == libc::S_IFREG
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.format == libc::S_IFDIR
    }

    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.format == libc::S_IFLNK
    }

    /// A block device.
    pub fn is_block_device(&self) -> bool {
        self.format == libc::S_IFBLK
    }

    /// A character device.
    pub fn is_char_device(&self) -> bool {
        self.format == libc::S_IFCHR
    }

    /// A FIFO (named pipe).
    pub fn is_fifo(&self) -> bool {
        self.format == libc::S_IFIFO
    }

    /// A Unix-domain socket.
    pub fn is_socket(&self) -> bool {
        self.format == libc::S_IFSOCK
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.format {
            libc::S_IFREG => "file",
            libc::S_IFDIR => "dir",
            libc::S_IFLNK => "symlink",
            libc::S_IFBLK => "block device",
            libc::S_IFCHR => "char device",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            _ => "unknown",
        };
        f.write_str(name)
    }
}
