//! UDP on loopback (IPv4 and IPv6): datagrams whole and with their
//! boundaries, truncation reported with the real length, zero-length
//! datagrams, connected sockets, cancel-safe receives (timeouts and aborted
//! tasks lose and duplicate nothing), socket options through socket2, std
//! interop, other threads' runtimes, and no descriptor leaks.

mod common;

use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::*;
use corio::buf::IoBuf;
use corio::net::UdpSocket;
use corio::time::{sleep, timeout};
use socket2::SockRef;

const LIMIT: Duration = Duration::from_secs(60);

/// Loopback, kernel-chosen port, both families: every behaviour is checked
/// on each.
const FAMILIES: [&str; 2] = ["127.0.0.1:0", "[::1]:0"];

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

fn bind(any: &str) -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind(any).unwrap_or_else(|e| panic!("bind {any}: {e}"));
    let addr = s.local_addr().expect("local_addr");
    (s, addr)
}

/// Datagram number `i`: its number, then a filler of varying length, so a
/// mix-up, a duplicate or a cut shows.
fn numbered(i: u32) -> Vec<u8> {
    let mut d = i.to_le_bytes().to_vec();
    d.extend(pattern((i % 53) as usize, i as u8));
    d
}

fn number_of(d: &[u8]) -> u32 {
    assert!(d.len() >= 4, "datagram too short to hold a number: {d:?}");
    u32::from_le_bytes(d[..4].try_into().unwrap())
}

async fn send_ok(s: &UdpSocket, data: Vec<u8>, to: SocketAddr) {
    let len = data.len();
    let (res, back) = s.send_to(data, to).await;
    assert_eq!(res.expect("send_to"), len);
    assert_eq!(back.len(), len, "send_to hands the buffer back");
}

#[test]
fn bind_to_port_zero_gives_a_kernel_chosen_loopback_port() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (s, addr) = bind(any);
                assert_ne!(addr.port(), 0, "{any}");
                assert!(addr.ip().is_loopback(), "{any}: {addr}");
                assert_eq!(addr.is_ipv6(), any.starts_with('['), "{any}: {addr}");
                // A second socket on the same port is refused.
                let err = UdpSocket::bind(addr).expect_err("port in use");
                assert_eq!(err.kind(), ErrorKind::AddrInUse, "{any}: {err}");
                s.close().await.expect("close");
            }
        });
    });
}

#[test]
fn send_to_and_recv_from_carry_datagrams_of_many_sizes_whole_with_the_sender() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, a_addr) = bind(any);
                let (b, b_addr) = bind(any);
                for (i, size) in [1usize, 7, 512, 1472, 9000, 65_000].into_iter().enumerate() {
                    let msg = pattern(size, i as u8);
                    send_ok(&a, msg.clone(), b_addr).await;
                    let (res, buf) = b.recv_from(Vec::with_capacity(65_536)).await;
                    let (n, from) = res.unwrap_or_else(|e| panic!("{any} size {size}: {e}"));
                    assert_eq!(n, size, "{any}");
                    assert_eq!(from, a_addr, "{any}");
                    assert_eq!(buf.len(), size, "the buffer's length is the datagram's");
                    assert!(buf == msg, "{any}: datagram of {size} bytes differs");
                    // And back the other way, with recv.
                    send_ok(&b, msg.clone(), a_addr).await;
                    let (res, buf) = a.recv(Vec::with_capacity(65_536)).await;
                    assert_eq!(res.expect("recv"), size);
                    assert!(buf == msg);
                }
                a.close().await.expect("close a");
                b.close().await.expect("close b");
            }
        });
    });
}

#[test]
fn datagram_boundaries_are_kept_for_back_to_back_sends() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, _) = bind(any);
                let (b, b_addr) = bind(any);
                for i in 0..40 {
                    send_ok(&a, numbered(i), b_addr).await;
                }
                for i in 0..40 {
                    let (res, buf) = b.recv(Vec::with_capacity(256)).await;
                    let n = res.expect("recv");
                    assert_eq!(n, buf.len());
                    assert_eq!(buf, numbered(i), "{any}: datagram {i}");
                }
            }
        });
    });
}

