#![cfg(all(feature = "tokio-io", feature = "futures-io", feature = "hyper"))]
//! Adversarial tests of `io::Compat` and of the hyper `Timer`: tiny
//! buffers, dropped and aborted reads and writes, round trips back to
//! corio, end of stream, zero-length calls, many adapters at once.

mod common;

use common::*;
use corio::io::Compat;
use corio::net::UnixStream;
use std::cell::{Cell, RefCell};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// Poll `compat.poll_write` once: `Pending` is reported, not waited for.
async fn try_write_once<S: corio::io::CompatStream>(
    compat: &mut Compat<S>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    std::future::poll_fn(|cx| Poll::Ready(compat.poll_write(cx, data))).await
}

/// Read a corio stream to its end (bounded).
async fn unix_read_to_eof(s: &UnixStream, max: usize) -> Vec<u8> {
    let mut got = Vec::new();
    for _ in 0..10_000_000 {
        let (res, buf) = s.read(Vec::with_capacity(64 * 1024)).await;
        if res.unwrap() == 0 {
            return got;
        }
        got.extend_from_slice(&buf);
        assert!(got.len() <= max, "more bytes than were sent");
    }
    panic!("too many reads");
}

/// Leave `n` bytes of a dropped corio read on `s`: a read is armed, dropped
/// by a timeout before anything arrives, then the peer writes `data`.
async fn leave_rescued_bytes(s: &UnixStream, peer: &UnixStream, data: &[u8]) {
    let r = corio::time::timeout(
        Duration::from_millis(2),
        s.read(Vec::with_capacity(data.len().max(1))),
    )
    .await;
    assert!(r.is_err(), "nothing was sent yet: the read must time out");
    let (res, _) = peer.write_all(data.to_vec()).await;
    res.unwrap();
}

// ---------------------------------------------------------------- capacities

#[test]
fn one_byte_capacities_carry_data_both_ways() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut left = Compat::with_capacity(a, 1, 1);
            let mut right = Compat::with_capacity(b, 1, 1);
            let data = pattern(20_000, 3);
            let write = async {
                left.write_all(&data).await.unwrap();
                left.shutdown().await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                right.read_to_end(&mut got).await.unwrap();
                got
            };
            let (_, got) = futures_util::future::join(write, read).await;
            assert_eq!(first_difference(&got, &data), None);
        })
    });
}

#[test]
fn zero_capacities_are_raised_to_one_byte() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut left = Compat::with_capacity(a, 0, 0);
            let mut right = Compat::with_capacity(b, 0, 0);
            left.write_all(b"abc").await.unwrap();
            left.shutdown().await.unwrap();
            let mut got = Vec::new();
            right.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"abc");
        })
    });
}

#[test]
fn a_one_byte_write_buffer_is_pending_while_its_byte_is_in_flight_and_loses_nothing() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut compat = Compat::with_capacity(a, 1, 1);
            let data = pattern(4 << 20, 5);
            // Nobody reads: the socket fills, then poll_write must say
            // Pending, having consumed nothing.
            let mut accepted = 0usize;
            let mut pendings = 0;
            for _ in 0..10_000_000 {
                match try_write_once(&mut compat, &data[accepted..accepted + 100]).await {
                    Poll::Ready(Ok(n)) => {
                        assert!(n <= 1, "a 1-byte buffer took {n} bytes");
                        accepted += n;
                    }
                    Poll::Ready(Err(e)) => panic!("write: {e}"),
                    Poll::Pending => {
                        pendings += 1;
                        if pendings > 3 {
                            break;
                        }
                        corio::nop().await.unwrap();
                    }
                }
                if accepted + 100 > data.len() {
                    break;
                }
            }
            assert!(pendings > 0, "never Pending after {accepted} bytes");
            let reader = corio::spawn(async move { unix_read_to_eof(&b, usize::MAX).await });
            std::future::poll_fn(|cx| compat.poll_shutdown(cx))
                .await
                .unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), accepted);
            assert_eq!(first_difference(&got, &data[..accepted]), None);
        })
    });
}

// ---------------------------------------------------------------- rescued bytes

#[test]
fn a_compat_on_a_stream_with_rescued_bytes_returns_them_first() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            leave_rescued_bytes(&a, &b, b"rescued;").await;
            // Later bytes are already queued in the socket too.
            let (res, _) = b.write_all(b"later;".to_vec()).await;
            res.unwrap();
            b.shutdown(Shutdown::Write).unwrap();
            let mut compat = Compat::with_capacity(a, 3, 3);
            let mut got = Vec::new();
            compat.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"rescued;later;");
        })
    });
}

