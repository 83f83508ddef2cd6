//! The part of a runtime other threads may touch: the queue their wakers
//! push to and the eventfd that ends the ring's sleep.

use crate::driver::EventFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Task id of the future passed to `block_on` (it is not a spawned task).
pub(crate) const MAIN_TASK: usize = usize::MAX;

pub(crate) struct Shared {
    /// Tasks woken from other threads (or from outside this runtime's
    /// `block_on`), moved to the run queue at the next turn.
    remote: Mutex<Vec<usize>>,
    /// `remote` may be non-empty: lets the loop skip the lock on every turn.
    remote_pending: AtomicBool,
    /// The `block_on` future was woken.
    main_woken: AtomicBool,
    /// The loop is about to sleep (or sleeps) in `io_uring_enter`.
    sleeping: AtomicBool,
    eventfd: EventFd,
}

impl Shared {
    pub(crate) fn new() -> std::io::Result<Shared> {
        Ok(Shared {
            remote: Mutex::new(Vec::new()),
            remote_pending: AtomicBool::new(false),
            main_woken: AtomicBool::new(true),
            sleeping: AtomicBool::new(false),
            eventfd: EventFd::new()?,
        })
    }

    pub(crate) fn eventfd(&self) -> &EventFd {
        &self.eventfd
    }

    /// Wake a task from a thread that is not running this runtime.
    pub(crate) fn wake_remote(&self, id: usize) {
        if id == MAIN_TASK {
            self.main_woken.store(true, Ordering::SeqCst);
        } else {
            self.remote
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(id);
        }
        // Only the first waker after the loop fell asleep pays for a write.
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.eventfd.notify();
        }
    }

    /// Wake the `block_on` future from the runtime's own thread.
    pub(crate) fn wake_main_local(&self) {
        self.main_woken.store(true, Ordering::Relaxed);
    }

    pub(crate) fn take_main_woken(&self) -> bool {
        // A plain load first: the swap (a locked instruction) only when set.
        self.main_woken.load(Ordering::Relaxed) && self.main_woken.swap(false, Ordering::Acquire)
    }

    /// Move remotely woken tasks into `queue`.
    pub(crate) fn drain_remote(&self, queue: &mut std::collections::VecDeque<usize>) {
        if !self.remote_pending.load(Ordering::Acquire) {
            return;
        }
        self.remote_pending.store(false, Ordering::SeqCst);
        let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        queue.extend(remote.drain(..));
    }

    /// Announce that the loop wants to sleep. Returns false (and stays
    /// awake) if a wake-up raced in: pairs with `wake_remote`, which stores
    /// its wake before reading `sleeping` (both SeqCst), so one of the two
    /// always sees the other.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        let pending =
            self.main_woken.load(Ordering::SeqCst) || self.remote_pending.load(Ordering::SeqCst);
        if pending {
            self.sleeping.store(false, Ordering::SeqCst);
        }
        !pending
    }

    /// The loop is awake again. Relaxed: a waker that still sees `true`
    /// only pays for one spurious eventfd write, and the next
    /// `prepare_sleep` orders itself with a SeqCst store.
    pub(crate) fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}
