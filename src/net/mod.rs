//! TCP: [`TcpListener`] and [`TcpStream`], I/O through io_uring.

mod addr;
mod tcp_listener;
mod tcp_stream;

pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
