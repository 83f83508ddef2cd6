//! A task's waker: `Send + Sync`, so any thread may wake it. It carries the
//! task's id, never the task itself (tasks are `!Send` and stay home). On
//! the thread where its executor runs, a wake is a push on the run queue;
//! from anywhere else it goes through the executor's [`Schedule`].

use super::executor;
use crate::loom::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// How a wake from elsewhere — another thread, another runtime, outside
/// the runtime's loop — reaches an executor: implemented by the runtime.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queue task `id` to run. Called at most once per wake-up: the waker
    /// does not call it again until the task has been polled.
    fn schedule(&self, id: usize);
}

pub(crate) struct TaskWaker {
    id: usize,
    /// Already in a run queue: further wakes until the next poll are free.
    queued: AtomicBool,
    scheduler: Arc<dyn Schedule>,
}

impl TaskWaker {
    pub(crate) fn new(id: usize, scheduler: Arc<dyn Schedule>) -> TaskWaker {
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

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.set_queued() {
            return;
        }
        // On the thread where the task's executor runs: a plain push.
        let local = executor::with_current(|e| {
            let ours = e.schedules_with(&self.scheduler);
            if ours {
                e.push(self.id);
            }
            ours
        });
        if local != Some(true) {
            self.scheduler.schedule(self.id);
        }
    }
}
