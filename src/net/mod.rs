//! Sockets, I/O through io_uring: TCP ([`TcpListener`], [`TcpStream`],
//! [`RecvMultishot`] — a connection's received data as a stream of buffers
//! from a [`BufRing`](crate::buf::BufRing)), UDP ([`UdpSocket`]) and
//! Unix-domain sockets ([`UnixListener`], [`UnixStream`], [`UnixDatagram`]).
//!
//! Binding is not async; every descriptor is close-on-exec. Socket options
//! are set through [`socket2::SockRef::from(&socket)`](socket2::SockRef)
//! (every socket here implements `AsFd`).

mod addr;
mod incoming;
mod recv_multishot;
mod tcp_listener;
mod tcp_stream;
mod udp;
mod unix;

pub use addr::ToSocketAddrs;
pub use incoming::{Accepted, Incoming};
pub use recv_multishot::RecvMultishot;
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
