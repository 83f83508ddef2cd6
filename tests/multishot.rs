//! Multishot receive with a provided-buffer ring: every byte arrives in
//! order, a ring that runs dry pauses the stream instead of ending it, a
//! dropped stream loses no bytes and gives its buffers back, one ring serves
//! many connections, bad ring sizes are clear errors, and dropping the
//! runtime with streams armed is sound.

mod common;

use std::future::poll_fn;
use std::io::Write;
use std::pin::Pin;
use std::time::{Duration, Instant};

use common::*;
use corio::buf::{BufRing, RingBuf};
use corio::net::{RecvMultishot, TcpStream};
use corio::time::{sleep, timeout};
use futures_core::Stream;

const LIMIT: Duration = Duration::from_secs(60);

async fn next(stream: &mut RecvMultishot) -> Option<std::io::Result<RingBuf>> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// Collects the stream to its end; bounded in chunks, bytes and time.
async fn collect(stream: &mut RecvMultishot, max: usize) -> (Vec<u8>, usize) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut chunks = 0usize;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no end of stream after 30 s"
        );
        chunks += 1;
        assert!(chunks < 10_000_000, "too many chunks");
        match timeout(Duration::from_secs(10), next(stream)).await {
            Ok(Some(Ok(buf))) => {
                assert!(!buf.is_empty(), "a chunk is never empty");
                got.extend_from_slice(&buf);
                assert!(got.len() <= max, "more bytes arrived than were sent");
            }
            Ok(Some(Err(e))) => panic!("receive error: {e}"),
            Ok(None) => return (got, chunks - 1),
            Err(_) => panic!("no chunk for 10 s ({} bytes so far)", got.len()),
        }
    }
}

#[test]
fn every_byte_arrives_in_order_then_the_stream_ends() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 1 << 20;
            let data = pattern(TOTAL, 3);
            let (server, mut peer) = std_peer_pair().await;
            let sent = data.clone();
            let writer = std::thread::spawn(move || {
                for chunk in sent.chunks(7_919) {
                    peer.write_all(chunk).expect("peer write");
                }
            });
            let bufs = BufRing::new(64, 4096).expect("buffer ring");
            let mut stream = server.recv_multishot(&bufs);
            let (got, chunks) = collect(&mut stream, TOTAL).await;
            writer.join().expect("writer");
            assert_eq!(got.len(), TOTAL);
            assert_eq!(first_difference(&got, &data), None);
            assert!(chunks >= TOTAL / 4096, "each chunk fits one 4 KiB buffer");
            // After the end, it stays ended.
            assert!(next(&mut stream).await.is_none());
        })
    });
}

#[test]
fn a_ring_that_runs_dry_pauses_the_stream_and_loses_nothing() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 256 * 1024;
            let data = pattern(TOTAL, 9);
            let (server, mut peer) = std_peer_pair().await;
            let sent = data.clone();
            let writer = std::thread::spawn(move || {
                peer.write_all(&sent).expect("peer write");
            });
            // Two tiny buffers, and the consumer holds on to what it gets:
            // the kernel runs out of buffers again and again (ENOBUFS).
            let bufs = BufRing::new(2, 512).expect("buffer ring");
            let mut stream = server.recv_multishot(&bufs);
            let mut got = Vec::with_capacity(TOTAL);
            let mut held: Vec<RingBuf> = Vec::new();
            let start = Instant::now();
            for round in 0..1_000_000 {
                assert!(
                    start.elapsed() < Duration::from_secs(40),
                    "stuck at {} bytes",
                    got.len()
                );
                match timeout(Duration::from_secs(10), next(&mut stream)).await {
                    Ok(Some(Ok(buf))) => {
                        assert!(buf.len() <= 512);
                        held.push(buf);
                    }
                    Ok(Some(Err(e))) => panic!("receive error: {e}"),
                    Ok(None) => break,
                    Err(_) => panic!("stream stalled with {} buffers held", held.len()),
                }
                if held.len() == 2 || round % 7 == 0 {
                    // Let the kernel find the ring empty, then give back.
                    sleep(Duration::from_micros(200)).await;
                    for buf in held.drain(..) {
                        got.extend_from_slice(&buf);
                    }
                }
            }
            for buf in held.drain(..) {
                got.extend_from_slice(&buf);
            }
            writer.join().expect("writer");
            assert_eq!(got.len(), TOTAL);
            assert_eq!(first_difference(&got, &data), None);
        })
    });
}

