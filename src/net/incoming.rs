use super::{TcpStream, UnixStream};
use crate::driver::op::{AcceptMulti, OpStream};
use crate::driver::SharedFd;
use futures_core::Stream;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A stream a listener accepts: [`TcpStream`] or [`UnixStream`].
pub trait Accepted: sealed::FromFd {}

mod sealed {
    /// Build the connection type from an accepted descriptor.
    pub trait FromFd {
        fn from_accepted(fd: std::os::fd::OwnedFd) -> Self;
    }
}

impl sealed::FromFd for TcpStream {
    fn from_accepted(fd: OwnedFd) -> TcpStream {
        TcpStream::from_fd(fd)
    }
}
impl Accepted for TcpStream {}

impl sealed::FromFd for UnixStream {
    fn from_accepted(fd: OwnedFd) -> UnixStream {
        UnixStream::from_fd(fd)
    }
}
impl Accepted for UnixStream {}

/// The connections a listener accepts, as a [`Stream`] of
/// `io::Result<S>` (asyncio's `async for` over a server): one multishot
/// accept (Linux 5.19) armed for as long as the stream is polled, not one
/// submission per connection. Made by
/// [`TcpListener::incoming`](super::TcpListener::incoming) and
/// [`UnixListener::incoming`](super::UnixListener::incoming).
///
/// It never ends on its own. When the kernel stops the multishot accept —
/// a full completion queue, or an error such as `EMFILE` (out of
/// descriptors) — the error, if any, is yielded and the next poll arms it
/// again: a server loop keeps going after a transient failure. (It re-arms
/// at once: a loop that only logs errors should pause a little after
/// `EMFILE`, or it retries as fast as the kernel refuses.)
///
/// The stream holds the listening socket open on its own.
///
/// Cancel-safety: dropping the stream cancels the accept; connections the
/// kernel accepted for it after that are closed (their clients see a reset
/// or end of file), never leaked.
///
/// ```no_run
/// use futures_core::Stream;
/// use std::future::poll_fn;
/// use std::pin::Pin;
///
/// # corio::block_on(async {
/// let listener = corio::net::TcpListener::bind("127.0.0.1:8080")?;
/// let mut incoming = listener.incoming();
/// while let Some(conn) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
///     let stream = conn?;
///     corio::spawn(async move {
///         let (res, _) = stream.write_all(b"hello\n" as &'static [u8]).await;
///         drop(res);
///     });
/// }
/// # std::io::Result::Ok(()) });
/// ```
pub struct Incoming<S: Accepted = TcpStream> {
    op: OpStream<AcceptMulti>,
    _stream: std::marker::PhantomData<fn() -> S>,
}

impl<S: Accepted> Incoming<S> {
    pub(crate) fn new(fd: &SharedFd) -> Incoming<S> {
        Incoming {
            op: AcceptMulti::stream(fd),
            _stream: std::marker::PhantomData,
        }
    }
}

impl<S: Accepted> Stream for Incoming<S> {
    type Item = io::Result<S>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.op.is_armed() {
            this.op.arm();
        }
        // Armed (or failed to arm), so an item comes: `None` would mean
        // "not armed".
        match std::task::ready!(this.op.poll_next(cx)) {
            Some((item, _more)) => Poll::Ready(Some(item.map(S::from_accepted))),
            None => Poll::Ready(Some(Err(io::Error::other(
                "multishot accept ended without a completion",
            )))),
        }
    }
}

impl<S: Accepted> std::fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("armed", &self.op.is_armed())
            .finish()
    }
}
