//! Unix-domain sockets: [`UnixListener`] and [`UnixStream`] (byte streams),
//! [`UnixDatagram`] (messages). Addresses are std's
//! [`SocketAddr`](std::os::unix::net::SocketAddr): a path, an abstract name
//! (Linux; make one with `std::os::linux::net::SocketAddrExt::from_abstract_name`
//! and pass it to the `_addr` forms), or unnamed.

mod addr;
mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;
