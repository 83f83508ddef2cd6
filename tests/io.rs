//! `corio::io`: the owned-buffer traits over every stream, `copy`,
//! `sendfile` and `splice`.

mod common;

use common::*;
use corio::fs::File;
use corio::io::{
    copy, sendfile, splice, AsyncRead, AsyncReadAt, AsyncReadExt, AsyncWrite, AsyncWriteAt,
    AsyncWriteExt,
};
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

/// Written once, for any transport: send `data`, shut down, return what
/// the other side echoed back to the end.
async fn round_trip<W, R>(mut writer: W, mut reader: R, data: Vec<u8>) -> Vec<u8>
where
    W: AsyncWrite,
    R: AsyncRead,
{
    let send = async move {
        let (res, _) = writer.write_all(data).await;
        res.unwrap();
        writer.flush().await.unwrap();
        AsyncWrite::shutdown(&mut writer).await.unwrap();
    };
    let recv = async move {
        let (res, buf) = reader.read_to_end(Vec::new()).await;
        res.unwrap();
        buf
    };
    let (_, got) = join(send, recv).await;
    got
}

async fn join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn the_traits_carry_a_megabyte_over_tcp_unix_and_their_references() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let data = pattern(1 << 20, 5);
            let (a, b) = tcp_pair().await;
            assert_eq!(round_trip(a, b, data.clone()).await, data);
            let (a, b) = tcp_pair().await;
            assert_eq!(round_trip(&a, &b, data.clone()).await, data);
            let (a, b) = UnixStream::pair().unwrap();
            assert_eq!(round_trip(a, b, data.clone()).await, data);
            let (a, b) = UnixStream::pair().unwrap();
            assert_eq!(round_trip(&a, &b, data.clone()).await, data);
        })
    });
}

#[test]
fn read_exact_fills_the_buffer_or_reports_an_early_end() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (res, _) = a.write_all(pattern(1000, 1)).await;
            res.unwrap();
            let (res, buf) = b.read_exact(Vec::with_capacity(600)).await;
            res.unwrap();
            assert_eq!(buf, pattern(1000, 1)[..600]);
            a.shutdown(std::net::Shutdown::Write).unwrap();
            let (res, buf) = b.read_exact(Vec::with_capacity(600)).await;
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
            assert_eq!(buf, pattern(1000, 1)[600..]);
        })
    });
}

#[test]
fn copy_moves_everything_between_any_reader_and_writer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let data = pattern(3 << 20, 7);
            let (mut src_w, mut src_r) = UnixStream::pair().unwrap();
            let (dst_w, mut dst_r) = tcp_pair().await;
            let feed = corio::spawn({
                let data = data.clone();
                async move {
                    let (res, _) = AsyncWriteExt::write_all(&mut src_w, data).await;
                    res.unwrap();
                    AsyncWrite::shutdown(&mut src_w).await.unwrap();
                }
            });
            let pump = corio::spawn(async move {
                let mut dst_w = dst_w;
                let n = copy(&mut src_r, &mut dst_w).await.unwrap();
                AsyncWrite::shutdown(&mut dst_w).await.unwrap();
                n
            });
            let (res, got) = dst_r.read_to_end(Vec::new()).await;
            assert_eq!(res.unwrap(), data.len());
            assert_eq!(first_difference(&got, &data), None);
            assert_eq!(pump.await.unwrap(), data.len() as u64);
            feed.await.unwrap();
        })
    });
}

#[test]
fn files_read_and_write_at_offsets_through_the_traits() {
    let (_dir, path) = temp_file(&pattern(10_000, 3));
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let file = corio::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            async fn generic<F: AsyncReadAt + AsyncWriteAt>(f: &F) -> Vec<u8> {
                let (res, _) = f.write_at(b"HELLO".to_vec(), 100).await;
                res.unwrap();
                let (res, buf) = f.read_at(Vec::with_capacity(10), 98).await;
                assert_eq!(res.unwrap(), 10);
                buf
            }
            let got = generic(&file).await;
            assert_eq!(&got[2..7], b"HELLO");
        })
    });
}

#[test]
fn sendfile_sends_a_range_of_a_file_byte_for_byte() {
    let data = pattern(5 << 20, 9);
    let (_dir, path) = temp_file(&data);
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let file = File::open(&path).await.unwrap();
            let (a, mut b) = tcp_pair().await;
            let reader = corio::spawn(async move {
                let (res, got) = b.read_to_end(Vec::new()).await;
                res.unwrap();
                got
            });
            let sent = sendfile(&file, 12345, 3 << 20, &a).await.unwrap();
            assert_eq!(sent, 3 << 20);
            // Past the end: stops at end of file.
            let sent = sendfile(&file, (5 << 20) - 100, 1000, &a).await.unwrap();
            assert_eq!(sent, 100);
            a.shutdown(std::net::Shutdown::Write).unwrap();
            let got = reader.await.unwrap();
            let mut expect = data[12345..12345 + (3 << 20)].to_vec();
            expect.extend_from_slice(&data[(5 << 20) - 100..]);
            assert_eq!(first_difference(&got, &expect), None);
            let e = sendfile(&file, u64::MAX - 10, 5, &a).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        })
    });
}

#[test]
fn splice_proxies_a_socket_to_another_until_end_of_stream() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let data = pattern(2 << 20, 11);
            let (client, proxy_in) = tcp_pair().await;
            let (proxy_out, mut server) = tcp_pair().await;
            let feed = corio::spawn({
                let data = data.clone();
                async move {
                    let (res, _) = client.write_all(data).await;
                    res.unwrap();
                    client.shutdown(std::net::Shutdown::Write).unwrap();
                    client
                }
            });
            let proxy = corio::spawn(async move {
                let mut total = 0u64;
                for _ in 0..100_000 {
                    let n = splice(&proxy_in, &proxy_out, 1 << 20).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n;
                }
                proxy_out.shutdown(std::net::Shutdown::Write).unwrap();
                total
            });
            let (res, got) = server.read_to_end(Vec::new()).await;
            res.unwrap();
            assert_eq!(first_difference(&got, &data), None);
            assert_eq!(proxy.await.unwrap(), data.len() as u64);
            drop(feed.await.unwrap());
            assert_eq!(splice(&server, &server, 0).await.unwrap(), 0);
        })
    });
}
