use super::{BufResult, IoBuf, Slice};
use std::future::Future;
use std::io;

/// Write every initialised byte of `buf` with as many calls of `write` as
/// it takes; `write` gets the unwritten part and how much went out before.
/// Shared by `File::write_all_at` and `TcpStream::write_all`.
///
/// A write of zero bytes gives `WriteZero`; an interrupted one is retried;
/// any other error ends the loop, its message saying how much was written
/// first (partial progress is reported, never hidden).
pub(crate) async fn write_all<B, F, Fut>(buf: B, mut write: F) -> BufResult<(), B>
where
    B: IoBuf,
    F: FnMut(Slice<B>, usize) -> Fut,
    Fut: Future<Output = BufResult<usize, Slice<B>>>,
{
    let total = buf.bytes_init();
    let mut done = 0;
    let mut buf = buf;
    while done < total {
        let end = total.min(done.saturating_add(super::MAX_RW_COUNT));
        let (res, slice) = write(buf.slice(done..end), done).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => {
                return (
                    Err(partial(io::ErrorKind::WriteZero.into(), done, total)),
                    buf,
                )
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(partial(e, done, total)), buf),
        }
    }
    (Ok(()), buf)
}

fn partial(err: io::Error, done: usize, total: usize) -> io::Error {
    if done == 0 {
        return err;
    }
    io::Error::new(
        err.kind(),
        format!("{err} (after {done} of {total} bytes were written)"),
    )
}