#[test]
fn a_dropped_stream_hands_its_bytes_to_the_next_read() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 64 * 1024;
            let data = pattern(TOTAL, 5);
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(64, 1024).expect("buffer ring");
            let mut got = Vec::new();
            {
                let mut stream = server.recv_multishot(&bufs);
                peer.write_all(&data[..1000]).expect("peer write");
                let first = next(&mut stream).await.expect("a chunk").expect("no error");
                got.extend_from_slice(&first);
                // More data arrives while nobody polls the stream: the
                // kernel delivers it into ring buffers, queued in the
                // stream's slot. Then the stream is dropped.
                peer.write_all(&data[1000..TOTAL / 2]).expect("peer write");
                sleep(Duration::from_millis(30)).await;
            }
            peer.write_all(&data[TOTAL / 2..]).expect("peer write");
            peer.shutdown(std::net::Shutdown::Write).expect("shutdown");
            got.extend(read_to_eof(&server, Duration::from_secs(20), TOTAL).await);
            assert_eq!(got.len(), TOTAL, "bytes were lost or duplicated");
            assert_eq!(first_difference(&got, &data), None);
            // Every buffer went back to the ring: a new stream on another
            // connection can hold all 64 at once.
            let (server2, mut peer2) = std_peer_pair().await;
            let mut stream2 = server2.recv_multishot(&bufs);
            let mut held = Vec::new();
            for _ in 0..64 {
                peer2.write_all(&[1u8; 100]).expect("peer write");
                let buf = timeout(Duration::from_secs(10), next(&mut stream2))
                    .await
                    .expect("stream2 stalled: buffers leaked from the dropped stream")
                    .expect("not ended")
                    .expect("no error");
                held.push(buf);
            }
            assert_eq!(held.len(), 64);
        })
    });
}

#[test]
fn a_new_stream_first_returns_bytes_rescued_from_a_dropped_one() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let data = pattern(20_000, 2);
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            let mut got = Vec::new();
            for part in data.chunks(5_000) {
                let mut stream = server.recv_multishot(&bufs);
                // Poll once so the receive is armed (or, if the previous
                // stream's bytes are ready, take them: they come first), then
                // let data arrive and drop the stream unpolled.
                if let std::task::Poll::Ready(item) =
                    poll_once(&mut Box::pin(next(&mut stream))).await
                {
                    got.extend_from_slice(&item.expect("not ended").expect("no error"));
                }
                peer.write_all(part).expect("peer write");
                sleep(Duration::from_millis(20)).await;
            }
            drop(peer);
            let mut stream = server.recv_multishot(&bufs);
            let (rest, _) = collect(&mut stream, data.len()).await;
            got.extend(rest);
            assert_eq!(got.len(), data.len());
            assert_eq!(first_difference(&got, &data), None);
        })
    });
}

#[test]
fn one_ring_serves_many_connections() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const CONNS: usize = 32;
            const EACH: usize = 32 * 1024;
            let bufs = BufRing::new(16, 2048).expect("buffer ring");
            let listener = loopback_listener();
            let addr = listener.local_addr().expect("addr");
            let mut tasks = Vec::new();
            for i in 0..CONNS {
                let client = TcpStream::connect(addr).await.expect("connect");
                let (server, _) = listener.accept().await.expect("accept");
                let bufs = bufs.clone();
                tasks.push(corio::spawn(async move {
                    let mut stream = server.recv_multishot(&bufs);
                    let (got, _) = collect(&mut stream, EACH).await;
                    assert_eq!(first_difference(&got, &pattern(EACH, i as u8)), None);
                    got.len()
                }));
                corio::spawn(async move {
                    let (res, _) = client.write_all(pattern(EACH, i as u8)).await;
                    res.expect("client write");
                    client.close().await.expect("close");
                });
            }
            for task in tasks {
                assert_eq!(task.await.expect("task"), EACH);
            }
        })
    });
}

#[test]
fn ring_buffers_echo_back_without_a_copy() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (client, server) = corio_pair().await;
            let bufs = BufRing::new(4, 256).expect("buffer ring");
            let echo = corio::spawn(async move {
                let mut stream = server.recv_multishot(&bufs);
                while let Some(chunk) = next(&mut stream).await {
                    let (res, _) = server.write_all(chunk.expect("chunk")).await;
                    res.expect("echo write");
                }
            });
            for i in 0..200u32 {
                let msg = pattern(100, i as u8);
                let (res, _) = client.write_all(msg.clone()).await;
                res.expect("write");
                let back = read_n(&client, 100, 100, Duration::from_secs(10)).await;
                assert_eq!(back, msg);
            }
            client
                .shutdown(std::net::Shutdown::Write)
                .expect("shutdown");
            timeout(Duration::from_secs(10), echo)
                .await
                .expect("echo ends")
                .expect("echo task");
        })
    });
}

