//! Unix-domain sockets on temp-dir paths and abstract names: stream echo of
//! large patterns and many concurrent clients, connect and bind errors,
//! path length limits, addresses (path, abstract, unnamed), datagrams whole,
//! truncated and zero-length, shutdown and EOF, cancel-safe reads (timeouts
//! and aborted tasks lose and duplicate nothing), other threads' runtimes,
//! std interop, and no descriptor leaks.

mod common;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use common::*;
use corio::net::{UnixDatagram, UnixListener, UnixStream};
use corio::task::JoinHandle;
use corio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(60);

/// Tests that count descriptors take this for writing, all others for
/// reading, so no other test of this file opens or closes sockets while a
/// count is taken.
static FD_LOCK: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    FD_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    FD_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

/// A fresh temp dir and a socket path in it.
fn sock_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// An abstract-namespace address no other test (or test run) uses.
fn abstract_addr(tag: &str) -> (Vec<u8>, SocketAddr) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "corio-test-{}-{tag}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
    .into_bytes();
    let addr = SocketAddr::from_abstract_name(&name).expect("abstract address");
    (name, addr)
}

/// An unnamed address (std has no constructor: an unbound socket's).
fn unnamed_addr() -> SocketAddr {
    let addr = std::os::unix::net::UnixDatagram::unbound()
        .expect("unbound")
        .local_addr()
        .expect("local_addr");
    assert!(addr.is_unnamed());
    addr
}

async fn echo_conn(s: UnixStream) {
    let mut buf = Vec::with_capacity(16 * 1024);
    for _ in 0..1_000_000 {
        let (res, b) = s.read(buf).await;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, mut b) = s.write_all(b).await;
        if res.is_err() {
            return;
        }
        b.clear();
        buf = b;
    }
}

/// Accepts `conns` connections, each echoed by a task of its own.
fn start_echo_server(listener: UnixListener, conns: usize) -> JoinHandle<()> {
    corio::spawn(async move {
        for _ in 0..conns {
            let (s, _) = listener.accept().await.expect("accept");
            let _detached = corio::spawn(echo_conn(s));
        }
    })
}

/// Reads until `n` bytes arrived or EOF, reads of at most `chunk` bytes;
/// bounded in reads and time.
async fn read_n(s: &UnixStream, n: usize, chunk: usize) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::with_capacity(n);
    for _ in 0..10_000_000 {
        if got.len() >= n {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "read_n: only {} of {n} bytes",
            got.len()
        );
        let want = chunk.min(n - got.len());
        let (res, buf) = s.read(Vec::with_capacity(want)).await;
        let k = res.expect("read");
        if k == 0 {
            break;
        }
        assert_eq!(buf.len(), k);
        got.extend_from_slice(&buf);
    }
    got
}

async fn write_ok(s: &UnixStream, data: Vec<u8>) {
    let (res, _) = s.write_all(data).await;
    res.expect("write_all");
}

fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got == want,
        "{what}: {} bytes, {} expected, first difference at {:?}",
        got.len(),
        want.len(),
        first_difference(got, want)
    );
}

#[test]
fn a_one_mib_pattern_is_echoed_and_exchanged_both_ways_over_a_path_socket() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("echo.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let server = start_echo_server(listener, 1);
            let c = Rc::new(UnixStream::connect(&path).await.expect("connect"));
            let data = pattern(1 << 20, 42);
            // Written while the echo is read, or both sides' buffers fill.
            let writer = corio::spawn({
                let (c, d) = (c.clone(), data.clone());
                async move { write_ok(&c, d).await }
            });
            let got = read_n(&c, data.len(), 64 * 1024).await;
            writer.await.expect("writer");
            assert_same(&got, &data, "the echo");
            server.await.expect("server");

            // Both ends send their own MiB at once.
            let (_dir2, path2) = sock_path("both.sock");
            let listener = UnixListener::bind(&path2).expect("bind");
            let a = Rc::new(UnixStream::connect(&path2).await.expect("connect"));
            let (b, _) = listener.accept().await.expect("accept");
            let b = Rc::new(b);
            let (from_a, from_b) = (pattern(1 << 20, 1), pattern(1 << 20, 2));
            let wa = corio::spawn({
                let (a, d) = (a.clone(), from_a.clone());
                async move { write_ok(&a, d).await }
            });
            let wb = corio::spawn({
                let (b, d) = (b.clone(), from_b.clone());
                async move { write_ok(&b, d).await }
            });
            let rb = corio::spawn({
                let b = b.clone();
                async move { read_n(&b, 1 << 20, 100_000).await }
            });
            let at_a = read_n(&a, 1 << 20, 30_000).await;
            let at_b = rb.await.expect("reader at b");
            wa.await.expect("writer a");
            wb.await.expect("writer b");
            assert_same(&at_a, &from_b, "b to a");
            assert_same(&at_b, &from_a, "a to b");
        });
    });
}

