//! Shutting a runtime down with operations the kernel has not finished:
//! their memory is leaked, never freed, but their descriptors are closed;
//! a stream whose read was orphaned says so instead of waiting forever; and
//! the drop stays bounded even when orphaned operations used fixed-file
//! slots. `Runtime::shutdown_timeout(Duration::ZERO)` orphans whatever is in
//! flight (it does not wait for the kernel at all).

mod common;

use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::*;
use corio::net::TcpStream;
use corio::task::yield_now;
use corio::Runtime;

const LIMIT: Duration = Duration::from_secs(30);

fn peer_sees_eof(peer: &mut std::net::TcpStream) -> bool {
    peer.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match peer.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// A runtime with a task whose read of a socket is in flight; returns the
/// runtime, the stream (shared with the task) and its std peer.
fn runtime_with_a_read_in_flight(
    busy_first: bool,
) -> (Runtime, Rc<TcpStream>, std::net::TcpStream) {
    let rt = Runtime::new().unwrap();
    let (stream, peer) = rt.block_on(async move {
        let (stream, mut peer) = std_peer_pair().await;
        if busy_first {
            // Enough operations to install the socket in the fixed-file
            // table.
            for i in 0..40u8 {
                peer.write_all(&[i; 4]).unwrap();
                let (res, _) = stream.read(Vec::with_capacity(4)).await;
                assert_eq!(res.unwrap(), 4);
            }
        }
        let stream = Rc::new(stream);
        let reader = stream.clone();
        corio::spawn(async move {
            let _ = reader.read(Vec::with_capacity(64)).await;
        });
        yield_now().await;
        yield_now().await;
        (stream, peer)
    });
    (rt, stream, peer)
}

#[test]
fn descriptors_of_operations_orphaned_at_shutdown_are_closed() {
    with_time_limit(LIMIT, || {
        for busy_first in [false, true] {
            let (rt, stream, mut peer) = runtime_with_a_read_in_flight(busy_first);
            drop(stream);
            // The read is orphaned: the kernel may still write its buffer,
            // so the buffer is leaked — but the socket must not be.
            rt.shutdown_timeout(Duration::ZERO);
            assert!(
                peer_sees_eof(&mut peer),
                "the orphaned read's socket was not closed (fixed slot: {busy_first})"
            );
        }
    });
}

#[test]
fn a_read_on_a_stream_whose_read_was_orphaned_fails_with_a_clear_error() {
    with_time_limit(LIMIT, || {
        let (rt, stream, mut peer) = runtime_with_a_read_in_flight(false);
        rt.shutdown_timeout(Duration::ZERO);
        peer.write_all(b"after").unwrap();
        // On another runtime of this thread, and with none.
        let other = Runtime::new().unwrap();
        let res = other.block_on(async {
            corio::time::timeout(Duration::from_secs(2), stream.read(Vec::with_capacity(8))).await
        });
        let (res, _) = res.expect("the read must not wait forever");
        let err = res.expect_err("the stream may have lost bytes: it must say so");
        println!("read after the runtime was gone: {err}");
        assert!(
            err.to_string().contains("shut down"),
            "the message says why: {err}"
        );
    });
}

#[test]
fn a_later_read_after_a_clean_shutdown_works_on_another_runtime() {
    with_time_limit(LIMIT, || {
        let (rt, stream, mut peer) = runtime_with_a_read_in_flight(true);
        // The default shutdown waits for the cancelled read: nothing lost.
        drop(rt);
        peer.write_all(b"again").unwrap();
        let other = Runtime::new().unwrap();
        let (res, buf) = other.block_on(async {
            corio::time::timeout(Duration::from_secs(2), stream.read(Vec::with_capacity(8)))
                .await
                .expect("the read completes")
        });
        assert_eq!(res.expect("read"), 5);
        assert_eq!(buf, b"again");
        // With no runtime at all: a clear error, at once.
        let (res, _) = futures_block_on_without_runtime(stream.read(Vec::with_capacity(8)));
        let err = res.expect_err("no runtime");
        assert!(err.to_string().contains("no corio runtime"), "{err}");
    });
}

/// Polls `fut` once with a no-op waker, outside any runtime.
fn futures_block_on_without_runtime<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("an operation outside a runtime must fail at once"),
    }
}