#[test]
fn the_largest_ipv4_datagram_arrives_whole_and_one_byte_more_is_emsgsize() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, a_addr) = bind("127.0.0.1:0");
            let (b, b_addr) = bind("127.0.0.1:0");
            let max = 65_507;
            let msg = pattern(max, 9);
            send_ok(&a, msg.clone(), b_addr).await;
            let (res, buf) = b.recv_from(Vec::with_capacity(max)).await;
            assert_eq!(res.expect("recv_from"), (max, a_addr));
            assert!(buf == msg);

            let (res, back) = a.send_to(pattern(max + 1, 1), b_addr).await;
            let err = res.expect_err("a datagram over 65507 bytes");
            assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
            assert_eq!(back.len(), max + 1, "the buffer comes back");
        });
    });
}

#[test]
fn a_datagram_larger_than_the_buffer_is_invalid_data_with_its_real_length_and_the_next_arrives_whole(
) {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, a_addr) = bind(any);
                let (b, b_addr) = bind(any);
                let big = pattern(1000, 3);
                let small = pattern(10, 4);
                for use_from in [true, false] {
                    send_ok(&a, big.clone(), b_addr).await;
                    send_ok(&a, small.clone(), b_addr).await;
                    let (res, buf) = if use_from {
                        let (res, buf) = b.recv_from(Vec::with_capacity(100)).await;
                        (res.map(|(n, _)| n), buf)
                    } else {
                        b.recv(Vec::with_capacity(100)).await
                    };
                    let err = res.expect_err("1000 bytes into 100");
                    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
                    assert!(
                        err.to_string().contains("1000"),
                        "the message gives the real length: {err}"
                    );
                    assert_eq!(buf.len(), buf.capacity(), "the buffer is full");
                    assert_eq!(&buf[..], &big[..buf.len()], "it holds the first bytes");

                    let (res, buf) = b.recv_from(Vec::with_capacity(100)).await;
                    assert_eq!(res.expect("the next datagram"), (10, a_addr), "{any}");
                    assert_eq!(buf, small);
                }

                // The same with a BytesMut.
                send_ok(&a, big.clone(), b_addr).await;
                let (res, buf) = b.recv(BytesMut::with_capacity(64)).await;
                let err = res.expect_err("1000 bytes into 64");
                assert_eq!(err.kind(), ErrorKind::InvalidData);
                assert!(err.to_string().contains("1000"), "{err}");
                assert_eq!(buf.len(), buf.capacity());
                assert_eq!(&buf[..], &big[..buf.len()]);
            }
        });
    });
}

#[test]
fn zero_length_datagrams_are_sent_and_received() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, a_addr) = bind(any);
                let (b, b_addr) = bind(any);
                // Empty, then not: the empty one is a datagram of its own.
                send_ok(&a, Vec::new(), b_addr).await;
                send_ok(&a, b"after".to_vec(), b_addr).await;
                let (res, buf) = b.recv_from(Vec::with_capacity(16)).await;
                assert_eq!(res.expect("empty datagram"), (0, a_addr), "{any}");
                assert!(buf.is_empty());
                let (res, buf) = b.recv_from(Vec::with_capacity(16)).await;
                assert_eq!(res.expect("next"), (5, a_addr));
                assert_eq!(buf, b"after");

                // An empty datagram into an empty buffer fits.
                send_ok(&a, Vec::new(), b_addr).await;
                let (res, buf) = b.recv(Vec::new()).await;
                assert_eq!(res.expect("empty into empty"), 0);
                assert!(buf.is_empty());

                // One byte into an empty buffer does not.
                send_ok(&a, vec![7], b_addr).await;
                send_ok(&a, vec![8, 9], b_addr).await;
                let (res, _) = b.recv(Vec::new()).await;
                let err = res.expect_err("1 byte into 0");
                assert_eq!(err.kind(), ErrorKind::InvalidData);
                assert!(err.to_string().contains("1 bytes"), "{err}");
                let (res, buf) = b.recv(Vec::with_capacity(4)).await;
                assert_eq!(res.expect("next whole"), 2);
                assert_eq!(buf, [8, 9]);
            }
        });
    });
}