#[test]
fn two_hundred_concurrent_clients_each_get_their_own_echo() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const CLIENTS: usize = 200;
            let (_dir, path) = sock_path("many.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let server = start_echo_server(listener, CLIENTS);
            let path = Rc::new(path);
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    let path = path.clone();
                    corio::spawn(async move {
                        let c = UnixStream::connect(&*path).await.expect("connect");
                        let c = Rc::new(c);
                        let msg = pattern(4000 + i * 7, i as u8);
                        // Written while the echo is read.
                        let writer = corio::spawn({
                            let (c, m) = (c.clone(), msg.clone());
                            async move { write_ok(&c, m).await }
                        });
                        let got = read_n(&c, msg.len(), 1500).await;
                        writer.await.expect("writer");
                        assert_same(&got, &msg, &format!("client {i}"));
                        let c = Rc::into_inner(c).expect("the only reference");
                        c.close().await.expect("close");
                    })
                })
                .collect();
            for (i, h) in clients.into_iter().enumerate() {
                h.await.unwrap_or_else(|_| panic!("client {i} failed"));
            }
            server.await.expect("server");
        });
    });
}

#[test]
fn connecting_to_a_missing_path_is_not_found() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("missing.sock");
            let err = UnixStream::connect(&path).await.expect_err("no such file");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            let addr = SocketAddr::from_pathname(&path).unwrap();
            let err = UnixStream::connect_addr(&addr)
                .await
                .expect_err("no such file");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            // A datagram socket's connect and send_to too.
            let d = UnixDatagram::unbound().expect("unbound");
            let err = d.connect(&path).expect_err("connect");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            let (res, back) = d.send_to(b"x".to_vec(), &path).await;
            assert_eq!(res.expect_err("send_to").kind(), ErrorKind::NotFound);
            assert_eq!(back, b"x");
            // An abstract name nobody bound: refused.
            let (_, addr) = abstract_addr("nobody");
            let err = UnixStream::connect_addr(&addr).await.expect_err("nobody");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        });
    });
}

#[test]
fn connecting_to_a_socket_file_without_a_listener_is_connection_refused() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("dead.sock");
            drop(UnixListener::bind(&path).expect("bind"));
            assert!(path.exists(), "the socket file stays after the listener");
            let err = UnixStream::connect(&path).await.expect_err("no listener");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

            // Closed with close().await: the same.
            let (_dir2, path2) = sock_path("closed.sock");
            let l = UnixListener::bind(&path2).expect("bind");
            let c = UnixStream::connect(&path2)
                .await
                .expect("connect while listening");
            drop(c);
            drop(l);
            let err = UnixStream::connect(&path2).await.expect_err("no listener");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

            // A datagram socket's file whose socket is gone.
            let (_dir3, path3) = sock_path("dead-dgram.sock");
            UnixDatagram::bind(&path3)
                .expect("bind")
                .close()
                .await
                .expect("close");
            let d = UnixDatagram::unbound().expect("unbound");
            let (res, _) = d.send_to(b"x".to_vec(), &path3).await;
            let err = res.expect_err("send_to a dead socket");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        });
    });
}

#[test]
fn binding_an_existing_path_is_addr_in_use() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (dir, path) = sock_path("taken.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            for _ in 0..2 {
                let err = UnixListener::bind(&path).expect_err("bound twice");
                assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
                let err = UnixDatagram::bind(&path).expect_err("bound twice");
                assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
                let addr = SocketAddr::from_pathname(&path).unwrap();
                let err = UnixListener::bind_addr(&addr).expect_err("bound twice");
                assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
            }
            // Still in use after the listener is gone: the file stays.
            drop(listener);
            let err = UnixListener::bind(&path).expect_err("the file stays");
            assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
            // A plain file in the way.
            let file = dir.path().join("plain");
            std::fs::write(&file, b"x").unwrap();
            let err = UnixDatagram::bind(&file).expect_err("a file there");
            assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
            // Once removed, the path binds again.
            std::fs::remove_file(&path).unwrap();
            let again = UnixListener::bind(&path).expect("bind after remove");
            assert_eq!(again.local_addr().unwrap().as_pathname(), Some(&*path));

            // An abstract name in use.
            let (_, addr) = abstract_addr("taken");
            let _l = UnixListener::bind_addr(&addr).expect("bind abstract");
            let err = UnixListener::bind_addr(&addr).expect_err("bound twice");
            assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        });
    });
}

#[test]
fn a_path_longer_than_107_bytes_is_invalid_input_and_107_bytes_work() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let base = dir.path().as_os_str().len() + 1;
            assert!(base < 100, "temp dir path too long for this test: {base}");
            let fits = dir.path().join("f".repeat(107 - base));
            let long = dir.path().join("l".repeat(108 - base));
            let longer = dir.path().join("m".repeat(200 - base));
            assert_eq!(fits.as_os_str().len(), 107);

            let listener = UnixListener::bind(&fits).expect("a 107-byte path binds");
            assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*fits));
            let c = UnixStream::connect(&fits)
                .await
                .expect("connect to 107 bytes");
            let (s, _) = listener.accept().await.expect("accept");
            assert_eq!(s.local_addr().unwrap().as_pathname(), Some(&*fits));
            assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(&*fits));

            for p in [&long, &longer] {
                let check = |err: std::io::Error, what: &str| {
                    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
                    assert!(err.to_string().contains("107"), "{what}: {err}");
                };
                check(
                    UnixListener::bind(p).expect_err("listener"),
                    "UnixListener::bind",
                );
                check(
                    UnixDatagram::bind(p).expect_err("datagram"),
                    "UnixDatagram::bind",
                );
                check(
                    UnixStream::connect(p).await.expect_err("connect"),
                    "connect",
                );
                let d = UnixDatagram::unbound().unwrap();
                check(
                    d.connect(p).expect_err("dgram connect"),
                    "UnixDatagram::connect",
                );
                let (res, back) = d.send_to(b"x".to_vec(), p).await;
                check(res.expect_err("send_to"), "send_to");
                assert_eq!(back, b"x");
                assert!(!p.exists(), "nothing was created at {}", p.display());
            }
        });
    });
}

