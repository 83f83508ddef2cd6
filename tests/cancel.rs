//! Cancellation: reads dropped by tiny timeouts or aborts lose no data; a
//! read whose completion was reaped before it was dropped hands its bytes to
//! the next read; dropped file reads and accepts leave the runtime sound; a
//! cancelled op's late completion never reaches a newer op in the same slot.

mod common;

use std::io::Write;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::*;
use corio::fs::File;
use corio::net::TcpStream;
use corio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(60);

/// Reads `stream` to EOF with a tiny, varying timeout around every read.
/// Returns (bytes, reads that returned data, reads dropped by the timeout).
async fn read_with_tiny_timeouts(stream: &TcpStream, expect_len: usize) -> (Vec<u8>, usize, usize) {
    let mut got = Vec::with_capacity(expect_len);
    let (mut reads, mut timeouts) = (0usize, 0usize);
    let start = Instant::now();
    for i in 0..2_000_000u64 {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "no EOF after 40 s: got {} of {} bytes ({} reads, {} timeouts)",
            got.len(),
            expect_len,
            reads,
            timeouts
        );
        let t = Duration::from_micros(50 + (i * 89) % 450);
        match timeout(t, stream.read(Vec::with_capacity(64))).await {
            Ok((Ok(0), _)) => return (got, reads, timeouts),
            Ok((Ok(n), buf)) => {
                assert!(n <= 64);
                assert_eq!(buf.len(), n);
                got.extend_from_slice(&buf);
                reads += 1;
                assert!(
                    got.len() <= expect_len,
                    "more bytes arrived than were sent (duplicated data)"
                );
            }
            Ok((Err(e), _)) => panic!("read error: {e}"),
            Err(_elapsed) => timeouts += 1,
        }
    }
    panic!("too many reads");
}

#[test]
fn reads_with_tiny_timeouts_lose_no_bytes_std_peer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 64 * 1024;
            let data = pattern(TOTAL, 3);
            let (stream, peer) = std_peer_pair().await;
            let d2 = data.clone();
            let writer = std::thread::spawn(move || {
                let mut peer = peer;
                peer.set_nodelay(true).unwrap();
                let (mut off, mut i) = (0usize, 0usize);
                while off < TOTAL {
                    let n = (1 + (i * 37) % 97).min(TOTAL - off);
                    peer.write_all(&d2[off..off + n]).unwrap();
                    off += n;
                    i += 1;
                    if i % 2 == 0 {
                        std::thread::sleep(Duration::from_micros(((i * 53) % 300) as u64));
                    }
                }
                // drop: EOF
            });
            let t = Instant::now();
            let (got, reads, timeouts) = read_with_tiny_timeouts(&stream, TOTAL).await;
            writer.join().unwrap();
            println!(
                "tiny timeouts (std peer): {} bytes in {reads} reads, {timeouts} reads dropped by timeout, {:?}",
                got.len(),
                t.elapsed()
            );
            assert_eq!(got.len(), TOTAL, "bytes lost");
            assert!(
                got == data,
                "bytes out of order at {:?}",
                first_difference(&got, &data)
            );
            assert!(
                timeouts > 0,
                "no read was ever cancelled: the test did not test cancellation"
            );
            let in_flight_back = wait_for_async(Duration::from_secs(5), || {
                corio::metrics().ops_in_flight == 0
            })
            .await;
            assert!(
                in_flight_back,
                "ops_in_flight = {}",
                corio::metrics().ops_in_flight
            );
        });
    });
}

#[test]
fn reads_with_tiny_timeouts_lose_no_bytes_corio_peer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 32 * 1024;
            let data = pattern(TOTAL, 4);
            let (a, b) = corio_pair().await;
            a.set_nodelay(true).unwrap();
            let d2 = data.clone();
            let writer = corio::spawn(async move {
                let (mut off, mut i) = (0usize, 0usize);
                while off < TOTAL {
                    let n = (1 + (i * 41) % 113).min(TOTAL - off);
                    let (res, _) = a.write_all(d2[off..off + n].to_vec()).await;
                    res.expect("write_all");
                    off += n;
                    i += 1;
                    if i % 3 == 0 {
                        sleep(Duration::from_micros(((i * 71) % 400) as u64)).await;
                    } else {
                        corio::task::yield_now().await;
                    }
                }
                a.close().await.expect("close");
            });
            let (got, reads, timeouts) = read_with_tiny_timeouts(&b, TOTAL).await;
            writer.await.expect("writer");
            println!(
                "tiny timeouts (corio peer): {} bytes in {reads} reads, {timeouts} dropped by timeout",
                got.len()
            );
            assert_eq!(got.len(), TOTAL, "bytes lost");
            assert!(
                got == data,
                "bytes out of order at {:?}",
                first_difference(&got, &data)
            );
        });
    });
}