#[test]
fn a_compat_made_while_the_dropped_read_is_still_armed_waits_for_its_bytes() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            // The dropped read is still in the kernel when Compat starts.
            let r = corio::time::timeout(Duration::from_millis(2), a.read(Vec::with_capacity(64)))
                .await;
            assert!(r.is_err());
            let mut compat = Compat::new(a);
            let writer = corio::spawn(async move {
                corio::time::sleep(Duration::from_millis(20)).await;
                for part in [&b"one;"[..], b"two;", b"three;"] {
                    let (res, _) = b.write_all(part.to_vec()).await;
                    res.unwrap();
                    corio::time::sleep(Duration::from_millis(2)).await;
                }
                b.shutdown(Shutdown::Write).unwrap();
                b
            });
            let mut got = Vec::new();
            compat.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"one;two;three;");
            drop(writer.await.unwrap());
        })
    });
}

#[test]
fn rescued_bytes_partly_read_by_corio_then_the_rest_through_compat() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            leave_rescued_bytes(&a, &b, b"0123456789").await;
            // Let the dropped read settle, then take 3 of its bytes.
            let (res, buf) = a.read(Vec::with_capacity(3)).await;
            assert_eq!(res.unwrap(), 3);
            assert_eq!(buf, b"012");
            let (res, _) = b.write_all(b"abc".to_vec()).await;
            res.unwrap();
            drop(b);
            let mut got = Vec::new();
            Compat::new(a).read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"3456789abc");
        })
    });
}

#[test]
fn repeated_round_trips_between_corio_and_compat_under_timeouts_lose_no_byte() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let data = pattern(300_000, 11);
            let writer = corio::spawn({
                let data = data.clone();
                async move {
                    for chunk in data.chunks(777) {
                        let (res, _) = b.write_all(chunk.to_vec()).await;
                        res.unwrap();
                        corio::time::sleep(Duration::from_micros(50)).await;
                    }
                    b.shutdown(Shutdown::Write).unwrap();
                    b
                }
            });
            let mut stream = Some(a);
            let mut got = Vec::new();
            let mut eof = false;
            for round in 0..100_000u64 {
                if eof {
                    break;
                }
                let s = stream.take().unwrap();
                // A corio read, sometimes dropped by a tiny timeout.
                let t = Duration::from_micros(round % 30);
                let read = s.read(Vec::with_capacity(1 + (round as usize * 37) % 900));
                if let Ok((res, buf)) = corio::time::timeout(t, read).await {
                    if res.unwrap() == 0 {
                        eof = true;
                    }
                    got.extend_from_slice(&buf);
                }
                // Then a Compat, read (sometimes under a timeout) and
                // handed back, perhaps with bytes unread and a receive armed.
                let cap = 1 + (round as usize * 13) % 500;
                let mut compat = Compat::with_capacity(s, cap, 16);
                let mut buf = vec![0u8; 1 + (round as usize * 7) % 300];
                let t = Duration::from_micros((round * 3) % 40);
                match corio::time::timeout(t, compat.read(&mut buf)).await {
                    Ok(Ok(0)) => eof = true,
                    Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Ok(Err(e)) => panic!("compat read: {e}"),
                    Err(_) => {}
                }
                stream = Some(compat.into_inner().await.unwrap());
            }
            assert!(eof, "the end of the stream was never reached");
            assert_eq!(first_difference(&got, &data), None);
            drop(writer.await.unwrap());
        })
    });
}

#[test]
fn into_inner_twice_in_a_row_keeps_the_order_of_two_generations_of_unread_bytes() {
    use tokio::io::AsyncBufReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (res, _) = b.write_all(b"AAAA".to_vec()).await;
            res.unwrap();
            let mut first = Compat::new(a);
            assert_eq!(first.fill_buf().await.unwrap(), b"AAAA");
            Pin::new(&mut first).consume(1);
            let a = first.into_inner().await.unwrap();
            // A second adapter takes the bytes back but reads only one.
            let mut second = Compat::with_capacity(a, 2, 2);
            assert_eq!(second.fill_buf().await.unwrap(), b"AAA");
            Pin::new(&mut second).consume(1);
            let r = corio::time::timeout(Duration::from_millis(2), async {
                // Consume the rest and arm a receive (nothing sent yet).
                Pin::new(&mut second).consume(2);
                second.fill_buf().await.map(|b| b.len())
            })
            .await;
            assert!(r.is_err(), "nothing more was sent");
            let a = second.into_inner().await.unwrap();
            let (res, _) = b.write_all(b"BB".to_vec()).await;
            res.unwrap();
            drop(b);
            let got = unix_read_to_eof(&a, 100).await;
            assert_eq!(got, b"BB");
        })
    });
}