#[test]
fn an_unnamed_address_is_invalid_input_to_bind_addr_and_connect_addr() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let unnamed = unnamed_addr();
            let kind = |r: std::io::Error| r.kind();
            assert_eq!(
                kind(UnixListener::bind_addr(&unnamed).expect_err("listener")),
                ErrorKind::InvalidInput
            );
            assert_eq!(
                kind(UnixDatagram::bind_addr(&unnamed).expect_err("datagram")),
                ErrorKind::InvalidInput
            );
            assert_eq!(
                kind(
                    UnixStream::connect_addr(&unnamed)
                        .await
                        .expect_err("connect_addr")
                ),
                ErrorKind::InvalidInput
            );
            let d = UnixDatagram::unbound().unwrap();
            assert_eq!(
                kind(d.connect_addr(&unnamed).expect_err("dgram connect_addr")),
                ErrorKind::InvalidInput
            );
            let (res, back) = d.send_to_addr(b"x".to_vec(), &unnamed).await;
            assert_eq!(
                kind(res.expect_err("send_to_addr")),
                ErrorKind::InvalidInput
            );
            assert_eq!(back, b"x");
        });
    });
}

#[test]
fn path_addresses_are_reported_by_local_addr_peer_addr_and_accept() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("addr.sock");
            let addr = SocketAddr::from_pathname(&path).unwrap();
            let listener = UnixListener::bind_addr(&addr).expect("bind_addr of a path");
            assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
            let c = UnixStream::connect_addr(&addr).await.expect("connect_addr");
            let (s, peer) = listener.accept().await.expect("accept");
            assert!(peer.is_unnamed(), "a client that did not bind: {peer:?}");
            assert!(c.local_addr().unwrap().is_unnamed());
            assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(&*path));
            assert_eq!(s.local_addr().unwrap().as_pathname(), Some(&*path));
            assert!(s.peer_addr().unwrap().is_unnamed());

            // A pair: both ends unnamed.
            let (p, q) = UnixStream::pair().expect("pair");
            assert!(p.local_addr().unwrap().is_unnamed());
            assert!(q.peer_addr().unwrap().is_unnamed());
            use std::os::fd::{AsFd, AsRawFd};
            assert_eq!(p.as_fd().as_raw_fd(), p.as_raw_fd());
            assert_eq!(listener.as_fd().as_raw_fd(), listener.as_raw_fd());
        });
    });
}

#[test]
fn abstract_names_work_for_listeners_streams_and_datagrams() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (name, addr) = abstract_addr("listener");
            let listener = UnixListener::bind_addr(&addr).expect("bind abstract");
            assert_eq!(
                listener.local_addr().unwrap().as_abstract_name(),
                Some(&name[..])
            );
            let c = UnixStream::connect_addr(&addr)
                .await
                .expect("connect abstract");
            let (s, _) = listener.accept().await.expect("accept");
            assert_eq!(c.peer_addr().unwrap().as_abstract_name(), Some(&name[..]));
            write_ok(&c, b"abstract".to_vec()).await;
            assert_eq!(read_n(&s, 8, 64).await, b"abstract");

            let (rname, raddr) = abstract_addr("dgram-rx");
            let (sname, saddr) = abstract_addr("dgram-tx");
            let rx = UnixDatagram::bind_addr(&raddr).expect("bind abstract dgram");
            let tx = UnixDatagram::bind_addr(&saddr).expect("bind abstract dgram");
            assert_eq!(
                rx.local_addr().unwrap().as_abstract_name(),
                Some(&rname[..])
            );
            let (res, _) = tx.send_to_addr(b"hello".to_vec(), &raddr).await;
            assert_eq!(res.expect("send_to_addr"), 5);
            let (res, buf) = rx.recv_from(Vec::with_capacity(16)).await;
            let (n, from) = res.expect("recv_from");
            assert_eq!((n, &buf[..]), (5, &b"hello"[..]));
            assert_eq!(from.as_abstract_name(), Some(&sname[..]), "{from:?}");
            // Reply to the address recv_from gave.
            let (res, _) = rx.send_to_addr(b"back".to_vec(), &from).await;
            assert_eq!(res.expect("reply"), 4);
            let (res, buf) = tx.recv(Vec::with_capacity(16)).await;
            assert_eq!(res.expect("recv"), 4);
            assert_eq!(buf, b"back");
            tx.connect_addr(&raddr).expect("connect_addr");
            assert_eq!(tx.peer_addr().unwrap().as_abstract_name(), Some(&rname[..]));
            let (res, _) = tx.send(b"c".to_vec()).await;
            assert_eq!(res.expect("send"), 1);
            let (res, _) = rx.recv(Vec::with_capacity(4)).await;
            assert_eq!(res.expect("recv"), 1);
        });
    });
}

