//! Signal delivery for `corio::signal`. One handler per signal, installed
//! through `signal-hook-registry` the first time someone listens for it,
//! counts the signal and writes to the eventfd of every listener of it.
//! Everything the handler does is async-signal-safe: atomic loads and
//! increments, and `write(2)` on an eventfd.
//!
//! A listener waits by reading its eventfd through the ring; the counts say
//! how many signals were delivered, so a wake-up that is spurious or stale
//! costs only another wait. Eventfds are never closed: a slot keeps its
//! eventfd for the next listener, so a handler racing with a listener's
//! drop can only write to an eventfd, never to a reused descriptor number.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

/// Signals are numbered 1 to 64 on Linux.
const SIGNALS: usize = 65;
/// Listeners at once, process-wide.
const SLOTS: usize = 1024;

struct Slot {
    /// The signal its listener waits for; 0 when free.
    signal: AtomicI32,
    /// Its eventfd, created for its first listener and kept.
    fd: AtomicI32,
}

static LISTENERS: [Slot; SLOTS] = [const {
    Slot {
        signal: AtomicI32::new(0),
        fd: AtomicI32::new(-1),
    }
}; SLOTS];

/// Deliveries so far, per signal.
static COUNTS: [AtomicU64; SIGNALS] = [const { AtomicU64::new(0) }; SIGNALS];

/// Which handlers are installed; also serialises taking a slot.
static INSTALLED: Mutex<[bool; SIGNALS]> = Mutex::new([false; SIGNALS]);

/// Signals whose default action cannot be replaced, or must not be
/// (the process is in an undefined state after them).
const FORBIDDEN: [i32; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGBUS,
];

/// One listener's registration: its slot, freed on drop.
#[derive(Debug)]
pub(crate) struct Listener {
    slot: usize,
    signal: i32,
}

/// Deliveries of `signal` so far.
pub(crate) fn count(signal: i32) -> u64 {
    COUNTS[signal as usize].load(Ordering::Acquire)
}

/// Start listening for `signal`: from now on each delivery bumps its count
/// and wakes this listener's eventfd.
pub(crate) fn listen(signal: i32) -> io::Result<Listener> {
    if !(1..SIGNALS as i32).contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signal} is not a signal number (Linux has 1 to 64)"),
        ));
    }
    if FORBIDDEN.contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {signal} cannot be handled (SIGKILL and SIGSTOP cannot be caught; \
                 SIGILL, SIGFPE, SIGSEGV and SIGBUS leave the process in an undefined state)"
            ),
        ));
    }
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !installed[signal as usize] {
        // SAFETY: the action is async-signal-safe (see the module docs):
        // it touches only atomics in statics and calls write(2).
        unsafe { signal_hook_registry::register(signal, move || deliver(signal)) }?;
        installed[signal as usize] = true;
    }
    let slot = LISTENERS
        .iter()
        .position(|s| s.signal.load(Ordering::Relaxed) == 0)
        .ok_or_else(|| {
            io::Error::other(format!(
                "too many signal listeners at once ({SLOTS}): drop some first"
            ))
        })?;
    if LISTENERS[slot].fd.load(Ordering::Relaxed) < 0 {
        // Blocking mode: io_uring answers a read of an O_NONBLOCK eventfd
        // with EAGAIN instead of waiting.
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        LISTENERS[slot].fd.store(fd, Ordering::Release);
    }
    // Published last: a handler that sees the signal sees the eventfd.
    LISTENERS[slot].signal.store(signal, Ordering::Release);
    Ok(Listener { slot, signal })
}

impl Listener {
    /// A descriptor of this listener's eventfd, for the ring to read (a
    /// duplicate: closing it leaves the slot's eventfd alone).
    pub(crate) fn eventfd(&self) -> io::Result<OwnedFd> {
        let fd: RawFd = LISTENERS[self.slot].fd.load(Ordering::Acquire);
        // SAFETY: duplicating a descriptor we keep open forever.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is a fresh descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(dup) })
    }

    pub(crate) fn signal(&self) -> i32 {
        self.signal
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        LISTENERS[self.slot].signal.store(0, Ordering::Release);
    }
}

/// The handler: runs in signal context.
fn deliver(signal: i32) {
    COUNTS[signal as usize].fetch_add(1, Ordering::AcqRel);
    let one: u64 = 1;
    for slot in &LISTENERS {
        if slot.signal.load(Ordering::Acquire) != signal {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        if fd >= 0 {
            // SAFETY: writes 8 bytes from a local to an eventfd that is
            // never closed. A full counter (2^64 - 2 pending wakes) would
            // make it fail with EAGAIN-less blocking; unreachable.
            unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
        }
    }
}