// ---------------------------------------------------------------- end of stream

#[test]
fn after_end_of_stream_every_read_returns_zero() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (res, _) = b.write_all(b"xy".to_vec()).await;
            res.unwrap();
            b.shutdown(Shutdown::Write).unwrap();
            let mut compat = Compat::with_capacity(a, 1, 1);
            let mut buf = [0u8; 8];
            let mut got = Vec::new();
            for _ in 0..10 {
                let n = std::future::poll_fn(|cx| compat.poll_read(cx, &mut buf))
                    .await
                    .unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"xy");
            // The peer even writes again? No: it shut its write side. Reads
            // keep returning 0, through every trait.
            for _ in 0..5 {
                assert_eq!(
                    tokio::io::AsyncReadExt::read(&mut compat, &mut buf)
                        .await
                        .unwrap(),
                    0
                );
                assert_eq!(
                    futures_util::io::AsyncReadExt::read(&mut compat, &mut buf)
                        .await
                        .unwrap(),
                    0
                );
                let filled =
                    std::future::poll_fn(|cx| compat.poll_fill_buf(cx).map_ok(|b| b.len()))
                        .await
                        .unwrap();
                assert_eq!(filled, 0);
            }
            // Writing still works after the peer's end of stream.
            use tokio::io::AsyncWriteExt;
            compat.write_all(b"reply").await.unwrap();
            compat.flush().await.unwrap();
            let (res, buf) = b.read(Vec::with_capacity(16)).await;
            res.unwrap();
            assert_eq!(buf, b"reply");
        })
    });
}

#[test]
fn into_inner_after_end_of_stream_gives_a_stream_at_its_end() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            let mut compat = Compat::new(a);
            let mut got = Vec::new();
            compat.read_to_end(&mut got).await.unwrap();
            assert!(got.is_empty());
            let a = compat.into_inner().await.unwrap();
            let (res, _) = a.read(Vec::with_capacity(8)).await;
            assert_eq!(res.unwrap(), 0);
        })
    });
}

// ---------------------------------------------------------------- zero lengths

#[test]
fn zero_length_reads_and_writes_do_nothing_and_are_not_end_of_stream() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut compat = Compat::new(a);
            // Nothing arrived: a zero-length read must not wait or arm.
            let n = std::future::poll_fn(|cx| compat.poll_read(cx, &mut []))
                .await
                .unwrap();
            assert_eq!(n, 0);
            // tokio's ReadBuf with no room.
            let mut empty: [u8; 0] = [];
            let n = tokio::io::AsyncReadExt::read(&mut compat, &mut empty)
                .await
                .unwrap();
            assert_eq!(n, 0);
            let n = futures_util::io::AsyncReadExt::read(&mut compat, &mut empty)
                .await
                .unwrap();
            assert_eq!(n, 0);
            // Zero-length write.
            match try_write_once(&mut compat, &[]).await {
                Poll::Ready(Ok(0)) => {}
                other => panic!("zero-length write: {other:?}"),
            }
            // The stream still works both ways.
            let (res, _) = b.write_all(b"data".to_vec()).await;
            res.unwrap();
            let mut buf = [0u8; 16];
            let n = tokio::io::AsyncReadExt::read(&mut compat, &mut buf)
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"data");
            tokio::io::AsyncWriteExt::write_all(&mut compat, b"back")
                .await
                .unwrap();
            tokio::io::AsyncWriteExt::flush(&mut compat).await.unwrap();
            let (res, got) = b.read(Vec::with_capacity(16)).await;
            res.unwrap();
            assert_eq!(got, b"back");
            // Nothing was sent for the zero-length write.
            let r =
                corio::time::timeout(Duration::from_millis(5), b.read(Vec::with_capacity(4))).await;
            assert!(r.is_err(), "an extra send arrived: {r:?}");
        })
    });
}