#[test]
fn dropping_a_runtime_with_orphaned_fixed_slot_operations_is_bounded() {
    with_time_limit(LIMIT, || {
        let mut peers = Vec::new();
        let rt = Runtime::new().unwrap();
        let listener_addr = rt.block_on(async {
            let listener = Rc::new(loopback_listener());
            let addr = listener.local_addr().unwrap();
            // Installed listener with an accept in flight.
            for _ in 0..20 {
                let c = std::net::TcpStream::connect(addr).unwrap();
                let _ = listener.accept().await.unwrap();
                drop(c);
            }
            let l = listener.clone();
            corio::spawn(async move {
                let _ = l.accept().await;
            });
            // Installed streams with reads in flight.
            for _ in 0..8 {
                let (stream, mut peer) = std_peer_pair().await;
                for i in 0..20u8 {
                    peer.write_all(&[i]).unwrap();
                    let (res, _) = stream.read(Vec::with_capacity(1)).await;
                    res.unwrap();
                }
                corio::spawn(async move {
                    let _ = stream.read(Vec::with_capacity(64)).await;
                });
                peers.push(peer);
            }
            yield_now().await;
            yield_now().await;
            addr
        });
        let start = Instant::now();
        rt.shutdown_timeout(Duration::ZERO);
        let took = start.elapsed();
        println!("shutdown with orphaned fixed-slot operations took {took:?}");
        assert!(took < Duration::from_millis(1500), "shutdown took {took:?}");
        for (i, peer) in peers.iter_mut().enumerate() {
            assert!(peer_sees_eof(peer), "stream {i} was not closed");
        }
        // The listener is gone too.
        assert!(wait_for(Duration::from_secs(3), || {
            std::net::TcpStream::connect(listener_addr).is_err()
        }));
    });
}

#[test]
fn shutdown_timeout_waits_for_what_the_kernel_finishes_in_time() {
    with_time_limit(LIMIT, || {
        let (rt, stream, mut peer) = runtime_with_a_read_in_flight(true);
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_secs(5));
        // A socket read is cancelled at once: no need to wait the bound.
        assert!(start.elapsed() < Duration::from_secs(2));
        // Nothing was orphaned: the stream reads on elsewhere.
        peer.write_all(b"x").unwrap();
        let (res, buf) = corio::block_on(stream.read(Vec::with_capacity(8)));
        assert_eq!(res.unwrap(), 1);
        assert_eq!(buf, b"x");
    });
}

#[test]
fn a_multishot_stream_whose_receive_was_orphaned_ends_with_a_clear_error() {
    use corio::buf::BufRing;
    use futures_core::Stream;
    use std::future::poll_fn;
    use std::pin::Pin;
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        let (mut chunks, _stream, _peer) = rt.block_on(async {
            let (stream, peer) = std_peer_pair().await;
            let bufs = BufRing::new(4, 64).unwrap();
            let mut chunks = stream.recv_multishot(&bufs);
            let polled = poll_once(&mut poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx))).await;
            assert!(polled.is_pending(), "armed, no data yet");
            (chunks, stream, peer)
        });
        // The receive is orphaned: the kernel may still pick the ring's
        // buffers, so the ring's memory is leaked with the stream.
        rt.shutdown_timeout(Duration::ZERO);
        corio::block_on(async move {
            let item = corio::time::timeout(
                Duration::from_secs(2),
                poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)),
            )
            .await
            .expect("the stream must not wait forever");
            match item {
                Some(Err(e)) => {
                    println!("orphaned stream: {e}");
                    assert!(e.to_string().contains("shut down"), "{e}");
                }
                other => panic!(
                    "expected the shutdown error, got {:?}",
                    other.map(|r| r.map(|b| b.len()))
                ),
            }
            assert!(poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx))
                .await
                .is_none());
        });
    });
}

#[test]
fn a_zero_grace_shutdown_still_submits_a_queued_close() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        let mut peer = rt.block_on(async {
            let (stream, peer) = std_peer_pair().await;
            // The close is queued on the ring and its future dropped before
            // the loop enters the kernel again.
            let mut close = Box::pin(stream.close());
            assert!(poll_once(&mut close).await.is_pending());
            peer
        });
        rt.shutdown_timeout(Duration::ZERO);
        assert!(
            peer_sees_eof(&mut peer),
            "the queued close never reached the kernel: the socket stayed open"
        );
    });
}
