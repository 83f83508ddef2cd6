//! The memory of one spawned task: its future, then its result.

use super::waker::TaskWaker;
use super::JoinError;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// What the run loop needs of a task, whatever its future's type.
pub(crate) trait Task {
    /// Poll once (or drop the future if aborted). True when finished.
    fn run(&self) -> bool;
    /// Drop the future without polling it: the runtime is going away.
    fn shut_down(&self);
    /// The waker the task is polled with.
    fn waker(&self) -> &Waker;
    /// Mark it queued to run; false if it already was.
    fn set_queued(&self) -> bool;
}

/// What a `JoinHandle<T>` needs of its task.
pub(crate) trait Join<T> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(&self);
    fn is_finished(&self) -> bool;
}

enum Stage<F: Future> {
    Running(Pin<Box<F>>),
    /// The future is out being polled (re-entrant calls see this).
    Polling,
    Finished(Result<F::Output, JoinError>),
    /// The result went to the JoinHandle.
    Taken,
}

pub(crate) struct TaskCell<F: Future> {
    stage: RefCell<Stage<F>>,
    aborted: Cell<bool>,
    join_waker: RefCell<Option<Waker>>,
    flag: Arc<TaskWaker>,
    waker: Waker,
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(future: F, flag: Arc<TaskWaker>) -> TaskCell<F> {
        TaskCell {
            stage: RefCell::new(Stage::Running(Box::pin(future))),
            aborted: Cell::new(false),
            join_waker: RefCell::new(None),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    fn finish(&self, result: Result<F::Output, JoinError>) {
        *self.stage.borrow_mut() = Stage::Finished(result);
        let waker = self.join_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Drop a future, containing a panic from its destructor.
fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

impl<F: Future> Task for TaskCell<F> {
    fn run(&self) -> bool {
        let taken = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Polling);
        let mut future = match taken {
            Stage::Running(future) => future,
            other => {
                let finished = !matches!(other, Stage::Polling);
                *self.stage.borrow_mut() = other;
                return finished;
            }
        };
        self.flag.clear_queued();
        if self.aborted.get() {
            drop_quietly(future);
            self.finish(Err(JoinError::cancelled()));
            return true;
        }
        let mut cx = Context::from_waker(&self.waker);
        let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Pending) if !self.aborted.get() => {
                *self.stage.borrow_mut() = Stage::Running(future);
                false
            }
            Ok(Poll::Pending) => {
                drop_quietly(future);
                self.finish(Err(JoinError::cancelled()));
                true
            }
            Ok(Poll::Ready(value)) => {
                drop_quietly(future);
                self.finish(Ok(value));
                true
            }
            Err(payload) => {
                drop_quietly(future);
                self.finish(Err(JoinError::panic(payload)));
                true
            }
        }
    }

    fn waker(&self) -> &Waker {
        &self.waker
    }

    fn set_queued(&self) -> bool {
        self.flag.set_queued()
    }

    fn shut_down(&self) {
        let taken = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Polling);
        match taken {
            Stage::Running(future) => {
                drop_quietly(future);
                self.finish(Err(JoinError::cancelled()));
            }
            other => *self.stage.borrow_mut() = other,
        }
    }
}

impl<F: Future> Join<F::Output> for TaskCell<F> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let mut stage = self.stage.borrow_mut();
        match std::mem::replace(&mut *stage, Stage::Taken) {
            Stage::Finished(result) => Poll::Ready(result),
            Stage::Taken => panic!("corio: JoinHandle polled after it returned its result"),
            running => {
                *stage = running;
                drop(stage);
                let mut slot = self.join_waker.borrow_mut();
                let replaced = match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => slot.replace(cx.waker().clone()),
                };
                drop(slot);
                // Dropped outside the borrow: a waker's drop is foreign code.
                drop(replaced);
                Poll::Pending
            }
        }
    }

    fn abort(&self) {
        if self.is_finished() || self.aborted.replace(true) {
            return;
        }
        self.waker.wake_by_ref();
    }

    fn is_finished(&self) -> bool {
        matches!(&*self.stage.borrow(), Stage::Finished(_) | Stage::Taken)
    }
}