#[test]
fn a_zero_length_write_still_reports_an_earlier_send_error() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            let mut compat = Compat::new(a);
            match try_write_once(&mut compat, b"lost").await {
                Poll::Ready(Ok(4)) => {}
                other => panic!("first write: {other:?}"),
            }
            // Let the send fail.
            corio::time::sleep(Duration::from_millis(5)).await;
            let r = std::future::poll_fn(|cx| compat.poll_flush(cx)).await;
            let e = r.expect_err("flush after a failed send");
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        })
    });
}

// ---------------------------------------------------------------- buffered reads

#[test]
fn fill_buf_and_consume_interleaved_with_poll_read_keep_every_byte_in_order() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let data = pattern(200_000, 17);
            let writer = corio::spawn({
                let data = data.clone();
                async move {
                    for chunk in data.chunks(3001) {
                        let (res, _) = b.write_all(chunk.to_vec()).await;
                        res.unwrap();
                    }
                    drop(b);
                }
            });
            let mut compat = Compat::with_capacity(a, 1000, 16);
            let mut got = Vec::new();
            for i in 0..1_000_000usize {
                if i % 3 == 0 {
                    let avail = compat.fill_buf().await.unwrap();
                    if avail.is_empty() {
                        break;
                    }
                    // Consume part of it (at least one byte), or more than
                    // there is (clamped).
                    let take = (1 + i % 17).min(avail.len());
                    got.extend_from_slice(&avail[..take]);
                    Pin::new(&mut compat).consume(take);
                    // Fill again without consuming: the same bytes.
                    let again = compat.fill_buf().await.unwrap().to_vec();
                    let avail2 = compat.fill_buf().await.unwrap();
                    assert_eq!(again, avail2);
                } else {
                    let mut buf = vec![0u8; 1 + i % 29];
                    let n = compat.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            }
            assert_eq!(first_difference(&got, &data), None);
            writer.await.unwrap();
        })
    });
}

#[test]
fn consuming_more_than_was_filled_is_clamped() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (res, _) = b.write_all(b"abc".to_vec()).await;
            res.unwrap();
            let mut compat = Compat::new(a);
            assert_eq!(compat.fill_buf().await.unwrap(), b"abc");
            Pin::new(&mut compat).consume(usize::MAX);
            let (res, _) = b.write_all(b"def".to_vec()).await;
            res.unwrap();
            drop(b);
            let mut rest = Vec::new();
            compat.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"def");
        })
    });
}

// ---------------------------------------------------------------- copies

#[test]
fn tokio_copy_between_two_compats_carries_everything() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // source -> [in] copy [out] -> sink
            let (source, into) = UnixStream::pair().unwrap();
            let (out, sink) = corio_pair().await;
            let data = pattern(2 << 20, 23);
            let feeder = corio::spawn({
                let data = data.clone();
                async move {
                    let mut w = Compat::with_capacity(source, 7, 1000);
                    w.write_all(&data).await.unwrap();
                    w.shutdown().await.unwrap();
                    w
                }
            });
            let relay = corio::spawn(async move {
                let mut from = Compat::with_capacity(into, 333, 10);
                let mut to = Compat::with_capacity(out, 10, 5000);
                let n = tokio::io::copy(&mut from, &mut to).await.unwrap();
                to.shutdown().await.unwrap();
                (n, from, to)
            });
            let mut got = Vec::new();
            let mut sink = Compat::with_capacity(sink, 4096, 1);
            sink.read_to_end(&mut got).await.unwrap();
            let (n, _from, _to) = relay.await.unwrap();
            assert_eq!(n as usize, data.len());
            assert_eq!(first_difference(&got, &data), None);
            drop(feeder.await.unwrap());
        })
    });
}

#[test]
fn tokio_copy_buf_between_two_compats_carries_everything() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (source, into) = UnixStream::pair().unwrap();
            let (out, sink) = UnixStream::pair().unwrap();
            let data = pattern(1 << 20, 29);
            let feeder = corio::spawn({
                let data = data.clone();
                async move {
                    let (res, _) = source.write_all(data).await;
                    res.unwrap();
                    drop(source);
                }
            });
            let relay = corio::spawn(async move {
                let mut from = Compat::with_capacity(into, 1, 1);
                let mut to = Compat::with_capacity(out, 1, 3);
                let mut from = tokio::io::BufReader::with_capacity(1, &mut from);
                let n = tokio::io::copy_buf(&mut from, &mut to).await.unwrap();
                to.shutdown().await.unwrap();
                n
            });
            let mut got = Vec::new();
            Compat::new(sink).read_to_end(&mut got).await.unwrap();
            assert_eq!(relay.await.unwrap() as usize, data.len());
            assert_eq!(first_difference(&got, &data), None);
            feeder.await.unwrap();
        })
    });
}