#[test]
fn a_datagram_from_an_unbound_sender_has_an_unnamed_address_and_a_bound_one_its_path() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (dir, path) = sock_path("rx.sock");
            let rx = UnixDatagram::bind(&path).expect("bind");
            assert_eq!(rx.local_addr().unwrap().as_pathname(), Some(&*path));

            let anon = UnixDatagram::unbound().expect("unbound");
            assert!(anon.local_addr().unwrap().is_unnamed());
            let (res, _) = anon.send_to(b"anon".to_vec(), &path).await;
            assert_eq!(res.expect("send_to"), 4);
            let (res, buf) = rx.recv_from(Vec::with_capacity(16)).await;
            let (n, from) = res.expect("recv_from");
            assert_eq!((n, &buf[..]), (4, &b"anon"[..]));
            assert_eq!(from.as_pathname(), None, "{from:?}");
            assert!(from.is_unnamed(), "{from:?}");

            // Connected but unbound: still unnamed.
            anon.connect(&path).expect("connect");
            assert_eq!(anon.peer_addr().unwrap().as_pathname(), Some(&*path));
            let (res, _) = anon.send(b"again".to_vec()).await;
            assert_eq!(res.expect("send"), 5);
            let (res, _) = rx.recv_from(Vec::with_capacity(16)).await;
            assert!(res.expect("recv_from").1.is_unnamed());

            let tx_path = dir.path().join("tx.sock");
            let tx = UnixDatagram::bind(&tx_path).expect("bind tx");
            let (res, _) = tx.send_to(b"named".to_vec(), &path).await;
            assert_eq!(res.expect("send_to"), 5);
            let (res, _) = rx.recv_from(Vec::with_capacity(16)).await;
            let (_, from) = res.expect("recv_from");
            assert_eq!(from.as_pathname(), Some(&*tx_path), "{from:?}");
            // And the reply goes back to that path.
            let (res, _) = rx
                .send_to(b"reply".to_vec(), from.as_pathname().unwrap())
                .await;
            assert_eq!(res.expect("reply"), 5);
            let (res, buf) = tx.recv(Vec::with_capacity(16)).await;
            assert_eq!(res.expect("recv"), 5);
            assert_eq!(buf, b"reply");
        });
    });
}

#[test]
fn a_unix_datagram_larger_than_the_buffer_is_invalid_data_with_its_real_length_and_the_next_arrives_whole(
) {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixDatagram::pair().expect("pair");
            let big = pattern(5000, 7);
            for use_from in [false, true] {
                let (res, _) = a.send(big.clone()).await;
                assert_eq!(res.expect("send"), 5000);
                let (res, _) = a.send(b"small".to_vec()).await;
                assert_eq!(res.expect("send"), 5);
                let (res, buf) = if use_from {
                    let (res, buf) = b.recv_from(Vec::with_capacity(300)).await;
                    (res.map(|(n, _)| n), buf)
                } else {
                    b.recv(Vec::with_capacity(300)).await
                };
                let err = res.expect_err("5000 bytes into 300");
                assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
                assert!(err.to_string().contains("5000"), "{err}");
                assert_eq!(buf.len(), buf.capacity());
                assert_eq!(&buf[..], &big[..buf.len()]);
                let (res, buf) = b.recv(Vec::with_capacity(300)).await;
                assert_eq!(res.expect("the next one whole"), 5);
                assert_eq!(buf, b"small");
            }
        });
    });
}

#[test]
fn datagram_pairs_and_connected_sockets_send_and_receive_including_empty_datagrams() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixDatagram::pair().expect("pair");
            for i in 0..20usize {
                let (res, _) = a.send(pattern(i * 100, i as u8)).await;
                assert_eq!(res.expect("send"), i * 100);
            }
            for i in 0..20usize {
                let (res, buf) = b.recv(Vec::with_capacity(4096)).await;
                assert_eq!(res.expect("recv"), i * 100, "boundaries kept");
                assert_eq!(buf, pattern(i * 100, i as u8));
            }
            // Empty datagrams, into an empty buffer and a roomy one.
            let (res, _) = b.send(Vec::new()).await;
            assert_eq!(res.expect("empty send"), 0);
            let (res, _) = b.send(Vec::new()).await;
            assert_eq!(res.expect("empty send"), 0);
            let (res, buf) = a.recv(Vec::new()).await;
            assert_eq!(res.expect("empty into empty"), 0);
            assert!(buf.is_empty());
            let (res, buf) = a.recv_from(Vec::with_capacity(8)).await;
            let (n, from) = res.expect("empty recv_from");
            assert_eq!(n, 0);
            assert!(buf.is_empty());
            assert!(from.is_unnamed());

            // A bound socket and a connected client.
            let (_dir, path) = sock_path("dgram.sock");
            let server = UnixDatagram::bind(&path).expect("bind");
            let client = UnixDatagram::unbound().expect("unbound");
            let err = client.peer_addr().expect_err("not connected");
            assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
            let (res, back) = client.send(b"nowhere".to_vec()).await;
            assert!(res.is_err(), "send unconnected");
            assert_eq!(back, b"nowhere");
            client.connect(&path).expect("connect");
            let (res, _) = client.send(b"hi".to_vec()).await;
            assert_eq!(res.expect("send"), 2);
            let (res, buf) = server.recv(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("recv"), 2);
            assert_eq!(buf, b"hi");
            server.close().await.expect("close");
            client.close().await.expect("close");
        });
    });
}

