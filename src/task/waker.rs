//! A task's waker: `Send + Sync`, so any thread may wake it. It carries the
//! task's id, never the task itself (tasks are `!Send` and stay home).

use crate::runtime::context;
use crate::runtime::shared::{Shared, MAIN_TASK};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Wake;

pub(crate) struct TaskWaker {
    id: usize,
    /// Already in a run queue: further wakes until the next poll are free.
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl TaskWaker {
    pub(crate) fn new(id: usize, shared: Arc<Shared>) -> TaskWaker {
        TaskWaker {
            id,
            queued: AtomicBool::new(false),
            shared,
        }
    }

    /// Called just before the task is polled, so a wake during the poll
    /// queues it again.
    pub(crate) fn clear_queued(&self) {
        self.queued.store(false, Ordering::Release);
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
        if self.id != MAIN_TASK && !self.set_queued() {
            return;
        }
        // On the runtime's own thread, inside its block_on: a plain push.
        let local = context::with_core(|core| {
            if std::ptr::eq(Arc::as_ptr(&core.shared), Arc::as_ptr(&self.shared)) {
                core.schedule_local(self.id);
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            self.shared.wake_remote(self.id);
        }
    }
}
