//! A receive on a datagram socket (UDP, Unix datagram): one datagram per
//! receive, whole or reported truncated, those rescued from receives that
//! were dropped while in flight first — none is lost.

use super::op::RecvMsg;
use super::SharedFd;
use crate::buf::{BufResult, IoBufMut};
use socket2::SockAddr;
use std::future::poll_fn;
use std::io;

/// A datagram a dropped receive got: the bytes that fit its buffer, the
/// datagram's real length, and its sender.
pub(crate) struct Datagram {
    pub(crate) bytes: Vec<u8>,
    pub(crate) len: usize,
    pub(crate) from: Option<SockAddr>,
}

/// Receive the next datagram of `fd` into `buf`; with `from`, also its
/// sender's address.
pub(crate) async fn read_datagram<B: IoBufMut>(
    fd: &SharedFd,
    mut buf: B,
    from: bool,
) -> BufResult<(usize, Option<SockAddr>), B> {
    if let Err(e) = buf.check_read_target() {
        return (Err(e), buf);
    }
    poll_fn(|cx| fd.poll_reads_settled(cx)).await;
    if let Err(e) = fd.check_reads_intact() {
        return (Err(e), buf);
    }
    if let Some(datagram) = fd.take_datagram() {
        let n = datagram.bytes.len().min(buf.bytes_total());
        // SAFETY: `buf` has `bytes_total()` writable bytes at its stable
        // pointer (IoBufMut contract); `n` fits in both, and the regions
        // cannot overlap (the datagram's is a private Vec).
        unsafe {
            std::ptr::copy_nonoverlapping(datagram.bytes.as_ptr(), buf.stable_mut_ptr(), n);
            buf.set_init(n);
        }
        // `n` bytes of it are in `buf`: fewer than its length when this
        // buffer, or the dropped receive's, was too small.
        let result = received(datagram.len, n).map(|len| (len, datagram.from));
        return (result, buf);
    }
    // The sender is asked for even when the caller does not want it: if
    // this receive is dropped after the kernel delivered, the datagram is
    // returned by a later receive, which may be a `recv_from`.
    let (res, buf) = RecvMsg::submit(fd, buf).await;
    (res.map(|(n, addr)| (n, addr.filter(|_| from))), buf)
}

/// The datagram's length if it fit a buffer of `capacity` bytes, else the
/// error that says it did not.
pub(crate) fn received(len: usize, capacity: usize) -> io::Result<usize> {
    if len > capacity {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a datagram of {len} bytes did not fit the {capacity}-byte buffer: its first \
                 {capacity} bytes are in the buffer, the rest is gone; receive into a buffer of \
                 at least {len} bytes"
            ),
        ));
    }
    Ok(len)
}
