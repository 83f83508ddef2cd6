//! The wake matrix (tests/common/matrix.rs) for the I/O surface: a task
//! waiting on a datagram, a Unix stream, a multishot accept or a fixed
//! buffer is woken from every origin — another task, the main future, a
//! plain thread, another thread's runtime, another runtime on this thread
//! (nested or between), and outside `block_on`.

mod common;

use common::matrix::{wake_task_from, wake_task_from_same_thread, ORIGINS, SAME_THREAD_ORIGINS};
use common::*;
use corio::buf::FixedBufPool;
use corio::net::{TcpListener, UdpSocket, UnixStream};
use futures_core::Stream;
use std::future::poll_fn;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_datagram_from_every_origin_wakes_a_waiting_recv_from() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in ORIGINS {
            let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let to = receiver.local_addr().unwrap();
            let out = wake_task_from(
                &rt,
                origin,
                async move {
                    let socket = UdpSocket::from_std(receiver);
                    let (res, buf) = socket.recv_from(Vec::with_capacity(64)).await;
                    res.unwrap();
                    buf
                },
                move || {
                    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                    sender.send_to(b"wake", to).unwrap();
                },
            );
            assert_eq!(out, b"wake", "{origin:?}");
        }
    });
}

#[test]
fn bytes_written_from_every_origin_wake_a_waiting_unix_read() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in ORIGINS {
            let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            let out = wake_task_from(
                &rt,
                origin,
                async move {
                    let stream = UnixStream::from_std(ours);
                    let (res, buf) = stream.read(Vec::with_capacity(64)).await;
                    res.unwrap();
                    buf
                },
                move || {
                    let mut theirs = theirs;
                    theirs.write_all(b"wake").unwrap();
                },
            );
            assert_eq!(out, b"wake", "{origin:?}");
        }
    });
}

#[test]
fn a_connection_from_every_origin_wakes_a_waiting_incoming() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in ORIGINS {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let out = wake_task_from(
                &rt,
                origin,
                async move {
                    let listener = TcpListener::from_std(listener);
                    let mut incoming = listener.incoming();
                    let stream = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
                    stream.unwrap().unwrap().peer_addr().unwrap()
                },
                move || {
                    let client = std::net::TcpStream::connect(addr).unwrap();
                    tx.send(client).unwrap();
                },
            );
            let client = rx.recv().unwrap();
            assert_eq!(out, client.local_addr().unwrap(), "{origin:?}");
        }
    });
}

#[test]
fn a_fixed_buffer_given_back_from_every_same_thread_origin_wakes_a_waiting_take() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in SAME_THREAD_ORIGINS {
            let (pool, held) = rt.block_on(async {
                let pool = FixedBufPool::new(1, 4096).unwrap();
                let held = pool.try_take().unwrap();
                (pool, held)
            });
            let waiter = pool.clone();
            let out = wake_task_from_same_thread(
                &rt,
                origin,
                async move { waiter.take().await.capacity() },
                move || drop(held),
            );
            assert_eq!(out, 4096, "{origin:?}");
            drop(pool);
        }
    });
}

#[cfg(feature = "tokio-io")]
#[test]
fn bytes_from_every_origin_wake_a_read_through_compat() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in ORIGINS {
            let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            let out = wake_task_from(
                &rt,
                origin,
                async move {
                    let mut compat = corio::io::Compat::new(UnixStream::from_std(ours));
                    let mut buf = [0u8; 4];
                    compat.read_exact(&mut buf).await.unwrap();
                    buf
                },
                move || {
                    let mut theirs = theirs;
                    theirs.write_all(b"wake").unwrap();
                },
            );
            assert_eq!(&out, b"wake", "{origin:?}");
        }
    });
}
