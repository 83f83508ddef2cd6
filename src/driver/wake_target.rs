//! Waking a runtime that sleeps in `io_uring_enter` from another corio
//! ring: a completion posted to its ring with IORING_OP_MSG_RING, and its
//! eventfd as the fallback whenever that cannot be done or fails.

use slab::Slab;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

/// The MSG_RING requests of this ring in flight, each keeping its target
/// alive, and falling back to the target's eventfd if the kernel reports the
/// message undelivered (the target's completion queue overflowed and the
/// kernel could not allocate, or its owner is exiting) or this ring closes
/// before the request is done.
///
/// Not operations: they are not counted in the metrics nor waited for.
/// Their completions carry [`RING_WAKE_GENERATION`] in the upper half of
/// `user_data`, a generation operation slots never use.
#[derive(Default)]
pub(super) struct RingWakes {
    in_flight: Slab<Arc<WakeTarget>>,
}

/// The `user_data` generation of MSG_RING wake requests (see
/// [`RingWakes`]); operation slots skip it.
pub(crate) const RING_WAKE_GENERATION: u32 = u32::MAX;

impl RingWakes {
    /// Track a request to `target`; returns its `user_data`.
    pub(super) fn insert(&mut self, target: Arc<WakeTarget>) -> u64 {
        let index = self.in_flight.insert(target);
        // The three tags at the top of the range have low halves of
        // u32::MAX - 2 and above; a handful of wakes are ever in flight.
        debug_assert!(index < u32::MAX as usize - 3);
        (u64::from(RING_WAKE_GENERATION) << 32) | index as u64
    }

    /// Whether `user_data` is one of these requests'.
    pub(super) fn owns(user_data: u64) -> bool {
        (user_data >> 32) as u32 == RING_WAKE_GENERATION && (user_data as u32) < u32::MAX - 3
    }

    /// A request's completion: if it failed, wake the target through its
    /// eventfd (a write, no foreign code).
    pub(super) fn complete(&mut self, user_data: u64, res: i32) {
        if let Some(target) = self.in_flight.try_remove(user_data as u32 as usize) {
            if res < 0 {
                target.notify_eventfd();
            }
        }
    }

    /// The ring closes with requests unfinished: whether their messages
    /// went out is unknown, and a spurious wake is harmless where a lost
    /// one is not.
    pub(super) fn orphan_all(&mut self) {
        for target in self.in_flight.drain() {
            target.notify_eventfd();
        }
    }
}

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use super::WakeTarget;
    use crate::driver::EventFd;
    use std::sync::Arc;

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
            let before = crate::metrics();
            assert!(driver.with(|d| d.wake_ring(&target)), "submitted at once");
            // The request failed inline and was reaped before wake_ring
            // returned: the fallback is written at once, not when the
            // waker's loop next turns (it may be about to block).
            assert!(readable(&eventfd), "the eventfd fallback was written");
            assert!(driver.with(|d| d.ring_wakes.in_flight.is_empty()));
            // A wake is not an operation.
            let after = crate::metrics();
            assert_eq!(after.ops_submitted, before.ops_submitted);
            assert_eq!(after.ops_in_flight, 0);
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