#[test]
fn send_on_an_unconnected_socket_fails_with_edestaddrreq() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, _) = bind(any);
                let (res, back) = a.send(b"nowhere".to_vec()).await;
                let err = res.expect_err("send unconnected");
                assert_eq!(err.raw_os_error(), Some(libc::EDESTADDRREQ), "{any}: {err}");
                assert_eq!(back, b"nowhere", "the buffer comes back");
                let err = a.peer_addr().expect_err("no peer");
                assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
                // The socket still works.
                let (b, b_addr) = bind(any);
                send_ok(&a, b"ok".to_vec(), b_addr).await;
                let (res, _) = b.recv(Vec::with_capacity(8)).await;
                assert_eq!(res.expect("recv"), 2);
            }
        });
    });
}

#[test]
fn a_connected_socket_talks_to_its_peer_and_ignores_datagrams_from_others() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, a_addr) = bind(any);
                let (b, b_addr) = bind(any);
                let (c, _) = bind(any);
                a.connect(b_addr).expect("connect a");
                b.connect(a_addr).expect("connect b");
                assert_eq!(a.peer_addr().expect("peer_addr"), b_addr);
                assert_eq!(b.peer_addr().expect("peer_addr"), a_addr);

                send_ok(&c, b"intruder".to_vec(), a_addr).await;
                let (res, _) = b.send(b"from b".to_vec()).await;
                assert_eq!(res.expect("send"), 6);
                let (res, buf) = a.recv_from(Vec::with_capacity(64)).await;
                assert_eq!(res.expect("recv_from"), (6, b_addr), "{any}");
                assert_eq!(buf, b"from b");
                let r = timeout(Duration::from_millis(100), a.recv(Vec::with_capacity(64))).await;
                assert!(
                    r.is_err(),
                    "{any}: a connected socket got a stranger's datagram"
                );

                let (res, _) = a.send(b"to b".to_vec()).await;
                assert_eq!(res.expect("send"), 4);
                let (res, buf) = b.recv(Vec::with_capacity(64)).await;
                assert_eq!(res.expect("recv"), 4);
                assert_eq!(buf, b"to b");
            }
        });
    });
}

#[test]
fn addresses_given_as_strings_tuples_and_host_names_work() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let b = UdpSocket::bind(("127.0.0.1", 0)).expect("bind a tuple");
            let port = b.local_addr().unwrap().port();
            let a = UdpSocket::bind(String::from("127.0.0.1:0")).expect("bind a String");
            let (res, _) = a.send_to(b"1".to_vec(), format!("127.0.0.1:{port}")).await;
            res.expect("send_to a String");
            let (res, _) = a
                .send_to(b"2".to_vec(), (std::net::Ipv4Addr::LOCALHOST, port))
                .await;
            res.expect("send_to an (Ipv4Addr, u16)");
            for want in [b"1", b"2"] {
                let (res, buf) = b.recv(Vec::with_capacity(8)).await;
                assert_eq!(res.expect("recv"), 1);
                assert_eq!(&buf[..], want);
            }

            // A host name: resolved on the blocking pool. Bind both ends in
            // the family "localhost" resolves to first.
            let first = ("localhost", 0)
                .to_socket_addrs()
                .expect("resolve localhost")
                .next()
                .expect("an address for localhost");
            let (r, r_addr) = bind(&SocketAddr::new(first.ip(), 0).to_string());
            let (s, s_addr) = bind(&SocketAddr::new(first.ip(), 0).to_string());
            let (res, _) = s
                .send_to(b"named".to_vec(), ("localhost", r_addr.port()))
                .await;
            res.expect("send_to (\"localhost\", port)");
            let (res, buf) = r.recv_from(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("recv_from"), (5, s_addr));
            assert_eq!(buf, b"named");
            s.connect(("localhost", r_addr.port()))
                .expect("connect by name");
            assert_eq!(s.peer_addr().unwrap(), r_addr);

            // Not an address at all: an error, the buffer back, no panic.
            let (res, back) = a.send_to(b"x".to_vec(), "127.0.0.1").await;
            assert!(res.is_err(), "an address without a port");
            assert_eq!(back, b"x");
            // The other family's address: an error from the kernel.
            let (res, back) = a.send_to(b"y".to_vec(), "[::1]:9").await;
            assert!(res.is_err(), "an IPv6 destination from an IPv4 socket");
            assert_eq!(back, b"y");
        });
    });
}

