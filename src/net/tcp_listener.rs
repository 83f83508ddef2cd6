use super::addr::{no_address, resolve_here, to_inet};
use super::ToSocketAddrs;
use super::{Incoming, TcpStream};
use crate::driver::op::Accept;
use crate::driver::SharedFd;
use socket2::{Domain, SockRef, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Connections backlog passed to `listen(2)` (the kernel caps it at
/// `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A TCP server socket. Accepts are io_uring `accept` operations.
///
/// ```no_run
/// # corio::block_on(async {
/// let listener = corio::net::TcpListener::bind("127.0.0.1:8080")?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     corio::spawn(async move {
///         let (res, _buf) = stream.read(Vec::with_capacity(4096)).await;
///         println!("{peer}: {res:?}");
///     });
/// }
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    fd: SharedFd,
}

impl TcpListener {
    /// Bind to `addr` and listen with a backlog of 1024 (SO_REUSEADDR on, so
    /// a restarted server can rebind at once). Not async: binding does not
    /// wait — and a host name (rather than an IP address) is looked up on
    /// the calling thread. Tries each resolved address in turn.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_each(addr, false)
    }

    /// As [`bind`](TcpListener::bind), with SO_REUSEPORT: several listeners
    /// — one per core of a [`Pool`](crate::Pool), typically — bind the same
    /// address and port, and the kernel spreads incoming connections
    /// between them, so each core accepts and serves its own.
    ///
    /// The kernel picks a listener by a hash of each connection's addresses
    /// and ports, not by load: with few clients, or clients behind one
    /// address, the spread can be uneven (one core gets several
    /// connections while another gets none), and a listener that is closed
    /// drops the connections queued on it. Every listener on the port must
    /// set the option (and belong to the same user).
    ///
    /// ```no_run
    /// let pool = corio::Pool::new()?;
    /// pool.run(|_core| async {
    ///     let listener = corio::net::TcpListener::bind_reuseport("127.0.0.1:8080").unwrap();
    ///     // accept and serve on this core
    ///     # drop(listener);
    /// });
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_each(addr, true)
    }

    /// Bind the first resolved address that works.
    fn bind_each(addr: impl ToSocketAddrs, reuse_port: bool) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in resolve_here(&addr)? {
            match Self::bind_one(addr, reuse_port) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    fn bind_one(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM.cloexec(), None)?;
        socket.set_reuse_address(true)?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        Ok(TcpListener {
            fd: SharedFd::new(OwnedFd::from(socket)),
        })
    }

    /// Wait for a connection; returns it and the peer's address.
    ///
    /// Cancel-safety: dropping the future cancels the accept; a connection
    /// the kernel accepted anyway is closed (the peer sees a reset or EOF),
    /// not leaked.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = Accept::submit(&self.fd).await?;
        Ok((TcpStream::from_fd(fd), to_inet(addr)?))
    }

    /// Every connection this listener accepts, as a stream: one multishot
    /// accept, re-armed when the kernel ends it (see [`Incoming`]).
    pub fn incoming(&self) -> Incoming {
        Incoming::new(&self.fd)
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_inet(SockRef::from(&self.fd).local_addr()?)
    }

    /// Adopt a std listener (it must already listen).
    pub fn from_std(listener: std::net::TcpListener) -> TcpListener {
        TcpListener {
            fd: SharedFd::new(OwnedFd::from(listener)),
        }
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
