use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::fs::File;
use crate::net::{TcpStream, UnixStream};
use std::future::Future;
use std::io;
use std::net::Shutdown;

/// A byte source read into owned buffers.
pub trait AsyncRead {
    /// Read into `buf` (from its start, up to its capacity); returns the
    /// count — 0 at end of stream — and the buffer with its length set to
    /// it.
    fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>>;
}

/// A byte sink written from owned buffers.
pub trait AsyncWrite {
    /// Write the initialised bytes of `buf`; returns how many were written
    /// (possibly fewer) and the buffer.
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>>;

    /// Push out anything buffered (corio's sockets buffer nothing: at
    /// once).
    fn flush(&mut self) -> impl Future<Output = io::Result<()>>;

    /// No more writes: the peer reads end of stream (a socket's write half
    /// is shut down).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>>;
}

/// Loops over [`AsyncRead`].
pub trait AsyncReadExt: AsyncRead {
    /// Fill `buf` to its capacity, reading as often as needed; end of
    /// stream first is `UnexpectedEof` (the buffer holds what came).
    ///
    /// Cancel-safety: as the reader's `read`; bytes already in `buf` are
    /// lost with the dropped future.
    fn read_exact<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        async move {
            let total = buf.bytes_total();
            let mut buf = buf;
            let mut done = 0;
            while done < total {
                let end = total.min(done.saturating_add(crate::buf::MAX_RW_COUNT));
                let (res, slice) = self.read(buf.slice(done..end)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => {
                        let msg = format!("end of stream after {done} of {total} bytes");
                        return (Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg)), buf);
                    }
                    Ok(n) => done += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(()), buf)
        }
    }

    /// Append everything up to end of stream to `buf` (growing it);
    /// returns how many bytes were appended.
    ///
    /// Cancel-safety: as the reader's `read`; bytes already appended are
    /// lost with the dropped future.
    fn read_to_end(&mut self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        async move {
            let start = buf.len();
            let mut buf = buf;
            loop {
                if buf.len() == buf.capacity() {
                    if let Err(e) = buf.try_reserve(buf.capacity().clamp(8 * 1024, 1 << 20)) {
                        let e = io::Error::new(io::ErrorKind::OutOfMemory, e.to_string());
                        return (Err(e), buf);
                    }
                }
                let at = buf.len();
                let end = buf
                    .capacity()
                    .min(at.saturating_add(crate::buf::MAX_RW_COUNT));
                let (res, slice) = self.read(buf.slice(at..end)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => return (Ok(buf.len() - start), buf),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// Loops over [`AsyncWrite`].
pub trait AsyncWriteExt: AsyncWrite {
    /// Write every initialised byte of `buf`, as many writes as needed.
    ///
    /// Cancel-safety: dropping the future may leave part of the data
    /// written.
    fn write_all<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        async move {
            let total = buf.bytes_init();
            let mut buf = buf;
            let mut done = 0;
            while done < total {
                let end = total.min(done.saturating_add(crate::buf::MAX_RW_COUNT));
                let (res, slice) = self.write(buf.slice(done..end)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => {
                        let msg = format!("wrote 0 bytes after {done} of {total}");
                        return (Err(io::Error::new(io::ErrorKind::WriteZero, msg)), buf);
                    }
                    Ok(n) => done += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(()), buf)
        }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// A file read at offsets into owned buffers.
pub trait AsyncReadAt {
    /// Read into `buf` at offset `pos`; 0 at end of file.
    fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> impl Future<Output = BufResult<usize, B>>;
}

/// A file written at offsets from owned buffers.
pub trait AsyncWriteAt {
    /// Write the initialised bytes of `buf` at offset `pos`; returns how
    /// many were written.
    fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> impl Future<Output = BufResult<usize, B>>;
}

impl AsyncReadAt for File {
    fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> impl Future<Output = BufResult<usize, B>> {
        File::read_at(self, buf, pos)
    }
}

impl AsyncWriteAt for File {
    fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> impl Future<Output = BufResult<usize, B>> {
        File::write_at(self, buf, pos)
    }
}

/// The streams: implemented for the type and for a shared reference (every
/// method of a corio stream takes `&self`, so one task may read while
/// another writes).
macro_rules! stream_io {
    ($($t:ty),*) => {$(
        impl AsyncRead for $t {
            fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                <$t>::read(self, buf)
            }
        }

        impl AsyncRead for &$t {
            fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                <$t>::read(*self, buf)
            }
        }

        impl AsyncWrite for $t {
            fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                <$t>::write(self, buf)
            }

            async fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }

            async fn shutdown(&mut self) -> io::Result<()> {
                <$t>::shutdown(self, Shutdown::Write)
            }
        }

        impl AsyncWrite for &$t {
            fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                <$t>::write(*self, buf)
            }

            async fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }

            async fn shutdown(&mut self) -> io::Result<()> {
                <$t>::shutdown(*self, Shutdown::Write)
            }
        }
    )*};
}

stream_io!(TcpStream, UnixStream);
