//! The ring's table of registered ("fixed") buffers (IORING_REGISTER_BUFFERS2
//! with a sparse table, Linux 5.19; slots filled with
//! IORING_REGISTER_BUFFERS_UPDATE). A read or write naming a slot
//! (READ_FIXED / WRITE_FIXED) skips the kernel's per-operation page pinning.
//! [`FixedBufPool`](crate::buf::FixedBufPool)s take slots from it and give
//! them back when their memory goes.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;

const IORING_REGISTER_BUFFERS2: libc::c_uint = 15;
const IORING_REGISTER_BUFFERS_UPDATE: libc::c_uint = 16;

/// Slots at most (the kernel's IORING_MAX_REG_BUFFERS).
const MAX_SLOTS: u32 = 16 * 1024;

/// `struct io_uring_rsrc_update2` from <linux/io_uring.h>.
#[repr(C)]
struct RsrcUpdate2 {
    offset: u32,
    resv: u32,
    data: u64,
    tags: u64,
    nr: u32,
    resv2: u32,
}

enum State {
    Untried,
    /// The kernel refused the table (too old): the error to report.
    Unavailable(i32),
    /// `next`: first never-used slot; `free`: slots given back.
    Ready {
        next: u32,
        free: Vec<u32>,
    },
}

/// One ring's registered-buffer table.
pub(crate) struct BufferTable {
    /// The ring's descriptor; `None` once the ring is closed.
    ring_fd: Cell<Option<RawFd>>,
    state: RefCell<State>,
}

impl BufferTable {
    pub(crate) fn new(ring_fd: RawFd) -> BufferTable {
        BufferTable {
            ring_fd: Cell::new(Some(ring_fd)),
            state: RefCell::new(State::Untried),
        }
    }

    /// Register `buffers` (address, length) in free slots; their slot
    /// numbers, in order.
    ///
    /// # Safety
    ///
    /// Each buffer must stay allocated, unmoved, until it is
    /// [`unregister`](BufferTable::unregister)ed or the ring is closed.
    pub(crate) unsafe fn register(&self, buffers: &[(*mut u8, usize)]) -> io::Result<Vec<u16>> {
        let ring = self.ring_fd.get().ok_or_else(super::shut_down)?;
        let mut state = self.state.borrow_mut();
        if matches!(*state, State::Untried) {
            *state = match register_sparse(ring) {
                Ok(()) => State::Ready {
                    next: 0,
                    free: Vec::new(),
                },
                Err(e) => State::Unavailable(e.raw_os_error().unwrap_or(libc::EINVAL)),
            };
        }
        let (next, free) = match &mut *state {
            State::Ready { next, free } => (next, free),
            State::Unavailable(errno) => {
                let e = io::Error::from_raw_os_error(*errno);
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "the kernel refused a registered-buffer table ({e}): fixed buffers need \
                         Linux 5.19 or newer"
                    ),
                ));
            }
            State::Untried => unreachable!("just tried"),
        };
        let mut slots = Vec::with_capacity(buffers.len());
        while slots.len() < buffers.len() {
            match free.pop() {
                Some(slot) => slots.push(slot),
                None if *next < MAX_SLOTS => {
                    slots.push(*next);
                    *next += 1;
                }
                None => break,
            }
        }
        if slots.len() < buffers.len() {
            free.extend(slots);
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "a ring registers at most {MAX_SLOTS} fixed buffers; {} are in use",
                    *next as usize - free.len()
                ),
            ));
        }
        for (i, (&slot, &(ptr, len))) in slots.iter().zip(buffers).enumerate() {
            let iov = libc::iovec {
                iov_base: ptr.cast(),
                iov_len: len,
            };
            if let Err(e) = update(ring, slot, &iov) {
                // Undo what was registered; the slots go back.
                for &done in &slots[..i] {
                    let _ = update(ring, done, &EMPTY);
                }
                free.extend(slots);
                return Err(explain(e, buffers));
            }
        }
        Ok(slots.into_iter().map(|s| s as u16).collect())
    }

    /// Empty `slots` (a pool's memory is about to be freed) and take them
    /// back. True if the table no longer names the memory (also when the
    /// ring is closed: its table went with it); false if a slot could not
    /// be emptied — the caller must then leak the memory, not free it.
    pub(crate) fn unregister(&self, slots: &[u16]) -> bool {
        let Some(ring) = self.ring_fd.get() else {
            return true;
        };
        let mut state = self.state.borrow_mut();
        let State::Ready { free, .. } = &mut *state else {
            return true;
        };
        let mut all = true;
        for &slot in slots {
            if update(ring, u32::from(slot), &EMPTY).is_ok() {
                free.push(u32::from(slot));
            } else {
                // The slot still names the memory: never reused.
                all = false;
            }
        }
        all
    }

    /// The ring is about to be closed: no more system calls on its number.
    pub(crate) fn close(&self) {
        self.ring_fd.set(None);
    }
}

/// An empty slot.
const EMPTY: libc::iovec = libc::iovec {
    iov_base: std::ptr::null_mut(),
    iov_len: 0,
};

/// Name the usual cause of a refused registration.
fn explain(e: io::Error, buffers: &[(*mut u8, usize)]) -> io::Error {
    let bytes: usize = buffers.iter().map(|&(_, len)| len).sum();
    match e.raw_os_error() {
        Some(libc::ENOMEM) => io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "registering {bytes} bytes of fixed buffers failed: they are locked in memory \
                 and count against RLIMIT_MEMLOCK, which is too low (raise `ulimit -l`, or run \
                 with CAP_IPC_LOCK) ({e})"
            ),
        ),
        Some(libc::EOVERFLOW) | Some(libc::EINVAL) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("registering fixed buffers failed: each may be at most 1 GiB ({e})"),
        ),
        _ => e,
    }
}

/// Register an empty table of [`MAX_SLOTS`] slots.
fn register_sparse(ring: RawFd) -> io::Result<()> {
    super::rsrc::register_sparse(ring, IORING_REGISTER_BUFFERS2, MAX_SLOTS)
}

/// Put `iov` (or an empty one) in `slot`.
fn update(ring: RawFd, slot: u32, iov: &libc::iovec) -> io::Result<()> {
    let tags = [0u64];
    let arg = RsrcUpdate2 {
        offset: slot,
        resv: 0,
        data: iov as *const libc::iovec as u64,
        tags: tags.as_ptr() as u64,
        nr: 1,
        resv2: 0,
    };
    // The memory the iovec names is the caller's to keep alive (`register`).
    // SAFETY: io_uring_register with a live io_uring_rsrc_update2 naming
    // one live iovec and tag, read by the kernel during the call.
    let res = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            ring,
            IORING_REGISTER_BUFFERS_UPDATE,
            &arg as *const RsrcUpdate2,
            std::mem::size_of::<RsrcUpdate2>() as libc::c_uint,
        )
    };
    match res {
        1 => Ok(()),
        -1 => Err(io::Error::last_os_error()),
        _ => Err(io::Error::other("the kernel updated no fixed-buffer slot")),
    }
}