// ---------------------------------------------------------------- close

#[test]
fn futures_poll_close_flushes_then_ends_the_write_side_and_can_be_repeated() {
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = corio_pair().await;
            let mut left = Compat::with_capacity(a, 5, 5);
            let data = pattern(300_000, 31);
            let reader = corio::spawn(async move { read_to_eof(&b, LIMIT, usize::MAX).await });
            // A small staging buffer: most of it is staged at close time.
            left.write_all(&data).await.unwrap();
            left.close().await.unwrap();
            // Closing again is harmless.
            left.close().await.unwrap();
            let got = reader.await.unwrap();
            assert_eq!(first_difference(&got, &data), None);
            // The read side still works after closing the write side.
            let mut rest = Vec::new();
            // The peer was dropped by its task: end of stream.
            left.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        })
    });
}

#[test]
fn a_write_after_shutdown_fails_instead_of_vanishing() {
    use tokio::io::AsyncWriteExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, _b) = UnixStream::pair().unwrap();
            let mut compat = Compat::new(a);
            compat.shutdown().await.unwrap();
            // The bytes are staged; the send fails; the error comes out at
            // the flush at the latest.
            let r = match compat.write_all(b"too late").await {
                Ok(()) => compat.flush().await,
                e => e,
            };
            let e = r.expect_err("a write after shutdown succeeded");
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        })
    });
}

// ---------------------------------------------------------------- drops

#[test]
fn dropping_a_compat_with_a_send_in_flight_neither_hangs_nor_corrupts() {
    with_time_limit(LIMIT, || {
        // The peer outlives the runtime's block_on: the send stays blocked
        // in the kernel while the Compat is dropped.
        let (a, b) = UnixStream::pair().unwrap();
        let data = pattern(8 << 20, 37);
        let accepted = corio::block_on(async {
            let mut compat = Compat::with_capacity(a, 16, 256 * 1024);
            let mut accepted = 0usize;
            let mut pendings = 0;
            for _ in 0..1_000_000 {
                let end = (accepted + 100_000).min(data.len());
                match try_write_once(&mut compat, &data[accepted..end]).await {
                    Poll::Ready(Ok(n)) => accepted += n,
                    Poll::Ready(Err(e)) => panic!("write: {e}"),
                    Poll::Pending => {
                        pendings += 1;
                        if pendings > 2 {
                            break;
                        }
                        corio::nop().await.unwrap();
                    }
                }
                if accepted == data.len() {
                    break;
                }
            }
            assert!(pendings > 0, "the socket never filled");
            drop(compat);
            // Churn allocations: an early free would let the kernel read
            // another buffer's bytes.
            let mut junk = Vec::new();
            for i in 0..64 {
                junk.push(vec![0xEEu8; 64 * 1024 + i]);
            }
            drop(junk);
            accepted
        });
        // The runtime is usable; now read what the dropped send delivers.
        corio::block_on(async move {
            let got =
                corio::time::timeout(Duration::from_secs(20), unix_read_to_eof(&b, usize::MAX))
                    .await
                    .expect("the dropped send never finished");
            assert!(got.len() <= accepted, "{} > {accepted}", got.len());
            assert_eq!(
                first_difference(&got, &data[..got.len()]),
                None,
                "the bytes sent after the drop are not the ones accepted"
            );
        });
    });
}

#[test]
fn dropping_a_compat_with_a_receive_armed_closes_the_stream() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let before = fd_count();
            let (a, b) = UnixStream::pair().unwrap();
            let mut compat = Compat::new(a);
            let mut buf = [0u8; 8];
            let r = corio::time::timeout(
                Duration::from_millis(2),
                tokio::io::AsyncReadExt::read(&mut compat, &mut buf),
            )
            .await;
            assert!(r.is_err());
            drop(compat);
            // The armed receive holds the descriptor until it completes:
            // the peer writing ends it (or the stream ends first).
            let (res, _) = b.write_all(b"x".to_vec()).await;
            let _ = res;
            drop(b);
            let closed = wait_for_async(Duration::from_secs(5), || fd_count() <= before).await;
            assert!(closed, "descriptors leaked:\n{}", fd_list());
        })
    });
}

