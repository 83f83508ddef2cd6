//! Addresses: what sockets connect to and bind, resolved without stalling
//! a core's loop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What [`TcpStream::connect`](super::TcpStream::connect) and
/// [`TcpListener::bind`](super::TcpListener::bind) accept: like
/// `std::net::ToSocketAddrs`, and implemented for the same types (a
/// `SocketAddr`, `(IpAddr, u16)`, `"host:port"`, `("host", port)`, a slice of
/// addresses, a `String`, a reference to any of them).
///
/// The difference is where a host name is looked up: IP addresses are used
/// at once, a name that needs DNS is resolved on the blocking pool
/// ([`spawn_blocking`](crate::task::spawn_blocking)) by `connect`, so the
/// core's loop keeps running meanwhile. (`bind` is not async: it resolves
/// on the calling thread; pass an IP address there.)
///
/// Sealed: the list of types is corio's to extend.
pub trait ToSocketAddrs: sealed::Resolve {}

pub(crate) mod sealed {
    use super::Lookup;
    use std::io;
    use std::net::SocketAddr;

    /// How an address becomes socket addresses.
    pub trait Resolve {
        /// The addresses at once, or the name to look up.
        fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup>;
    }
}

/// A name to look up with the system's resolver (blocking).
pub struct Lookup(LookupKind);

enum LookupKind {
    /// `"host:port"`.
    HostPort(String),
    /// A host and a port.
    Host(String, u16),
}

impl Lookup {
    /// Ask the system's resolver (blocks the calling thread).
    pub(crate) fn blocking(self) -> io::Result<Vec<SocketAddr>> {
        use std::net::ToSocketAddrs as _;
        Ok(match self.0 {
            LookupKind::HostPort(s) => s.to_socket_addrs()?.collect(),
            LookupKind::Host(h, port) => (h.as_str(), port).to_socket_addrs()?.collect(),
        })
    }
}

macro_rules! ready {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl sealed::Resolve for $t {
            fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
                let $v = self;
                Ok(Ok($e))
            }
        }
        impl ToSocketAddrs for $t {}
    )*};
}

ready! {
    SocketAddr => |a| vec![*a];
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V4(a.0), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V6(a.0), a.1)];
    [SocketAddr] => |a| a.to_vec();
}

impl sealed::Resolve for str {
    fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Ok(Ok(vec![addr])),
            Err(_) => Err(Lookup(LookupKind::HostPort(self.to_owned()))),
        }
    }
}
impl ToSocketAddrs for str {}

impl sealed::Resolve for String {
    fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
        self.as_str().resolve()
    }
}
impl ToSocketAddrs for String {}

impl sealed::Resolve for (&str, u16) {
    fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Ok(Ok(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Err(Lookup(LookupKind::Host(self.0.to_owned(), self.1))),
        }
    }
}
impl ToSocketAddrs for (&str, u16) {}

impl sealed::Resolve for (String, u16) {
    fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
        (self.0.as_str(), self.1).resolve()
    }
}
impl ToSocketAddrs for (String, u16) {}

impl<T: sealed::Resolve + ?Sized> sealed::Resolve for &T {
    fn resolve(&self) -> Result<io::Result<Vec<SocketAddr>>, Lookup> {
        (**self).resolve()
    }
}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

/// The addresses of `addr`: at once for IP addresses, on the blocking pool
/// for names.
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve() {
        Ok(addrs) => addrs,
        Err(lookup) => crate::task::spawn_blocking(move || lookup.blocking()).await?,
    }
}

/// The addresses of `addr`, looking a name up on the calling thread.
pub(crate) fn resolve_here(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve() {
        Ok(addrs) => addrs,
        Err(lookup) => lookup.blocking(),
    }
}

/// Try `f` on each address until one succeeds; the last error otherwise.
pub(crate) async fn each_addr<T, F, Fut>(addrs: Vec<SocketAddr>, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in addrs {
        match f(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_address))
}

pub(crate) fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Convert a socket2 address to an IP socket address.
pub(crate) fn to_inet(addr: socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the socket address is not an IP address",
        )
    })
}
