//! Time: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! Timers are kept in user space and fire in deadline order; the runtime
//! sleeps in `io_uring_enter` until the earliest one, so a hundred thousand
//! concurrent sleeps cost no ring entries. Durations and deadlines never
//! panic: zero or past completes at once, too far to represent means never.

mod interval;
mod sleep;
mod timeout;
pub(crate) mod timers;

pub use interval::{interval, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, Elapsed};