// ---------------------------------------------------------------- many at once

#[test]
fn many_compats_echo_concurrently_on_one_runtime() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut handles = Vec::new();
            for i in 0..64usize {
                let cap = 1 + i * 97 % 700;
                let data = pattern(20_000 + i * 131, i as u8);
                handles.push(corio::spawn(async move {
                    let (p, q) = UnixStream::pair().unwrap();
                    let server = corio::spawn(async move {
                        let mut c = Compat::with_capacity(q, cap, cap + 3);
                        let (mut r, mut w) = tokio::io::split(&mut c);
                        tokio::io::copy(&mut r, &mut w).await.unwrap();
                        w.shutdown().await.unwrap();
                    });
                    let mut c = Compat::with_capacity(p, cap + 5, cap);
                    let (mut r, mut w) = tokio::io::split(&mut c);
                    let write = async {
                        w.write_all(&data).await.unwrap();
                        w.shutdown().await.unwrap();
                    };
                    let read = async {
                        let mut got = Vec::new();
                        r.read_to_end(&mut got).await.unwrap();
                        got
                    };
                    let (_, got) = futures_util::future::join(write, read).await;
                    server.await.unwrap();
                    first_difference(&got, &data)
                }));
            }
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), None, "connection {i}");
            }
        })
    });
}

// ---------------------------------------------------------------- aborted tasks

#[test]
fn a_task_aborted_mid_read_leaves_the_compat_whole_for_another_task() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let shared = Rc::new(RefCell::new(Some(Compat::with_capacity(a, 4, 4))));
            let (res, _) = b.write_all(b"0123456789".to_vec()).await;
            res.unwrap();
            let reader = corio::spawn({
                let shared = shared.clone();
                async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 3];
                    // Read until nothing more comes, then park mid-read.
                    for _ in 0..100 {
                        let n = std::future::poll_fn(|cx| {
                            shared
                                .borrow_mut()
                                .as_mut()
                                .unwrap()
                                .poll_read(cx, &mut buf)
                        })
                        .await
                        .unwrap();
                        got.extend_from_slice(&buf[..n]);
                    }
                    got
                }
            });
            corio::time::sleep(Duration::from_millis(10)).await;
            assert!(!reader.is_finished(), "the reader must be parked mid-read");
            reader.abort();
            assert!(reader.await.is_err());
            // Another task takes the adapter, which has a receive armed.
            let compat = shared.borrow_mut().take().unwrap();
            let owner = corio::spawn(async move { compat.into_inner().await.unwrap() });
            let a = owner.await.unwrap();
            let (res, _) = b.write_all(b"after".to_vec()).await;
            res.unwrap();
            drop(b);
            let got = unix_read_to_eof(&a, 100).await;
            assert_eq!(got, b"after");
        })
    });
}

#[test]
fn a_task_aborted_mid_read_with_unread_bytes_hands_them_back_in_order() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let shared = Rc::new(RefCell::new(Some(Compat::with_capacity(a, 64, 4))));
            let got = Rc::new(RefCell::new(Vec::new()));
            let writer = corio::spawn({
                let data = pattern(100_000, 41);
                async move {
                    for chunk in data.chunks(100) {
                        let (res, _) = b.write_all(chunk.to_vec()).await;
                        res.unwrap();
                        corio::time::sleep(Duration::from_micros(20)).await;
                    }
                    drop(b);
                }
            });
            let reader = corio::spawn({
                let shared = shared.clone();
                let got = got.clone();
                async move {
                    let mut buf = [0u8; 7];
                    for _ in 0..1_000_000 {
                        let n = std::future::poll_fn(|cx| {
                            shared
                                .borrow_mut()
                                .as_mut()
                                .unwrap()
                                .poll_read(cx, &mut buf)
                        })
                        .await
                        .unwrap();
                        if n == 0 {
                            return;
                        }
                        got.borrow_mut().extend_from_slice(&buf[..n]);
                        corio::time::sleep(Duration::from_micros(10)).await;
                    }
                }
            });
            corio::time::sleep(Duration::from_millis(15)).await;
            reader.abort();
            let _ = reader.await;
            let compat = shared.borrow_mut().take().unwrap();
            let a = corio::spawn(async move { compat.into_inner().await.unwrap() })
                .await
                .unwrap();
            let mut all = got.borrow().clone();
            all.extend_from_slice(&unix_read_to_eof(&a, usize::MAX).await);
            writer.await.unwrap();
            let data = pattern(100_000, 41);
            assert_eq!(first_difference(&all, &data), None);
        })
    });
}

