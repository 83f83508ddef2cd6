use super::{AsyncRead, AsyncWrite, AsyncWriteExt};
use std::io;

/// Size of the buffer [`copy`] moves data through.
const COPY_BUF: usize = 64 * 1024;

/// Copy everything `reader` yields until end of stream into `writer`;
/// returns the byte count. One 64 KiB buffer goes back and forth between
/// the read and the write (no copy in user space beyond the kernel's).
///
/// Cancel-safety: dropping the future loses the bytes read and not yet
/// written (at most one buffer).
///
/// ```no_run
/// # corio::block_on(async {
/// let listener = corio::net::TcpListener::bind("127.0.0.1:8080")?;
/// let (client, _) = listener.accept().await?;
/// let upstream = corio::net::TcpStream::connect("127.0.0.1:9000").await?;
/// // One direction of a proxy; `&TcpStream` is a reader and a writer too.
/// corio::io::copy(&mut &client, &mut &upstream).await?;
/// # std::io::Result::Ok(()) });
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + ?Sized,
    W: AsyncWrite + ?Sized,
{
    let mut buf = Vec::with_capacity(COPY_BUF);
    let mut total = 0u64;
    loop {
        let (res, b) = reader.read(buf).await;
        let n = match res {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                buf = b;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (res, b) = writer.write_all(b).await;
        res?;
        total += n as u64;
        buf = b;
    }
}
