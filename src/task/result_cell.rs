//! `ResultCell`: a task's result as it crosses threads — set once where the
//! task runs (a core, a blocking thread), awaited by a handle anywhere, with
//! an abort flag going the other way. Shared by `spawn_on`'s
//! `RemoteHandle` and `spawn_blocking`'s `JoinHandle`.

use super::JoinError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

pub(crate) struct ResultCell<T> {
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
    /// The task, for `abort` to wake (where it waits on a runtime).
    task_waker: Option<Waker>,
}

impl<T> ResultCell<T> {
    pub(crate) fn new() -> ResultCell<T> {
        ResultCell {
            inner: Mutex::new(Inner {
                result: None,
                done: false,
                taken: false,
                aborted: false,
                join_waker: None,
                task_waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Nothing that can panic runs under the lock; stay usable anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record the result (the first one only) and wake whoever awaits it —
    /// outside the lock: waking is foreign code.
    pub(crate) fn complete(&self, result: Result<T, JoinError>) {
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
    pub(crate) fn cancel_after_dropping<V>(&self, held: V) {
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(held)));
        self.complete(Err(match dropped {
            Ok(()) => JoinError::cancelled(),
            Err(payload) => JoinError::panic(payload),
        }));
    }

    /// Whether the handle asked for the task to be cancelled.
    pub(crate) fn aborted(&self) -> bool {
        self.lock().aborted
    }

    /// The running task is about to be polled with `waker`: remember it for
    /// `abort`. Returns whether it was aborted.
    pub(crate) fn register_task(&self, waker: &Waker) -> bool {
        let mut inner = self.lock();
        if !inner.aborted {
            match &inner.task_waker {
                Some(w) if w.will_wake(waker) => {}
                _ => inner.task_waker = Some(waker.clone()),
            }
        }
        inner.aborted
    }

    /// Ask for the task to be cancelled (no effect once it finished); wakes
    /// it if it registered a waker.
    pub(crate) fn abort(&self) {
        let waker = {
            let mut inner = self.lock();
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

    /// Returned, panicked or cancelled.
    pub(crate) fn is_finished(&self) -> bool {
        self.lock().done
    }

    /// The handle's poll. `handle` names it in the panic for a poll after
    /// the result was taken.
    pub(crate) fn poll_result(
        &self,
        cx: &mut Context<'_>,
        handle: &str,
    ) -> Poll<Result<T, JoinError>> {
        let mut inner = self.lock();
        if let Some(result) = inner.result.take() {
            inner.taken = true;
            return Poll::Ready(result);
        }
        if inner.taken {
            panic!("corio: {handle} polled after it returned its result");
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
