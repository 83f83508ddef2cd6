//! [`Compat`]: a corio stream behind the poll-based I/O traits the rest of
//! the ecosystem speaks (tokio's, futures', hyper's), without `unsafe` and
//! without losing a byte.

use crate::driver::op::{Op, Recv, Send};
use crate::net::{TcpStream, UnixStream};
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Default size of the read buffer and of the write staging buffer.
const DEFAULT_CAPACITY: usize = 64 * 1024;

/// A corio stream that [`Compat`] can wrap: [`TcpStream`] and
/// [`UnixStream`].
pub trait CompatStream: sealed::Stream {}

mod sealed {
    /// The stream's descriptor (public in a private module: unnameable
    /// outside the crate).
    pub struct Fd<'a>(pub(crate) &'a crate::driver::SharedFd);

    pub trait Stream {
        fn fd(&self) -> Fd<'_>;
        fn shutdown_write(&self) -> std::io::Result<()>;
    }
}

macro_rules! compat_stream {
    ($($t:ty),*) => {$(
        impl sealed::Stream for $t {
            fn fd(&self) -> sealed::Fd<'_> {
                sealed::Fd(self.shared_fd())
            }
            fn shutdown_write(&self) -> io::Result<()> {
                self.shutdown(Shutdown::Write)
            }
        }
        impl CompatStream for $t {}
    )*};
}

compat_stream!(TcpStream, UnixStream);

/// A [`TcpStream`] or [`UnixStream`] with poll-based reads and writes, for
/// crates written against `tokio::io::{AsyncRead, AsyncWrite,
/// AsyncBufRead}` (feature `tokio-io`), `futures_io`'s (feature
/// `futures-io`) or hyper's `rt::{Read, Write}` (feature `hyper`).
///
/// **Reads:** one receive is kept armed into an internal buffer (64 KiB by
/// default) and what arrives is copied out to the caller — one copy more
/// than corio's own owned-buffer `read`; `AsyncBufRead` hands out the
/// internal buffer itself, with none. A read the caller drops (a timeout)
/// leaves the receive armed inside `Compat`: no byte is lost.
///
/// **Writes:** bytes are copied into a bounded staging buffer (64 KiB by
/// default) while one send is in flight. A `poll_write` that returns
/// `Pending` has consumed nothing; a partial send resubmits the rest; a
/// send's error is returned by the next `poll_write` or `poll_flush` after
/// it completed. `poll_shutdown` (futures' `poll_close`) flushes, then shuts
/// the write side down.
///
/// **Back to corio:** [`into_inner`](Compat::into_inner) flushes and hands
/// the bytes received but not yet read back to the stream, so its next
/// `read` returns them first — a lossless round trip between the two worlds.
///
/// Dropping a `Compat` drops the stream: a send in flight finishes (the
/// runtime keeps its buffer), staged bytes not yet sent are discarded —
/// flush or `into_inner` first.
pub struct Compat<S: CompatStream> {
    stream: S,
    /// Received bytes not yet read: `read_buf[read_pos..]`.
    read_buf: Vec<u8>,
    read_pos: usize,
    read_capacity: usize,
    recv: Option<Op<Recv<Vec<u8>>>>,
    /// Bytes of dropped corio reads, or of an earlier `Compat`, still owed
    /// before the first receive (checked once).
    rescue_checked: bool,
    /// End of stream seen (a receive returned 0).
    eof: bool,
    /// Bytes accepted by `poll_write`, not yet handed to a send.
    staged: Vec<u8>,
    write_capacity: usize,
    /// The send in flight, and its buffer's bytes already sent.
    send: Option<Op<Send<Vec<u8>>>>,
    /// A spare buffer for the next send (no allocation per send).
    spare: Vec<u8>,
    /// A failed send's error, for the next `poll_write` / `poll_flush`.
    write_error: Option<io::Error>,
}

impl<S: CompatStream> Compat<S> {
    /// Wrap `stream` with 64 KiB read and write buffers.
    pub fn new(stream: S) -> Compat<S> {
        Compat::with_capacity(stream, DEFAULT_CAPACITY, DEFAULT_CAPACITY)
    }

