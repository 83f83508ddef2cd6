//! TCP on loopback: echo, large transfers, EOF, shutdown, addresses, options,
//! close, refused and reset connections, broken pipes without SIGPIPE, and
//! the listen backlog.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use corio::net::{TcpListener, TcpStream};
use corio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(60);

async fn echo_conn(s: TcpStream) {
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

/// An echo server for `conns` connections; returns its address.
fn start_echo_server(conns: usize) -> SocketAddr {
    let listener = loopback_listener();
    let addr = listener.local_addr().unwrap();
    let _detached = corio::spawn(async move {
        for _ in 0..conns {
            let (s, _) = listener.accept().await.expect("accept");
            let _detached = corio::spawn(echo_conn(s));
        }
    });
    addr
}

#[test]
fn echo_roundtrip() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let addr = start_echo_server(1);
            let c = TcpStream::connect(addr).await.expect("connect");
            for (i, size) in [1usize, 5, 100, 1500, 9000, 60_000].into_iter().enumerate() {
                let msg = pattern(size, i as u8);
                let (res, back) = c.write_all(msg.clone()).await;
                res.expect("write_all");
                assert_eq!(back, msg);
                let got = read_n(&c, size, 64 * 1024, Duration::from_secs(10)).await;
                assert!(
                    got == msg,
                    "echo of {size} bytes differs at {:?}",
                    first_difference(&got, &msg)
                );
            }
            c.close().await.expect("close");
        });
    });
}

#[test]
fn write_all_one_mib_and_read_it_all_back() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let addr = start_echo_server(1);
            let c = Rc::new(TcpStream::connect(addr).await.expect("connect"));
            let data = pattern(1 << 20, 42);
            // Write concurrently with reading, or both sides' buffers fill up.
            let (w, d) = (c.clone(), data.clone());
            let writer = corio::spawn(async move {
                let (res, back) = w.write_all(d).await;
                res.expect("write_all 1 MiB");
                assert_eq!(back.len(), 1 << 20);
                w.shutdown(Shutdown::Write).expect("shutdown write");
            });
            // After our shutdown the server sees EOF and closes: we read to EOF.
            let got = read_to_eof(&c, Duration::from_secs(20), 1 << 20).await;
            writer.await.expect("writer");
            assert_eq!(got.len(), data.len());
            assert!(
                got == data,
                "differs at {:?}",
                first_difference(&got, &data)
            );
        });
    });
}

#[test]
fn many_clients_concurrently() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let clients = 100;
            let addr = start_echo_server(clients);
            let handles: Vec<_> = (0..clients)
                .map(|i| {
                    corio::spawn(async move {
                        let c = TcpStream::connect(addr).await.expect("connect");
                        for round in 0..3 {
                            let msg = format!("client {i} round {round}").into_bytes();
                            let (res, msg) = c.write_all(msg).await;
                            res.unwrap();
                            let got = read_n(&c, msg.len(), 1024, Duration::from_secs(10)).await;
                            assert_eq!(got, msg);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.expect("client task");
            }
        });
    });
}

#[test]
fn peer_eof_reads_zero() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (s, mut peer) = std_peer_pair().await;
            peer.write_all(b"last words").unwrap();
            drop(peer);
            let got = read_to_eof(&s, Duration::from_secs(5), 100).await;
            assert_eq!(got, b"last words");
            for _ in 0..3 {
                let (res, buf) = s.read(Vec::with_capacity(8)).await;
                assert_eq!(res.expect("read after EOF"), 0);
                assert!(buf.is_empty());
            }
        });
    });
}

#[test]
fn shutdown_write_makes_the_peer_read_zero() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = corio_pair().await;
            a.shutdown(Shutdown::Write).expect("shutdown");
            let (res, _) = b.read(Vec::with_capacity(16)).await;
            assert_eq!(res.expect("peer read"), 0);
            // The other direction still works.
            let (res, _) = b.write_all("after shutdown").await;
            res.unwrap();
            let got = read_n(&a, 14, 64, Duration::from_secs(5)).await;
            assert_eq!(got, b"after shutdown");
        });
    });
}

