use super::{checks, Multishot, OpStream};
use crate::buf::IoBuf;
use crate::driver::SharedFd;
use io_uring::{cqueue, opcode, squeue};
use std::io;

/// IORING_OP_SEND_ZC (Linux 6.0) with MSG_NOSIGNAL: the kernel sends from
/// the buffer's pages without copying them, and posts two completions —
/// the result, then (flagged IORING_CQE_F_NOTIF) a notification once the
/// network stack no longer reads the pages. Declared as a multishot
/// operation so that the buffer lives until that second completion, also
/// when the future is dropped.
pub(crate) struct SendZc<B> {
    fd: SharedFd,
    buf: B,
    len: u32,
}

/// One completion of a zero-copy send.
pub(crate) enum ZcEvent {
    /// The send's result.
    Sent(io::Result<u32>),
    /// The kernel is done with the buffer.
    Released,
}

impl<B: IoBuf> SendZc<B> {
    pub(crate) fn stream(fd: &SharedFd, buf: B) -> OpStream<SendZc<B>> {
        let len = checks::clamp_length(buf.bytes_init());
        OpStream::new(SendZc {
            fd: fd.clone(),
            buf,
            len,
        })
    }

    pub(crate) fn into_buf(self) -> B {
        self.buf
    }
}

// SAFETY: the entry points at `len` initialised bytes of `buf`'s stable
// memory (IoBuf contract), owned by `self`, which OpStream keeps alive until
// the final completion — the notification.
unsafe impl<B: IoBuf> Multishot for SendZc<B> {
    type Item = ZcEvent;

    fn entry(&mut self) -> squeue::Entry {
        self.fd.entry(|fd| {
            opcode::SendZc::new(fd, self.buf.stable_ptr(), self.len)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        })
    }

    fn next(&mut self, result: io::Result<u32>, flags: u32) -> ZcEvent {
        if cqueue::notif(flags) {
            return ZcEvent::Released;
        }
        ZcEvent::Sent(result.map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "zero-copy send refused with EINVAL: it needs Linux 6.0 or newer",
            ),
            _ => e,
        }))
    }

    fn orphan(self) {
        // The kernel may still read the buffer; the socket is released.
        std::mem::forget(self.buf);
    }
}
