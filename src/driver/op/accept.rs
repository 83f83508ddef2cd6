use super::{Op, OpCode};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use socket2::SockAddr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// IORING_OP_ACCEPT: one connection and its peer address (of any family:
/// the listener's type converts it).
pub(crate) struct Accept {
    fd: SharedFd,
    /// Boxed: the kernel writes the address here after submission.
    addr: Box<(socket2::SockAddrStorage, libc::socklen_t)>,
}

impl Accept {
    pub(crate) fn submit(fd: &SharedFd) -> Op<Accept> {
        let storage = socket2::SockAddrStorage::zeroed();
        let len = storage.size_of();
        Op::submit(Accept {
            fd: fd.clone(),
            addr: Box::new((storage, len)),
        })
    }
}

// SAFETY: the entry points at the boxed address storage owned by `self`.
unsafe impl OpCode for Accept {
    type Output = io::Result<(OwnedFd, SockAddr)>;

    fn entry(&mut self) -> squeue::Entry {
        let (storage, len) = &mut *self.addr;
        self.fd.entry(|fd| {
            opcode::Accept::new(fd, (storage as *mut socket2::SockAddrStorage).cast(), len)
                .flags(libc::SOCK_CLOEXEC)
                .build()
        })
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> Self::Output {
        // SAFETY: a successful accept returns a new descriptor we now own.
        let fd = unsafe { OwnedFd::from_raw_fd(result? as i32) };
        let (storage, len) = *self.addr;
        // The kernel reports the real length, which could exceed the
        // storage if the address was cut short: only what was written counts.
        let len = len.min(storage.size_of());
        // SAFETY: the kernel wrote `len` (at most the storage's size) bytes
        // of address into `storage`; the rest is zeroed.
        let addr = unsafe { SockAddr::new(storage, len) };
        Ok((fd, addr))
    }

    fn complete_abandoned(self, completion: Completion) {
        // A connection accepted after its future was dropped: close it.
        drop(self.complete(completion.result(), completion.flags));
    }

    fn orphan(self) {
        // The kernel may still write the peer address; the listener's
        // descriptor is released.
        std::mem::forget(self.addr);
    }
}
