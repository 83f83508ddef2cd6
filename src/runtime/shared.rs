//! The part of a runtime other threads may touch: the queue their wakers
//! (and other cores' spawns) push to, the state word that says whether the
//! loop sleeps, and the eventfd that ends the sleep.
//!
//! The protocol (model-checked in `loom_model.rs`) lives in one atomic word,
//! changed only by read-modify-writes, so every change is totally ordered
//! whatever the memory model:
//! - a waker publishes its wake (pushes the task id, then sets `REMOTE`; or
//!   sets `MAIN`) and clears `SLEEPING` in the same operation, writing the
//!   eventfd only if `SLEEPING` was set — so only the first waker after the
//!   loop fell asleep pays for a write;
//! - the loop goes to sleep only by swapping a word with no wake in it for
//!   `SLEEPING`: if a wake was published first the swap fails and the loop
//!   stays awake; if the swap came first, the waker sees `SLEEPING` and
//!   writes the eventfd, whose armed read ends the sleep.

use crate::driver::WakeTarget;
use crate::loom::{AtomicUsize, EventFd, Mutex, Ordering};
use crate::task::Schedule;
use std::sync::Arc;

/// Task id of the future passed to `block_on` (it is not a spawned task).
pub(crate) const MAIN_TASK: usize = usize::MAX;

/// The loop sleeps (or is about to) in `io_uring_enter`.
const SLEEPING: usize = 1;
/// The remote queue may hold task ids.
const REMOTE: usize = 1 << 1;
/// The `block_on` future was woken from elsewhere.
const MAIN: usize = 1 << 2;

/// Work for the loop from elsewhere.
pub(crate) enum Remote {
    /// A task woken from another thread (or from outside this runtime's
    /// `block_on`): it joins the run queue.
    Wake(usize),
    /// A job to run on the loop's thread, inside its `block_on` (another
    /// core's `spawn_on`): it spawns the task it carries.
    Run(Job),
}

/// A job sent to a runtime's loop. Dropped unrun if the runtime is gone.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Queue {
    items: Vec<Remote>,
    /// The runtime shut down: jobs are refused (and dropped by the sender).
    closed: bool,
}

pub(crate) struct Shared {
    /// Work from elsewhere, taken by the loop at its next turn.
    remote: Mutex<Queue>,
    /// `SLEEPING | REMOTE | MAIN`.
    state: AtomicUsize,
    eventfd: EventFd,
    /// This runtime's ring, for a waker on another ring to wake it with
    /// IORING_OP_MSG_RING; `None`: wake it through the eventfd only. Not
    /// part of the protocol (a plain std mutex, even under loom): it only
    /// picks the means of the wake-up.
    msg_target: std::sync::Mutex<Option<Arc<WakeTarget>>>,
}

impl Shared {
    pub(crate) fn new() -> std::io::Result<Shared> {
        Ok(Shared {
            remote: Mutex::new(Queue {
                items: Vec::new(),
                closed: false,
            }),
            state: AtomicUsize::new(0),
            eventfd: EventFd::new()?,
            msg_target: std::sync::Mutex::new(None),
        })
    }

    pub(crate) fn eventfd(&self) -> &EventFd {
        &self.eventfd
    }

    /// Let wakers running on another corio ring wake this one with
    /// IORING_OP_MSG_RING.
    pub(crate) fn wake_with_msg_ring(&self, target: Arc<WakeTarget>) {
        *self.lock_target() = Some(target);
    }

    fn lock_target(&self) -> std::sync::MutexGuard<'_, Option<Arc<WakeTarget>>> {
        self.msg_target.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wake a task (or, with [`MAIN_TASK`], the `block_on` future) from
    /// anywhere but this runtime's own running loop: another thread,
    /// another runtime, or this thread outside `block_on`.
    pub(crate) fn wake_remote(&self, id: usize) {
        if id == MAIN_TASK {
            self.publish(MAIN);
        } else {
            {
                let mut queue = self.lock();
                if queue.closed {
                    // The runtime and its tasks are gone.
                    return;
                }
                queue.items.push(Remote::Wake(id));
            }
            // After the push: the loop clears REMOTE before it locks to
            // drain, so a push it does not drain leaves REMOTE set.
            self.publish(REMOTE);
        }
    }

    /// Send `job` to run on the loop's thread. `Err(job)` if the runtime
    /// has shut down (the caller drops it, outside any lock).
    pub(crate) fn run_remote(&self, job: Job) -> Result<(), Job> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(job);
            }
            queue.items.push(Remote::Run(job));
        }
        self.publish(REMOTE);
        Ok(())
    }

    /// The runtime is shutting down: refuse jobs from now on, and hand back
    /// the work still queued (for the caller to drop outside the lock).
    pub(crate) fn close(&self) -> Vec<Remote> {
        let mut queue = self.lock();
        queue.closed = true;
        let items = std::mem::take(&mut queue.items);
        drop(queue);
        // The ring is about to close: wakers stop naming it (those already
        // holding it keep it open until their message is submitted).
        let target = self.lock_target().take();
        drop(target);
        items
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, Queue> {
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publish a wake and clear `SLEEPING` in one operation; the first
    /// waker after the loop fell asleep writes the eventfd.
    fn publish(&self, wake: usize) {
        let before = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |s| {
                Some((s | wake) & !SLEEPING)
            })
            .unwrap_or_else(|s| s);
        if before & SLEEPING != 0 {
            self.notify();
        }
    }

    /// End the loop's sleep: from a waker on another corio ring, with a
    /// completion posted by that ring (IORING_OP_MSG_RING: the sleeping
    /// ring wakes with nothing to re-arm); from anywhere else, with a write
    /// to the eventfd whose read the sleeping ring keeps armed.
    fn notify(&self) {
        let target = self.lock_target().clone();
        if let Some(target) = target {
            if super::context::wake_ring_from_here(&target) {
                return;
            }
        }
        self.eventfd.notify();
    }

    /// Whether the `block_on` future was woken from elsewhere (clears it).
    pub(crate) fn take_main_woken(&self) -> bool {
        // A plain load first: the read-modify-write only when set.
        self.state.load(Ordering::Relaxed) & MAIN != 0
            && self.state.fetch_and(!MAIN, Ordering::AcqRel) & MAIN != 0
    }

    /// Move the work sent from elsewhere into `out` (empty, reused storage).
    pub(crate) fn drain_remote(&self, out: &mut Vec<Remote>) {
        // A plain load on the hot path: no lock while nobody woke us.
        if self.state.load(Ordering::Relaxed) & REMOTE == 0 {
            return;
        }
        self.state.fetch_and(!REMOTE, Ordering::AcqRel);
        std::mem::swap(&mut self.lock().items, out);
    }

    /// Announce that the loop wants to sleep: true if it may, false (and it
    /// stays awake) if a wake was published first.
    ///
    /// `SLEEPING` is not cleared when the loop wakes up (that would cost a
    /// second read-modify-write on every sleeping turn): it stays set until
    /// the next `prepare_sleep` sets it again or a waker clears it. A waker
    /// that finds it set while the loop is in fact awake only pays for one
    /// spurious eventfd write — at most one per sleep.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |s| {
                (s & !SLEEPING == 0).then_some(SLEEPING)
            })
            .is_ok()
    }
}

impl Schedule for Shared {
    fn schedule(&self, id: usize) {
        self.wake_remote(id);
    }
}
