//! Channels between tasks, cores, threads and runtimes: many senders, one
//! receiver, values delivered in the order each sender sent them.
//!
//! [`channel`] holds exactly `capacity` values (a full channel makes
//! [`Sender::send`] wait); [`unbounded`] never waits. Every [`Sender`] is
//! `Clone + Send + Sync` (for `T: Send`) and the [`Receiver`] is `Send`, so
//! either end can live on any core of a [`Pool`](crate::Pool), any thread,
//! or any runtime — a receiver asleep in the kernel is woken by the first
//! value sent after it fell asleep.
//!
//! ```
//! let (tx, mut rx) = corio::sync::mpsc::channel::<u32>(16);
//! std::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.try_send(i).unwrap();
//!     }
//! });
//! corio::block_on(async {
//!     let mut got = Vec::new();
//!     while let Some(v) = rx.recv().await {
//!         got.push(v);
//!     }
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```
//!
//! Built on the `async-channel` crate (executor-agnostic, lock-free); the
//! API is corio's own, so the implementation can change.

use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A channel that holds at most `capacity` values: [`Sender::send`] waits
/// while it is full, [`Sender::try_send`] fails with
/// [`TrySendError::Full`].
///
/// # Panics
///
/// If `capacity` is 0 (a rendezvous channel is not offered: use a
/// [`oneshot`](super::oneshot) per exchange instead).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "corio::sync::mpsc::channel needs a capacity of at least 1"
    );
    let (tx, rx) = async_channel::bounded(capacity);
    (Sender { inner: tx }, Receiver::new(rx))
}

/// A channel without a bound: sending never waits (and memory grows with
/// what the receiver has not taken yet).
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = async_channel::unbounded();
    (Sender { inner: tx }, Receiver::new(rx))
}

/// The sending half: clone it for more senders. The channel closes when
/// every sender is gone (the receiver then drains what is left and gets
/// `None`) or when the receiver is gone (sends fail, giving the value back).
pub struct Sender<T> {
    inner: async_channel::Sender<T>,
}

impl<T> Sender<T> {
    /// Send `value`, waiting while the channel is full. `Err` (with the
    /// value) once the receiver is gone.
    ///
    /// Cancel-safety: dropping the future before it completes sends
    /// nothing (the value is dropped with it).
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .send(value)
            .await
            .map_err(|async_channel::SendError(v)| SendError(v))
    }

    /// Send `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(value).map_err(|e| match e {
            async_channel::TrySendError::Full(v) => TrySendError::Full(v),
            async_channel::TrySendError::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Whether the receiver is gone (every send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("queued", &self.inner.len())
            .field("closed", &self.inner.is_closed())
            .finish()
    }
}

/// The receiving half; also a [`Stream`] of the values.
pub struct Receiver<T> {
    /// Boxed: the channel's receiver keeps a pinned listener while waiting,
    /// and this stays `Unpin` (usable with `&mut self` methods) for free.
    inner: Pin<Box<async_channel::Receiver<T>>>,
}

impl<T> Receiver<T> {
    fn new(inner: async_channel::Receiver<T>) -> Receiver<T> {
        Receiver {
            inner: Box::pin(inner),
        }
    }

    /// The next value, waiting for one; `None` once every sender is gone
    /// and every value sent has been received.
    ///
    /// Cancel-safe: dropping the future loses no value (one not yet taken
    /// stays in the channel for the next `recv`).
    pub async fn recv(&mut self) -> Option<T> {
        self.inner.recv().await.ok()
    }

    /// The next value if one is there now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|e| match e {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Closed,
        })
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("queued", &self.inner.len())
            .field("closed", &self.inner.is_closed())
            .finish()
    }
}

/// [`Sender::send`] failed: the receiver is gone. Holds the value.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; each holds the value.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel holds its capacity.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("the receiver is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`] has no value.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing now; more may come.
    Empty,
    /// Every sender is gone and every value was received.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Closed => f.write_str("every sender is gone"),
        }
    }
}

impl std::error::Error for TryRecvError {}
