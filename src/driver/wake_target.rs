//! Waking a runtime that sleeps in `io_uring_enter` from another corio
//! ring: a completion posted to its ring with IORING_OP_MSG_RING, and its
//! eventfd as the fallback whenever that cannot be done or fails.

use super::op::Abandoned;
use super::Completion;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;

/// Numbers each driver, so a ring can tell a wake of itself apart without
/// comparing descriptor numbers (which the kernel reuses).
static NEXT_DRIVER_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_driver_id() -> u64 {
    NEXT_DRIVER_ID.fetch_add(1, Ordering::Relaxed)
}

/// A sleeping runtime as other rings wake it. Holds duplicates of its ring
/// and eventfd descriptors: a waker that raced the runtime's shutdown
/// still names that runtime's ring (kept open by the duplicate until the
/// message is submitted), never a descriptor number the process has since
/// reused for something else.
#[derive(Debug)]
pub(crate) struct WakeTarget {
    /// The driver the ring belongs to.
    pub(crate) driver: u64,
    pub(crate) ring: OwnedFd,
    eventfd: OwnedFd,
}

impl WakeTarget {
    /// Duplicates `ring` and `eventfd` (both live descriptors of the driver
    /// numbered `driver`).
    pub(crate) fn new(driver: u64, ring: RawFd, eventfd: RawFd) -> io::Result<WakeTarget> {
        Ok(WakeTarget {
            driver,
            ring: dup(ring)?,
            eventfd: dup(eventfd)?,
        })
    }

    /// Wake the runtime through its eventfd (whose read its ring keeps
    /// armed while it sleeps).
    pub(crate) fn notify_eventfd(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to a descriptor we own.
        let _ = unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes no pointer; an invalid `fd` is EBADF.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// A MSG_RING request in flight: it keeps its target alive, and falls back
/// to the target's eventfd if the kernel reports the message undelivered
/// (the target's completion queue overflowed and the kernel could not
/// allocate, or its owner is exiting) or the ring closes before it is done.
pub(super) struct MsgWake(pub(super) Arc<WakeTarget>);

impl Abandoned for MsgWake {
    fn progress(&mut self, _completion: Completion, _wakers: &mut VecDeque<Waker>) {
        debug_assert!(false, "IORING_OP_MSG_RING posted IORING_CQE_F_MORE");
    }

    fn finish(self: Box<Self>, completion: Completion) {
        if completion.res < 0 {
            self.0.notify_eventfd();
        }
    }

    fn orphan(self: Box<Self>) {
        // Whether the message went out is unknown: a spurious wake is
        // harmless, a lost one is not.
        self.0.notify_eventfd();
    }
}

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use super::WakeTarget;
    use crate::driver::EventFd;
    use std::sync::Arc;
    use std::time::Duration;

    fn readable(fd: &EventFd) -> bool {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd; zero timeout.
        unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
    }

    /// A message the kernel refuses to deliver (here: the "ring" is not an
    /// io_uring, EBADFD) falls back to the target's eventfd.
    #[test]
    fn an_undelivered_message_wakes_the_target_through_its_eventfd() {
        crate::block_on(async {
            let eventfd = EventFd::new().unwrap();
            let not_a_ring = EventFd::new().unwrap();
            // Driver ids start at 1: 0 is nobody.
            let target =
                Arc::new(WakeTarget::new(0, not_a_ring.as_raw_fd(), eventfd.as_raw_fd()).unwrap());
            let driver = crate::runtime::context::driver().unwrap();
            if !driver.with(|d| d.msg_ring) {
                return; // the kernel has no MSG_RING
            }
            assert!(driver.with(|d| d.wake_ring(&target)), "submitted at once");
            assert!(!readable(&eventfd));
            // The loop reaps the failed request and finishes it.
            for _ in 0..100 {
                if readable(&eventfd) {
                    break;
                }
                crate::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(readable(&eventfd), "the eventfd fallback was written");
            assert_eq!(crate::metrics().ops_in_flight, 0);
            assert!(!readable(&not_a_ring));
        });
    }

    /// A ring never messages itself (its own loop is awake to run the
    /// wake): the caller uses the eventfd.
    #[test]
    fn a_ring_does_not_message_itself() {
        crate::block_on(async {
            let eventfd = EventFd::new().unwrap();
            let driver = crate::runtime::context::driver().unwrap();
            let target = driver.with(|d| d.wake_target(eventfd.as_raw_fd()).unwrap());
            if let Some(target) = target {
                assert!(!driver.with(|d| d.wake_ring(&target)));
            }
        });
    }
}