    /// Wrap `stream` with a read buffer of `read` bytes and a write staging
    /// buffer of `write` bytes (each at least 1).
    pub fn with_capacity(stream: S, read: usize, write: usize) -> Compat<S> {
        Compat {
            stream,
            read_buf: Vec::new(),
            read_pos: 0,
            read_capacity: read.max(1),
            recv: None,
            rescue_checked: false,
            eof: false,
            staged: Vec::new(),
            write_capacity: write.max(1),
            send: None,
            spare: Vec::new(),
            write_error: None,
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Flush, then give the stream back; bytes received and not yet read
    /// are returned first by its next `read`, also those of a receive
    /// still in flight (its final completion hands them over).
    ///
    /// Cancel-safety: dropping the future drops the `Compat` as described
    /// on the type (unflushed bytes discarded, unread ones still handed
    /// back).
    pub async fn into_inner(mut self) -> io::Result<S> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await?;
        Ok(self.release())
    }

    /// Hand unread bytes back to the stream's descriptor and give it up.
    fn release(mut self) -> S {
        let fd = self.stream.fd().0.clone();
        // Older bytes first: what was received and not read, then what
        // the armed receive gets (handed over at its final completion,
        // after this).
        fd.rescue(&self.read_buf[self.read_pos..]);
        self.read_buf.clear();
        self.read_pos = 0;
        drop(self.recv.take());
        let Compat { stream, .. } = self;
        stream
    }

    /// Copy received bytes into `out`; `Ready(Ok(0))` at end of stream (or
    /// for an empty `out`). The poll-based read the trait implementations
    /// forward to, usable without any feature.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let available = ready!(self.poll_fill_buf(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    /// The received bytes not yet read, receiving more if there are none;
    /// empty at end of stream.
    pub fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.read_pos == self.read_buf.len() && !self.eof {
            ready!(self.poll_receive(cx))?;
        }
        Poll::Ready(Ok(&self.read_buf[self.read_pos..]))
    }

    /// `n` bytes of [`poll_fill_buf`](Compat::poll_fill_buf)'s were used.
    pub fn consume(&mut self, n: usize) {
        self.read_pos = (self.read_pos + n).min(self.read_buf.len());
    }