#[test]
fn receives_into_bytesmut_slices_and_boxed_slices() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (a, _) = bind(any);
                let (b, b_addr) = bind(any);
                send_ok(&a, b"bytesmut".to_vec(), b_addr).await;
                let (res, buf) = b.recv(BytesMut::with_capacity(32)).await;
                assert_eq!(res.expect("recv"), 8);
                assert_eq!(&buf[..], b"bytesmut");

                // Into a slice after an initialised prefix: the prefix stays.
                send_ok(&a, b"tail".to_vec(), b_addr).await;
                let mut v = Vec::with_capacity(64);
                v.extend_from_slice(b"head");
                let (res, slice) = b.recv_from(v.slice(4..)).await;
                assert_eq!(res.expect("recv_from").0, 4);
                assert_eq!(slice.into_inner(), b"headtail");

                // A slice shorter than the datagram: truncation by the slice.
                send_ok(&a, b"0123456789".to_vec(), b_addr).await;
                let mut v = Vec::with_capacity(64);
                v.extend_from_slice(b"ab");
                let (res, slice) = b.recv(v.slice(2..6)).await;
                let err = res.expect_err("10 bytes into a 4-byte slice");
                assert_eq!(err.kind(), ErrorKind::InvalidData);
                assert!(err.to_string().contains("10"), "{err}");
                assert_eq!(
                    slice.into_inner(),
                    b"ab0123",
                    "the slice holds the first bytes"
                );

                send_ok(&a, b"boxed".to_vec(), b_addr).await;
                let boxed: Box<[u8]> = vec![0u8; 16].into_boxed_slice();
                let (res, boxed) = b.recv(boxed).await;
                assert_eq!(res.expect("recv"), 5);
                assert_eq!(&boxed[..5], b"boxed");
            }
        });
    });
}

#[test]
fn many_receives_in_flight_on_one_socket_each_get_one_datagram() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (rx, rx_addr) = bind(any);
                let (tx, tx_addr) = bind(any);
                const K: u32 = 32;
                let sender = corio::spawn(async move {
                    for i in 0..K {
                        send_ok(&tx, numbered(i), rx_addr).await;
                    }
                    tx
                });
                let results = join_all((0..K).map(|_| rx.recv_from(Vec::with_capacity(128)))).await;
                let mut seen: Vec<u32> = results
                    .into_iter()
                    .map(|(res, buf)| {
                        let (n, from) = res.expect("recv_from");
                        assert_eq!(from, tx_addr);
                        assert_eq!(n, buf.len());
                        let i = number_of(&buf);
                        assert_eq!(buf, numbered(i));
                        i
                    })
                    .collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..K).collect::<Vec<_>>(), "{any}");
                drop(sender.await.expect("sender"));
            }
        });
    });
}

/// Receives `n` numbered datagrams through receives under tiny, varying
/// timeouts (many of them fire, dropping receives in flight) while a task
/// of the same runtime sends, at most `WINDOW` ahead so the kernel never
/// drops one for want of buffer space. Every datagram must come exactly
/// once, in order.
async fn receive_under_tiny_timeouts(any: &str, n: u32, use_from: bool) {
    const WINDOW: u32 = 48;
    let (rx, rx_addr) = bind(any);
    let (tx, tx_addr) = bind(any);
    let received = Rc::new(Cell::new(0u32));
    let sent_by = received.clone();
    let sender = corio::spawn(async move {
        let start = Instant::now();
        for i in 0..n {
            while i - sent_by.get() >= WINDOW {
                assert!(
                    start.elapsed() < Duration::from_secs(40),
                    "receiver stalled"
                );
                sleep(Duration::from_micros(100)).await;
            }
            send_ok(&tx, numbered(i), rx_addr).await;
            if i % 5 == 0 {
                corio::task::yield_now().await;
            }
        }
    });
    let start = Instant::now();
    let mut timeouts = 0u32;
    let mut next = 0u32;
    for round in 0..(n as u64 * 100) {
        if next == n {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(45),
            "{any}: only {next} of {n} datagrams after 45 s"
        );
        // Now and then the receiver falls behind, so datagrams wait in the
        // socket: a receive dropped at once (a zero timeout) is then
        // completed by the kernel with one, and must hand it on.
        if round % 16 == 0 {
            sleep(Duration::from_micros(300)).await;
        }
        const TIMEOUTS_US: [u64; 8] = [0, 0, 3, 0, 17, 60, 0, 150];
        let t = Duration::from_micros(TIMEOUTS_US[round as usize % 8] + round % 3);
        let cap = 64 + (round % 3) as usize * 100;
        let outcome = if use_from {
            timeout(t, rx.recv_from(Vec::with_capacity(cap)))
                .await
                .map(|(res, buf)| {
                    let (k, from) = res.expect("recv_from");
                    assert_eq!(from, tx_addr, "{any}");
                    (k, buf)
                })
        } else {
            timeout(t, rx.recv(Vec::with_capacity(cap)))
                .await
                .map(|(res, buf)| (res.expect("recv"), buf))
        };
        match outcome {
            Ok((k, buf)) => {
                assert_eq!(k, buf.len());
                assert!(
                    buf == numbered(next),
                    "{any}: expected datagram {next}, got number {} ({} bytes)",
                    number_of(&buf),
                    buf.len()
                );
                next += 1;
                received.set(next);
            }
            Err(_) => timeouts += 1,
        }
    }
    assert_eq!(next, n, "{any}: not every datagram arrived");
    assert!(
        timeouts > 0,
        "no receive timed out: the test checked nothing"
    );
    sender.await.expect("sender");
    // Nothing more: no datagram was returned twice and none is left over.
    let extra = timeout(Duration::from_millis(50), rx.recv(Vec::with_capacity(256))).await;
    assert!(extra.is_err(), "{any}: a datagram too many");
}

