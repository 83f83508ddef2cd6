//! The event loop: [`Runtime`], [`Builder`] and [`block_on`] (asyncio's
//! `run_until_complete`).
//!
//! One runtime owns one io_uring and runs on one thread. Each turn of its
//! loop polls the runnable tasks, fires due timers, submits every queued
//! submission entry with a single `io_uring_enter` and reaps completions;
//! it sleeps in that same enter only when nothing is runnable, until a
//! completion, the next timer or a wake-up from another thread.

pub(crate) mod context;
mod core;
#[cfg(all(test, corio_loom))]
mod loom_model;
mod run_loop;
pub(crate) mod shared;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;

/// Entries in a ring built by [`Runtime::new`].
const DEFAULT_ENTRIES: u32 = 256;

/// Whether sleeping runtimes are woken from other rings with MSG_RING by
/// default (see [`Builder::wake_with_msg_ring`]). Chosen by measurement,
/// `corio-bench cross-core --quick --reps 3` on 2 CPUs: a round trip
/// between two sleeping cores 31.0 µs with MSG_RING against 36.4 µs with
/// the eventfd, one-to-one mpsc 26 M messages/s against 15 M.
const MSG_RING_WAKE_DEFAULT: bool = true;

/// A corio runtime: one io_uring, its tasks and timers, on this thread.
///
/// `!Send`: a ring set up with IORING_SETUP_SINGLE_ISSUER may only be
/// entered by the thread that created it. Build one runtime per thread
/// (thread-per-core) and pass messages between them.
///
/// Dropping a runtime drops its tasks, cancels the operations in flight and
/// waits (at most a second) for the kernel to finish with them; memory the
/// kernel might still write is leaked rather than freed if it never
/// answers. Descriptors owned by its tasks are closed.
///
/// ```
/// let rt = corio::Runtime::new()?;
/// let answer = rt.block_on(async { 42 });
/// assert_eq!(answer, 42);
/// # std::io::Result::Ok(())
/// ```
pub struct Runtime {
    core: Rc<core::Core>,
}

impl Runtime {
    /// A runtime with a ring of 256 submission entries.
    ///
    /// Fails with a message saying why when io_uring is unavailable (an old
    /// kernel, the `kernel.io_uring_disabled` sysctl, a container's seccomp
    /// profile, RLIMIT_MEMLOCK).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Run `future` to completion on this thread (asyncio's
    /// `run_until_complete`), running this runtime's tasks meanwhile.
    ///
    /// The future need not be `Send` or `'static`. Tasks still pending when
    /// it completes stay with the runtime and go on at its next `block_on`.
    ///
    /// # Panics
    ///
    /// If this runtime's `block_on` is already running on this thread, or
    /// if `io_uring_enter` fails for a reason other than a signal or a full
    /// completion queue. A panic of `future` propagates; the runtime stays
    /// usable.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.core.block_on(future)
    }

    /// Counters of this runtime (see [`Metrics`](crate::Metrics)).
    pub fn metrics(&self) -> crate::Metrics {
        self.core.metrics()
    }

    /// The part of the runtime other threads may reach: its queue of work
    /// from elsewhere and the wake-up of its loop.
    pub(crate) fn shared(&self) -> std::sync::Arc<shared::Shared> {
        self.core.shared.clone()
    }
}

impl Runtime {
    /// Drop the runtime, waiting at most `timeout` (instead of the default
    /// second) for the kernel to finish the operations its tasks leave in
    /// flight. Whatever the kernel has not finished by then is orphaned:
    /// its buffers are leaked, never freed (the kernel may still write
    /// them), and its descriptors are closed. With `Duration::ZERO` nothing
    /// is waited for.
    ///
    /// A stream whose read is orphaned this way may have lost the bytes
    /// that read received: its later reads fail with an error saying so.
    pub fn shutdown_timeout(self, timeout: std::time::Duration) {
        self.core.shutdown(timeout);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.core.shutdown(crate::driver::SHUTDOWN_GRACE);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("metrics", &self.core.metrics())
            .finish()
    }
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = corio::Builder::new().entries(1024).build()?;
/// rt.block_on(async {});
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    entries: u32,
    msg_ring_wake: bool,
}

impl Builder {
    /// Default settings: 256 submission entries.
    pub fn new() -> Builder {
        Builder {
            entries: DEFAULT_ENTRIES,
            msg_ring_wake: MSG_RING_WAKE_DEFAULT,
        }
    }

    /// Submission queue entries (rounded up to a power of two by the
    /// kernel, clamped to its maximum). More operations than this may be in
    /// flight at once: a full queue is submitted and refilled. The
    /// completion queue gets four times as many entries.
    pub fn entries(mut self, entries: u32) -> Builder {
        self.entries = entries.max(1);
        self
    }

    /// How a task of this runtime, woken from a thread that runs another
    /// corio runtime while this one sleeps in the kernel, wakes it: with a
    /// completion posted from the waker's ring (IORING_OP_MSG_RING, Linux
    /// 5.18), submitted at once with one `io_uring_enter` — the sleeping
    /// ring wakes with nothing to re-arm — or, with `false` (and on kernels
    /// without MSG_RING, from threads without a runtime, and whenever the
    /// kernel reports the message undelivered), with a write to an eventfd
    /// whose read the sleeping ring keeps armed. Either way one system call,
    /// paid only by the first wake after the loop fell asleep. On by
    /// default: measured faster (`corio-bench cross-core`).
    pub fn wake_with_msg_ring(mut self, enabled: bool) -> Builder {
        self.msg_ring_wake = enabled;
        self
    }

    /// Create the ring and the runtime on the calling thread.
    pub fn build(&self) -> io::Result<Runtime> {
        Ok(Runtime {
            core: Rc::new(core::Core::new(self.entries, self.msg_ring_wake)?),
        })
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

thread_local! {
    /// The runtime `corio::block_on` uses, created on first use and dropped
    /// (ring and descriptors released) when the thread exits.
    static IMPLICIT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Run `future` to completion on this thread's runtime (asyncio's
/// `run_until_complete`), creating the runtime on first use.
///
/// The future need not be `Send` or `'static`. The thread's runtime lives
/// until the thread exits; tasks it still holds go on at the next
/// `block_on`.
///
/// # Panics
///
/// If io_uring is unavailable (with the same message [`Runtime::new`]
/// gives), or when called from inside this thread's runtime (nested).
///
/// ```
/// let v = corio::block_on(async { corio::spawn(async { 1 }).await.unwrap() + 1 });
/// assert_eq!(v, 2);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let core = IMPLICIT.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            match Runtime::new() {
                Ok(rt) => *slot = Some(rt),
                Err(e) => panic!("{e}"),
            }
        }
        slot.as_ref().map(|rt| rt.core.clone())
    });
    let core = core.expect("the implicit runtime was just created");
    core.block_on(future)
}

/// Counters of the runtime running on this thread: the one whose
/// `block_on` is on the stack, else this thread's implicit runtime, else
/// all zeros.
pub fn metrics() -> crate::Metrics {
    if let Some(m) = context::with_core(|core| core.metrics()) {
        return m;
    }
    IMPLICIT
        .try_with(|slot| slot.borrow().as_ref().map(Runtime::metrics))
        .ok()
        .flatten()
        .unwrap_or_default()
}