#[test]
fn addresses_and_nodelay() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let laddr = listener.local_addr().expect("listener local_addr");
            assert!(laddr.ip().is_loopback());
            assert_ne!(laddr.port(), 0);

            // ToSocketAddrs: a tuple and a string.
            let c = TcpStream::connect(("127.0.0.1", laddr.port()))
                .await
                .expect("connect tuple");
            let (s, from) = listener.accept().await.expect("accept");
            assert_eq!(c.peer_addr().unwrap(), laddr);
            assert_eq!(c.local_addr().unwrap(), from);
            assert_eq!(s.peer_addr().unwrap(), from);
            assert_eq!(s.local_addr().unwrap(), laddr);
            let c2 = TcpStream::connect(format!("127.0.0.1:{}", laddr.port()))
                .await
                .expect("connect str");
            let (_s2, from2) = listener.accept().await.unwrap();
            assert_eq!(c2.local_addr().unwrap(), from2);

            c.set_nodelay(true).expect("set_nodelay(true)");
            c.set_nodelay(false).expect("set_nodelay(false)");
            s.set_nodelay(true).expect("set_nodelay on accepted");
        });
    });
}

#[test]
fn close_await_and_the_peer_sees_eof() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = corio_pair().await;
            let (res, _) = a.write_all(Bytes::from_static(b"bye")).await;
            res.unwrap();
            a.close().await.expect("close");
            let got = read_to_eof(&b, Duration::from_secs(5), 10).await;
            assert_eq!(got, b"bye");
        });
    });
}

#[test]
fn binding_a_port_in_use_fails() {
    with_time_limit(LIMIT, || {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_l.local_addr().unwrap();
        let err = TcpListener::bind(addr).expect_err("port in use");
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn connection_refused() {
    with_time_limit(LIMIT, || {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        corio::block_on(async {
            let err = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect_err("nothing listens there");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        });
    });
}

#[test]
fn connection_reset_by_peer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (s, peer) = std_peer_pair().await;
            // SO_LINGER 0: close sends RST.
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: valid fd, valid pointer and size.
            let r = unsafe {
                libc::setsockopt(
                    std::os::fd::AsRawFd::as_raw_fd(&peer),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &linger as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(r, 0);
            drop(peer);
            sleep(Duration::from_millis(10)).await;
            let (res, _) = s.read(Vec::with_capacity(16)).await;
            assert_eq!(
                res.expect_err("read after RST").kind(),
                ErrorKind::ConnectionReset
            );
        });
    });
}

#[test]
fn reads_and_writes_with_bytes_buffers() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = corio_pair().await;
            let (res, _) = a.write_all(Bytes::from(b"0123456789".to_vec())).await;
            res.unwrap();
            let (res, bm) = b.read(BytesMut::with_capacity(4)).await;
            let n = res.unwrap();
            assert!(n >= 1 && n <= bm.capacity().max(4));
            assert_eq!(bm.len(), n);
            assert_eq!(&bm[..], &b"0123456789"[..n]);
            let rest = read_n(&b, 10 - n, 64, Duration::from_secs(5)).await;
            assert_eq!(&rest[..], &b"0123456789"[n..]);

            let (res, back) = a.write(vec![1u8; 64]).await;
            let n = res.unwrap();
            assert!(n > 0 && n <= 64);
            assert_eq!(back.len(), 64);
            let boxed: Box<[u8]> = vec![0u8; 64].into_boxed_slice();
            let (res, boxed) = b.read(boxed).await;
            let k = res.unwrap();
            assert!(k > 0 && k <= n);
            assert!(boxed[..k].iter().all(|&x| x == 1));
        });
    });
}

