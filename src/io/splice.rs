use crate::driver::op::{pipe, Splice};
use crate::driver::SharedFd;
use crate::fs::File;
use std::io;
use std::os::fd::AsFd;

/// A descriptor of the caller's, duplicated so that the operations in
/// flight keep the file open even if the caller closes theirs.
fn shared(fd: &impl AsFd) -> io::Result<SharedFd> {
    Ok(SharedFd::new(fd.as_fd().try_clone_to_owned()?))
}

/// Drain `n` bytes from the pipe's read end into `to`.
async fn drain(pipe: &SharedFd, to: &SharedFd, n: u32) -> io::Result<()> {
    let mut moved = 0;
    while moved < n {
        match Splice::submit(pipe, None, to, n - moved).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("the destination took 0 bytes after {moved} of {n}"),
                ))
            }
            m => moved += m,
        }
    }
    Ok(())
}

/// Send `len` bytes of `file` from offset `pos` to `to` (a socket, a pipe,
/// a file) without copying them through user space: IORING_OP_SPLICE from
/// the file into a pipe and from the pipe to `to`, a pipeful (up to 1 MiB)
/// at a time. Stops early at end of file; returns the bytes sent.
///
/// `pos` past `i64::MAX` gives `InvalidInput`.
///
/// Cancel-safety: dropping the future may leave part of the range sent;
/// the file is unchanged.
///
/// ```no_run
/// # corio::block_on(async {
/// let file = corio::fs::File::open("index.html").await?;
/// let len = file.metadata().await?.len();
/// let listener = corio::net::TcpListener::bind("127.0.0.1:8080")?;
/// let (stream, _) = listener.accept().await?;
/// corio::io::sendfile(&file, 0, len, &stream).await?;
/// # std::io::Result::Ok(()) });
/// ```
pub async fn sendfile(file: &File, pos: u64, len: u64, to: &impl AsFd) -> io::Result<u64> {
    let (from, to) = (shared(file)?, shared(to)?);
    let (pipe_out, pipe_in, room) = pipe()?;
    let mut done = 0u64;
    while done < len {
        let chunk = (len - done).min(u64::from(room)) as u32;
        let at = pos.checked_add(done).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "file offset overflows u64")
        })?;
        let n = Splice::submit(&from, Some(at), &pipe_in, chunk).await?;
        if n == 0 {
            break;
        }
        drain(&pipe_out, &to, n).await?;
        done += u64::from(n);
    }
    Ok(done)
}

/// Move up to `len` bytes from `from` to `to` inside the kernel, through
/// an internal pipe (IORING_OP_SPLICE twice) — a proxy's socket-to-socket
/// copy without user-space buffers. Waits until `from` has data; returns
/// the bytes moved, 0 at end of stream (or for `len` 0). At most one
/// pipeful (up to 1 MiB) per call: loop for more.
///
/// Cancel-safety: not cancel-safe. Bytes already taken from `from` and not
/// yet delivered to `to` are lost with a dropped future.
pub async fn splice(from: &impl AsFd, to: &impl AsFd, len: u64) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let (from, to) = (shared(from)?, shared(to)?);
    let (pipe_out, pipe_in, room) = pipe()?;
    let chunk = len.min(u64::from(room)) as u32;
    let n = Splice::submit(&from, None, &pipe_in, chunk).await?;
    if n > 0 {
        drain(&pipe_out, &to, n).await?;
    }
    Ok(u64::from(n))
}
