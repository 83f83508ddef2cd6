use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use socket2::SockAddr;
use std::io;
use std::time::Duration;

/// The `msghdr` of a send and what it points to, boxed together.
struct Header {
    msg: libc::msghdr,
    iov: libc::iovec,
    to: Option<SockAddr>,
}

/// IORING_OP_SENDMSG with MSG_NOSIGNAL | MSG_DONTWAIT: one datagram to
/// `to`, or to the connected peer.
///
/// Never left to the kernel to retry: an AF_UNIX datagram socket copies
/// (consumes) the message's bytes before it finds the receiver's queue
/// full and fails with `EAGAIN`, and io_uring's retry of such a send then
/// sends what is left of them — an empty datagram, reported as a send of
/// 0 bytes. `MSG_DONTWAIT` makes io_uring return the `EAGAIN` instead, and
/// [`submit`](SendMsg::submit) tries again with a fresh message a moment
/// later.
pub(crate) struct SendMsg<B> {
    fd: SharedFd,
    buf: B,
    header: Box<Header>,
}

impl<B: IoBuf> SendMsg<B> {
    /// Send `buf` as one datagram to `to` (or the connected peer); while
    /// there is no room for it, try again after a pause (50 µs, doubling
    /// up to 10 ms).
    pub(crate) async fn submit(fd: &SharedFd, buf: B, to: Option<SockAddr>) -> BufResult<usize, B> {
        let mut pause = Duration::from_micros(50);
        let mut buf = buf;
        loop {
            let (res, back) = Self::op(fd, buf, to.clone()).await;
            match res {
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    buf = back;
                    crate::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                res => return (res, back),
            }
        }
    }

    fn op(fd: &SharedFd, buf: B, to: Option<SockAddr>) -> Op<SendMsg<B>> {
        // SAFETY: an all-zero msghdr and iovec are valid values (null
        // pointers, zero lengths), filled in by `entry`.
        let (msg, iov) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        let checked = checks::length(buf.bytes_init());
        let op = SendMsg {
            fd: fd.clone(),
            buf,
            header: Box::new(Header { msg, iov, to }),
        };
        match checked {
            Ok(_) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry points at the boxed header, whose iovec points at the
// initialised bytes of `buf` (IoBuf contract) and whose name points at the
// boxed address — all owned by `self`; the kernel only reads them.
unsafe impl<B: IoBuf> OpCode for SendMsg<B> {
    type Output = BufResult<usize, B>;

    fn entry(&mut self) -> squeue::Entry {
        let header = &mut *self.header;
        header.iov = libc::iovec {
            iov_base: self.buf.stable_ptr().cast_mut().cast(),
            iov_len: self.buf.bytes_init(),
        };
        header.msg.msg_iov = &mut header.iov;
        header.msg.msg_iovlen = 1;
        if let Some(to) = &header.to {
            header.msg.msg_name = to.as_ptr().cast_mut().cast();
            header.msg.msg_namelen = to.len();
        }
        let msg: *const libc::msghdr = &header.msg;
        self.fd.entry(|fd| {
            opcode::SendMsg::new(fd, msg)
                .flags((libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) as u32)
                .build()
        })
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, B> {
        (result.map(|n| n as usize), self.buf)
    }

    fn orphan(self) {
        // The kernel may still read the buffer and the header; the socket
        // is released.
        std::mem::forget(self.buf);
        std::mem::forget(self.header);
    }
}
