//! A task's waker: `Send + Sync`, so any thread may wake it. It carries the
//! task's id, never the task itself (tasks are `!Send` and stay home), and
//! hands the wake to its runtime through [`Schedule`]: the task module knows
//! no runtime.

use crate::loom::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// What a task's waker needs of the runtime that owns the task.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queue task `id` to run. Called at most once per wake-up: the waker
    /// does not call it again until the task has been polled.
    fn schedule(&self, id: usize);
}

pub(crate) struct TaskWaker<S: Schedule> {
    id: usize,
    /// Already in a run queue: further wakes until the next poll are free.
    queued: AtomicBool,
    scheduler: Arc<S>,
}

impl<S: Schedule> TaskWaker<S> {
    pub(crate) fn new(id: usize, scheduler: Arc<S>) -> TaskWaker<S> {
        TaskWaker {
            id,
            queued: AtomicBool::new(false),
            scheduler,
        }
    }

    /// Called just before the task is polled, so a wake during the poll
    /// queues it again.
    ///
    /// A read-modify-write, not a store: the waker's `set_queued` and this
    /// are then totally ordered on `queued`. If the wake came first, this
    /// acquires everything the waker published before waking, so the poll
    /// sees it; if this came first, the waker sees `false` and queues the
    /// task again. With a plain store, the store could sit in a store buffer
    /// while the poll reads stale data and the waker still sees `true`: a
    /// lost wake-up.
    pub(crate) fn clear_queued(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }

    /// Mark queued; false if it already was.
    pub(crate) fn set_queued(&self) -> bool {
        !self.queued.swap(true, Ordering::AcqRel)
    }
}

impl<S: Schedule> Wake for TaskWaker<S> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.set_queued() {
            self.scheduler.schedule(self.id);
        }
    }
}
