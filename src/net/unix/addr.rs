//! Between std's Unix socket addresses and socket2's.

use socket2::SockAddr;
use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

/// The address of a path.
pub(super) fn of_path(path: &Path) -> io::Result<SockAddr> {
    // The kernel would read the path only up to the NUL: another path.
    // (A leading NUL would make it an abstract name: those go through
    // the `_addr` forms.)
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Unix socket path {path:?} contains a NUL byte"),
        ));
    }
    SockAddr::unix(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("Unix socket path {path:?}: {e} (at most 107 bytes)"),
        )
    })
}

/// std's address as socket2's: a path or an abstract name; an unnamed one
/// names nothing to bind or connect to.
pub(super) fn to_sockaddr(addr: &SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        return of_path(path);
    }
    if let Some(name) = addr.as_abstract_name() {
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        return SockAddr::unix(OsStr::from_bytes(&bytes));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "an unnamed Unix socket address names nothing to bind or connect to",
    ))
}

/// socket2's address as std's.
pub(super) fn from_sockaddr(addr: &SockAddr) -> io::Result<SocketAddr> {
    if let Some(path) = addr.as_pathname() {
        return SocketAddr::from_pathname(path);
    }
    if let Some(name) = addr.as_abstract_namespace() {
        return SocketAddr::from_abstract_name(name);
    }
    if addr.is_unix() {
        return unnamed();
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "the socket address is not a Unix-domain address",
    ))
}

/// An unnamed address: std has no constructor for one, so it is taken,
/// once, from an unbound socket.
fn unnamed() -> io::Result<SocketAddr> {
    static UNNAMED: OnceLock<SocketAddr> = OnceLock::new();
    if let Some(addr) = UNNAMED.get() {
        return Ok(addr.clone());
    }
    let addr = std::os::unix::net::UnixDatagram::unbound()?.local_addr()?;
    Ok(UNNAMED.get_or_init(|| addr).clone())
}