    /// Refill the (empty) read buffer: rescued bytes first, then one
    /// receive, kept armed across polls.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let fd = self.stream.fd().0.clone();
        if !self.rescue_checked {
            ready!(fd.poll_reads_settled(cx));
            fd.check_reads_intact()?;
            self.rescue_checked = true;
            if let Some(bytes) = fd.take_rescued_all() {
                self.read_buf = bytes;
                self.read_pos = 0;
                return Poll::Ready(Ok(()));
            }
        }
        let recv = match &mut self.recv {
            Some(recv) => recv,
            None => {
                // A receive orphaned earlier may have lost bytes: no later
                // bytes are served after such a gap.
                fd.check_reads_intact()?;
                let mut buf = std::mem::take(&mut self.read_buf);
                buf.clear();
                if buf.capacity() < self.read_capacity {
                    buf.reserve_exact(self.read_capacity);
                }
                self.read_pos = 0;
                self.recv.insert(Recv::submit(&fd, buf))
            }
        };
        let Some((result, buf)) = ready!(recv.poll_or_orphaned(cx)) else {
            // Armed when an earlier runtime shut down without waiting for
            // it: it never completes, and bytes the kernel gave it may be
            // gone. The descriptor's reads are marked lost, as for a corio
            // read orphaned that way, and every read from now on says so.
            drop(self.recv.take());
            fd.read_orphaned();
            return Poll::Ready(fd.check_reads_intact());
        };
        self.recv = None;
        self.read_buf = buf;
        self.read_pos = 0;
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::ECANCELED)) {
            // Compat never cancels its own receive: a runtime shutting
            // down did, with nothing received. Arm a new one, here.
            return self.poll_receive(cx);
        }
        if result? == 0 {
            self.eof = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Stage bytes of `data` for sending; `Pending` (consuming nothing)
    /// while the staging buffer is full and a send is in flight. An earlier
    /// send's error comes out here (or from `poll_flush`).
    pub fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.write_error.take() {
            return Poll::Ready(Err(e));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Move staged bytes into a send when none is in flight; learn of
        // a finished one (and its error).
        let _ = self.poll_send(cx);
        if let Some(e) = self.write_error.take() {
            return Poll::Ready(Err(e));
        }
        let room = self.write_capacity.saturating_sub(self.staged.len());
        if room == 0 {
            // Full: the send in flight registered the waker.
            return Poll::Pending;
        }
        let n = room.min(data.len());
        self.staged.extend_from_slice(&data[..n]);
        // Start sending now if the line is free.
        let _ = self.poll_send(cx);
        Poll::Ready(Ok(n))
    }

    /// Drive the send side one step: finish the send in flight (resubmit
    /// its rest after a partial send), start one with the staged bytes.
    /// `Ready` when nothing is in flight; errors go to `write_error`.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some(send) = &mut self.send {
                let (result, mut buf) = ready!(Pin::new(send).poll(cx));
                self.send = None;
                match result {
                    Ok(n) if n < buf.len() && n > 0 => {
                        buf.drain(..n);
                        self.send = Some(Send::submit(self.stream.fd().0, buf));
                        continue;
                    }
                    Ok(0) if !buf.is_empty() => {
                        self.write_error = Some(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "the stream took no bytes",
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => self.write_error = Some(e),
                }
                buf.clear();
                self.spare = buf;
            }
            if self.staged.is_empty() || self.write_error.is_some() {
                return Poll::Ready(());
            }
            // The staged bytes become the send; the spare buffer stages.
            let buf = std::mem::replace(&mut self.staged, std::mem::take(&mut self.spare));
            self.send = Some(Send::submit(self.stream.fd().0, buf));
        }
    }

    /// Send everything staged; the first error of a send.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx));
        match self.write_error.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Flush, then shut the write side down.
    pub fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        Poll::Ready(self.stream.shutdown_write())
    }
}

impl<S: CompatStream + std::fmt::Debug> std::fmt::Debug for Compat<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compat")
            .field("stream", &self.stream)
            .field("unread", &(self.read_buf.len() - self.read_pos))
            .field("staged", &self.staged.len())
            .field("sending", &self.send.is_some())
            .finish()
    }
}

#[cfg(feature = "tokio-io")]
mod tokio_io {
    use super::{Compat, CompatStream};
    use std::io;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    impl<S: CompatStream + Unpin> tokio::io::AsyncRead for Compat<S> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let available = ready!(Compat::poll_fill_buf(this, cx))?;
            let n = available.len().min(buf.remaining());
            buf.put_slice(&available[..n]);
            Compat::consume(this, n);
            Poll::Ready(Ok(()))
        }
    }

    impl<S: CompatStream + Unpin> tokio::io::AsyncBufRead for Compat<S> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Compat::poll_fill_buf(self.get_mut(), cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            Compat::consume(self.get_mut(), amt)
        }
    }

    impl<S: CompatStream + Unpin> tokio::io::AsyncWrite for Compat<S> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Compat::poll_write(self.get_mut(), cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Compat::poll_flush(self.get_mut(), cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Compat::poll_shutdown(self.get_mut(), cx)
        }
    }
}

#[cfg(feature = "futures-io")]
mod futures_io_impls {
    use super::{Compat, CompatStream};
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    impl<S: CompatStream + Unpin> futures_io::AsyncRead for Compat<S> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Compat::poll_read(self.get_mut(), cx, buf)
        }
    }

    impl<S: CompatStream + Unpin> futures_io::AsyncBufRead for Compat<S> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            Compat::poll_fill_buf(self.get_mut(), cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            Compat::consume(self.get_mut(), amt)
        }
    }

    impl<S: CompatStream + Unpin> futures_io::AsyncWrite for Compat<S> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Compat::poll_write(self.get_mut(), cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Compat::poll_flush(self.get_mut(), cx)
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Compat::poll_shutdown(self.get_mut(), cx)
        }
    }
}
