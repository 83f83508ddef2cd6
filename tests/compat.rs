//! `io::Compat`: corio streams behind tokio's and futures' poll-based
//! traits — every byte arrives once, in order, through dropped reads,
//! partial and pending writes, and a round trip back to corio.

#![cfg(all(feature = "tokio-io", feature = "futures-io"))]

mod common;

use common::*;
use corio::io::Compat;
use corio::net::{TcpListener, TcpStream, UnixStream};
use std::io;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = corio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (connect.await.unwrap(), server)
}

#[test]
fn tokio_traits_carry_megabytes_both_ways() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            let data = pattern(3 << 20, 1);
            let echo = corio::spawn(async move {
                // The peer: plain corio, echoing until end of stream.
                let mut buf = Vec::with_capacity(64 * 1024);
                loop {
                    let (res, got) = b.read(buf).await;
                    if res.unwrap() == 0 {
                        b.shutdown(std::net::Shutdown::Write).unwrap();
                        return;
                    }
                    let (res, got) = b.write_all(got).await;
                    res.unwrap();
                    buf = got;
                }
            });
            let mut compat = Compat::with_capacity(a, 4096, 10_000);
            let (mut rd, mut wr) = tokio::io::split(&mut compat);
            let write = async {
                wr.write_all(&data).await.unwrap();
                wr.shutdown().await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                rd.read_to_end(&mut got).await.unwrap();
                got
            };
            let (_, got) = futures_util::future::join(write, read).await;
            assert_eq!(first_difference(&got, &data), None);
            echo.await.unwrap();
        })
    });
}

#[test]
fn buffered_lines_come_out_through_async_buf_read() {
    use tokio::io::AsyncBufReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (res, _) = b.write_all(b"first line\nsecond\nthird".to_vec()).await;
            res.unwrap();
            b.shutdown(std::net::Shutdown::Write).unwrap();
            let mut lines = Compat::new(a).lines();
            assert_eq!(
                lines.next_line().await.unwrap().as_deref(),
                Some("first line")
            );
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("third"));
            assert_eq!(lines.next_line().await.unwrap(), None);
        })
    });
}

#[test]
fn reads_dropped_by_timeouts_lose_no_byte() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            let data = pattern(1 << 20, 9);
            let writer = corio::spawn({
                let data = data.clone();
                async move {
                    for chunk in data.chunks(1000) {
                        let (res, _) = b.write_all(chunk.to_vec()).await;
                        res.unwrap();
                        corio::time::sleep(Duration::from_micros(30)).await;
                    }
                    b.shutdown(std::net::Shutdown::Write).unwrap();
                }
            });
            let mut compat = Compat::with_capacity(a, 512, 512);
            let mut got = Vec::new();
            let mut buf = [0u8; 700];
            for i in 0..2_000_000u64 {
                let t = Duration::from_micros(i % 40);
                match corio::time::timeout(t, compat.read(&mut buf)).await {
                    Ok(Ok(0)) => break,
                    Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Ok(Err(e)) => panic!("read: {e}"),
                    Err(_) => {}
                }
            }
            assert_eq!(first_difference(&got, &data), None);
            writer.await.unwrap();
        })
    });
}

#[test]
fn a_pending_write_consumes_nothing_and_every_accepted_byte_arrives() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            let mut compat = Compat::with_capacity(a, 4096, 8192);
            let data = pattern(64 << 20, 2);
            // Write without anyone reading until poll_write says Pending.
            let mut accepted = 0usize;
            let mut pendings = 0;
            for _ in 0..1_000_000 {
                let r = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(compat.poll_write(cx, &data[accepted..accepted + 4096]))
                })
                .await;
                match r {
                    std::task::Poll::Ready(Ok(n)) => accepted += n,
                    std::task::Poll::Ready(Err(e)) => panic!("write: {e}"),
                    std::task::Poll::Pending => {
                        pendings += 1;
                        if pendings > 3 {
                            break;
                        }
                        corio::nop().await.unwrap();
                    }
                }
                if accepted + 4096 > data.len() {
                    break;
                }
            }
            assert!(
                pendings > 0,
                "the socket never filled: {accepted} bytes accepted"
            );
            let reader = corio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let (res, buf) = b.read(Vec::with_capacity(1 << 20)).await;
                    if res.unwrap() == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf);
                }
            });
            std::future::poll_fn(|cx| compat.poll_shutdown(cx))
                .await
                .unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), accepted, "accepted and delivered differ");
            assert_eq!(first_difference(&got, &data[..accepted]), None);
        })
    });
}

#[test]
fn a_write_error_surfaces_at_a_later_write_or_flush() {
    use tokio::io::AsyncWriteExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            drop(b);
            let mut compat = Compat::new(a);
            let mut failed = None;
            for _ in 0..10_000 {
                let r = compat.write_all(&[7u8; 4096]).await;
                let r = match r {
                    Ok(()) => compat.flush().await,
                    e => e,
                };
                if let Err(e) = r {
                    failed = Some(e);
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
            let e = failed.expect("writes to a closed peer kept succeeding");
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ),
                "{e}"
            );
        })
    });
}

#[test]
fn into_inner_flushes_and_hands_unread_bytes_back_to_the_stream() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            let (res, _) = b.write_all(b"hello world, and the rest".to_vec()).await;
            res.unwrap();
            let mut compat = Compat::new(a);
            // Everything arrived in the internal buffer; only 6 bytes used.
            let filled = compat.fill_buf().await.unwrap().len();
            assert!(filled >= 6);
            std::pin::Pin::new(&mut compat).consume(6);
            compat.write_all(b"staged reply").await.unwrap();
            let a = compat.into_inner().await.unwrap();
            // The unread bytes come first from plain corio reads.
            let mut got = Vec::new();
            while got.len() < 19 {
                let (res, buf) = a.read(Vec::with_capacity(64)).await;
                assert!(res.unwrap() > 0);
                got.extend_from_slice(&buf);
            }
            assert_eq!(&got, b"world, and the rest");
            // The staged write was flushed.
            let (res, buf) = b.read(Vec::with_capacity(64)).await;
            res.unwrap();
            assert_eq!(&buf, b"staged reply");
        })
    });
}

#[test]
fn into_inner_with_a_receive_still_armed_keeps_its_bytes_in_order() {
    use tokio::io::AsyncReadExt;
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = tcp_pair().await;
            let mut compat = Compat::new(a);
            // Arm a receive (no data yet) and abandon the read.
            let mut buf = [0u8; 16];
            let r = corio::time::timeout(Duration::from_millis(5), compat.read(&mut buf)).await;
            assert!(r.is_err());
            let a = compat.into_inner().await.unwrap();
            let (res, _) = b.write_all(b"after the round trip".to_vec()).await;
            res.unwrap();
            let (res, got) = a.read(Vec::with_capacity(64)).await;
            let n = res.unwrap();
            assert_eq!(&got[..n], &b"after the round trip"[..n]);
        })
    });
}

#[test]
fn futures_io_traits_work_too() {
    use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut left = Compat::new(a);
            let mut right = Compat::new(b);
            left.write_all(b"one\ntwo\n").await.unwrap();
            left.close().await.unwrap();
            let mut line = String::new();
            right.read_line(&mut line).await.unwrap();
            assert_eq!(line, "one\n");
            let mut rest = Vec::new();
            right.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"two\n");
        })
    });
}
