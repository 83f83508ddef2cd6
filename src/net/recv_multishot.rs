use crate::buf::{BufRing, RingBuf};
use crate::driver::op::{OpStream, RecvMulti};
use crate::driver::SharedFd;
use futures_core::Stream;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The received data of a TCP stream as a [`Stream`] of [`RingBuf`]s: one
/// multishot receive, armed once, each chunk in a buffer the kernel picked
/// from a [`BufRing`]. Made by
/// [`TcpStream::recv_multishot`](super::TcpStream::recv_multishot).
///
/// Yields chunks in order, `None` once the peer closed its side, or an error
/// (after which it ends). When the kernel stops the receive on its own — the
/// ring ran out of buffers, or the completion queue was full — the stream
/// waits for a buffer to come back and arms it again: a consumer sees only
/// data, end of stream or a real error.
///
/// Cancel-safety: dropping the stream cancels the receive; bytes the kernel
/// had already delivered (and any it delivers before the cancel lands) are
/// kept, and the next read on the connection — or the next
/// `recv_multishot` — returns them first. Do not mix a live stream with
/// `read` calls on the same connection: which of them gets a chunk is
/// unspecified.
pub struct RecvMultishot {
    fd: SharedFd,
    op: OpStream<RecvMulti>,
    state: State,
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
        RecvMultishot {
            fd: fd.clone(),
            op: RecvMulti::stream(fd, bufs),
            state: State::Rescue,
        }
    }
}

impl Stream for RecvMultishot {
    type Item = io::Result<RingBuf>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Rescue => {
                    // Bytes come out in arrival order: first the reads
                    // dropped while in flight, then what they received.
                    std::task::ready!(this.fd.poll_reads_settled(cx));
                    if let Some(bytes) = this.fd.take_rescued_all() {
                        return Poll::Ready(Some(Ok(RingBuf::rescued(bytes))));
                    }
                    this.state = State::Receiving;
                }
                State::WaitBuffers => {
                    std::task::ready!(this.op.data().buffers().poll_available(cx));
                    this.state = State::Receiving;
                }
                State::Ended => return Poll::Ready(None),
                State::Receiving => {
                    if !this.op.is_armed() {
                        if this.op.data().buffers().on_current_runtime() == Some(false) {
                            this.state = State::Ended;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidInput,
                                "this BufRing belongs to another corio runtime: \
                                 create the ring on the runtime that receives",
                            ))));
                        }
                        this.op.arm();
                    }
                    let Some((item, more)) = std::task::ready!(this.op.poll_next(cx)) else {
                        continue;
                    };
                    match item {
                        Ok(Some(buf)) => return Poll::Ready(Some(Ok(buf))),
                        Ok(None) => {
                            this.state = State::Ended;
                            return Poll::Ready(None);
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && !more => {
                            this.state = State::WaitBuffers;
                        }
                        Err(e) => {
                            if !more {
                                this.state = State::Ended;
                            }
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
            }
        }
    }
}

impl std::fmt::Debug for RecvMultishot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvMultishot")
            .field("fd", &self.fd)
            .field("state", &self.state)
            .finish()
    }
}
