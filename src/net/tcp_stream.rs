use super::addr::{each_addr, resolve, to_inet};
use super::RecvMultishot;
use super::ToSocketAddrs;
use crate::buf::{self, BufResult, BufRing, IoBuf, IoBufMut};
use crate::driver::op::{self, Connect, Recv, Send};
use crate::driver::{read_stream, SharedFd};
use socket2::{Domain, SockRef, Socket, Type};
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// A TCP connection. Reads and writes are io_uring `recv`/`send`
/// operations on owned buffers; every method but `close` takes `&self`.
///
/// Reads are cancel-safe: if a read future is dropped (a timeout, a
/// select, an aborted task) after the kernel already received bytes into its
/// buffer, those bytes are kept and returned first by the next read on this
/// stream, in order.
///
/// ```no_run
/// # corio::block_on(async {
/// let stream = corio::net::TcpStream::connect("127.0.0.1:8080").await?;
/// let (res, _) = stream.write_all(b"ping" as &'static [u8]).await;
/// res?;
/// let (res, buf) = stream.read(Vec::with_capacity(64)).await;
/// println!("{} bytes: {:?}", res?, buf);
/// stream.close().await?;
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Debug)]
pub struct TcpStream {
    fd: SharedFd,
}

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> TcpStream {
        TcpStream {
            fd: SharedFd::new(fd),
        }
    }

    /// Connect to `addr`, trying each resolved address in turn. A host
    /// name is looked up on the blocking pool, not on this thread (see
    /// [`ToSocketAddrs`]).
    ///
    /// A port nobody listens on gives `ConnectionRefused`.
    ///
    /// Cancel-safety: dropping the future cancels the attempt and closes
    /// its socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, |addr| async move {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM.cloexec(), None)?;
            let fd = SharedFd::new(OwnedFd::from(socket));
            Connect::submit(&fd, addr.into()).await?;
            Ok(TcpStream { fd })
        })
        .await
    }

    /// Adopt a connected std stream (it should be in blocking mode: io_uring
    /// answers operations on `O_NONBLOCK` sockets with `WouldBlock` instead
    /// of waiting).
    pub fn from_std(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_fd(OwnedFd::from(stream))
    }

    /// Read into `buf`, from its start up to its capacity; returns the count
    /// (0: the peer closed its side) and the buffer with its length set to it.
    ///
    /// A [`Slice`](crate::buf::Slice) starting past its buffer's initialised
    /// length is refused with `InvalidInput` before anything is read.
    ///
    /// Cancel-safe: bytes the kernel delivered to a dropped read are returned
    /// by the next read, before anything newer. If a runtime was shut down
    /// without waiting for a read of this stream
    /// ([`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout)),
    /// its bytes may be lost and every later read fails with an error that
    /// says so.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        read_stream(&self.fd, buf, Recv::submit).await
    }

    /// Receive continuously: one multishot receive (Linux 6.0), armed once,
    /// yields every chunk of data as it arrives, each in a buffer the kernel
    /// picks from `bufs` — no buffer is tied up per waiting connection and no
    /// submission is made per chunk. See [`RecvMultishot`] for how it ends
    /// and its cancel-safety (bytes are never lost when it is dropped).
    ///
    /// ```no_run
    /// use futures_core::Stream;
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # corio::block_on(async {
    /// let bufs = corio::buf::BufRing::new(256, 16 * 1024)?;
    /// let stream = corio::net::TcpStream::connect("127.0.0.1:8080").await?;
    /// let mut chunks = stream.recv_multishot(&bufs);
    /// while let Some(chunk) = poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)).await {
    ///     // Echo it back without a copy; the buffer returns to the ring
    ///     // when the write hands it back and it is dropped.
    ///     let (res, _chunk) = stream.write_all(chunk?).await;
    ///     res?;
    /// }
    /// # std::io::Result::Ok(()) });
    /// ```
    pub fn recv_multishot(&self, bufs: &BufRing) -> RecvMultishot {
        RecvMultishot::new(&self.fd, bufs)
    }

    /// Send the initialised bytes of `buf`; returns how many were sent
    /// (possibly fewer). A closed peer gives `BrokenPipe` (MSG_NOSIGNAL: no
    /// SIGPIPE) or `ConnectionReset`.
    ///
    /// Cancel-safety: dropping the future cancels the send, but some or all
    /// of the bytes may have been sent already.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        Send::submit(&self.fd, buf).await
    }

    /// Send the initialised bytes of `buf` without copying them into the
    /// kernel (IORING_OP_SEND_ZC, Linux 6.0): the network stack reads the
    /// buffer's pages directly, and the buffer comes back only once the
    /// kernel's notification says it no longer reads them. Returns how many
    /// bytes were sent (possibly fewer).
    ///
    /// Worth it for large sends to a real network device, with several in
    /// flight: pinning the pages and waiting for the notification cost more
    /// than copying a small buffer. Over loopback it never wins, since the
    /// receiver gets the pages and the kernel copies them anyway, and the
    /// notification comes only once the receiver has read the data.
    /// Measured here (2-CPU VM, Linux 6.18, one send at a time to a reading
    /// peer on another thread, best of 3 GiB): `write` / `send_zc` moved
    /// 0.64 / 0.05 GB/s at 1 KiB, 3.29 / 0.94 at 16 KiB, 3.54 / 2.77 at
    /// 256 KiB, 3.79 / 2.91 at 1 MiB. Prefer [`write`](TcpStream::write)
    /// below ~64 KiB, and measure on your NIC above it.
    ///
    /// A [`FixedBuf`](crate::buf::FixedBuf) registered with this runtime is
    /// sent from its registration (no page pinning per send).
    ///
    /// Cancel-safety: dropping the future cancels the send, but some or all
    /// bytes may have been sent; the buffer is released only after the
    /// kernel's notification, never while it may still read it.
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        op::send_zc(&self.fd, buf, None).await
    }

    /// Send all initialised bytes of `buf`, as many sends as needed. On
    /// error the message says how many bytes were sent first.
    ///
    /// Cancel-safety: dropping the future may leave part of the data sent.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        buf::write_all(buf, |rest, _| self.write(rest)).await
    }

    /// Shut down the read half, the write half or both (`shutdown(2)`;
    /// immediate, not async).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(&self.fd).shutdown(how)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        to_inet(SockRef::from(&self.fd).peer_addr()?)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_inet(SockRef::from(&self.fd).local_addr()?)
    }

    /// Enable or disable Nagle's algorithm (TCP_NODELAY).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        SockRef::from(&self.fd).set_tcp_nodelay(nodelay)
    }

    /// Whether TCP_NODELAY is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        SockRef::from(&self.fd).tcp_nodelay()
    }

    /// Close the connection through the ring (asyncio's `async with` exit),
    /// after any cancelled operation still using it has finished.
    ///
    /// A [`RecvMultishot`] of this connection, armed or ended, is ended
    /// first: its receive is cancelled (its memory released only once the
    /// kernel is done with it) and the stream yields `None` from then on.
    pub async fn close(self) -> io::Result<()> {
        self.fd.detach_streams();
        poll_fn(|cx| self.fd.poll_sole_owner(cx)).await;
        op::close(self.fd).await
    }
}

impl TcpStream {
    /// The shared descriptor (for `io::Compat`).
    pub(crate) fn shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
