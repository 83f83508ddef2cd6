//! Paths as the kernel reads them: NUL-terminated, on the heap (so their
//! address survives moves of the operation that owns them).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `path` as a C string; an interior NUL byte is `InvalidInput` (the kernel
/// would silently read a shorter path).
pub(super) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {path:?} contains an interior NUL byte"),
        )
    })
}