#[test]
fn the_listen_backlog_holds_a_thousand_connections() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = loopback_listener();
            let addr = listener.local_addr().unwrap();
            // 1000 connects while nobody accepts: with a backlog below ~1000
            // the extra SYNs are dropped and these connects stall.
            let connects =
                (0..1000).map(|_| timeout(Duration::from_secs(10), TcpStream::connect(addr)));
            let t = Instant::now();
            let clients: Vec<TcpStream> = join_all(connects)
                .await
                .into_iter()
                .map(|r| {
                    r.expect("connect stalled: listen backlog too small")
                        .expect("connect")
                })
                .collect();
            println!(
                "1000 connects to a listener nobody accepts on: {:?}",
                t.elapsed()
            );
            for i in 0..clients.len() {
                let (_s, from) = timeout(Duration::from_secs(5), listener.accept())
                    .await
                    .expect("accept stalled")
                    .expect("accept");
                assert!(from.ip().is_loopback(), "accept {i}");
            }
        });
    });
}

const SIGPIPE_CHILD: &str = "CORIO_TEST_SIGPIPE_CHILD";

/// Runs in a child process whose SIGPIPE disposition is the default
/// (terminate), so a send without MSG_NOSIGNAL would kill it.
#[test]
fn writes_to_a_closed_peer_give_broken_pipe_without_sigpipe() {
    if std::env::var_os(SIGPIPE_CHILD).is_some() {
        // SAFETY: setting a signal disposition in this single-purpose process.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        with_time_limit(LIMIT, || {
            corio::block_on(async {
                // Our own write side shut down: EPIPE at once.
                let (a, _b) = corio_pair().await;
                a.shutdown(Shutdown::Write).unwrap();
                let (res, _) = a.write(b"x".to_vec()).await;
                assert_eq!(
                    res.expect_err("write after shutdown").kind(),
                    ErrorKind::BrokenPipe
                );
                let (res, _) = a.write_all(b"xyz".to_vec()).await;
                assert_eq!(
                    res.expect_err("write_all after shutdown").kind(),
                    ErrorKind::BrokenPipe
                );

                // The peer closed: writes fail after a while with BrokenPipe/ConnectionReset.
                let (s, peer) = std_peer_pair().await;
                drop(peer);
                let ok_kind =
                    |k: ErrorKind| k == ErrorKind::BrokenPipe || k == ErrorKind::ConnectionReset;
                let start = Instant::now();
                let mut first_err = None;
                for _ in 0..1000 {
                    assert!(
                        start.elapsed() < Duration::from_secs(10),
                        "writes to a closed peer kept succeeding"
                    );
                    let (res, _) = s.write(vec![0u8; 1024]).await;
                    if let Err(e) = res {
                        first_err = Some(e.kind());
                        break;
                    }
                    sleep(Duration::from_millis(2)).await;
                }
                let first = first_err.expect("no write error after 1000 writes");
                assert!(ok_kind(first), "first error kind {first:?}");
                // Later writes keep failing (this is where EPIPE, and a SIGPIPE, would come).
                for _ in 0..3 {
                    let (res, _) = s.write_all(vec![0u8; 1024]).await;
                    let k = res.expect_err("write to closed peer").kind();
                    assert!(ok_kind(k), "{k:?}");
                }
            });
        });
        println!("SIGPIPE-CHILD-OK");
        return;
    }
    let out = run_self_as_child(
        "writes_to_a_closed_peer_give_broken_pipe_without_sigpipe",
        SIGPIPE_CHILD,
        Duration::from_secs(60),
    );
    assert_child_passed(&out, "SIGPIPE-CHILD-OK");
}

#[test]
fn a_std_peer_sees_what_corio_writes() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (s, mut peer) = std_peer_pair().await;
            let data = pattern(200_000, 5);
            let d2 = data.clone();
            let reader = std::thread::spawn(move || {
                peer.set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut got = Vec::new();
                peer.read_to_end(&mut got).unwrap();
                got
            });
            let (res, _) = s.write_all(d2).await;
            res.unwrap();
            s.close().await.unwrap();
            let got = reader.join().unwrap();
            assert!(
                got == data,
                "differs at {:?}",
                first_difference(&got, &data)
            );
        });
    });
}
