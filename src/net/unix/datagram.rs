use super::addr::{from_sockaddr, of_path, to_sockaddr};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::op::{self, SendMsg};
use crate::driver::{read_datagram, SharedFd};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain datagram socket: messages with their boundaries, reliable
/// and in order within one machine.
///
/// As with [`UdpSocket`](crate::net::UdpSocket), a datagram larger than the
/// receiving buffer fails the receive with `InvalidData` giving its real
/// length, and receives are cancel-safe (a datagram delivered to a dropped
/// receive is returned by the next one).
#[derive(Debug)]
pub struct UnixDatagram {
    fd: SharedFd,
}

impl UnixDatagram {
    fn socket() -> io::Result<Socket> {
        Socket::new(Domain::UNIX, Type::DGRAM.cloexec(), None)
    }

    fn from_socket(socket: Socket) -> UnixDatagram {
        UnixDatagram {
            fd: SharedFd::new(OwnedFd::from(socket)),
        }
    }

    /// A socket bound to the path `path` (the file stays after close).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        Self::bind_sockaddr(of_path(path.as_ref())?)
    }

    /// A socket bound to `addr`: a path or an abstract name.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        Self::bind_sockaddr(to_sockaddr(addr)?)
    }

    fn bind_sockaddr(addr: SockAddr) -> io::Result<UnixDatagram> {
        let socket = Self::socket()?;
        socket.bind(&addr)?;
        Ok(Self::from_socket(socket))
    }

    /// A socket bound to nothing: it can send, and receive replies only
    /// after [`connect`](UnixDatagram::connect) (or from a pair).
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(Self::from_socket(Self::socket()?))
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM.cloexec(), None)?;
        Ok((Self::from_socket(a), Self::from_socket(b)))
    }

    /// Adopt a std socket (in blocking mode).
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            fd: SharedFd::new(OwnedFd::from(socket)),
        }
    }

    /// Send to and receive from the socket at `path` only (immediate).
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        SockRef::from(&self.fd).connect(&of_path(path.as_ref())?)
    }

    /// As [`connect`](UnixDatagram::connect), to a path or abstract name.
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        SockRef::from(&self.fd).connect(&to_sockaddr(addr)?)
    }

    /// Send the initialised bytes of `buf` as one datagram to the socket
    /// at `path`. No such socket gives `NotFound` or `ConnectionRefused`.
    ///
    /// Cancel-safety: dropping the future cancels the send, but the
    /// datagram may have been sent already.
    pub async fn send_to<B: IoBuf>(&self, buf: B, path: impl AsRef<Path>) -> BufResult<usize, B> {
        match of_path(path.as_ref()) {
            Ok(to) => SendMsg::submit(&self.fd, buf, Some(to)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// As [`send_to`](UnixDatagram::send_to), to a path or abstract name.
    ///
    /// Cancel-safety: as `send_to`.
    pub async fn send_to_addr<B: IoBuf>(&self, buf: B, addr: &SocketAddr) -> BufResult<usize, B> {
        match to_sockaddr(addr) {
            Ok(to) => SendMsg::submit(&self.fd, buf, Some(to)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Receive one datagram into `buf`; returns its length and sender
    /// (unnamed if the sender is not bound).
    ///
    /// Cancel-safe: see the type's documentation.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (res, buf) = read_datagram(&self.fd, buf, true).await;
        let res = res.and_then(|(n, from)| {
            let from = match from {
                Some(addr) => from_sockaddr(&addr)?,
                // An unbound sender: the kernel reports no address at all.
                None => from_sockaddr(&SockAddr::unix("")?)?,
            };
            Ok((n, from))
        });
        (res, buf)
    }

    /// Send one datagram to the connected peer.
    ///
    /// Cancel-safety: as [`send_to`](UnixDatagram::send_to).
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        SendMsg::submit(&self.fd, buf, None).await
    }

    /// Receive one datagram into `buf`; returns its length.
    ///
    /// Cancel-safe: see the type's documentation.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        let (res, buf) = read_datagram(&self.fd, buf, false).await;
        (res.map(|(n, _)| n), buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        from_sockaddr(&SockRef::from(&self.fd).local_addr()?)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        from_sockaddr(&SockRef::from(&self.fd).peer_addr()?)
    }

    /// Close the socket through the ring, after any cancelled operation
    /// still using it has finished.
    pub async fn close(self) -> io::Result<()> {
        poll_fn(|cx| self.fd.poll_sole_owner(cx)).await;
        op::close(self.fd).await
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