#[test]
fn shutdown_write_gives_the_peer_eof_while_the_other_direction_still_works() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("shut.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let c = UnixStream::connect(&path).await.expect("connect");
            let (s, _) = listener.accept().await.expect("accept");
            write_ok(&c, b"last words".to_vec()).await;
            c.shutdown(Shutdown::Write).expect("shutdown write");
            assert_eq!(read_n(&s, 1000, 4).await, b"last words", "then EOF");
            for _ in 0..3 {
                let (res, buf) = s.read(Vec::with_capacity(16)).await;
                assert_eq!(res.expect("read at EOF"), 0);
                assert!(buf.is_empty());
            }
            // The other way still flows.
            write_ok(&s, b"reply".to_vec()).await;
            assert_eq!(read_n(&c, 5, 16).await, b"reply");
            // The shut side cannot write any more.
            let (res, _) = c.write(b"more".to_vec()).await;
            assert_eq!(
                res.expect_err("write after shutdown").kind(),
                ErrorKind::BrokenPipe
            );

            // A pair, shut down both ways.
            let (p, q) = UnixStream::pair().expect("pair");
            p.shutdown(Shutdown::Both).expect("shutdown both");
            let (res, _) = q.read(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("read"), 0);
            let (res, _) = p.read(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("read of a shut read half"), 0);
        });
    });
}

#[test]
fn a_closed_peer_gives_eof_to_reads_and_broken_pipe_to_writes_without_sigpipe() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (p, q) = UnixStream::pair().expect("pair");
            write_ok(&p, b"before close".to_vec()).await;
            p.close().await.expect("close");
            assert_eq!(read_n(&q, 100, 100).await, b"before close");
            let start = Instant::now();
            let mut broke = false;
            for _ in 0..100 {
                let (res, _) = q.write(pattern(4096, 0)).await;
                match res {
                    Ok(_) => assert!(start.elapsed() < Duration::from_secs(10)),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
                        broke = true;
                        break;
                    }
                }
            }
            assert!(broke, "writes to a closed peer never failed");
        });
    });
}

#[test]
fn stream_reads_under_tiny_timeouts_get_every_byte_once_in_order() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const RECORDS: usize = 20_000;
            let (_dir, path) = sock_path("cancel.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let r = UnixStream::connect(&path).await.expect("connect");
            let (w, _) = listener.accept().await.expect("accept");
            let mut expected = Vec::with_capacity(RECORDS * 16);
            for i in 0..RECORDS {
                expected.extend_from_slice(&record(i));
            }
            // The writer: chunks of varying size, now and then a pause.
            let writer = corio::spawn({
                let data = expected.clone();
                async move {
                    let mut pos = 0;
                    let mut k = 0usize;
                    while pos < data.len() {
                        k += 1;
                        let len = (1 + k * 131 % 3000).min(data.len() - pos);
                        write_ok(&w, data[pos..pos + len].to_vec()).await;
                        pos += len;
                        if k % 4 == 0 {
                            corio::task::yield_now().await;
                        }
                    }
                    w.close().await.expect("close the writer");
                }
            });
            let start = Instant::now();
            let mut got = Vec::with_capacity(expected.len());
            let mut timeouts = 0u32;
            let mut eof = false;
            for round in 0..2_000_000u64 {
                assert!(
                    start.elapsed() < Duration::from_secs(45),
                    "only {} of {} bytes",
                    got.len(),
                    expected.len()
                );
                // Now and then the reader falls behind, so bytes wait in the
                // socket: a read dropped at once (a zero timeout) is then
                // completed by the kernel with them, and must hand them on.
                if round % 16 == 0 {
                    sleep(Duration::from_micros(300)).await;
                }
                const TIMEOUTS_US: [u64; 8] = [0, 0, 3, 0, 17, 60, 0, 150];
                let t = Duration::from_micros(TIMEOUTS_US[round as usize % 8]);
                let cap = 1 + (round as usize * 97) % 5000;
                match timeout(t, r.read(Vec::with_capacity(cap))).await {
                    Ok((res, buf)) => {
                        let k = res.expect("read");
                        assert_eq!(k, buf.len());
                        assert!(k <= cap);
                        if k == 0 {
                            eof = true;
                            break;
                        }
                        got.extend_from_slice(&buf);
                        assert!(got.len() <= expected.len(), "more bytes than were written");
                    }
                    Err(_) => timeouts += 1,
                }
            }
            assert!(eof, "no EOF");
            assert_same(&got, &expected, "the stream read under timeouts");
            assert!(timeouts > 0, "no read timed out: the test checked nothing");
            writer.await.expect("writer");
        });
    });
}

