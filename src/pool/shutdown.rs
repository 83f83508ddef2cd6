//! The pool's shutdown request: set from any core or thread, awaited by
//! every core's tasks, cleared when the run that made it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

pub(crate) struct Shutdown {
    requested: AtomicBool,
    /// Requests made so far: a waiter created before a request resolves
    /// even if the run that made it ended (and cleared `requested`) before
    /// the waiter was polled again.
    requests: AtomicU64,
    waiters: Mutex<Vec<Waker>>,
}

impl Shutdown {
    pub(crate) fn new() -> Shutdown {
        Shutdown {
            requested: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.requested.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.lock());
        waiters.into_iter().for_each(Waker::wake);
    }

    /// The run that made the request is over.
    pub(crate) fn clear(&self) {
        self.requested.store(false, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Future of [`shutdown_requested`](super::shutdown_requested).
#[must_use = "futures do nothing unless awaited"]
pub struct ShutdownRequested {
    /// `None` outside a pool: never resolves.
    pool: Option<(Arc<super::threads::PoolShared>, u64)>,
}

impl ShutdownRequested {
    pub(crate) fn new(pool: Option<Arc<super::threads::PoolShared>>) -> ShutdownRequested {
        ShutdownRequested {
            pool: pool.map(|p| {
                let seen = p.shutdown.requests.load(Ordering::SeqCst);
                (p, seen)
            }),
        }
    }
}

impl Future for ShutdownRequested {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some((pool, seen)) = &self.pool else {
            return Poll::Pending;
        };
        let shutdown = &pool.shutdown;
        let asked = || {
            shutdown.requested.load(Ordering::SeqCst)
                || shutdown.requests.load(Ordering::SeqCst) != *seen
        };
        if asked() {
            return Poll::Ready(());
        }
        {
            let mut waiters = shutdown.lock();
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
        // A request between the check and the registration is seen here.
        if asked() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for ShutdownRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownRequested").finish_non_exhaustive()
    }
}
