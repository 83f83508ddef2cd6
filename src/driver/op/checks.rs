//! Argument checks shared by the operations: values the kernel would
//! silently truncate or misread become `InvalidInput` instead.

use std::io;

/// Offsets travel as `u64` but the kernel reads them as signed `loff_t`.
pub(super) fn offset(pos: u64) -> io::Result<u64> {
    if pos > i64::MAX as u64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file offset {pos} is larger than i64::MAX"),
        ));
    }
    Ok(pos)
}

/// Lengths travel as `u32`.
pub(super) fn length(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("buffer length {len} is larger than u32::MAX, the most one operation moves"),
        )
    })
}

/// For stream sockets a shorter transfer is a legal partial result, so a
/// buffer larger than one operation can move is clamped, not refused.
pub(super) fn clamp_length(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
