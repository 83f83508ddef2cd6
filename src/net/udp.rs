use super::addr::{no_address, resolve, resolve_here, to_inet};
use super::ToSocketAddrs;
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::op::{self, SendMsg};
use crate::driver::{read_datagram, SharedFd};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// A UDP socket. Sends and receives are io_uring `sendmsg`/`recvmsg`
/// operations on owned buffers; every method but `close` takes `&self`.
///
/// A datagram larger than the receiving buffer is never silently cut: the
/// receive fails with `InvalidData` whose message gives the datagram's real
/// length (its first bytes are in the buffer), and the next datagram
/// arrives whole.
///
/// Receives are cancel-safe: a datagram the kernel delivered to a receive
/// whose future was dropped is returned by the next receive, before newer
/// ones.
///
/// Socket options: through [`socket2::SockRef::from(&socket)`](socket2::SockRef)
/// (broadcast, multicast membership, TTL, buffer sizes, …).
///
/// ```no_run
/// # corio::block_on(async {
/// let socket = corio::net::UdpSocket::bind("127.0.0.1:9000")?;
/// let (res, buf) = socket.recv_from(Vec::with_capacity(1500)).await;
/// let (n, peer) = res?;
/// let (res, _) = socket.send_to(buf, peer).await;
/// res?;
/// # let _ = n;
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: SharedFd,
}

impl UdpSocket {
    /// Bind to `addr` (port 0: the kernel picks one). Not async: binding
    /// does not wait — a host name is looked up on the calling thread.
    /// Tries each resolved address in turn; IPv4 and IPv6 alike.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve_here(&addr)? {
            let bound = Socket::new(Domain::for_address(addr), Type::DGRAM.cloexec(), None)
                .and_then(|s| s.bind(&addr.into()).map(|()| s));
            match bound {
                Ok(socket) => return Ok(UdpSocket::from_socket(socket)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    fn from_socket(socket: Socket) -> UdpSocket {
        UdpSocket {
            fd: SharedFd::new(OwnedFd::from(socket)),
        }
    }

    /// Adopt a std socket (it should be in blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            fd: SharedFd::new(OwnedFd::from(socket)),
        }
    }

    /// Set the default destination of [`send`](UdpSocket::send) and accept
    /// datagrams from `addr` only (the first resolved address that works).
    /// Not async: UDP's connect only records the peer.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last = None;
        for addr in resolve_here(&addr)? {
            match SockRef::from(&self.fd).connect(&addr.into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Send the initialised bytes of `buf` as one datagram to `addr` (a
    /// host name is looked up on the blocking pool); returns the count.
    /// A datagram too large for the protocol gives the kernel's `EMSGSIZE`.
    ///
    /// Cancel-safety: dropping the future cancels the send, but the
    /// datagram may have been sent already.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: impl ToSocketAddrs) -> BufResult<usize, B> {
        match destination(&addr).await {
            Ok(to) => SendMsg::submit(&self.fd, buf, Some(to)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// As [`send_to`](UdpSocket::send_to), without copying the datagram
    /// into the kernel (IORING_OP_SEND_ZC, Linux 6.0): the buffer comes
    /// back only after the kernel's notification that it no longer reads
    /// it. Pays off for large datagrams to a real network device (see
    /// [`TcpStream::send_zc`](crate::net::TcpStream::send_zc) for the
    /// measurements); over loopback the kernel copies anyway.
    ///
    /// Cancel-safety: as `send_to`; a dropped future's buffer is released
    /// only after the notification.
    pub async fn send_to_zc<B: IoBuf>(
        &self,
        buf: B,
        addr: impl ToSocketAddrs,
    ) -> BufResult<usize, B> {
        match destination(&addr).await {
            Ok(to) => op::send_zc(&self.fd, buf, Some(to)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Receive one datagram into `buf` (from its start, up to its
    /// capacity); returns its length and sender, and the buffer with its
    /// length set to the datagram's.
    ///
    /// Cancel-safe: see the type's documentation.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (res, buf) = read_datagram(&self.fd, buf, true).await;
        let res = res.and_then(|(n, from)| {
            let from = from.ok_or_else(|| io::Error::other("the kernel gave no sender address"))?;
            Ok((n, to_inet(from)?))
        });
        (res, buf)
    }

    /// Send one datagram to the connected peer (see
    /// [`connect`](UdpSocket::connect)); unconnected gives the kernel's
    /// `EDESTADDRREQ`.
    ///
    /// Cancel-safety: as [`send_to`](UdpSocket::send_to).
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        SendMsg::submit(&self.fd, buf, None).await
    }

    /// Receive one datagram from the connected peer (or anyone, if not
    /// connected) into `buf`; returns its length.
    ///
    /// Cancel-safe: see the type's documentation.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        let (res, buf) = read_datagram(&self.fd, buf, false).await;
        (res.map(|(n, _)| n), buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_inet(SockRef::from(&self.fd).local_addr()?)
    }

    /// The connected peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        to_inet(SockRef::from(&self.fd).peer_addr()?)
    }

    /// Close the socket through the ring, after any cancelled operation
    /// still using it has finished.
    pub async fn close(self) -> io::Result<()> {
        poll_fn(|cx| self.fd.poll_sole_owner(cx)).await;
        op::close(self.fd).await
    }
}

/// The first address `addr` resolves to (a name on the blocking pool).
async fn destination(addr: &impl ToSocketAddrs) -> io::Result<SockAddr> {
    let addrs = resolve(addr).await?;
    addrs
        .first()
        .map(|a| SockAddr::from(*a))
        .ok_or_else(no_address)
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
