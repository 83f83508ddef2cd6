use super::{checks, Multishot, OpStream};
use crate::buf::{BufResult, IoBuf};
use crate::driver::SharedFd;
use io_uring::{cqueue, opcode, squeue};
use socket2::SockAddr;
use std::future::poll_fn;
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
    /// The destination of an unconnected datagram socket; boxed, the
    /// kernel reads it after submission.
    to: Option<Box<SockAddr>>,
}

/// One completion of a zero-copy send.
pub(crate) enum ZcEvent {
    /// The send's result.
    Sent(io::Result<u32>),
    /// The kernel is done with the buffer.
    Released,
}

/// Send `buf` without copying it (to `to`, or the connected peer); the
/// buffer comes back after the kernel's notification. A registered
/// [`FixedBuf`](crate::buf::FixedBuf) of this ring is named by its slot, so
/// its pages are not even pinned again.
pub(crate) async fn send_zc<B: IoBuf>(
    fd: &SharedFd,
    buf: B,
    to: Option<SockAddr>,
) -> BufResult<usize, B> {
    let len = checks::clamp_length(buf.bytes_init());
    let mut op = OpStream::new(SendZc {
        fd: fd.clone(),
        buf,
        len,
        to: to.map(Box::new),
    });
    op.arm();
    let mut sent = None;
    // One result and at most one notification: bounded.
    for _ in 0..3 {
        match poll_fn(|cx| op.poll_next(cx)).await {
            Some((event, more)) => {
                if let ZcEvent::Sent(result) = event {
                    sent = Some(result);
                }
                if !more {
                    break;
                }
            }
            None => break,
        }
    }
    let result = sent
        .unwrap_or_else(|| Err(io::Error::other("zero-copy send ended without a result")))
        .map(|n| n as usize);
    match op.into_data() {
        Some(data) => (result, data.buf),
        // Orphaned (the runtime shut down first): the kernel may still
        // read the buffer, so it is never handed back and this never
        // completes — as any operation; dropping it leaks the buffer.
        None => std::future::pending().await,
    }
}

// SAFETY: the entry points at `len` initialised bytes of `buf`'s stable
// memory (IoBuf contract), owned by `self`, which OpStream keeps alive until
// the final completion — the notification.
unsafe impl<B: IoBuf> Multishot for SendZc<B> {
    type Item = ZcEvent;

    fn entry(&mut self) -> squeue::Entry {
        let slot = self.buf.fixed_buffer().and_then(|b| b.slot_here());
        let (ptr, len) = (self.buf.stable_ptr(), self.len);
        let (to, to_len) = match &self.to {
            Some(to) => (to.as_ptr().cast::<libc::sockaddr>(), to.len()),
            None => (std::ptr::null(), 0),
        };
        self.fd.entry(|fd| {
            opcode::SendZc::new(fd, ptr, len)
                .buf_index(slot)
                .dest_addr(to)
                .dest_addr_len(to_len)
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
        // The kernel may still read the buffer and the address; the socket
        // is released.
        std::mem::forget(self.buf);
        std::mem::forget(self.to);
    }
}