#[test]
fn aborting_reading_tasks_loses_and_duplicates_no_stream_byte() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const RECORDS: usize = 4000;
            let (r, w) = std::os::unix::net::UnixStream::pair().expect("pair");
            let r = Rc::new(UnixStream::from_std(r));
            let mut expected = Vec::with_capacity(RECORDS * 16);
            for i in 0..RECORDS {
                expected.extend_from_slice(&record(i));
            }
            // The writer: a std stream on its own thread.
            let writer = std::thread::spawn({
                let data = expected.clone();
                move || {
                    let mut w = w;
                    for (k, chunk) in data.chunks(1000).enumerate() {
                        w.write_all(chunk).expect("std write");
                        if k % 3 == 0 {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                }
            });
            let got: Rc<RefCell<Vec<u8>>> = Rc::default();
            let eof = Rc::new(Cell::new(false));
            let start = Instant::now();
            let mut aborted_unfinished = 0u32;
            for round in 0..1_000_000u64 {
                if got.borrow().len() >= expected.len() {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(45),
                    "only {} bytes",
                    got.borrow().len()
                );
                let (r2, got2, eof2) = (r.clone(), got.clone(), eof.clone());
                let cap = 1 + (round as usize * 89) % 3000;
                let handle = corio::spawn(async move {
                    let (res, buf) = r2.read(Vec::with_capacity(cap)).await;
                    if res.expect("read") == 0 {
                        eof2.set(true);
                    }
                    got2.borrow_mut().extend_from_slice(&buf);
                });
                match round % 4 {
                    0 => {}
                    1 => corio::task::yield_now().await,
                    2 => sleep(Duration::from_micros(20)).await,
                    _ => sleep(Duration::from_micros(250)).await,
                }
                if !handle.is_finished() {
                    aborted_unfinished += 1;
                }
                handle.abort();
                let _ = handle.await;
                assert!(!eof.get(), "EOF before all bytes arrived");
            }
            assert_same(&got.borrow(), &expected, "the stream read by aborted tasks");
            assert!(aborted_unfinished > 0, "no task was aborted mid-read");
            writer.join().expect("writer thread");
        });
    });
}

#[test]
fn unix_datagram_receives_under_tiny_timeouts_get_every_datagram_once_in_order() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const N: u32 = 3000;
            let (_dir, path) = sock_path("dgram-cancel.sock");
            let rx = UnixDatagram::bind(&path).expect("bind");
            let tx_path = path.with_file_name("dgram-cancel-tx.sock");
            let tx = UnixDatagram::bind(&tx_path).expect("bind tx");
            let numbered = |i: u32| {
                let mut d = i.to_le_bytes().to_vec();
                d.extend(pattern((i % 61) as usize, i as u8));
                d
            };
            // At most WINDOW datagrams ahead of the receiver: the receiver's
            // queue (net.unix.max_dgram_qlen, 10 by default) never fills
            // (for a full queue, see the test after this one).
            const WINDOW: u32 = 8;
            let received = Rc::new(Cell::new(0u32));
            let sender = corio::spawn({
                let path = path.clone();
                let received = received.clone();
                async move {
                    let start = Instant::now();
                    for i in 0..N {
                        while i - received.get() >= WINDOW {
                            assert!(
                                start.elapsed() < Duration::from_secs(40),
                                "receiver stalled"
                            );
                            sleep(Duration::from_micros(100)).await;
                        }
                        let d = numbered(i);
                        let len = d.len();
                        let (res, _) = tx.send_to(d, &path).await;
                        assert_eq!(res.expect("send_to"), len);
                        if i % 3 == 0 {
                            corio::task::yield_now().await;
                        }
                    }
                }
            });
            let start = Instant::now();
            let mut next = 0u32;
            let mut timeouts = 0u32;
            for round in 0..(N as u64 * 100) {
                if next == N {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(45),
                    "only {next} of {N} datagrams"
                );
                // As for streams: the receiver falls behind now and then,
                // and many receives are dropped at once.
                if round % 16 == 0 {
                    sleep(Duration::from_micros(300)).await;
                }
                const TIMEOUTS_US: [u64; 8] = [0, 0, 3, 0, 17, 60, 0, 150];
                let t = Duration::from_micros(TIMEOUTS_US[round as usize % 8]);
                let use_from = round % 2 == 0;
                let outcome = if use_from {
                    timeout(t, rx.recv_from(Vec::with_capacity(128)))
                        .await
                        .map(|(res, buf)| {
                            let (k, from) = res.expect("recv_from");
                            // The sender's path, also for a datagram
                            // rescued from a dropped `recv`.
                            assert_eq!(from.as_pathname(), Some(&*tx_path));
                            (k, buf)
                        })
                } else {
                    timeout(t, rx.recv(Vec::with_capacity(128)))
                        .await
                        .map(|(res, buf)| (res.expect("recv"), buf))
                };
                match outcome {
                    Ok((k, buf)) => {
                        assert_eq!(k, buf.len());
                        assert!(buf == numbered(next), "expected datagram {next}");
                        next += 1;
                        received.set(next);
                    }
                    Err(_) => timeouts += 1,
                }
            }
            assert_eq!(next, N, "not every datagram arrived");
            assert!(
                timeouts > 0,
                "no receive timed out: the test checked nothing"
            );
            sender.await.expect("sender");
            let extra = timeout(Duration::from_millis(50), rx.recv(Vec::with_capacity(128))).await;
            assert!(extra.is_err(), "a datagram too many");
        });
    });
}

