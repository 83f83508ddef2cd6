use super::{Op, OpCode};
use crate::buf::{BufResult, IoBufMut};
use crate::driver::datagram_read::{received, Datagram};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use socket2::{SockAddr, SockAddrStorage};
use std::io;

/// The `msghdr` of a receive and what it points to, boxed together: the
/// kernel reads and writes them after submission, wherever the op moves.
struct Header {
    msg: libc::msghdr,
    iov: libc::iovec,
    addr: SockAddrStorage,
}

/// IORING_OP_RECVMSG of one datagram with MSG_TRUNC, so the result is the
/// datagram's real length even when the buffer was shorter: a truncated
/// datagram is reported, never silently cut. If its future is dropped after
/// the datagram arrived, the datagram goes to the descriptor and the next
/// receive returns it first.
pub(crate) struct RecvMsg<B> {
    fd: SharedFd,
    buf: B,
    header: Box<Header>,
}

impl<B: IoBufMut> RecvMsg<B> {
    pub(crate) fn submit(fd: &SharedFd, buf: B) -> Op<RecvMsg<B>> {
        // SAFETY: an all-zero msghdr and iovec are valid values (null
        // pointers, zero lengths), filled in by `entry`.
        let (msg, iov) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        Op::submit(RecvMsg {
            fd: fd.clone(),
            buf,
            header: Box::new(Header {
                msg,
                iov,
                addr: SockAddrStorage::zeroed(),
            }),
        })
    }

    /// The sender's address, if the kernel gave one.
    /// Taken once, after the final completion.
    fn sender(&mut self) -> Option<SockAddr> {
        // The kernel reports the address's real length, which could exceed
        // the storage if it was cut short: only what was written counts.
        let len = self.header.msg.msg_namelen.min(self.header.addr.size_of());
        (len > 0).then(|| {
            let addr = std::mem::replace(&mut self.header.addr, SockAddrStorage::zeroed());
            // SAFETY: the kernel wrote `len` (at most the storage's size)
            // bytes of address into `addr`; the rest is zeroed.
            unsafe { SockAddr::new(addr, len) }
        })
    }

    /// Mark the first `n` bytes (at most the capacity) as received.
    fn set_received(&mut self, n: usize) -> usize {
        let got = n.min(self.buf.bytes_total());
        // SAFETY: the kernel wrote `got` bytes at the buffer's start.
        unsafe { self.buf.set_init(got) };
        got
    }
}

// SAFETY: the entry points at the boxed header, whose iovec points at
// `buf`'s writable memory (IoBufMut contract) and whose name points at the
// boxed address storage — all owned by `self`.
unsafe impl<B: IoBufMut> OpCode for RecvMsg<B> {
    type Output = BufResult<(usize, Option<SockAddr>), B>;

    fn entry(&mut self) -> squeue::Entry {
        let header = &mut *self.header;
        header.iov = libc::iovec {
            iov_base: self.buf.stable_mut_ptr().cast(),
            iov_len: self.buf.bytes_total(),
        };
        header.msg.msg_iov = &mut header.iov;
        header.msg.msg_iovlen = 1;
        header.msg.msg_name = (&mut header.addr as *mut SockAddrStorage).cast();
        header.msg.msg_namelen = header.addr.size_of();
        let msg: *mut libc::msghdr = &mut header.msg;
        self.fd.entry(|fd| {
            opcode::RecvMsg::new(fd, msg)
                .flags(libc::MSG_TRUNC as u32)
                .build()
        })
    }

    fn complete(mut self, result: io::Result<u32>, _flags: u32) -> Self::Output {
        let result = result.and_then(|n| {
            self.set_received(n as usize);
            received(n as usize, self.buf.bytes_total())
        });
        let from = self.sender();
        (result.map(|n| (n, from)), self.buf)
    }

    fn abandon(&mut self) {
        self.fd.read_abandoned();
    }

    fn complete_abandoned(mut self, completion: Completion) {
        if let Ok(n) = completion.result() {
            let got = self.set_received(n as usize);
            // SAFETY: the kernel wrote `got <= bytes_total` bytes at the
            // buffer's start and is done with it (the final completion).
            let bytes = unsafe { std::slice::from_raw_parts(self.buf.stable_mut_ptr(), got) };
            let bytes = bytes.to_vec();
            let from = self.sender();
            self.fd.rescue_datagram(Datagram {
                bytes,
                len: n as usize,
                from,
            });
        }
        self.fd.read_settled(&[]);
    }

    fn orphan(self) {
        self.fd.read_orphaned();
        // The kernel may still write into the buffer and the header.
        std::mem::forget(self.buf);
        std::mem::forget(self.header);
    }
}
