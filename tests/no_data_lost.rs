//! No data lost: a read into a slice that starts past its buffer's
//! initialised length is refused before it consumes anything (the bytes
//! would be unreachable), and a file that is a byte stream (a FIFO) keeps
//! the bytes of a cancelled read for the next read, as a socket does.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use common::*;
use corio::buf::IoBuf;
use corio::fs::File;
use corio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_stream_read_into_a_slice_past_the_initialised_length_is_refused_and_consumes_nothing() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            peer.write_all(b"hello").unwrap();
            sleep(Duration::from_millis(20)).await;

            // An empty Vec sliced from 10: bytes read there would follow 10
            // never-written bytes, past what `into_inner().len()` can show.
            let (res, slice) = stream.read(Vec::with_capacity(64).slice(10..20)).await;
            let err = res.expect_err("a slice past the initialised length is refused");
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            println!("refused: {err}");
            assert!(
                err.to_string().contains("10"),
                "the message names the offset: {err}"
            );
            assert_eq!(slice.into_inner().len(), 0);

            // Nothing was consumed: the next read gets every byte.
            let (res, buf) = stream.read(Vec::with_capacity(64)).await;
            assert_eq!(res.expect("read"), 5);
            assert_eq!(buf, b"hello");

            // A slice that starts at the initialised length is fine, and the
            // bytes extend the buffer.
            peer.write_all(b" world").unwrap();
            let (res, slice) = stream.read(buf.slice(5..64)).await;
            assert_eq!(res.expect("read"), 6);
            assert_eq!(slice.into_inner(), b"hello world");
        });
    });
}

#[test]
fn rescued_bytes_are_not_consumed_by_a_refused_slice() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            // A read that receives bytes and is dropped before it is
            // collected: its bytes are rescued for the next read.
            let mut read = Box::pin(stream.read(Vec::with_capacity(64)));
            assert!(poll_once(&mut read).await.is_pending());
            peer.write_all(b"rescued").unwrap();
            sleep(Duration::from_millis(20)).await;
            drop(read);

            let (res, _) = stream.read(Vec::with_capacity(64).slice(3..)).await;
            assert_eq!(
                res.expect_err("refused").kind(),
                std::io::ErrorKind::InvalidInput
            );
            let (res, buf) = stream.read(Vec::with_capacity(64)).await;
            assert_eq!(res.expect("read"), 7);
            assert_eq!(buf, b"rescued");
        });
    });
}

#[test]
fn a_file_read_into_a_slice_past_the_initialised_length_is_refused() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"0123456789");
        corio::block_on(async move {
            let file = File::open(&path).await.expect("open");
            let mut two = vec![7u8; 2];
            two.reserve(8);
            let (res, slice) = file.read_at(two.slice(4..8), 0).await;
            assert_eq!(
                res.expect_err("refused").kind(),
                std::io::ErrorKind::InvalidInput
            );
            assert_eq!(slice.into_inner(), vec![7u8; 2]);
            // From the initialised length it works.
            let mut buf = vec![7u8; 2];
            buf.reserve(8);
            let (res, slice) = file.read_at(buf.slice(2..6), 0).await;
            assert_eq!(res.expect("read"), 4);
            assert_eq!(slice.into_inner(), b"\x07\x070123");
        });
    });
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(r, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// A FIFO in a temp dir: its read end as a corio `File` (opened read-write
/// so the open does not wait for a writer) and a std writer.
fn fifo() -> (tempfile::TempDir, File, std::fs::File) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fifo");
    mkfifo(&path);
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    (dir, File::from(reader), writer)
}

#[test]
fn a_fifo_read_that_completed_before_it_was_dropped_gives_its_bytes_to_the_next_read() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, file, mut writer) = fifo();
            let mut read = Box::pin(file.read_at(Vec::with_capacity(64), 0));
            assert!(poll_once(&mut read).await.is_pending(), "the FIFO is empty");
            writer.write_all(b"abc").unwrap();
            // The kernel completes the read while its future is not polled.
            sleep(Duration::from_millis(30)).await;
            drop(read);

            let (res, buf) = timeout(
                Duration::from_secs(2),
                file.read_at(Vec::with_capacity(64), 0),
            )
            .await
            .expect("the bytes of the dropped read come back at once");
            assert_eq!(res.expect("read"), 3);
            assert_eq!(buf, b"abc");
        });
    });
}

#[test]
fn a_fifo_read_cancelled_while_waiting_loses_nothing_that_arrives_later() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (_dir, file, mut writer) = fifo();
            for round in 0..50u8 {
                // A read that times out while the FIFO is empty...
                let timed_out = timeout(
                    Duration::from_millis(2),
                    file.read_at(Vec::with_capacity(64), 0),
                )
                .await;
                assert!(timed_out.is_err(), "round {round}: nothing was written yet");
                // ...then bytes arrive: the next read returns them, in order.
                writer.write_all(&[round, round + 1]).unwrap();
                let got = {
                    let mut got = Vec::new();
                    while got.len() < 2 {
                        let (res, buf) = timeout(
                            Duration::from_secs(2),
                            file.read_at(Vec::with_capacity(2 - got.len()), 0),
                        )
                        .await
                        .expect("data arrives");
                        res.expect("read");
                        got.extend_from_slice(&buf);
                    }
                    got
                };
                assert_eq!(got, [round, round + 1], "round {round}");
            }
        });
    });
}

#[test]
fn a_regular_file_read_is_positioned_whatever_was_dropped_before() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"0123456789");
        corio::block_on(async move {
            let file = File::open(&path).await.expect("open");
            // A dropped read of a regular file does not feed later reads:
            // every read_at reads at its own offset.
            let mut read = Box::pin(file.read_at(Vec::with_capacity(4), 0));
            let _ = poll_once(&mut read).await;
            sleep(Duration::from_millis(10)).await;
            drop(read);
            let (res, buf) = file.read_at(Vec::with_capacity(4), 6).await;
            assert_eq!(res.expect("read"), 4);
            assert_eq!(buf, b"6789");
        });
    });
}