#[test]
fn recv_from_under_tiny_timeouts_gets_every_datagram_once_in_order() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                receive_under_tiny_timeouts(any, 3000, true).await;
            }
        });
    });
}

#[test]
fn recv_under_tiny_timeouts_gets_every_datagram_once_in_order() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                receive_under_tiny_timeouts(any, 3000, false).await;
            }
        });
    });
}

#[test]
fn aborting_receiving_tasks_loses_and_duplicates_no_datagram() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                const N: u32 = 600;
                const WINDOW: u32 = 32;
                let (rx, rx_addr) = bind(any);
                let rx = Rc::new(rx);
                // The sender: a std socket on its own thread.
                let tx = std::net::UdpSocket::bind(any).expect("std bind");
                let tx_addr = tx.local_addr().unwrap();
                let acked = Arc::new(AtomicU32::new(0));
                let acked2 = acked.clone();
                let sender = std::thread::spawn(move || {
                    let start = Instant::now();
                    for i in 0..N {
                        while i - acked2.load(Ordering::Acquire) >= WINDOW {
                            if start.elapsed() > Duration::from_secs(40) {
                                return Err(format!("receiver stalled at {i}"));
                            }
                            std::thread::sleep(Duration::from_micros(100));
                        }
                        tx.send_to(&numbered(i), rx_addr)
                            .map_err(|e| format!("send {i}: {e}"))?;
                    }
                    Ok(())
                });

                let got: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
                let start = Instant::now();
                let mut aborted_unfinished = 0u32;
                for round in 0..(N as u64 * 200) {
                    if got.borrow().len() == N as usize {
                        break;
                    }
                    assert!(
                        start.elapsed() < Duration::from_secs(45),
                        "{any}: only {} of {N} datagrams",
                        got.borrow().len()
                    );
                    let (rx2, got2) = (rx.clone(), got.clone());
                    let handle = corio::spawn(async move {
                        let (res, buf) = rx2.recv_from(Vec::with_capacity(128)).await;
                        let (k, from) = res.expect("recv_from");
                        assert_eq!(from, tx_addr);
                        assert_eq!(k, buf.len());
                        got2.borrow_mut().push(buf);
                    });
                    match round % 4 {
                        0 => {}
                        1 => corio::task::yield_now().await,
                        2 => sleep(Duration::from_micros(30)).await,
                        _ => sleep(Duration::from_micros(300)).await,
                    }
                    if !handle.is_finished() {
                        aborted_unfinished += 1;
                    }
                    handle.abort();
                    let _ = handle.await;
                    acked.store(got.borrow().len() as u32, Ordering::Release);
                }
                let got = std::mem::take(&mut *got.borrow_mut());
                assert_eq!(got.len(), N as usize, "{any}: not every datagram arrived");
                for (i, d) in got.iter().enumerate() {
                    assert!(
                        *d == numbered(i as u32),
                        "{any}: position {i} holds datagram {}",
                        number_of(d)
                    );
                }
                assert!(aborted_unfinished > 0, "no task was aborted mid-receive");
                sender.join().expect("sender thread").expect("sender");
                let extra =
                    timeout(Duration::from_millis(50), rx.recv(Vec::with_capacity(256))).await;
                assert!(extra.is_err(), "{any}: a datagram too many");
            }
        });
    });
}

