//! `spawn_on`'s two halves: the job that crosses to the target core and
//! spawns the future there, and the `RemoteHandle` that awaits its result
//! from anywhere.

use crate::task::JoinError;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

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
    state: Arc<State<T>>,
}

struct State<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    result: Option<Result<T, JoinError>>,
    /// The result is in (or was taken).
    done: bool,
    taken: bool,
    aborted: bool,
    /// Who awaits the handle.
    join_waker: Option<Waker>,
    /// The task on its core, for `abort` to wake.
    task_waker: Option<Waker>,
}

impl<T> State<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Nothing that can panic runs under the lock; stay usable anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record the result (once) and wake whoever awaits it.
    fn complete(&self, result: Result<T, JoinError>) {
        let waker = {
            let mut inner = self.lock();
            if inner.done {
                return;
            }
            inner.done = true;
            inner.result = Some(result);
            inner.join_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The task ends unfinished: drop what it held (the closure never run,
    /// the future never finished) and then resolve the handle — cancelled,
    /// or with the panic a destructor raised, which must not leave the
    /// handle waiting forever. Whoever awaits the handle may count on what
    /// the task captured being released by then.
    fn cancel_after_dropping<V>(&self, held: V) {
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(held)));
        self.complete(Err(match dropped {
            Ok(()) => JoinError::cancelled(),
            Err(payload) => JoinError::panic(payload),
        }));
    }
}

/// A new remote task: the handle, and the job's payload.
pub(crate) fn new<F, Fut>(f: F) -> (RemoteHandle<Fut::Output>, Job<F, Fut::Output>)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let state = Arc::new(State {
        inner: Mutex::new(Inner {
            result: None,
            done: false,
            taken: false,
            aborted: false,
            join_waker: None,
            task_waker: None,
        }),
    });
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
    state: Arc<State<T>>,
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
        if state.lock().aborted {
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
    state: Arc<State<Fut::Output>>,
}

impl<Fut: Future> Future for Running<Fut> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let aborted = {
            let mut inner = this.state.lock();
            if !inner.aborted {
                match &inner.task_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.task_waker = Some(cx.waker().clone()),
                }
            }
            inner.aborted
        };
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
        let waker = {
            let mut inner = self.state.lock();
            if inner.done {
                return;
            }
            inner.aborted = true;
            inner.task_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the task has finished: returned, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.state.lock().done
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.state.lock();
        if let Some(result) = inner.result.take() {
            inner.taken = true;
            return Poll::Ready(result);
        }
        if inner.taken {
            panic!("corio: RemoteHandle polled after it returned its result");
        }
        let replaced = match &inner.join_waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => inner.join_waker.replace(cx.waker().clone()),
        };
        drop(inner);
        // Dropped after unlocking: a waker's drop is foreign code.
        drop(replaced);
        Poll::Pending
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
