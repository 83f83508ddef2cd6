//! A read of a byte stream (a socket, a pipe or FIFO, a character device):
//! bytes come out in the order they arrived — those rescued from reads that
//! were dropped while in flight first — and none is lost.

use super::op::{Op, OpCode};
use super::SharedFd;
use crate::buf::{BufResult, IoBufMut};
use std::future::poll_fn;

/// Read the next bytes of the stream `fd` into `buf`; `submit` starts the
/// read operation when no rescued bytes are waiting.
pub(crate) async fn read_stream<B, T>(
    fd: &SharedFd,
    mut buf: B,
    submit: impl FnOnce(&SharedFd, B) -> Op<T>,
) -> BufResult<usize, B>
where
    B: IoBufMut,
    T: OpCode<Output = BufResult<usize, B>>,
{
    // Refused before anything is consumed (see `check_read_target`).
    if let Err(e) = buf.check_read_target() {
        return (Err(e), buf);
    }
    // First the reads that were dropped while in flight must settle, then
    // what they received is served, in order.
    poll_fn(|cx| fd.poll_reads_settled(cx)).await;
    if let Err(e) = fd.check_reads_intact() {
        return (Err(e), buf);
    }
    if let Some(n) = fd.take_rescued(&mut buf) {
        return (Ok(n), buf);
    }
    submit(fd, buf).await
}
