//! TCP: [`TcpListener`] and [`TcpStream`], I/O through io_uring, and
//! [`RecvMultishot`], a connection's received data as a stream of buffers
//! from a [`BufRing`](crate::buf::BufRing).

mod addr;
mod recv_multishot;
mod tcp_listener;
mod tcp_stream;

pub use addr::ToSocketAddrs;
pub use recv_multishot::RecvMultishot;
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