#[test]
fn socket_options_set_through_sockref_take_effect() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, _) = bind("127.0.0.1:0");
            let r = SockRef::from(&a);
            assert!(!r.broadcast().unwrap());
            r.set_broadcast(true).expect("set_broadcast");
            assert!(r.broadcast().unwrap());
            // Linux doubles the value it is given (well under rmem_max).
            r.set_recv_buffer_size(64 * 1024)
                .expect("set_recv_buffer_size");
            assert_eq!(r.recv_buffer_size().unwrap(), 128 * 1024);
            r.set_send_buffer_size(64 * 1024)
                .expect("set_send_buffer_size");
            assert_eq!(r.send_buffer_size().unwrap(), 128 * 1024);
            r.set_ttl_v4(7).expect("set_ttl_v4");
            assert_eq!(r.ttl_v4().unwrap(), 7);
            assert_eq!(r.local_addr().unwrap().as_socket(), a.local_addr().ok());

            let (b, b_addr) = bind("[::1]:0");
            let r6 = SockRef::from(&b);
            r6.set_unicast_hops_v6(9).expect("set_unicast_hops_v6");
            assert_eq!(r6.unicast_hops_v6().unwrap(), 9);
            r6.set_recv_buffer_size(64 * 1024).expect("v6 recv buffer");
            assert_eq!(r6.recv_buffer_size().unwrap(), 128 * 1024);

            // The sockets still work with their options.
            let (c, _) = bind("[::1]:0");
            send_ok(&c, b"opts".to_vec(), b_addr).await;
            let (res, _) = b.recv(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("recv"), 4);
            let (d, d_addr) = bind("127.0.0.1:0");
            send_ok(&a, b"ttl".to_vec(), d_addr).await;
            let (res, _) = d.recv(Vec::with_capacity(8)).await;
            assert_eq!(res.expect("recv"), 3);
        });
    });
}

#[test]
fn a_std_socket_adopted_with_from_std_talks_to_a_std_peer() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let std_sock = std::net::UdpSocket::bind(any).expect("std bind");
                let addr = std_sock.local_addr().unwrap();
                let s = UdpSocket::from_std(std_sock);
                assert_eq!(s.local_addr().unwrap(), addr);
                use std::os::fd::{AsFd, AsRawFd};
                assert_eq!(s.as_fd().as_raw_fd(), s.as_raw_fd());

                let peer = std::net::UdpSocket::bind(any).expect("std peer");
                peer.set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let peer_addr = peer.local_addr().unwrap();
                send_ok(&s, b"to std".to_vec(), peer_addr).await;
                let mut buf = [0u8; 64];
                let (n, from) = peer.recv_from(&mut buf).expect("std recv_from");
                assert_eq!((&buf[..n], from), (&b"to std"[..], addr));

                peer.send_to(b"from std", addr).expect("std send_to");
                let (res, buf) = s.recv_from(Vec::with_capacity(64)).await;
                assert_eq!(res.expect("recv_from"), (8, peer_addr));
                assert_eq!(buf, b"from std");
                s.close().await.expect("close");
            }
        });
    });
}

#[test]
fn a_socket_of_a_spawned_task_and_one_on_another_threads_runtime_exchange_datagrams() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (rx, rx_addr) = bind(any);
                // Another thread, its own runtime: an echo of 50 datagrams.
                let other = std::thread::spawn({
                    let any = any.to_string();
                    move || {
                        corio::block_on(async move {
                            let (s, s_addr) = bind(&any);
                            for i in 0..50u32 {
                                send_ok(&s, numbered(i), rx_addr).await;
                                let (res, buf) = s.recv(Vec::with_capacity(128)).await;
                                res.expect("recv the echo");
                                assert_eq!(buf, numbered(i), "the echo of {i}");
                            }
                            s_addr
                        })
                    }
                });
                // The echo runs in a spawned task.
                let echo = corio::spawn(async move {
                    let mut from_addr = None;
                    for _ in 0..50 {
                        let (res, buf) = rx.recv_from(Vec::with_capacity(128)).await;
                        let (_, from) = res.expect("recv_from");
                        from_addr = Some(from);
                        let (res, _) = rx.send_to(buf, from).await;
                        res.expect("echo");
                    }
                    from_addr
                });
                let from = echo.await.expect("echo task");
                assert!(
                    wait_for_async(Duration::from_secs(20), || other.is_finished()).await,
                    "the other thread did not finish"
                );
                let s_addr = other.join().expect("other thread");
                assert_eq!(from, Some(s_addr), "{any}");
            }
        });
    });
}