#[test]
fn bad_ring_sizes_are_invalid_input() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for (count, len) in [(0u16, 64usize), (3, 64), (1000, 64), (65535, 64), (4, 0)] {
                let err = BufRing::new(count, len).expect_err("must be refused");
                assert_eq!(
                    err.kind(),
                    std::io::ErrorKind::InvalidInput,
                    "{count}×{len}: {err}"
                );
            }
            if usize::BITS > 32 {
                let err = BufRing::new(4, u32::MAX as usize + 1).expect_err("too long");
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            }
            let ring = BufRing::new(32768, 1).expect("the largest ring");
            assert_eq!((ring.count(), ring.buf_len()), (32768, 1));
        })
    });
}

#[test]
fn a_ring_needs_a_runtime() {
    let err = BufRing::new(8, 64).expect_err("no runtime on this thread");
    assert!(err.to_string().contains("no corio runtime"), "{err}");
}

#[test]
fn many_rings_come_and_go() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // Group ids are reused: far more rings than 2^16 over time.
            for _ in 0..2_000 {
                let rings: Vec<BufRing> = (0..40)
                    .map(|_| BufRing::new(4, 64).expect("ring"))
                    .collect();
                drop(rings);
            }
        })
    });
}

#[test]
fn dropping_the_runtime_with_streams_armed_is_sound() {
    with_time_limit(LIMIT, || {
        let before = fd_count();
        for _ in 0..20 {
            let rt = corio::Runtime::new().expect("runtime");
            let (peers, _servers) = rt.block_on(async {
                let bufs = BufRing::new(16, 1024).expect("ring");
                let mut peers = Vec::new();
                let mut servers = Vec::new();
                for _ in 0..8 {
                    let (server, peer) = std_peer_pair().await;
                    let bufs = bufs.clone();
                    corio::spawn(async move {
                        let mut stream = server.recv_multishot(&bufs);
                        while let Some(Ok(_chunk)) = next(&mut stream).await {}
                    });
                    peers.push(peer);
                }
                corio::time::sleep(Duration::from_millis(5)).await;
                for peer in &mut peers {
                    peer.write_all(&[7u8; 3000]).expect("peer write");
                }
                servers.push(());
                (peers, servers)
            });
            // Tasks with armed streams and queued data are dropped with the
            // runtime: cancelled, reaped, buffers never freed under the kernel.
            drop(rt);
            drop(peers);
        }
        assert!(
            wait_for(Duration::from_secs(5), || fd_count() <= before),
            "descriptors leaked: {} before, {} after",
            before,
            fd_count()
        );
    });
}

#[test]
fn a_ring_of_another_runtime_is_refused() {
    with_time_limit(LIMIT, || {
        let a = corio::Runtime::new().expect("runtime a");
        let b = corio::Runtime::new().expect("runtime b");
        let bufs = a.block_on(async { BufRing::new(8, 256).expect("ring on a") });
        b.block_on(async {
            // Give b a ring of its own with the same group id, so a wrong
            // receive would silently pick from it.
            let _own = BufRing::new(8, 256).expect("ring on b");
            let (server, mut peer) = std_peer_pair().await;
            peer.write_all(b"hello").expect("peer write");
            let mut stream = server.recv_multishot(&bufs);
            let err = next(&mut stream)
                .await
                .expect("an item")
                .expect_err("a ring of runtime a cannot serve runtime b");
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
            assert!(next(&mut stream).await.is_none(), "ends after the error");
            // The data is still there for a receive on b's own terms.
            let (res, buf) = server.read(Vec::with_capacity(16)).await;
            assert_eq!(res.expect("read"), 5);
            assert_eq!(&buf[..], b"hello");
        });
    });
}

/// Waits (bounded) until `peer` reads end of stream, discarding data.
fn peer_sees_eof(peer: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
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

#[test]
fn close_returns_while_an_armed_stream_of_the_connection_exists_and_ends_it() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            let mut chunks = server.recv_multishot(&bufs);
            peer.write_all(b"hello").unwrap();
            let first = next(&mut chunks).await.expect("a chunk").expect("data");
            assert_eq!(&first[..], b"hello");
            // Armed, waiting for more: close must cancel it and return.
            timeout(Duration::from_secs(3), server.close())
                .await
                .expect("close returned")
                .expect("close succeeded");
            assert!(next(&mut chunks).await.is_none(), "the stream ended");
            assert!(peer_sees_eof(&mut peer), "the connection was closed");
            drop(first);
            drop(chunks);
            assert_eq!(corio::metrics().ops_in_flight, 0);
        })
    });
}

