//! `spawn_on`'s two halves: the job that crosses to the target core and
//! spawns the future there, and the `RemoteHandle` that awaits its result
//! from anywhere.

use crate::task::{JoinError, ResultCell};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A task spawned on a core with [`spawn_on`](super::spawn_on): await it
/// for its result, from any thread. `Send`, unlike a
/// [`JoinHandle`](crate::task::JoinHandle): only the result crosses cores,
/// the future stays where it runs.
///
/// - `.await` gives `Ok(value)`, or a [`JoinError`] if the task was aborted
///   (or its core stopped before it finished) or panicked — with the panic's
///   payload; a destructor of the future that panics when the task is
///   dropped unfinished counts as the task's panic.
/// - [`abort`](RemoteHandle::abort) cancels it from anywhere: its future is
///   dropped on its core at that core's next turn.
/// - Dropping the handle detaches the task: it keeps running, and its
///   result — a panic included — is dropped when it finishes.
pub struct RemoteHandle<T> {
    state: Arc<ResultCell<T>>,
}

/// A new remote task: the handle, and the job's payload.
pub(crate) fn new<F, Fut>(f: F) -> (RemoteHandle<Fut::Output>, Job<F, Fut::Output>)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let state = Arc::new(ResultCell::new());
    (
        RemoteHandle {
            state: state.clone(),
        },
        Job { f: Some(f), state },
    )
}

/// What crosses to the target core: the closure that builds the future.
/// Dropped without being started (its core stopped), it cancels the task.
pub(crate) struct Job<F, T> {
    f: Option<F>,
    state: Arc<ResultCell<T>>,
}

impl<F, Fut> Job<F, Fut::Output>
where
    F: FnOnce() -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    /// On the target core, inside its runtime: build the future and spawn
    /// it. A panic building it is the task's result.
    pub(crate) fn start(mut self) {
        let Some(f) = self.f.take() else { return };
        let state = self.state.clone();
        if state.aborted() {
            state.cancel_after_dropping(f);
            return;
        }
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(future) => {
                crate::spawn(Running {
                    future: Some(Box::pin(future)),
                    state,
                });
            }
            Err(payload) => state.complete(Err(JoinError::panic(payload))),
        }
    }
}

impl<F, T> Drop for Job<F, T> {
    fn drop(&mut self) {
        if let Some(f) = self.f.take() {
            // Never started: its core stopped.
            self.state.cancel_after_dropping(f);
        }
    }
}

/// The spawned task on its core: polls the future, honours `abort`, and
/// reports its result — after the future has been dropped, so its
/// destructors have run by the time anyone sees the result.
struct Running<Fut: Future> {
    future: Option<Pin<Box<Fut>>>,
    state: Arc<ResultCell<Fut::Output>>,
}

impl<Fut: Future> Future for Running<Fut> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let aborted = this.state.register_task(cx.waker());
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(());
        };
        let result = if aborted {
            Err(JoinError::cancelled())
        } else {
            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(value)) => Ok(value),
                Err(payload) => Err(JoinError::panic(payload)),
            }
        };
        let future = this.future.take();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(future))) {
            // A destructor that panics: the task's result is that panic.
            this.state.complete(Err(JoinError::panic(payload)));
            return Poll::Ready(());
        }
        this.state.complete(result);
        Poll::Ready(())
    }
}

impl<Fut: Future> Drop for Running<Fut> {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            // Dropped unfinished: its runtime shut down.
            self.state.cancel_after_dropping(future);
        }
    }
}

impl<T> RemoteHandle<T> {
    /// Cancel the task (asyncio's `Task.cancel`): its future is dropped on
    /// its core at that core's next turn. No effect once it finished.
    pub fn abort(&self) {
        self.state.abort();
    }

    /// Whether the task has finished: returned, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.state.poll_result(cx, "RemoteHandle")
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
