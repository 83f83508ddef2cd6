use super::File;
use crate::driver::op::OpenAt;
use crate::driver::SharedFd;
use std::io;
use std::path::Path;

/// How to open a file, chained like `std::fs::OpenOptions`; the open itself
/// is an io_uring `openat`.
///
/// ```no_run
/// # corio::block_on(async {
/// let file = corio::fs::OpenOptions::new()
///     .write(true)
///     .create(true)
///     .truncate(true)
///     .open("out.txt")
///     .await?;
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    custom_flags: i32,
    direct: bool,
    mode: u32,
}

impl OpenOptions {
    /// All options off; mode `0o666` (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            custom_flags: 0,
            direct: false,
            mode: 0o666,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.read = read;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.write = write;
        self
    }

    /// Open for appending (implies writing). Positioned writes to a file
    /// opened with `O_APPEND` still append, as with `pwrite(2)` on Linux.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.append = append;
        self
    }

    /// Truncate to zero length on open (needs write access).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.create_new = create_new;
        self
    }

    /// Extra `open(2)` flags such as `libc::O_DIRECT`; the access mode bits
    /// are ignored (use read/write/append).
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.custom_flags = flags;
        self
    }

    /// Direct I/O (`O_DIRECT`): reads and writes bypass the page cache and
    /// go to the device. Each buffer's address, each length and each offset
    /// must then be a multiple of the file's alignment — statx's DIOALIGN
    /// where the kernel reports it (Linux 6.1; see
    /// [`Metadata::direct_io_align`](crate::fs::Metadata::direct_io_align)),
    /// else 512 bytes (the usual logical block size). corio checks before
    /// submitting and answers a misaligned one with `InvalidInput` naming
    /// the alignment; [`AlignedBuf`](crate::buf::AlignedBuf) gives aligned
    /// memory. File systems without direct I/O refuse the open (`EINVAL`,
    /// `InvalidInput`).
    pub fn direct(&mut self, direct: bool) -> &mut OpenOptions {
        self.direct = direct;
        self
    }

    /// Permission bits for a created file (default `0o666`, before umask).
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.mode = mode;
        self
    }

    /// Open `path` with these options.
    ///
    /// Cancel-safety: if the future is dropped and the open succeeds
    /// anyway, the descriptor is closed; nothing leaks.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let fd = OpenAt::submit(path.as_ref(), flags, self.mode).await?;
        let file = File::from_shared(SharedFd::new(fd));
        if flags & libc::O_DIRECT != 0 {
            return file.into_direct().await;
        }
        Ok(file)
    }

    /// The `open(2)` flags, with std's rules for invalid combinations.
    fn flags(&self) -> io::Result<i32> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()));
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return invalid("open options need read, write or append access")
            }
        };
        let writable = self.write || self.append;
        if self.truncate && !self.write {
            return invalid("truncate needs write access (and not append)");
        }
        if (self.create || self.create_new) && !writable {
            return invalid("create and create_new need write or append access");
        }
        let creation = if self.create_new {
            libc::O_CREAT | libc::O_EXCL
        } else {
            (if self.create { libc::O_CREAT } else { 0 })
                | (if self.truncate { libc::O_TRUNC } else { 0 })
        };
        let direct = if self.direct { libc::O_DIRECT } else { 0 };
        Ok(access | creation | direct | (self.custom_flags & !libc::O_ACCMODE))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}