#[test]
fn close_returns_after_the_stream_ended_as_in_the_readme_loop() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            peer.write_all(&pattern(10_000, 1)).unwrap();
            peer.shutdown(std::net::Shutdown::Write).unwrap();
            let mut chunks = server.recv_multishot(&bufs);
            let mut got = Vec::new();
            while let Some(chunk) = next(&mut chunks).await {
                got.extend_from_slice(&chunk.expect("chunk"));
            }
            assert_eq!(got, pattern(10_000, 1));
            timeout(Duration::from_secs(3), server.close())
                .await
                .expect("close returned")
                .expect("close succeeded");
            assert!(next(&mut chunks).await.is_none());
        })
    });
}

#[test]
fn close_wakes_a_task_waiting_on_the_stream_with_its_end() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            let mut chunks = server.recv_multishot(&bufs);
            let reader = corio::spawn(async move {
                let mut got = Vec::new();
                while let Some(chunk) = next(&mut chunks).await {
                    got.extend_from_slice(&chunk.expect("chunk"));
                }
                got
            });
            peer.write_all(b"abc").unwrap();
            sleep(Duration::from_millis(50)).await;
            timeout(Duration::from_secs(3), server.close())
                .await
                .expect("close returned")
                .expect("close succeeded");
            let got = timeout(Duration::from_secs(3), reader)
                .await
                .expect("the waiting task saw the end")
                .expect("reader task");
            assert_eq!(got, b"abc");
            assert!(peer_sees_eof(&mut peer));
        })
    });
}

#[test]
fn close_returns_with_a_stream_never_polled() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            let mut chunks = server.recv_multishot(&bufs);
            timeout(Duration::from_secs(3), server.close())
                .await
                .expect("close returned")
                .expect("close succeeded");
            assert!(next(&mut chunks).await.is_none());
            assert!(peer_sees_eof(&mut peer));
        })
    });
}

#[test]
fn a_stream_outliving_its_dropped_tcp_stream_keeps_receiving_until_dropped() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (server, mut peer) = std_peer_pair().await;
            let bufs = BufRing::new(8, 4096).expect("buffer ring");
            let mut chunks = server.recv_multishot(&bufs);
            drop(server);
            peer.write_all(b"still here").unwrap();
            let chunk = next(&mut chunks).await.expect("a chunk").expect("data");
            assert_eq!(&chunk[..], b"still here");
            drop(chunk);
            drop(chunks);
            // The cancelled receive lets go of the socket at its final
            // completion: let the ring reap it.
            sleep(Duration::from_millis(50)).await;
            assert!(
                peer_sees_eof(&mut peer),
                "dropping the stream closed the socket"
            );
        })
    });
}

#[test]
fn a_stream_waiting_for_buffers_held_by_another_stream_does_not_spin() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, mut a_peer) = std_peer_pair().await;
            let (b, mut b_peer) = std_peer_pair().await;
            let bufs = BufRing::new(2, 64).expect("buffer ring");
            let mut a_chunks = a.recv_multishot(&bufs);
            let mut b_chunks = b.recv_multishot(&bufs);
            // Arm A, then let it take both buffers without its task
            // collecting them.
            assert!(poll_once(&mut std::pin::pin!(next(&mut a_chunks)))
                .await
                .is_pending());
            a_peer.write_all(&[1; 64]).unwrap();
            sleep(Duration::from_millis(30)).await;
            a_peer.write_all(&[2; 64]).unwrap();
            sleep(Duration::from_millis(30)).await;
            // B receives data while the ring is empty: ENOBUFS. Its task
            // waits for a buffer to come back.
            b_peer.write_all(&[3; 100]).unwrap();
            let b_task = corio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < 100 {
                    let chunk = next(&mut b_chunks).await.expect("a chunk").expect("data");
                    got.extend_from_slice(&chunk);
                }
                got
            });
            let before = corio::metrics().enter_calls;
            sleep(Duration::from_millis(300)).await;
            let enters = corio::metrics().enter_calls - before;
            println!("io_uring_enter calls while B waited 300 ms for a buffer: {enters}");
            assert!(
                enters < 100,
                "B re-armed in a busy loop: {enters} enters in 300 ms"
            );
            assert!(!b_task.is_finished(), "B has no buffer to receive into");
            // A takes its chunks and gives the buffers back: B resumes.
            let mut a_got = Vec::new();
            while a_got.len() < 128 {
                let chunk = next(&mut a_chunks).await.expect("a chunk").expect("data");
                a_got.extend_from_slice(&chunk);
            }
            assert_eq!(a_got[..64], [1; 64]);
            assert_eq!(a_got[64..], [2; 64]);
            let b_got = timeout(Duration::from_secs(5), b_task)
                .await
                .expect("B resumed once buffers came back")
                .expect("B task");
            assert_eq!(b_got, vec![3; 100]);
        })
    });
}
