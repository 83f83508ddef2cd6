use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use socket2::SockAddr;
use std::io;

/// The `msghdr` of a send and what it points to, boxed together.
struct Header {
    msg: libc::msghdr,
    iov: libc::iovec,
    to: Option<SockAddr>,
}

/// IORING_OP_SENDMSG with MSG_NOSIGNAL: one datagram to `to`, or to the
/// connected peer.
pub(crate) struct SendMsg<B> {
    fd: SharedFd,
    buf: B,
    header: Box<Header>,
}

impl<B: IoBuf> SendMsg<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B, to: Option<SockAddr>) -> Op<SendMsg<B>> {
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
                .flags(libc::MSG_NOSIGNAL as u32)
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