#[test]
fn aborted_read_tasks_lose_no_bytes() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const TOTAL: usize = 16 * 1024;
            let data = pattern(TOTAL, 5);
            let (stream, peer) = std_peer_pair().await;
            let stream = Rc::new(stream);
            let d2 = data.clone();
            let writer = std::thread::spawn(move || {
                let mut peer = peer;
                peer.set_nodelay(true).unwrap();
                let (mut off, mut i) = (0usize, 0usize);
                while off < TOTAL {
                    let n = (1 + (i * 29) % 61).min(TOTAL - off);
                    peer.write_all(&d2[off..off + n]).unwrap();
                    off += n;
                    i += 1;
                    std::thread::sleep(Duration::from_micros(((i * 53) % 250) as u64));
                }
            });
            let mut got = Vec::new();
            let (mut aborted, mut completed) = (0usize, 0usize);
            let start = Instant::now();
            for i in 0..1_000_000u64 {
                assert!(
                    start.elapsed() < Duration::from_secs(40),
                    "no EOF: {} of {TOTAL}",
                    got.len()
                );
                let s = stream.clone();
                let h = corio::spawn(async move {
                    let (res, buf) = s.read(Vec::with_capacity(48)).await;
                    let n = res.expect("read");
                    assert_eq!(buf.len(), n);
                    buf
                });
                sleep(Duration::from_micros((i * 97) % 300)).await;
                h.abort();
                match h.await {
                    Ok(buf) if buf.is_empty() => break, // EOF
                    Ok(buf) => {
                        completed += 1;
                        got.extend_from_slice(&buf);
                    }
                    Err(e) => {
                        assert!(e.is_cancelled());
                        aborted += 1;
                    }
                }
                assert!(got.len() <= TOTAL, "duplicated bytes");
            }
            writer.join().unwrap();
            println!(
                "aborted reads: {completed} completed, {aborted} aborted, {} bytes",
                got.len()
            );
            assert_eq!(got.len(), TOTAL, "bytes lost");
            assert!(
                got == data,
                "out of order at {:?}",
                first_difference(&got, &data)
            );
            assert!(aborted > 0, "no read task was ever aborted");
        });
    });
}

/// Creates a read, polls it once (so it is submitted), lets the runtime run
/// long enough to reap its completion, then drops it without polling again.
async fn start_read_then_drop_after_completion(stream: &TcpStream, cap: usize) -> Option<Vec<u8>> {
    let mut fut = pin!(stream.read(Vec::with_capacity(cap)));
    if let Poll::Ready((res, buf)) = poll_once(&mut fut.as_mut()).await {
        // Completed synchronously: nothing was dropped; give the bytes back to the caller.
        let n = res.expect("read");
        return Some(buf[..n].to_vec());
    }
    // The runtime submits the read, the kernel completes it at once (data is
    // queued), the runtime reaps the completion and wakes us; we don't poll it.
    sleep(Duration::from_millis(30)).await;
    corio::task::yield_now().await;
    println!(
        "before drop: ops_in_flight = {}, ops_completed = {}",
        corio::metrics().ops_in_flight,
        corio::metrics().ops_completed
    );
    None
    // `fut` is dropped here, its completion already reaped.
}

#[test]
fn a_read_dropped_after_its_completion_was_reaped_gives_its_bytes_to_the_next_read() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            peer.write_all(b"hello").unwrap();
            sleep(Duration::from_millis(20)).await;
            let early = start_read_then_drop_after_completion(&stream, 16).await;
            let first = match early {
                Some(bytes) => {
                    println!("note: the read completed on its first poll; nothing was dropped");
                    bytes
                }
                None => {
                    let (res, buf) = stream.read(Vec::with_capacity(16)).await;
                    let n = res.expect("next read");
                    buf[..n].to_vec()
                }
            };
            assert_eq!(first, b"hello", "the dropped read's bytes must come first");

            // Later data follows in order.
            peer.write_all(b" world").unwrap();
            let got = read_n(&stream, 6, 16, Duration::from_secs(5)).await;
            assert_eq!(got, b" world");
        });
    });
}

#[test]
fn bytes_of_a_dropped_read_come_before_newer_bytes_and_across_small_reads() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            peer.write_all(b"hello").unwrap();
            sleep(Duration::from_millis(20)).await;
            let early = start_read_then_drop_after_completion(&stream, 16).await;
            let mut got = early.unwrap_or_default();
            // More data arrives after the dropped read completed.
            peer.write_all(b"world").unwrap();
            sleep(Duration::from_millis(20)).await;
            // Next reads are smaller than what the dropped read holds.
            for _ in 0..100 {
                if got.len() >= 10 {
                    break;
                }
                let (res, buf) = stream.read(Vec::with_capacity(2)).await;
                let n = res.expect("read");
                assert!(n <= 2, "a read of capacity 2 returned {n} bytes");
                assert_eq!(buf.len(), n);
                assert!(n > 0, "EOF before all bytes");
                got.extend_from_slice(&buf);
            }
            assert_eq!(got, b"helloworld");
        });
    });
}

