//! The ring's table of registered ("fixed") files (IORING_REGISTER_FILES2
//! with a sparse table, Linux 5.19).
//!
//! An operation that names a file by its slot in this table instead of by
//! descriptor skips the kernel's per-operation `fget`/`fput` (an atomic
//! reference count on the file, ~3 % of a cached 4 KiB read). A descriptor
//! is installed once it has done a few operations (so short-lived ones pay
//! nothing) and removed before it is closed, with synchronous
//! `io_uring_register` calls: the socket or file is really closed the moment
//! its owner drops it, as without the table.

use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;

const IORING_UNREGISTER_FILES: libc::c_uint = 3;
const IORING_REGISTER_FILES_UPDATE: libc::c_uint = 6;
const IORING_REGISTER_FILES2: libc::c_uint = 13;

/// Slots at most: the kernel keeps a pointer per slot, and refuses more
/// than RLIMIT_NOFILE. Descriptors beyond it simply stay unregistered.
const MAX_SLOTS: u32 = 16 * 1024;

/// `struct io_uring_files_update` from <linux/io_uring.h>.
#[repr(C)]
struct FilesUpdate {
    offset: u32,
    resv: u32,
    fds: u64,
}

enum State {
    /// The sparse table is registered on first use.
    Untried,
    /// The kernel refused (too old, or no descriptors to spare), or the
    /// table was unregistered with the ring.
    Unavailable,
    Ready {
        size: u32,
        next: u32,
        free: Vec<u32>,
    },
    /// The ring was closed without unregistering the table (operations
    /// using it were orphaned): the kernel keeps every installed file until
    /// it tears the ring down.
    Left,
}

/// One ring's fixed-file table.
pub(crate) struct FileTable {
    /// The ring's descriptor; `None` once the ring is closed.
    ring_fd: Cell<Option<RawFd>>,
    state: RefCell<State>,
}

impl FileTable {
    pub(crate) fn new(ring_fd: RawFd) -> FileTable {
        FileTable {
            ring_fd: Cell::new(Some(ring_fd)),
            state: RefCell::new(State::Untried),
        }
    }

    /// Install `fd` in a free slot; `None` if there is none (or no table).
    pub(crate) fn install(&self, fd: RawFd) -> Option<u32> {
        let ring = self.ring_fd.get()?;
        let mut state = self.state.borrow_mut();
        if matches!(*state, State::Untried) {
            *state = match register_sparse(ring) {
                Some(size) => State::Ready {
                    size,
                    next: 0,
                    free: Vec::new(),
                },
                None => State::Unavailable,
            };
        }
        let State::Ready { size, next, free } = &mut *state else {
            return None;
        };
        let slot = match free.pop() {
            Some(slot) => slot,
            None if *next < *size => {
                *next += 1;
                *next - 1
            }
            None => return None,
        };
        if update(ring, slot, fd).is_ok() {
            Some(slot)
        } else {
            free.push(slot);
            None
        }
    }

    /// Empty `slot`: the table drops its reference to the file. Returns
    /// false if it could not, and the table still holds the file (the
    /// caller then shuts a socket down itself, so its peer is not left
    /// waiting until the ring is torn down).
    pub(crate) fn remove(&self, slot: u32) -> bool {
        let Some(ring) = self.ring_fd.get() else {
            // The ring is closed: its table was unregistered with it,
            // unless it was left to the kernel's teardown.
            return !matches!(*self.state.borrow(), State::Left);
        };
        // A signal can interrupt the update; anything else will not get
        // better by retrying.
        for _ in 0..3 {
            match update(ring, slot, -1) {
                Ok(()) => {
                    if let State::Ready { free, .. } = &mut *self.state.borrow_mut() {
                        free.push(slot);
                    }
                    return true;
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) => {}
                // The slot is not reused: the table may still hold the file.
                Err(_) => return false,
            }
        }
        false
    }

    /// The ring is about to be closed: drop the whole table now — the
    /// kernel tears a closed ring down asynchronously, and until then its
    /// table would keep every installed socket open (a listener would still
    /// accept). Then no more system calls on the ring's descriptor (the
    /// number may be reused).
    pub(crate) fn close(&self) {
        let Some(ring) = self.ring_fd.take() else {
            return;
        };
        let mut state = self.state.borrow_mut();
        if matches!(*state, State::Ready { .. }) {
            // SAFETY: io_uring_register with no argument.
            let res = unsafe {
                libc::syscall(
                    libc::SYS_io_uring_register,
                    ring,
                    IORING_UNREGISTER_FILES,
                    std::ptr::null::<libc::c_void>(),
                    0 as libc::c_uint,
                )
            };
            if res != 0 {
                // Still registered: the files stay held until teardown.
                *state = State::Left;
                return;
            }
        }
        *state = State::Unavailable;
    }

    /// The ring is about to be closed while operations that may use the
    /// table are orphaned: unregistering could wait for them (some kernels
    /// wait for every request using the table), so the table is left to
    /// the ring's teardown. Removals from now on report that the file is
    /// still held.
    pub(crate) fn abandon(&self) {
        if self.ring_fd.take().is_none() {
            return;
        }
        let mut state = self.state.borrow_mut();
        *state = match *state {
            State::Ready { .. } => State::Left,
            _ => State::Unavailable,
        };
    }
}

/// Register an empty table of as many slots as allowed; its size.
fn register_sparse(ring: RawFd) -> Option<u32> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into our local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let size = u32::try_from(limit.rlim_cur)
        .unwrap_or(u32::MAX)
        .min(MAX_SLOTS);
    if size == 0 {
        return None;
    }
    super::rsrc::register_sparse(ring, IORING_REGISTER_FILES2, size)
        .ok()
        .map(|()| size)
}

/// Put `fd` (or -1: empty) in `slot`.
fn update(ring: RawFd, slot: u32, fd: RawFd) -> std::io::Result<()> {
    let fds = [fd];
    let arg = FilesUpdate {
        offset: slot,
        resv: 0,
        fds: fds.as_ptr() as u64,
    };
    // SAFETY: io_uring_register with a live io_uring_files_update naming
    // one live descriptor (copied by the kernel during the call).
    let res = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            ring,
            IORING_REGISTER_FILES_UPDATE,
            &arg as *const FilesUpdate,
            1 as libc::c_uint,
        )
    };
    match res {
        1 => Ok(()),
        -1 => Err(std::io::Error::last_os_error()),
        _ => Err(std::io::Error::other(
            "the kernel updated no fixed-file slot",
        )),
    }
}
