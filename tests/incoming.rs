//! `TcpListener::incoming` / `UnixListener::incoming`: one multishot accept
//! yielding every connection, re-armed when the kernel ends it.

mod common;

use common::*;
use corio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use futures_core::Stream;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

#[test]
fn incoming_takes_5000_connections_with_one_multishot_accept() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // Clients on their own thread, blocking std sockets: each sends
            // its number and waits for the echo, then closes.
            let clients = std::thread::spawn(move || {
                let mut done = 0u32;
                for i in 0..5000u32 {
                    use std::io::{Read, Write};
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.write_all(&i.to_le_bytes()).unwrap();
                    let mut back = [0u8; 4];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(u32::from_le_bytes(back), i);
                    done += 1;
                }
                done
            });
            let ops_before = corio::metrics().ops_submitted;
            let mut incoming = listener.incoming();
            for _ in 0..5000 {
                let stream = next(&mut incoming).await.unwrap().unwrap();
                let (res, buf) = stream.read(Vec::with_capacity(4)).await;
                assert_eq!(res.unwrap(), 4);
                let (res, _) = stream.write_all(buf).await;
                res.unwrap();
            }
            assert_eq!(clients.join().unwrap(), 5000);
            // One accept submission (re-arms are rare), plus a read and a
            // write per connection.
            let submitted = corio::metrics().ops_submitted - ops_before;
            assert!(
                submitted < 5000 * 2 + 50,
                "{submitted} submissions for 5000 connections"
            );
        })
    });
}

#[test]
fn incoming_serves_concurrent_clients_from_spawned_tasks() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("[::1]:0")
                .or_else(|_| TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let server = corio::spawn(async move {
                let mut incoming = listener.incoming();
                for _ in 0..200 {
                    let stream = next(&mut incoming).await.unwrap().unwrap();
                    corio::spawn(async move {
                        let (res, buf) = stream.read(Vec::with_capacity(64)).await;
                        res.unwrap();
                        let (res, _) = stream.write_all(buf).await;
                        res.unwrap();
                    });
                }
            });
            let mut clients = Vec::new();
            for i in 0..200u32 {
                clients.push(corio::spawn(async move {
                    let s = TcpStream::connect(addr).await.unwrap();
                    let (res, _) = s.write_all(i.to_string().into_bytes()).await;
                    res.unwrap();
                    let (res, buf) = s.read(Vec::with_capacity(64)).await;
                    res.unwrap();
                    assert_eq!(String::from_utf8(buf).unwrap(), i.to_string());
                }));
            }
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        })
    });
}

#[test]
fn dropping_incoming_closes_connections_accepted_after_it() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let before = fd_count();
            for round in 0..20 {
                let mut incoming = listener.incoming();
                if round % 2 == 0 {
                    // Armed, then dropped with no connection yet.
                    let poll = poll_fn(|cx| {
                        Poll::Ready(Pin::new(&mut incoming).poll_next(cx).is_pending())
                    });
                    assert!(poll.await);
                }
                drop(incoming);
                corio::nop().await.unwrap();
            }
            // No stream is armed now: a plain accept takes the next one.
            let client = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
            let (stream, _) = listener.accept().await.unwrap();
            let _client = client.join().unwrap();
            drop(stream);
            for _ in 0..10 {
                corio::nop().await.unwrap();
            }
            assert!(
                wait_for(Duration::from_secs(5), || fd_count() <= before + 1),
                "descriptors left open: {} > {before} + 1",
                fd_count()
            );
        })
    });
}

use std::task::Poll;

#[test]
fn unix_incoming_yields_unix_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("incoming.sock");
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let listener = UnixListener::bind(&path).unwrap();
            let mut incoming = listener.incoming();
            let client = corio::spawn({
                let path = path.clone();
                async move {
                    for i in 0..50u8 {
                        let s = UnixStream::connect(&path).await.unwrap();
                        let (res, _) = s.write_all(vec![i]).await;
                        res.unwrap();
                    }
                }
            });
            for i in 0..50u8 {
                let s: UnixStream = next(&mut incoming).await.unwrap().unwrap();
                let (res, buf) = s.read(Vec::with_capacity(1)).await;
                assert_eq!(res.unwrap(), 1);
                assert_eq!(buf[0], i);
            }
            client.await.unwrap();
        })
    });
}

#[test]
fn incoming_outside_a_runtime_yields_an_error_not_a_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener = TcpListener::from_std(listener);
    let mut incoming = listener.incoming();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match Pin::new(&mut incoming).poll_next(&mut cx) {
        Poll::Ready(Some(Err(e))) => assert_ne!(e.kind(), io::ErrorKind::WouldBlock),
        other => panic!(
            "expected an error, got {:?}",
            other.map(|o| o.map(|r| r.is_ok()))
        ),
    }
}

#[test]
fn a_connection_accepted_for_a_dropped_incoming_is_closed_and_its_client_sees_the_end() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..20 {
                let mut incoming = listener.incoming();
                let armed =
                    poll_fn(|cx| Poll::Ready(Pin::new(&mut incoming).poll_next(cx).is_pending()));
                assert!(armed.await);
                // The kernel accepts it for the armed stream at once.
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                corio::time::sleep(Duration::from_millis(2)).await;
                drop(incoming);
                client
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut buf = [0u8; 1];
                use std::io::Read;
                // The close happens when the runtime turns: let it.
                corio::nop().await.unwrap();
                let n = match client.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
                    Err(e) => panic!("client read: {e}"),
                };
                assert_eq!(n, 0, "the client must see the end of its connection");
            }
        })
    });
}