#[test]
fn streams_work_from_spawned_tasks_and_from_another_threads_runtime() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("threads.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let server = start_echo_server(listener, 3);

            // A client on another thread with its own runtime.
            let other = std::thread::spawn({
                let path = path.clone();
                move || {
                    corio::block_on(async move {
                        let c = UnixStream::connect(&path).await.expect("connect");
                        for i in 0..20u8 {
                            let msg = pattern(1000 + i as usize, i);
                            write_ok(&c, msg.clone()).await;
                            assert_same(&read_n(&c, msg.len(), 4096).await, &msg, "echo");
                        }
                        c.close().await.expect("close");
                    })
                }
            });
            // A std stream made here, adopted on yet another thread.
            let std_client = std::os::unix::net::UnixStream::connect(&path).expect("std connect");
            let adopted = std::thread::spawn(move || {
                corio::block_on(async move {
                    let c = UnixStream::from_std(std_client);
                    let msg = pattern(70_000, 3);
                    let c = Rc::new(c);
                    let w = corio::spawn({
                        let (c, m) = (c.clone(), msg.clone());
                        async move { write_ok(&c, m).await }
                    });
                    assert_same(&read_n(&c, msg.len(), 8192).await, &msg, "adopted echo");
                    w.await.expect("writer");
                })
            });
            // And one in a spawned task of this runtime.
            let local = corio::spawn({
                let path = path.clone();
                async move {
                    let c = UnixStream::connect(&path).await.expect("connect");
                    write_ok(&c, b"spawned".to_vec()).await;
                    read_n(&c, 7, 64).await
                }
            });
            assert_eq!(local.await.expect("spawned client"), b"spawned");
            let done = wait_for_async(Duration::from_secs(30), || {
                other.is_finished() && adopted.is_finished()
            })
            .await;
            assert!(done, "the other threads did not finish");
            other.join().expect("other thread");
            adopted.join().expect("adopting thread");
            server.await.expect("server");

            // A datagram pair split across threads: one end adopted there.
            let (here, there) = std::os::unix::net::UnixDatagram::pair().expect("pair");
            let here = UnixDatagram::from_std(here);
            let t = std::thread::spawn(move || {
                corio::block_on(async move {
                    let there = UnixDatagram::from_std(there);
                    let (res, buf) = there.recv(Vec::with_capacity(16)).await;
                    res.expect("recv");
                    let (res, _) = there.send(buf).await;
                    res.expect("send back");
                })
            });
            let (res, _) = here.send(b"ping".to_vec()).await;
            res.expect("send");
            let (res, buf) = here.recv(Vec::with_capacity(16)).await;
            assert_eq!(res.expect("recv"), 4);
            assert_eq!(buf, b"ping");
            assert!(wait_for_async(Duration::from_secs(10), || t.is_finished()).await);
            t.join().expect("datagram thread");
        });
    });
}

#[test]
fn std_listeners_and_streams_adopted_with_from_std_talk_to_std_peers() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("std.sock");
            let std_listener = std::os::unix::net::UnixListener::bind(&path).expect("std bind");
            let listener = UnixListener::from_std(std_listener);
            assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
            let mut peer = std::os::unix::net::UnixStream::connect(&path).expect("std connect");
            peer.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let (s, _) = listener.accept().await.expect("accept a std client");
            write_ok(&s, b"to std".to_vec()).await;
            let mut buf = [0u8; 6];
            peer.read_exact(&mut buf).expect("std read");
            assert_eq!(&buf, b"to std");
            peer.write_all(b"from std").expect("std write");
            drop(peer);
            assert_eq!(read_n(&s, 100, 100).await, b"from std", "then EOF");
        });
    });
}