#[test]
fn a_task_aborted_mid_write_leaves_accepted_bytes_for_into_inner_to_flush() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let shared = Rc::new(RefCell::new(Some(Compat::with_capacity(a, 4, 100_000))));
            let accepted = Rc::new(Cell::new(0usize));
            let data = Rc::new(pattern(16 << 20, 43));
            let writer = corio::spawn({
                let shared = shared.clone();
                let accepted = accepted.clone();
                let data = data.clone();
                async move {
                    for _ in 0..1_000_000 {
                        let at = accepted.get();
                        if at == data.len() {
                            return;
                        }
                        let end = (at + 50_000).min(data.len());
                        let n = std::future::poll_fn(|cx| {
                            shared
                                .borrow_mut()
                                .as_mut()
                                .unwrap()
                                .poll_write(cx, &data[at..end])
                        })
                        .await
                        .unwrap();
                        accepted.set(at + n);
                    }
                }
            });
            corio::time::sleep(Duration::from_millis(20)).await;
            assert!(!writer.is_finished(), "the socket should be full by now");
            writer.abort();
            let _ = writer.await;
            let total = accepted.get();
            let compat = shared.borrow_mut().take().unwrap();
            let reader = corio::spawn(async move { unix_read_to_eof(&b, usize::MAX).await });
            let a = corio::spawn(async move { compat.into_inner().await.unwrap() })
                .await
                .unwrap();
            a.shutdown(Shutdown::Write).unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), total, "accepted and delivered differ");
            assert_eq!(first_difference(&got, &data[..total]), None);
        })
    });
}

// ---------------------------------------------------------------- write errors

#[test]
fn a_send_error_is_reported_once_then_the_compat_goes_on() {
    use tokio::io::AsyncWriteExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            let mut compat = Compat::new(a);
            compat.write_all(b"doomed").await.unwrap();
            let e = compat.flush().await.expect_err("flush to a closed peer");
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
            // Later calls fail again (the peer is still gone) rather than
            // hang.
            let r = corio::time::timeout(Duration::from_secs(5), async {
                match compat.write_all(b"more").await {
                    Ok(()) => compat.flush().await,
                    e => e,
                }
            })
            .await
            .expect("a write after an error hung");
            assert!(r.is_err());
        })
    });
}

// ---------------------------------------------------------------- runtimes

#[test]
fn a_receive_armed_when_its_runtime_shut_down_does_not_surface_as_an_error() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        let (a, b) = UnixStream::pair().unwrap();
        let mut compat = Compat::new(a);
        let rt = corio::Runtime::new().unwrap();
        rt.block_on(async {
            let mut buf = [0u8; 8];
            let r = corio::time::timeout(Duration::from_millis(2), compat.read(&mut buf)).await;
            assert!(r.is_err());
        });
        // The default shutdown cancels the armed receive (nothing received).
        drop(rt);
        corio::block_on(async {
            let (res, _) = b.write_all(b"next runtime".to_vec()).await;
            res.unwrap();
            drop(b);
            let mut got = Vec::new();
            let r = corio::time::timeout(Duration::from_secs(5), compat.read_to_end(&mut got))
                .await
                .expect("read hung");
            r.unwrap();
            assert_eq!(got, b"next runtime");
        })
    });
}

#[test]
fn a_receive_orphaned_by_its_runtime_makes_reads_fail_not_hang() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        let (a, b) = UnixStream::pair().unwrap();
        let mut compat = Compat::new(a);
        let rt = corio::Runtime::new().unwrap();
        rt.block_on(async {
            let mut buf = [0u8; 8];
            let r = corio::time::timeout(Duration::from_millis(2), compat.read(&mut buf)).await;
            assert!(r.is_err());
        });
        // No grace: the armed receive is orphaned (its bytes may be lost).
        rt.shutdown_timeout(Duration::ZERO);
        corio::block_on(async {
            let (res, _) = b.write_all(b"maybe lost".to_vec()).await;
            res.unwrap();
            let mut buf = [0u8; 64];
            let r = corio::time::timeout(Duration::from_secs(2), compat.read(&mut buf))
                .await
                .expect("a read of a Compat whose receive was orphaned hangs forever");
            // Plain corio reads fail with "reads lost" in this situation.
            assert!(r.is_err(), "read returned {r:?}");
        })
    });
}

