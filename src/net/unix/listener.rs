use super::addr::{from_sockaddr, of_path, to_sockaddr};
use super::UnixStream;
use crate::driver::op::Accept;
use crate::driver::SharedFd;
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// Connections backlog passed to `listen(2)` (capped by
/// `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A Unix-domain stream server socket. Accepts are io_uring `accept`
/// operations.
///
/// Binding a path creates the socket file; it stays after the listener is
/// closed (remove it with [`fs::remove_file`](crate::fs::remove_file)), and
/// binding an existing path fails with `AddrInUse`.
///
/// ```no_run
/// # corio::block_on(async {
/// let listener = corio::net::UnixListener::bind("/tmp/app.sock")?;
/// let (stream, _peer) = listener.accept().await?;
/// let (res, _) = stream.write_all(b"hello\n" as &'static [u8]).await;
/// res?;
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug)]
pub struct UnixListener {
    fd: SharedFd,
}

impl UnixListener {
    /// Bind to the path `path` and listen (backlog 1024). Not async.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::bind_sockaddr(of_path(path.as_ref())?)
    }

    /// Bind to `addr` — a path or an abstract name — and listen.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        Self::bind_sockaddr(to_sockaddr(addr)?)
    }

    fn bind_sockaddr(addr: SockAddr) -> io::Result<UnixListener> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        socket.bind(&addr)?;
        socket.listen(BACKLOG)?;
        Ok(UnixListener {
            fd: SharedFd::new(OwnedFd::from(socket)),
        })
    }

    /// Adopt a std listener (it must already listen).
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener {
            fd: SharedFd::new(OwnedFd::from(listener)),
        }
    }

    /// Wait for a connection; returns it and the peer's address (usually
    /// unnamed: clients rarely bind).
    ///
    /// Cancel-safety: dropping the future cancels the accept; a connection
    /// the kernel accepted anyway is closed, not leaked.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, addr) = Accept::submit(&self.fd).await?;
        Ok((UnixStream::from_fd(fd), from_sockaddr(&addr)?))
    }

    /// Every connection this listener accepts, as a stream: one multishot
    /// accept, re-armed when the kernel ends it (see
    /// [`Incoming`](crate::net::Incoming)).
    pub fn incoming(&self) -> crate::net::Incoming<UnixStream> {
        crate::net::Incoming::new(&self.fd)
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        from_sockaddr(&SockRef::from(&self.fd).local_addr()?)
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
