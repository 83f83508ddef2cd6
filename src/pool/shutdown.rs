//! The pool's shutdown request: made from any core or thread, awaited by
//! every core's tasks, and ended by the run it was made during.
//!
//! Runs are numbered. A request made while run `n` is in progress stands
//! until run `n` returns: every `shutdown_requested` awaited meanwhile
//! resolves, also one created after the request. A request made between
//! runs stands for nobody; in both cases the futures already waiting when it
//! is made resolve (they count requests). A request can never leak into a
//! later run: it is tagged with its run's number.

use event_listener::{Event, EventListener};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) struct Shutdown {
    /// The number of the run in progress; 0 between runs.
    run: AtomicU64,
    /// Runs started so far (numbers the next one).
    runs: AtomicU64,
    /// The run a standing request was made during; 0: none stands.
    requested: AtomicU64,
    /// Requests made so far: a waiter sees any request made after it was
    /// created, even if its run ended before the waiter was polled again.
    requests: AtomicU64,
    /// Wakes the waiters. Each waiter's listener leaves the list when the
    /// waiter is dropped, so the list never outgrows the live waiters.
    event: Event,
}

impl Shutdown {
    pub(crate) fn new() -> Shutdown {
        Shutdown {
            run: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            requested: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            event: Event::new(),
        }
    }

    /// A run starts (runs are serialised by the pool); returns its number.
    pub(crate) fn begin_run(&self) -> u64 {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        self.run.store(run, Ordering::SeqCst);
        run
    }

    /// Run `run` is over: a request made during it stands no longer.
    pub(crate) fn end_run(&self, run: u64) {
        self.run.store(0, Ordering::SeqCst);
        let _ = self
            .requested
            .compare_exchange(run, 0, Ordering::SeqCst, Ordering::SeqCst);
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let run = self.run.load(Ordering::SeqCst);
        if run != 0 {
            // Run numbers only grow: a request that read an older run
            // before being preempted never overwrites a newer one's.
            self.requested.fetch_max(run, Ordering::SeqCst);
        }
        self.event.notify(usize::MAX);
    }

    /// A request stands for the run in progress.
    fn standing(&self) -> bool {
        let requested = self.requested.load(Ordering::SeqCst);
        requested != 0 && requested == self.run.load(Ordering::SeqCst)
    }
}

/// Future of [`shutdown_requested`](super::shutdown_requested).
///
/// Cancel-safe: it only observes the request; dropping it loses nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct ShutdownRequested {
    /// `None` outside a pool: never resolves.
    pool: Option<(Arc<super::threads::PoolShared>, u64)>,
    listener: Option<EventListener>,
}

impl ShutdownRequested {
    pub(crate) fn new(pool: Option<Arc<super::threads::PoolShared>>) -> ShutdownRequested {
        ShutdownRequested {
            pool: pool.map(|p| {
                let seen = p.shutdown.requests.load(Ordering::SeqCst);
                (p, seen)
            }),
            listener: None,
        }
    }
}

impl Future for ShutdownRequested {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some((pool, seen)) = &this.pool else {
            return Poll::Pending;
        };
        let shutdown = &pool.shutdown;
        let asked = || shutdown.standing() || shutdown.requests.load(Ordering::SeqCst) != *seen;
        // Bounded: each round either finds the request or waits.
        loop {
            if asked() {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                // Listen, then look again: a request in between is seen.
                None => this.listener = Some(shutdown.event.listen()),
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => this.listener = None,
                },
            }
        }
    }
}

impl std::fmt::Debug for ShutdownRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownRequested").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use std::future::{poll_fn, Future};
    use std::task::Poll;

    /// Waiters polled and dropped without a request leave nothing behind
    /// (the list of wakers used to grow by one per dropped waiter).
    #[test]
    fn dropped_waiters_leave_no_listener_behind() {
        let pool = crate::Pool::builder().cores(1).pin(false).build().unwrap();
        let counts = pool.run(|_| async {
            let listeners = || {
                let pool = super::super::current_pool().unwrap();
                pool.shutdown.event.total_listeners()
            };
            let mut most = 0;
            for _ in 0..1000 {
                let mut waiter = Box::pin(super::super::shutdown_requested());
                poll_fn(|cx| {
                    assert!(waiter.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
                most = most.max(listeners());
            }
            (most, listeners())
        });
        assert_eq!(counts, [(1, 0)]);
    }
}