// ---------------------------------------------------------------- hyper timer

fn hyper_timer() -> corio::io::hyper::Timer {
    corio::io::hyper::Timer::new()
}

#[test]
fn hyper_timer_reset_to_an_earlier_deadline_fires_then() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_secs(30));
            // Polled once: registered at the old deadline.
            assert!(poll_once(&mut sleep).await.is_pending());
            timer.reset(&mut sleep, Instant::now() + Duration::from_millis(30));
            sleep.await;
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(30), "{took:?}");
            assert!(took < Duration::from_secs(5), "{took:?}");
        })
    });
}

#[test]
fn hyper_timer_reset_to_a_later_deadline_does_not_fire_at_the_old_one() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_millis(20));
            assert!(poll_once(&mut sleep).await.is_pending());
            timer.reset(&mut sleep, start + Duration::from_millis(200));
            sleep.await;
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(200), "fired early: {took:?}");
        })
    });
}

#[test]
fn hyper_timer_reset_before_the_first_poll_and_after_completion() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            // Never polled, reset from "never" territory to soon.
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::MAX);
            timer.reset(&mut sleep, Instant::now() + Duration::from_millis(20));
            sleep.as_mut().await;
            assert!(start.elapsed() >= Duration::from_millis(20));
            assert!(start.elapsed() < Duration::from_secs(5));
            // Completed, then reset again: it waits anew.
            let again = Instant::now();
            timer.reset(&mut sleep, again + Duration::from_millis(40));
            sleep.as_mut().await;
            let took = again.elapsed();
            assert!(took >= Duration::from_millis(40), "{took:?}");
        })
    });
}

#[test]
fn hyper_timer_reset_many_times_while_pending_fires_once_at_the_last_deadline() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_millis(5));
            for i in 0..200u64 {
                assert!(
                    poll_once(&mut sleep).await.is_pending(),
                    "fired at reset {i}"
                );
                timer.reset(
                    &mut sleep,
                    Instant::now() + Duration::from_millis(5 + i % 3),
                );
            }
            timer.reset(&mut sleep, Instant::now() + Duration::from_millis(50));
            let last = Instant::now();
            sleep.await;
            assert!(last.elapsed() >= Duration::from_millis(50));
            assert!(start.elapsed() < Duration::from_secs(10));
        })
    });
}

#[test]
fn hyper_timer_sleeps_dropped_before_or_after_polling_leave_the_runtime_sound() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            for _ in 0..1000 {
                drop(timer.sleep(Duration::from_millis(1)));
            }
            for _ in 0..1000 {
                let mut s = timer.sleep(Duration::from_secs(60));
                assert!(poll_once(&mut s).await.is_pending());
                drop(s);
            }
            // The runtime does not wake for the dropped 60 s sleeps, and a
            // new sleep still works.
            let start = Instant::now();
            timer.sleep(Duration::from_millis(10)).await;
            assert!(start.elapsed() < Duration::from_secs(5));
        })
    });
}

/// A sleep reset to an earlier deadline without being polled again must
/// still wake the task that last polled it (tokio's `Sleep::reset`, the
/// reference for hyper's timers, keeps the registration).
#[test]
fn hyper_timer_reset_wakes_the_task_that_last_polled_it() {
    use hyper::rt::Timer as _;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let timer = hyper_timer();
            let mut sleep = timer.sleep(Duration::from_secs(30));
            let mut polled = false;
            let woke = corio::time::timeout(
                Duration::from_secs(2),
                std::future::poll_fn(|cx| {
                    if polled {
                        // Woken: by the sleep (nothing else wakes us).
                        return Poll::Ready(());
                    }
                    polled = true;
                    assert!(sleep.as_mut().poll(cx).is_pending());
                    timer.reset(&mut sleep, Instant::now() + Duration::from_millis(20));
                    Poll::Pending
                }),
            )
            .await;
            assert!(
                woke.is_ok(),
                "a pending sleep reset to 20 ms never woke its task"
            );
        })
    });
}
