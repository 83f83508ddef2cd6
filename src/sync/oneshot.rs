//! A future completed by hand: asyncio's `Future` with `set_result` and
//! `cancel`.
//!
//! [`channel`] makes a [`Sender`] (the side that sets the result) and a
//! [`Receiver`] (a future of it). Both halves are `Send` when `T` is, so a
//! plain thread can complete a future the runtime awaits: the receiver's
//! waker wakes the runtime even while it sleeps in the kernel.
//!
//! ```
//! let (tx, rx) = corio::sync::oneshot::channel();
//! std::thread::spawn(move || tx.send(42).unwrap());
//! assert_eq!(corio::block_on(rx).unwrap(), 42);
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Create a one-shot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            sender_gone: false,
            receiver_gone: false,
            waker: None,
        }),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    sender_gone: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code that can panic runs under the lock, but stay usable anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sets the result (asyncio's `set_result`); dropping it unsent cancels the
/// future (asyncio's `cancel`).
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Complete the future with `value`. `Err(value)` if the receiver is
    /// gone.
    pub fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut state = self.inner.lock();
            if state.receiver_gone {
                return Err(value);
            }
            state.value = Some(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.lock().receiver_gone
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.inner.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The future of the value: `Ok(value)`, or [`RecvError`] if the sender was
/// dropped without sending.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// The result without waiting (asyncio's `done()` and `result()`):
    /// [`TryRecvError::Empty`] while the sender may still send,
    /// [`TryRecvError::Closed`] once it was dropped without sending (or the
    /// value was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner.lock();
        match state.value.take() {
            Some(value) => {
                // Taken: the channel is now spent.
                state.sender_gone = true;
                Ok(value)
            }
            None if state.sender_gone => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.inner.lock();
        if let Some(value) = state.value.take() {
            state.sender_gone = true;
            return Poll::Ready(Ok(value));
        }
        if state.sender_gone {
            return Poll::Ready(Err(RecvError(())));
        }
        let replaced = match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => state.waker.replace(cx.waker().clone()),
        };
        drop(state);
        // Dropped after unlocking: a waker's drop is foreign code, which
        // could touch this channel again.
        drop(replaced);
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (waker, value) = {
            let mut state = self.inner.lock();
            state.receiver_gone = true;
            (state.waker.take(), state.value.take())
        };
        // Outside the lock: both run foreign code when dropped.
        drop(waker);
        drop(value);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The sender was dropped without sending (the future was cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sender was dropped without sending a value")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Not sent yet.
    Empty,
    /// The sender was dropped without sending, or the value was taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value has been sent yet"),
            TryRecvError::Closed => f.write_str("the sender was dropped without sending a value"),
        }
    }
}

impl std::error::Error for TryRecvError {}