#[test]
fn closing_or_dropping_unix_sockets_releases_their_descriptors() {
    let _exclusive = exclusive();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            // Warm up what the runtime opens on first use.
            {
                let (p, q) = UnixStream::pair().unwrap();
                let _ = timeout(Duration::from_millis(1), p.read(Vec::with_capacity(8))).await;
                write_ok(&q, b"w".to_vec()).await;
                let _ = p.read(Vec::with_capacity(8)).await;
            }
            let base = fd_count();
            for round in 0..30usize {
                let path = dir.path().join(format!("leak-{round}.sock"));
                let listener = UnixListener::bind(&path).expect("bind");
                let mut streams = Vec::new();
                for _ in 0..3 {
                    let c = UnixStream::connect(&path).await.expect("connect");
                    let (s, _) = listener.accept().await.expect("accept");
                    write_ok(&c, b"x".to_vec()).await;
                    assert_eq!(read_n(&s, 1, 8).await, b"x");
                    streams.push(c);
                    streams.push(s);
                }
                // Reads dropped in flight, one after its bytes arrived.
                write_ok(&streams[0], b"late".to_vec()).await;
                let _ = timeout(Duration::ZERO, streams[1].read(Vec::with_capacity(8))).await;
                let _ = timeout(
                    Duration::from_micros(30),
                    streams[2].read(Vec::with_capacity(8)),
                )
                .await;
                // An accept dropped while a client waits: if it took the
                // connection, that connection is closed (the client sees EOF).
                let waiting = UnixStream::connect(&path).await.expect("connect");
                let _ = timeout(Duration::ZERO, listener.accept()).await;
                match timeout(Duration::from_millis(100), listener.accept()).await {
                    Ok(accepted) => drop(accepted.expect("accept")),
                    Err(_) => {
                        let read = waiting.read(Vec::with_capacity(8));
                        let (res, _) = timeout(Duration::from_secs(5), read)
                            .await
                            .expect("the connection a dropped accept got was not closed");
                        assert_eq!(res.expect("read"), 0, "the dropped accept's connection");
                    }
                }
                drop(waiting);
                let (d1, d2) = UnixDatagram::pair().unwrap();
                let _ = timeout(Duration::ZERO, d1.recv(Vec::with_capacity(8))).await;
                let bound = UnixDatagram::bind(dir.path().join(format!("d-{round}.sock"))).unwrap();
                let (res, _) = d2.send(b"d".to_vec()).await;
                res.expect("send");
                if round % 2 == 0 {
                    for s in streams {
                        s.close().await.expect("close");
                    }
                    d1.close().await.expect("close");
                    d2.close().await.expect("close");
                    bound.close().await.expect("close");
                } else {
                    drop((streams, d1, d2, bound));
                }
                drop(listener);
            }
            drop(UnixStream::from_std(
                std::os::unix::net::UnixStream::pair().unwrap().0,
            ));
            let ok = wait_for_async(Duration::from_secs(5), || fd_count() == base).await;
            assert!(
                ok,
                "descriptors leaked: {} now, {base} before\n{}",
                fd_count(),
                fd_list()
            );
        });
    });
}

/// A path with a NUL byte inside cannot be a socket path: the kernel would
/// take only the bytes before the NUL, binding (or connecting to) another
/// path than the one given. std refuses such paths with `InvalidInput`.
#[test]
fn a_path_with_an_interior_nul_byte_is_invalid_input() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let given = dir.path().join("sock\0suffix");
            let cut = dir.path().join("sock");
            let res = UnixListener::bind(&given);
            let bound_cut = cut.exists();
            let err = res.err();
            assert!(
                !bound_cut,
                "binding {given:?} created {cut:?} (error: {err:?})"
            );
            assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
            let res = UnixDatagram::bind(&given);
            assert_eq!(res.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        });
    });
}

/// A `recv` (which does not ask for the sender) dropped after the kernel
/// gave it a datagram: the next `recv_from` returns that datagram, and must
/// give the sender's path, not an unnamed address.
#[test]
fn recv_from_after_a_dropped_recv_reports_the_senders_path() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, path) = sock_path("rx.sock");
            let tx_path = path.with_file_name("tx.sock");
            let rx = UnixDatagram::bind(&path).expect("bind");
            let tx = UnixDatagram::bind(&tx_path).expect("bind");
            let mut plain = Box::pin(rx.recv(Vec::with_capacity(64)));
            assert!(poll_once(&mut plain).await.is_pending());
            sleep(Duration::from_millis(20)).await;
            let (res, _) = tx.send_to(b"who".to_vec(), &path).await;
            res.expect("send_to");
            sleep(Duration::from_millis(20)).await;
            drop(plain);

            let (res, buf) = rx.recv_from(Vec::with_capacity(64)).await;
            let (n, from) = res.expect("recv_from");
            assert_eq!((n, &buf[..]), (3, &b"who"[..]));
            assert_eq!(from.as_pathname(), Some(Path::new(&tx_path)), "{from:?}");
        });
    });
}

/// A receiver's queue is full (`net.unix.max_dgram_qlen`, 10 by default)
/// while a sender sends to it: the send must wait for room and then send
/// the whole datagram — as a blocking `sendto(2)` does — not an empty one.
/// (Sends through io_uring are retried by the kernel after `EAGAIN`, and an
/// AF_UNIX datagram send has consumed its bytes by the time it fails.)
#[test]
fn a_send_to_a_full_receiver_queue_waits_and_sends_the_whole_datagram() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for connected in [false, true] {
                let (_dir, path) = sock_path("full.sock");
                let rx = UnixDatagram::bind(&path).expect("bind");
                let tx = UnixDatagram::unbound().expect("unbound");
                if connected {
                    tx.connect(&path).expect("connect");
                }
                const N: u8 = 30;
                let sender = corio::spawn(async move {
                    let mut sent = Vec::new();
                    for i in 0..N {
                        let (res, _) = if connected {
                            tx.send(vec![i; 10]).await
                        } else {
                            tx.send_to(vec![i; 10], &path).await
                        };
                        sent.push(res.map_err(|e| e.to_string()));
                    }
                    sent
                });
                // Let the sender fill the queue before anything is read.
                sleep(Duration::from_millis(50)).await;
                for i in 0..N {
                    let (res, buf) = rx.recv(Vec::with_capacity(64)).await;
                    res.expect("recv");
                    assert_eq!(buf, vec![i; 10], "connected: {connected}: datagram {i}");
                }
                let sent = sender.await.expect("sender");
                assert!(
                    sent.iter().all(|r| *r == Ok(10)),
                    "connected: {connected}: sends gave {sent:?}"
                );
            }
        });
    });
}