#[test]
fn dropped_reads_on_idle_streams_leave_nothing_behind() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            let m0 = corio::metrics();
            for i in 0..200 {
                let mut fut = pin!(stream.read(Vec::with_capacity(8)));
                assert!(
                    poll_once(&mut fut.as_mut()).await.is_pending(),
                    "nothing was sent"
                );
                if i % 2 == 0 {
                    corio::task::yield_now().await; // let it reach the kernel
                }
            }
            let back = wait_for_async(Duration::from_secs(5), || {
                corio::metrics().ops_in_flight == m0.ops_in_flight
            })
            .await;
            assert!(
                back,
                "ops_in_flight = {} after dropping 200 reads",
                corio::metrics().ops_in_flight
            );
            // No phantom data, and the stream still works.
            peer.write_all(b"Z").unwrap();
            let (res, buf) = stream.read(Vec::with_capacity(8)).await;
            assert_eq!(res.unwrap(), 1);
            assert_eq!(&buf[..], b"Z");
        });
    });
}

#[test]
fn a_cancelled_ops_late_completion_never_reaches_a_newer_op() {
    with_time_limit(LIMIT, || {
        const RECORDS: usize = 64;
        let (_dir, path) = temp_file_of_records(RECORDS);
        // A small ring so slots and entries are reused quickly.
        let rt = corio::Builder::new().entries(8).build().unwrap();
        rt.block_on(async {
            let (idle, mut peer) = std_peer_pair().await;
            let f = File::open(&path).await.unwrap();
            for i in 0..500usize {
                {
                    let mut fut = pin!(idle.read(Vec::with_capacity(8)));
                    assert!(poll_once(&mut fut.as_mut()).await.is_pending());
                    if i % 3 != 0 {
                        corio::task::yield_now().await;
                    }
                } // dropped: cancel submitted, its -ECANCELED arrives later
                let k = (i * 13) % RECORDS;
                let (res, buf) = f.read_at(Vec::with_capacity(16), (k * 16) as u64).await;
                assert_eq!(
                    res.expect("file read after a cancelled read"),
                    16,
                    "iteration {i}"
                );
                assert_eq!(buf, record(k), "iteration {i}: wrong completion delivered");
            }
            peer.write_all(b"Q").unwrap();
            let (res, buf) = idle.read(Vec::with_capacity(8)).await;
            assert_eq!(res.unwrap(), 1);
            assert_eq!(&buf[..], b"Q");
            assert!(
                wait_for_async(Duration::from_secs(5), || corio::metrics().ops_in_flight
                    == 0)
                .await
            );
        });
    });
}

#[test]
fn dropped_file_reads_and_timed_out_file_reads_are_harmless() {
    with_time_limit(LIMIT, || {
        let data = pattern(1 << 20, 8);
        let (_dir, path) = temp_file(&data);
        corio::block_on(async {
            let f = File::open(&path).await.unwrap();
            // Poll 100 big reads once each, then drop them all.
            {
                let mut futs: Vec<_> = (0..100u64)
                    .map(|i| Box::pin(f.read_at(vec![0u8; 64 * 1024], (i * 4096) % (1 << 20))))
                    .collect();
                for fut in futs.iter_mut() {
                    let _ = poll_once(fut).await;
                }
            }
            let mut timeouts = 0;
            for i in 0..200u64 {
                let r = timeout(
                    Duration::from_micros(1 + i % 20),
                    f.read_at(vec![0u8; 128 * 1024], (i * 8192) % (1 << 19)),
                )
                .await;
                if r.is_err() {
                    timeouts += 1;
                }
            }
            println!("{timeouts} of 200 file reads timed out");
            assert!(
                wait_for_async(Duration::from_secs(5), || corio::metrics().ops_in_flight
                    == 0)
                .await
            );
            let (res, buf) = f.read_exact_at(vec![0u8; 4096], 12_345).await;
            res.unwrap();
            assert_eq!(&buf[..], &data[12_345..12_345 + 4096]);
        });
    });
}

#[test]
fn a_timed_out_accept_does_not_swallow_the_next_connection() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = loopback_listener();
            let addr = listener.local_addr().unwrap();
            for _ in 0..5 {
                let r = timeout(Duration::from_millis(5), listener.accept()).await;
                assert!(r.is_err(), "nobody connected");
            }
            let c = TcpStream::connect(addr).await.expect("connect");
            let (s, from) = timeout(Duration::from_secs(5), listener.accept())
                .await
                .expect("the connection was swallowed by a cancelled accept")
                .expect("accept");
            assert_eq!(c.local_addr().unwrap(), from);
            let (res, _) = c.write_all("ping").await;
            res.unwrap();
            let got = read_n(&s, 4, 16, Duration::from_secs(5)).await;
            assert_eq!(got, b"ping");
        });
    });
}

#[test]
fn a_timed_out_read_then_a_successful_one_on_a_corio_pair() {
    // The simplest form of the contract, deterministic.
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = corio_pair().await;
            let r = timeout(Duration::from_millis(10), b.read(Vec::with_capacity(8))).await;
            assert!(r.is_err(), "nothing was written yet");
            let (res, _) = a.write_all("abc").await;
            res.unwrap();
            let got = read_n(&b, 3, 8, Duration::from_secs(5)).await;
            assert_eq!(got, b"abc");
        });
    });
}
