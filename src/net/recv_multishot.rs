use crate::buf::{BufRing, RingBuf};
use crate::driver::op::{OpStream, RecvMulti};
use crate::driver::{Detach, SharedFd};
use futures_core::Stream;
use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The received data of a TCP stream as a [`Stream`] of [`RingBuf`]s: one
/// multishot receive, armed once, each chunk in a buffer the kernel picked
/// from a [`BufRing`]. Made by
/// [`TcpStream::recv_multishot`](super::TcpStream::recv_multishot).
///
/// Yields chunks in order, `None` once the peer closed its side, or an error
/// (after which it ends). When the kernel stops the receive on its own — the
/// ring ran out of buffers, or the completion queue was full — the stream
/// waits until a buffer is given back to the ring and arms it again: a
/// consumer sees only data, end of stream or a real error.
///
/// Its connection: the stream holds the socket open on its own. Dropping
/// the [`TcpStream`](super::TcpStream) while the stream lives leaves the
/// receive running — the stream goes on yielding data until the peer closes
/// — and the socket is closed once both are gone.
/// [`TcpStream::close`](super::TcpStream::close) instead ends the stream
/// first (its receive cancelled; it yields `None` from then on) and closes
/// the socket.
///
/// Cancel-safety: dropping the stream cancels the receive; bytes the kernel
/// had already delivered (and any it delivers before the cancel lands) are
/// kept, and the next read on the connection — or the next
/// `recv_multishot` — returns them first. Do not mix a live stream with
/// `read` calls on the same connection: which of them gets a chunk is
/// unspecified.
pub struct RecvMultishot {
    inner: Rc<RefCell<Receiver>>,
}

struct Receiver {
    /// `None` once `close` ended the stream.
    fd: Option<SharedFd>,
    op: Option<OpStream<RecvMulti>>,
    state: State,
    /// The task waiting for the next chunk, for `close` to wake with the
    /// end of the stream (the armed receive's own waker goes with it).
    waiter: Option<Waker>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Serve bytes rescued from dropped reads before arming.
    Rescue,
    Receiving,
    /// The kernel stopped for lack of buffers: re-arm once one is back.
    WaitBuffers,
    Ended,
}

impl RecvMultishot {
    pub(crate) fn new(fd: &SharedFd, bufs: &BufRing) -> RecvMultishot {
        let inner = Rc::new(RefCell::new(Receiver {
            fd: Some(fd.clone()),
            op: Some(RecvMulti::stream(fd, bufs)),
            state: State::Rescue,
            waiter: None,
        }));
        let weak = Rc::downgrade(&inner);
        fd.register_stream(weak);
        RecvMultishot { inner }
    }
}

impl Detach for RefCell<Receiver> {
    fn detach(&self) {
        // Not borrowed: `close` runs in a task, never inside `poll_next`.
        let Ok(mut receiver) = self.try_borrow_mut() else {
            return;
        };
        receiver.state = State::Ended;
        let op = receiver.op.take();
        let fd = receiver.fd.take();
        let waiter = receiver.waiter.take();
        drop(receiver);
        // An armed receive is cancelled; its resources (and its clone of
        // the descriptor) live until the kernel's final completion.
        drop(op);
        drop(fd);
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl Receiver {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<RingBuf>>> {
        loop {
            let (Some(fd), Some(op)) = (self.fd.as_ref(), self.op.as_mut()) else {
                return Poll::Ready(None);
            };
            match self.state {
                State::Rescue => {
                    // Bytes come out in arrival order: first the reads
                    // dropped while in flight, then what they received.
                    std::task::ready!(fd.poll_reads_settled(cx));
                    if let Err(e) = fd.check_reads_intact() {
                        self.state = State::Ended;
                        return Poll::Ready(Some(Err(e)));
                    }
                    if let Some(bytes) = fd.take_rescued_all() {
                        return Poll::Ready(Some(Ok(RingBuf::rescued(bytes))));
                    }
                    self.state = State::Receiving;
                }
                State::WaitBuffers => {
                    std::task::ready!(op.data().buffers().poll_available(cx));
                    self.state = State::Receiving;
                }
                State::Ended => return Poll::Ready(None),
                State::Receiving => {
                    if !op.is_armed() {
                        if op.data().buffers().on_current_runtime() == Some(false) {
                            self.state = State::Ended;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidInput,
                                "this BufRing belongs to another corio runtime: \
                                 create the ring on the runtime that receives",
                            ))));
                        }
                        op.arm();
                    }
                    let Some((item, more)) = std::task::ready!(op.poll_next(cx)) else {
                        continue;
                    };
                    match item {
                        Ok(Some(buf)) => return Poll::Ready(Some(Ok(buf))),
                        Ok(None) => {
                            self.state = State::Ended;
                            return Poll::Ready(None);
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && !more => {
                            self.state = State::WaitBuffers;
                        }
                        Err(e) => {
                            if !more {
                                self.state = State::Ended;
                            }
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
            }
        }
    }
}

impl Stream for RecvMultishot {
    type Item = io::Result<RingBuf>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut receiver = self.inner.borrow_mut();
        let polled = receiver.poll_next(cx);
        if polled.is_pending() {
            let replaced = match &receiver.waiter {
                Some(w) if w.will_wake(cx.waker()) => None,
                _ => receiver.waiter.replace(cx.waker().clone()),
            };
            drop(receiver);
            // Dropped outside the borrow: a waker's drop is foreign code.
            drop(replaced);
        }
        polled
    }
}

impl std::fmt::Debug for RecvMultishot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let receiver = self.inner.try_borrow();
        f.debug_struct("RecvMultishot")
            .field("fd", &receiver.as_ref().ok().and_then(|r| r.fd.clone()))
            .field("state", &receiver.as_ref().ok().map(|r| r.state))
            .finish()
    }
}