#[test]
fn closing_or_dropping_sockets_releases_their_descriptors() {
    let _exclusive = exclusive();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // Warm up whatever the runtime opens on first use (timers, the
            // blocking pool) before taking the baseline.
            {
                let (a, a_addr) = bind("127.0.0.1:0");
                let _ = timeout(Duration::from_millis(1), a.recv(Vec::with_capacity(8))).await;
                send_ok(&a, b"w".to_vec(), a_addr).await;
                let _ = a.recv(Vec::with_capacity(8)).await;
                a.close().await.expect("close");
            }
            let base = fd_count();
            for round in 0..40u32 {
                let any = FAMILIES[round as usize % 2];
                let (a, a_addr) = bind(any);
                let (b, b_addr) = bind(any);
                send_ok(&a, numbered(round), b_addr).await;
                let (res, _) = b.recv(Vec::with_capacity(128)).await;
                res.expect("recv");
                // A receive dropped in flight on each, sometimes after its
                // datagram arrived.
                if round % 3 == 0 {
                    send_ok(&b, b"late".to_vec(), a_addr).await;
                }
                let _ = timeout(Duration::from_micros(50), a.recv(Vec::with_capacity(8))).await;
                let _ = timeout(Duration::ZERO, b.recv_from(Vec::with_capacity(8))).await;
                if round % 2 == 0 {
                    a.close().await.expect("close a");
                    b.close().await.expect("close b");
                } else {
                    drop(a);
                    drop(b);
                }
            }
            // from_std sockets too.
            for any in FAMILIES {
                let s = UdpSocket::from_std(std::net::UdpSocket::bind(any).unwrap());
                drop(s);
            }
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

/// A receive dropped after the kernel put a datagram that did not fit into
/// its buffer: the next receive, even into a larger buffer, must report the
/// datagram as truncated (only the dropped receive's bytes were kept), not
/// as whole.
#[test]
fn a_datagram_truncated_by_a_dropped_receive_is_reported_truncated() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (rx, rx_addr) = bind("127.0.0.1:0");
            let (tx, _) = bind("127.0.0.1:0");
            let mut small = Box::pin(rx.recv_from(Vec::with_capacity(8)));
            assert!(poll_once(&mut small).await.is_pending());
            // The ring submits the receive, the datagram completes it.
            sleep(Duration::from_millis(20)).await;
            send_ok(&tx, pattern(100, 5), rx_addr).await;
            sleep(Duration::from_millis(20)).await;
            drop(small);

            let (res, buf) = rx.recv_from(Vec::with_capacity(200)).await;
            match res {
                Ok((n, _)) => panic!(
                    "Ok({n}) but the buffer holds {} bytes: the datagram's tail is gone",
                    buf.len()
                ),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
                    assert!(e.to_string().contains("100"), "{e}");
                    assert_eq!(&buf[..], &pattern(100, 5)[..buf.len()]);
                }
            }
        });
    });
}

/// A `recv` (which does not ask for the sender) dropped after the kernel
/// gave it a datagram: the next `recv_from` returns that datagram, and must
/// say who sent it.
#[test]
fn recv_from_after_a_dropped_recv_reports_the_sender() {
    let _shared = shared();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for any in FAMILIES {
                let (rx, rx_addr) = bind(any);
                let (tx, tx_addr) = bind(any);
                let mut plain = Box::pin(rx.recv(Vec::with_capacity(64)));
                assert!(poll_once(&mut plain).await.is_pending());
                sleep(Duration::from_millis(20)).await;
                send_ok(&tx, b"who".to_vec(), rx_addr).await;
                sleep(Duration::from_millis(20)).await;
                drop(plain);

                let (res, buf) = rx.recv_from(Vec::with_capacity(64)).await;
                assert_eq!(res.expect("recv_from"), (3, tx_addr), "{any}");
                assert_eq!(buf, b"who");
            }
        });
    });
}
