//! `TcpStream::send_zc`: zero-copy sends over loopback; the buffer comes
//! back only after the kernel's notification.

mod common;

use common::*;
use corio::net::{TcpListener, TcpStream};
use std::future::Future;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = corio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (connect.await.unwrap(), server)
}

async fn read_exactly(stream: &TcpStream, n: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let (res, buf) = stream.read(Vec::with_capacity(64 * 1024)).await;
        let k = res.unwrap();
        assert!(
            k > 0,
            "early end of stream after {} of {n} bytes",
            got.len()
        );
        got.extend_from_slice(&buf);
    }
    got
}

#[test]
fn send_zc_delivers_every_byte_and_returns_the_buffer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, mut b) = pair().await;
            for size in [1usize, 100, 4096, 65536, 1 << 20] {
                let data = pattern(size, size as u8);
                let reader = corio::spawn({
                    let expect = data.clone();
                    async move {
                        let got = read_exactly(&b, expect.len()).await;
                        assert_eq!(first_difference(&got, &expect), None);
                        b
                    }
                });
                let mut buf = data.clone();
                let mut sent = 0;
                while sent < size {
                    let (res, back) = a.send_zc(buf.split_off(0)).await;
                    let n = res.unwrap();
                    assert!(n > 0);
                    sent += n;
                    buf = back;
                    buf.drain(..n);
                }
                b = reader.await.unwrap();
            }
        })
    });
}

#[test]
fn send_zc_to_a_closed_peer_fails_without_sigpipe() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = pair().await;
            drop(b);
            let start = Instant::now();
            let mut failed = false;
            for _ in 0..100 {
                let (res, _) = a.send_zc(vec![1u8; 4096]).await;
                if res.is_err() {
                    failed = true;
                    break;
                }
                corio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(
                failed,
                "sends to a closed peer kept succeeding for {:?}",
                start.elapsed()
            );
        })
    });
}

#[test]
fn dropped_send_zc_futures_leave_the_connection_and_runtime_working() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = pair().await;
            // The peer reads all along, so sends never wait for room.
            let reader = corio::spawn(async move {
                let mut all = Vec::new();
                loop {
                    let (res, buf) = b.read(Vec::with_capacity(65536)).await;
                    if res.unwrap() == 0 {
                        return all;
                    }
                    all.extend_from_slice(&buf);
                }
            });
            for i in 0..200u64 {
                let t = Duration::from_micros(i % 50);
                let _ = corio::time::timeout(t, a.send_zc(vec![7u8; 8192])).await;
            }
            // Whatever was sent is 7s; the connection still works.
            let (res, _) = a.send_zc(b"end".to_vec()).await;
            res.unwrap();
            a.shutdown(std::net::Shutdown::Write).unwrap();
            let all = reader.await.unwrap();
            assert!(all.ends_with(b"end"));
            assert!(all[..all.len() - 3].iter().all(|&x| x == 7));
        })
    });
}

/// A buffer that says when it is dropped.
struct Tracked(Vec<u8>, std::rc::Rc<std::cell::Cell<bool>>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.set(true);
    }
}

// SAFETY: the Vec's heap memory does not move with the value.
unsafe impl corio::buf::IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.0.len()
    }
    fn bytes_total(&self) -> usize {
        self.0.capacity()
    }
}

#[test]
fn a_dropped_send_zc_holds_its_buffer_until_the_kernels_final_completion() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = pair().await;
            let reader = corio::spawn(async move { read_exactly(&b, 20 * 64 * 1024).await });
            for round in 0..20u8 {
                let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
                let buf = Tracked(pattern(64 * 1024, round), dropped.clone());
                // Submitted by the first poll, dropped before the ring
                // turns: neither the result nor the notification is in.
                let mut send = Box::pin(a.send_zc(buf));
                let polled = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(send.as_mut().poll(cx).is_pending())
                })
                .await;
                assert!(polled, "a send cannot complete before the ring turns");
                drop(send);
                assert!(
                    !dropped.get(),
                    "the buffer was released while the kernel may read it"
                );
                // (Over loopback the kernel copies and notifies at once.)
                let start = Instant::now();
                while !dropped.get() && start.elapsed() < Duration::from_secs(10) {
                    corio::nop().await.unwrap();
                }
                assert!(
                    dropped.get(),
                    "the buffer never came back after the notification"
                );
            }
            drop(a);
            reader.abort();
        })
    });
}

#[test]
fn send_zc_from_a_fixed_buffer_and_udp_send_to_zc_deliver_their_bytes() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = pair().await;
            let pool = corio::buf::FixedBufPool::new(2, 8192).unwrap();
            let mut buf = pool.take().await;
            buf.extend_from_slice(&pattern(8192, 4));
            let reader = corio::spawn(async move { read_exactly(&b, 8192).await });
            let (res, buf) = a.send_zc(buf).await;
            assert_eq!(res.unwrap(), 8192);
            drop(buf);
            assert_eq!(
                first_difference(&reader.await.unwrap(), &pattern(8192, 4)),
                None
            );
            assert_eq!(pool.available(), 2);

            let rx = corio::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let tx = corio::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let (res, _) = tx
                .send_to_zc(pattern(1000, 7), rx.local_addr().unwrap())
                .await;
            assert_eq!(res.unwrap(), 1000);
            let (res, got) = rx.recv_from(Vec::with_capacity(2000)).await;
            let (n, from) = res.unwrap();
            assert_eq!((n, from), (1000, tx.local_addr().unwrap()));
            assert_eq!(got, pattern(1000, 7));
        })
    });
}
