use super::{sleep_until, Sleep};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A tick every `period`, the first one at once (an async `for` source:
/// `Interval` is a `futures_core::Stream` of tick instants).
///
/// When ticks are missed (the task was busy for longer than a period), the
/// missed ones are skipped and the next tick stays on the original cadence:
/// there is no burst of catch-up ticks. A zero period ticks at every call.
///
/// ```
/// # corio::block_on(async {
/// let mut ticks = corio::time::interval(std::time::Duration::from_millis(1));
/// for _ in 0..3 {
///     ticks.tick().await;
/// }
/// # });
/// ```
pub fn interval(period: Duration) -> Interval {
    Interval {
        period,
        next: Some(Instant::now()),
        sleep: None,
    }
}

/// Ticks at a fixed period; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// `None`: the next tick is too far away to represent (never).
    next: Option<Instant>,
    sleep: Option<Sleep>,
}

impl Interval {
    /// Wait for the next tick; returns its scheduled instant.
    ///
    /// Cancel-safe: dropping the future does not consume a tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Poll for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(due) = self.next else {
            return Poll::Pending;
        };
        let sleep = self.sleep.get_or_insert_with(|| sleep_until(due));
        if Pin::new(sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        let now = Instant::now();
        let mut next = due.checked_add(self.period);
        if self.period > Duration::ZERO {
            // Skip missed ticks, keeping the cadence.
            while let Some(n) = next {
                if n > now {
                    break;
                }
                next = n.checked_add(self.period);
            }
        }
        self.next = next;
        Poll::Ready(due)
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
