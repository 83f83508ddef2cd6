use super::OpenOptions;
use crate::buf::{self, BufResult, IoBuf, IoBufMut};
use crate::driver::op::{self, Fsync, ReadAt, WriteAt};
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
}

impl File {
    pub(crate) fn from_shared(fd: SharedFd) -> File {
        File { fd }
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
            let (res, slice) = self.read_at(buf.slice(done..), at).await;
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
