use super::addr::{from_sockaddr, of_path, to_sockaddr};
use crate::buf::{self, BufResult, IoBuf, IoBufMut};
use crate::driver::op::{self, Connect, Recv, Send};
use crate::driver::{read_stream, SharedFd};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain stream connection. Reads and writes are io_uring
/// `recv`/`send` operations on owned buffers; every method but `close`
/// takes `&self`.
///
/// Reads are cancel-safe: bytes the kernel delivered to a read whose
/// future was dropped are returned first by the next read, in order.
#[derive(Debug)]
pub struct UnixStream {
    fd: SharedFd,
}

impl UnixStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> UnixStream {
        UnixStream {
            fd: SharedFd::new(fd),
        }
    }

    /// Connect to the socket at `path`. Nobody listening there gives
    /// `ConnectionRefused`, no such file `NotFound`.
    ///
    /// Cancel-safety: dropping the future cancels the attempt and closes
    /// its socket.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        Self::connect_sockaddr(of_path(path.as_ref())?).await
    }

    /// Connect to `addr`: a path or an abstract name.
    ///
    /// Cancel-safety: as [`connect`](UnixStream::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        Self::connect_sockaddr(to_sockaddr(addr)?).await
    }

    async fn connect_sockaddr(addr: SockAddr) -> io::Result<UnixStream> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        let fd = SharedFd::new(OwnedFd::from(socket));
        Connect::submit(&fd, addr).await?;
        Ok(UnixStream { fd })
    }

    /// A connected pair (`socketpair(2)`), e.g. to talk to a task or a
    /// child process.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        Ok((
            UnixStream::from_fd(OwnedFd::from(a)),
            UnixStream::from_fd(OwnedFd::from(b)),
        ))
    }

    /// Adopt a connected std stream (in blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream::from_fd(OwnedFd::from(stream))
    }

    /// Read into `buf`, from its start up to its capacity; returns the
    /// count (0: the peer closed its side) and the buffer with its length
    /// set to it.
    ///
    /// Cancel-safe: bytes the kernel delivered to a dropped read are
    /// returned by the next read, before anything newer.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        read_stream(&self.fd, buf, Recv::submit).await
    }

    /// Send the initialised bytes of `buf`; returns how many were sent
    /// (possibly fewer). A closed peer gives `BrokenPipe` (no SIGPIPE).
    ///
    /// Cancel-safety: dropping the future cancels the send, but some or all
    /// of the bytes may have been sent already.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        Send::submit(&self.fd, buf).await
    }

    /// Send all initialised bytes of `buf`, as many sends as needed.
    ///
    /// Cancel-safety: dropping the future may leave part of the data sent.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        buf::write_all(buf, |rest, _| self.write(rest)).await
    }

    /// Shut down the read half, the write half or both (immediate).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(&self.fd).shutdown(how)
    }

    /// The local address (usually unnamed for a connecting socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        from_sockaddr(&SockRef::from(&self.fd).local_addr()?)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        from_sockaddr(&SockRef::from(&self.fd).peer_addr()?)
    }

    /// Close the connection through the ring, after any cancelled operation
    /// still using it has finished.
    pub async fn close(self) -> io::Result<()> {
        poll_fn(|cx| self.fd.poll_sole_owner(cx)).await;
        op::close(self.fd).await
    }
}

impl UnixStream {
    /// The shared descriptor (for `io::Compat`).
    pub(crate) fn shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
