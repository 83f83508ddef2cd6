//! Whole-file conveniences: [`read`] and [`write`].

use super::{File, OpenOptions};
use crate::buf::IoBuf;
use std::io;
use std::path::Path;

/// Reads of a file whose size is unknown (or reported as 0) start this big.
const FIRST_READ: usize = 8 * 1024;

fn out_of_memory(path: &Path, e: std::collections::TryReserveError) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("reading {path:?}: no memory for its contents: {e}"),
    )
}

/// The whole contents of `path`, read to end of file — not to the size
/// the file reports, so files that report 0 (those of `/proc` and `/sys`)
/// or grow while read come out whole, as with `std::fs::read`.
///
/// Cancel-safety: dropping the future loses what was read so far and
/// closes the file; nothing changes on disk.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    let file = File::open(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("opening {path:?}: {e}")))?;
    let hint = file.metadata().await.map_or(0, |m| m.len());
    // One read past the reported size confirms the end.
    let first = usize::try_from(hint)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    // Like std, a size that cannot be allocated is an error, not an abort.
    let mut buf = Vec::new();
    buf.try_reserve_exact(first.max(FIRST_READ))
        .map_err(|e| out_of_memory(path, e))?;
    loop {
        if buf.len() == buf.capacity() {
            buf.try_reserve(buf.capacity().max(FIRST_READ))
                .map_err(|e| out_of_memory(path, e))?;
        }
        let at = buf.len();
        let end = buf
            .capacity()
            .min(at.saturating_add(crate::buf::MAX_RW_COUNT));
        let (res, slice) = file.read_at(buf.slice(at..end), at as u64).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("reading {path:?}: {e}"))),
        }
    }
    file.close().await?;
    Ok(buf)
}

/// Create `path` (or truncate it) and write all of `data` to it, then
/// close it, reporting the close's error too.
///
/// Cancel-safety: dropping the future may leave the file truncated or
/// partly written.
pub async fn write(path: impl AsRef<Path>, data: impl IoBuf) -> io::Result<()> {
    let path = path.as_ref();
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("creating {path:?}: {e}")))?;
    let (res, _) = file.write_all_at(data, 0).await;
    if let Err(e) = res {
        return Err(io::Error::new(e.kind(), format!("writing {path:?}: {e}")));
    }
    file.close().await
}
