use super::timers::{TimerKey, TimersHandle};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Wait until `duration` has passed (asyncio's `sleep`).
///
/// A zero duration completes at once. A duration too long for `Instant` to
/// represent (e.g. `Duration::MAX`) never completes. Never panics.
///
/// Cancel-safe: dropping the future removes the timer.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().checked_add(duration))
}

/// Wait until `deadline` (a deadline in the past completes at once).
///
/// Cancel-safe: dropping the future removes the timer.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline))
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// Timers live in the runtime's user-space timer map, not in the ring: the
/// runtime sleeps in `io_uring_enter` until the earliest deadline.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    /// `None`: never.
    deadline: Option<Instant>,
    registered: Option<(TimersHandle, TimerKey)>,
}

impl Sleep {
    fn new(deadline: Option<Instant>) -> Sleep {
        Sleep {
            deadline,
            registered: None,
        }
    }

    /// The instant this sleep ends, `None` if it never does.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Move the deadline (the timer is re-registered at the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = Some(deadline);
    }

    fn unregister(&mut self) {
        if let Some((timers, key)) = self.registered.take() {
            let removed = timers.try_borrow_mut().ok().and_then(|mut t| t.remove(key));
            drop(removed);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            self.unregister();
            return Poll::Ready(());
        }
        if let Some((timers, key)) = &self.registered {
            let (pending, replaced) = timers.borrow_mut().update(*key, cx.waker());
            drop(replaced);
            if pending {
                return Poll::Pending;
            }
        }
        let timers = crate::runtime::context::with_core(|core| core.timers.clone())
            .expect("corio::time::Sleep polled with no corio runtime running on this thread");
        let key = timers.borrow_mut().insert(deadline, cx.waker());
        self.registered = Some((timers, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}
