//! What the cross-thread wake protocol is built from: std's atomics and
//! mutex, and the eventfd that ends a ring's sleep — or, when the crate is
//! built for the model checker (`RUSTFLAGS="--cfg corio_loom" cargo test --lib
//! --release loom`), loom's models of them, so that every interleaving of
//! wakers against the run loop can be explored (as tokio does). The cfg is
//! corio's own: dependencies that react to a plain `--cfg loom`
//! (event-listener, under async-channel) would want loom themselves.

#[cfg(not(all(test, corio_loom)))]
pub(crate) use crate::driver::EventFd;
#[cfg(not(all(test, corio_loom)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(all(test, corio_loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, corio_loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(all(test, corio_loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(all(test, corio_loom))]
pub(crate) use model::EventFd;

#[cfg(all(test, corio_loom))]
mod model {
    use loom::sync::{Condvar, Mutex};
    use std::os::fd::RawFd;

    /// The eventfd as the protocol sees it: a counter that `notify` adds
    /// to, and that the sleeping loop waits on and resets (the armed read).
    /// A loop that waits while nobody will notify is a deadlock loom reports.
    #[derive(Debug)]
    pub(crate) struct EventFd {
        count: Mutex<u64>,
        cond: Condvar,
    }

    impl EventFd {
        pub(crate) fn new() -> std::io::Result<EventFd> {
            Ok(EventFd {
                count: Mutex::new(0),
                cond: Condvar::new(),
            })
        }

        pub(crate) fn notify(&self) {
            *self.count.lock().unwrap() += 1;
            self.cond.notify_one();
        }

        /// No descriptor in the model.
        pub(crate) fn as_raw_fd(&self) -> RawFd {
            -1
        }

        /// Sleep until notified, then consume the count (as the ring's
        /// armed read of the eventfd does).
        pub(crate) fn wait(&self) {
            let mut count = self.count.lock().unwrap();
            while *count == 0 {
                count = self.cond.wait(count).unwrap();
            }
            *count = 0;
        }
    }
}
