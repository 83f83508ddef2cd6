use super::cell::Join;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll};

/// A spawned task: asyncio's `Task`. Await it for the task's result.
///
/// - `.await` gives `Ok(value)`, or a [`JoinError`] if the task was aborted
///   or panicked.
/// - [`abort`](JoinHandle::abort) is asyncio's `cancel()`: the task's future
///   is dropped at the runtime's next turn (its operations are cancelled, its
///   buffers released once the kernel is done with them). On a task that
///   already finished it does nothing, and awaiting still gives `Ok(value)`.
/// - [`is_finished`](JoinHandle::is_finished) is asyncio's `done()`.
/// - Dropping the handle detaches the task: it keeps running.
///
/// The handle is `!Send`, like the task: both belong to the runtime's thread.
pub struct JoinHandle<T> {
    task: Rc<dyn Join<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: Rc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle { task }
    }

    /// Cancel the task (asyncio's `Task.cancel`). No effect once it finished.
    pub fn abort(&self) {
        self.task.abort()
    }

    /// Whether the task has finished: returned, panicked or been cancelled
    /// (asyncio's `Task.done`).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.task.poll_join(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task has no value: it was cancelled or it panicked.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// In a Mutex so that `JoinError` is `Sync` (and fits
    /// `Box<dyn Error + Send + Sync>` and `?` into such error types) although
    /// a panic payload is only `Send`.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// The task was aborted (or its runtime was dropped) before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`; `Err(self)` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        match &self.repr {
            Repr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                p.downcast_ref::<&'static str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(msg)) => write!(f, "task panicked: {msg}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (Repr::Panic(_), msg) => write!(f, "JoinError::Panic({msg:?})"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
