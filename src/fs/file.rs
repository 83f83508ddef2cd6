use super::Metadata;
use super::OpenOptions;
use crate::buf::{self, BufResult, IoBuf, IoBufMut};
use crate::driver::op::{
    self, Fsync, ReadAt, ReadvAt, Resize, ResizeKind, Statx, WriteAt, WritevAt,
};
use crate::driver::{read_stream, SharedFd};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// An open file. All I/O is positioned (`read_at`, `write_at`): there is no
/// cursor, so every method but [`close`](File::close) takes `&self` and
/// many reads and writes of one file can be in flight at once.
///
/// Like Python's `async with`, close it explicitly with
/// `file.close().await` to learn about errors; dropping it also closes the
/// descriptor (with `close(2)`, which does not block for local files), and
/// never while an operation the kernel is still running uses it.
///
/// `!Send`: a file belongs to the thread whose runtime opened it.
///
/// ```no_run
/// # corio::block_on(async {
/// let file = corio::fs::File::create("hello.txt").await?;
/// let (res, _) = file.write_all_at(b"hello" as &'static [u8], 0).await;
/// res?;
/// file.sync_all().await?;
/// file.close().await?;
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug)]
pub struct File {
    fd: SharedFd,
    /// Opened with O_DIRECT: the alignment its I/O needs.
    direct: Option<DirectAlign>,
}

/// What direct I/O on a file needs: buffer addresses aligned to `memory`
/// bytes, offsets and lengths to multiples of `offset`.
#[derive(Debug, Clone, Copy)]
struct DirectAlign {
    memory: u32,
    offset: u32,
    /// Where the numbers come from, for the error message.
    reported: bool,
}

impl DirectAlign {
    /// `InvalidInput` naming the alignment if `ptr`, `len` or `pos` is off.
    fn check(&self, ptr: *const u8, len: usize, pos: u64) -> io::Result<()> {
        let (memory, offset) = (self.memory as usize, u64::from(self.offset));
        let address = ptr as usize;
        if address % memory == 0 && len as u64 % offset == 0 && pos % offset == 0 {
            return Ok(());
        }
        let source = if self.reported {
            "as statx reports (DIOALIGN)"
        } else {
            "the logical block size assumed where statx does not report DIOALIGN"
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "direct I/O (O_DIRECT) on this file needs buffer addresses aligned to {memory} \
                 bytes and lengths and offsets that are multiples of {offset}, {source}; got \
                 address {address:#x}, length {len}, offset {pos} (corio::buf::AlignedBuf gives \
                 aligned memory)"
            ),
        ))
    }
}

impl File {
    pub(crate) fn from_shared(fd: SharedFd) -> File {
        File { fd, direct: None }
    }

    /// This file, opened with O_DIRECT, with the alignment its I/O needs.
    pub(crate) async fn into_direct(mut self) -> io::Result<File> {
        let align = self.metadata().await?.direct_io_align();
        self.direct = Some(match align {
            Some((memory, offset)) => DirectAlign {
                memory,
                offset,
                reported: true,
            },
            None => DirectAlign {
                memory: 512,
                offset: 512,
                reported: false,
            },
        });
        Ok(self)
    }

    /// For a direct file: `InvalidInput` unless `ptr`, `len`, `pos` are
    /// aligned as it needs.
    fn check_direct(&self, ptr: *const u8, len: usize, pos: u64) -> io::Result<()> {
        self.direct.map_or(Ok(()), |d| d.check(ptr, len, pos))
    }

