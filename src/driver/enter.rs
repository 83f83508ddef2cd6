//! The `io_uring_enter` system call, through a registered ring descriptor
//! when the kernel offers one (IORING_REGISTER_RING_FDS, 5.18): the kernel
//! then skips the file-table lookup on every enter — measurable when a loop
//! turn is one NOP or one cached read.
//!
//! The io-uring crate keeps such a registration inside a short-lived
//! `Submitter`, so the driver does the two system calls itself.

use std::io;
use std::os::fd::RawFd;

const IORING_REGISTER_RING_FDS: libc::c_uint = 20;
const IORING_UNREGISTER_RING_FDS: libc::c_uint = 21;
const IORING_ENTER_REGISTERED_RING: u32 = 1 << 4;

/// `struct io_uring_rsrc_update` from <linux/io_uring.h>.
#[repr(C)]
struct RsrcUpdate {
    offset: u32,
    resv: u32,
    data: u64,
}

/// How `io_uring_enter` names our ring.
#[derive(Debug)]
pub(crate) struct RingFd {
    fd: RawFd,
    /// Index in the thread's registered-ring table, if registration worked.
    registered: Option<u32>,
}

impl RingFd {
    /// Try to register `fd`; fall back to the plain descriptor.
    pub(crate) fn new(fd: RawFd) -> RingFd {
        let mut update = RsrcUpdate {
            offset: u32::MAX, // let the kernel pick a slot
            resv: 0,
            data: fd as u64,
        };
        // SAFETY: io_uring_register with a valid, live update struct of one
        // entry; the kernel writes the chosen slot into `offset`.
        let res = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                fd,
                IORING_REGISTER_RING_FDS,
                &mut update as *mut RsrcUpdate,
                1,
            )
        };
        RingFd {
            fd,
            registered: (res == 1).then_some(update.offset),
        }
    }

    /// `io_uring_enter(to_submit, min_complete, flags, arg, argsz)`.
    ///
    /// # Safety
    ///
    /// `arg` must be null or point to a live argument of `argsz` bytes of
    /// the kind `flags` announces.
    pub(crate) unsafe fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        arg: *const libc::c_void,
        argsz: usize,
    ) -> io::Result<u32> {
        let (fd, flags) = match self.registered {
            Some(index) => (index as RawFd, flags | IORING_ENTER_REGISTERED_RING),
            None => (self.fd, flags),
        };
        // SAFETY: forwarded from our caller; the other arguments are plain
        // integers.
        let res = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                to_submit,
                min_complete,
                flags,
                arg,
                argsz,
            )
        };
        if res < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res as u32)
        }
    }
}

impl RingFd {
    /// Give the registered slot back. Must happen before the ring's
    /// descriptor is closed: the slot holds a reference to the ring, which
    /// would otherwise stay alive until the thread exits.
    pub(crate) fn unregister(&mut self) {
        if let Some(index) = self.registered.take() {
            let update = RsrcUpdate {
                offset: index,
                resv: 0,
                data: 0,
            };
            // SAFETY: unregisters the slot we registered, on the thread that
            // registered it (the table is per thread; the Driver that owns
            // this is !Send).
            unsafe {
                libc::syscall(
                    libc::SYS_io_uring_register,
                    self.fd,
                    IORING_UNREGISTER_RING_FDS,
                    &update as *const RsrcUpdate,
                    1,
                )
            };
        }
    }
}