    /// Open `path` read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Create `path` (or truncate it) and open it write-only.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Read into `buf` (from its start, up to its capacity) at offset `pos`;
    /// returns the count, which is 0 at end of file, and the buffer with its
    /// length set to the count.
    ///
    /// `pos > i64::MAX`, a buffer over `u32::MAX` bytes, or a
    /// [`Slice`](crate::buf::Slice) starting past its buffer's initialised
    /// length gives `InvalidInput`.
    ///
    /// A file that is a byte stream — a FIFO, a character device, a socket
    /// or pipe adopted with `File::from` — has no offsets: `pos` is ignored
    /// and the read returns the next bytes, as `TcpStream::read` does.
    ///
    /// Cancel-safety: dropping the future cancels the read; the buffer is
    /// released once the kernel is done with it. A regular file is
    /// unchanged, so nothing is lost: read the same offset again. On a byte
    /// stream, bytes the kernel delivered to a dropped read are returned by
    /// the next read, before anything newer.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        if let Err(e) = self.check_direct(buf.stable_ptr(), buf.bytes_total(), pos) {
            return (Err(e), buf);
        }
        if self.fd.is_stream() {
            return read_stream(&self.fd, buf, ReadAt::submit_stream).await;
        }
        ReadAt::submit(&self.fd, buf, pos).await
    }

    /// Fill `buf` to its capacity from offset `pos`, reading as often as
    /// needed. End of file first gives `UnexpectedEof` (with the buffer's
    /// length set to what was read).
    ///
    /// Cancel-safety: as [`read_at`](File::read_at).
    pub async fn read_exact_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let mut done = 0;
        let mut buf = buf;
        while done < total {
            // An offset past i64::MAX is refused by read_at (InvalidInput).
            let at = pos.saturating_add(done as u64);
            let end = total.min(done.saturating_add(buf::MAX_RW_COUNT));
            let (res, slice) = self.read_at(buf.slice(done..end), at).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    return (
                        Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("end of file after {done} of {total} bytes"),
                        )),
                        buf,
                    )
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Write the initialised bytes of `buf` at offset `pos`; returns how many
    /// were written (possibly fewer).
    ///
    /// `pos > i64::MAX` or more than `u32::MAX` bytes gives `InvalidInput`.
    ///
    /// Cancel-safety: dropping the future cancels the write, but the kernel
    /// may already have written some or all of it.
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        if let Err(e) = self.check_direct(buf.stable_ptr(), buf.bytes_init(), pos) {
            return (Err(e), buf);
        }
        WriteAt::submit(&self.fd, buf, pos).await
    }

    /// Write all initialised bytes of `buf` at offset `pos`, as many writes as
    /// needed. On error, the message says how many bytes were written first.
    ///
    /// Cancel-safety: dropping the future may leave part of the data written.
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<(), B> {
        // An offset past i64::MAX is refused by write_at (InvalidInput).
        buf::write_all(buf, |rest, done| {
            self.write_at(rest, pos.saturating_add(done as u64))
        })
        .await
    }

    /// Read into several buffers at offset `pos` with one operation
    /// (`preadv`): the first is filled to its capacity, then the next, and
    /// so on; returns the total and the buffers, each with its length set
    /// to what it received (0 for those past the end of file).
    ///
    /// More than 1024 buffers (IOV_MAX), `pos > i64::MAX`, or a
    /// [`Slice`](crate::buf::Slice) starting past its buffer's initialised
    /// length gives `InvalidInput`. Byte streams (a FIFO, a device adopted
    /// with `File::from`) are refused with `InvalidInput` too: use
    /// [`read_at`](File::read_at), which keeps a dropped read's bytes.
    ///
    /// Cancel-safety: as [`read_at`](File::read_at) on a regular file: the
    /// file is unchanged, read again.
    pub async fn readv_at<B: IoBufMut>(&self, bufs: Vec<B>, pos: u64) -> BufResult<usize, Vec<B>> {
        if self.fd.is_stream() {
            return (
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "vectored reads of a byte stream (FIFO, device) are not supported: use read_at",
                )),
                bufs,
            );
        }
        let misaligned = bufs
            .iter()
            .try_for_each(|b| self.check_direct(b.stable_ptr(), b.bytes_total(), pos));
        if let Err(e) = misaligned {
            return (Err(e), bufs);
        }
        ReadvAt::submit(&self.fd, bufs, pos).await
    }

    /// Write the initialised bytes of several buffers, in order, at offset
    /// `pos` with one operation (`pwritev`); returns how many bytes were
    /// written (possibly fewer than all) and the buffers.
    ///
    /// More than 1024 buffers or `pos > i64::MAX` gives `InvalidInput`.
    ///
    /// Cancel-safety: as [`write_at`](File::write_at): some bytes may have
    /// been written.
    pub async fn writev_at<B: IoBuf>(&self, bufs: Vec<B>, pos: u64) -> BufResult<usize, Vec<B>> {
        let misaligned = bufs
            .iter()
            .try_for_each(|b| self.check_direct(b.stable_ptr(), b.bytes_init(), pos));
        if let Err(e) = misaligned {
            return (Err(e), bufs);
        }
        WritevAt::submit(&self.fd, bufs, pos).await
    }

    /// The file's status (IORING_OP_STATX on the open descriptor).
    ///
    /// Cancel-safe: nothing changes.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        Statx::fd(&self.fd).await.map(Metadata::new)
    }

    /// Truncate or extend the file to exactly `size` bytes (new bytes read
    /// as zeros). The file must be open for writing, else `InvalidInput`
    /// (the kernel's EINVAL) — or `PermissionDenied` for some file systems.
    ///
    /// Through IORING_OP_FTRUNCATE on Linux 6.9 and newer; on older kernels
    /// `ftruncate(2)` runs on the blocking pool
    /// ([`spawn_blocking`](crate::task::spawn_blocking)).
    ///
    /// `size > i64::MAX` gives `InvalidInput`.
    ///
    /// Cancel-safety: dropping the future does not undo a resize the
    /// kernel already made.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        if Resize::can_set_len() {
            return Resize::submit(&self.fd, ResizeKind::SetLen(size)).await;
        }
        let fd = self.fd.as_fd().try_clone_to_owned()?;
        match crate::task::spawn_blocking(move || std::fs::File::from(fd).set_len(size)).await {
            Ok(result) => result,
            Err(e) => Err(io::Error::other(format!(
                "ftruncate on the blocking pool: {e}"
            ))),
        }
    }

    /// Allocate disk blocks for `offset..offset + len` (`fallocate` mode
    /// 0): later writes there cannot fail for lack of space, and the file
    /// grows to cover the range if it is shorter. File systems without
    /// allocation give `Unsupported` (EOPNOTSUPP).
    ///
    /// A range ending past `i64::MAX` gives `InvalidInput`.
    ///
    /// Cancel-safety: dropping the future does not undo an allocation the
    /// kernel already made.
    pub async fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        Resize::submit(&self.fd, ResizeKind::Allocate { offset, len }).await
    }

    /// Flush data and metadata to the device (`fsync`).
    ///
    /// Cancel-safety: dropping the future does not undo a sync in progress.
    pub async fn sync_all(&self) -> io::Result<()> {
        Fsync::submit(&self.fd, false).await
    }

    /// Flush data, and only the metadata needed to read it (`fdatasync`).
    ///
    /// Cancel-safety: as [`sync_all`](File::sync_all).
    pub async fn sync_data(&self) -> io::Result<()> {
        Fsync::submit(&self.fd, true).await
    }

    /// Close the file through the ring and report the result (asyncio's
    /// `async with` exit). Waits until no cancelled operation still uses the
    /// descriptor.
    pub async fn close(self) -> io::Result<()> {
        poll_fn(|cx| self.fd.poll_sole_owner(cx)).await;
        op::close(self.fd).await
    }
}

impl From<std::fs::File> for File {
    /// Adopt a std file (its cursor is ignored: corio I/O is positioned).
    fn from(file: std::fs::File) -> File {
        File::from_shared(SharedFd::new(OwnedFd::from(file)))
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
