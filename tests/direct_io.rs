//! Direct I/O: `OpenOptions::direct` and `buf::AlignedBuf`; misaligned
//! buffers, lengths and offsets are refused with a message naming the
//! alignment, before the kernel's bare EINVAL.

mod common;

use common::*;
use corio::buf::{AlignedBuf, IoBuf};
use corio::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Open `path` for direct I/O, or `None` where its file system has none
/// (the test then has nothing to check).
async fn open_direct(path: &Path) -> Option<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .direct(true)
        .open(path)
        .await
    {
        Ok(f) => Some(f),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            eprintln!("no direct I/O on {path:?}: {e}");
            None
        }
        Err(e) => panic!("opening {path:?} for direct I/O: {e}"),
    }
}

#[test]
fn aligned_buf_is_aligned_zeroed_and_bounded() {
    for align in [512usize, 4096, 65536] {
        let mut buf = AlignedBuf::with_capacity(3 * align, align);
        assert_eq!(buf.stable_ptr() as usize % align, 0);
        assert_eq!(
            (buf.len(), buf.capacity(), buf.align()),
            (0, 3 * align, align)
        );
        assert_eq!(buf.extend_from_slice(&vec![1u8; 4 * align]), 3 * align);
        assert!(buf.iter().all(|&b| b == 1));
        buf.set_len(usize::MAX);
        assert_eq!(buf.len(), 3 * align);
        buf.clear();
        buf.set_len(10);
        assert_eq!(&buf[..], &[1u8; 10]);
    }
    let fresh = {
        let mut b = AlignedBuf::with_capacity(4096, 4096);
        b.set_len(4096);
        b
    };
    assert!(fresh.iter().all(|&b| b == 0), "new memory reads as zeros");
    let empty = AlignedBuf::with_capacity(0, 4096);
    assert!(empty.is_empty() && empty.capacity() == 0);
}

#[test]
#[should_panic(expected = "power of two")]
fn aligned_buf_refuses_an_alignment_that_is_not_a_power_of_two() {
    let _ = AlignedBuf::with_capacity(4096, 3000);
}

#[test]
fn direct_reads_and_writes_of_aligned_buffers_round_trip() {
    let data = pattern(64 * 1024, 3);
    let (dir, path) = temp_file(&data);
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let Some(file) = open_direct(&path).await else {
                return;
            };
            let meta = file.metadata().await.unwrap();
            let align = meta
                .direct_io_align()
                .map_or(4096, |(m, o)| m.max(o) as usize)
                .max(4096);
            let (res, buf) = file
                .read_at(AlignedBuf::with_capacity(2 * align, align), align as u64)
                .await;
            assert_eq!(res.unwrap(), 2 * align);
            assert_eq!(&buf[..], &data[align..3 * align]);
            let mut out = AlignedBuf::with_capacity(align, align);
            out.extend_from_slice(&pattern(align, 9));
            let (res, _) = file.write_at(out, 0).await;
            assert_eq!(res.unwrap(), align);
            let (res, bufs) = file
                .readv_at(
                    vec![
                        AlignedBuf::with_capacity(align, align),
                        AlignedBuf::with_capacity(align, align),
                    ],
                    0,
                )
                .await;
            assert_eq!(res.unwrap(), 2 * align);
            assert_eq!(&bufs[0][..], &pattern(align, 9)[..]);
            assert_eq!(&bufs[1][..], &data[align..2 * align]);
            file.close().await.unwrap();
            drop(dir);
        })
    });
}

#[test]
fn misaligned_address_length_or_offset_is_invalid_input_naming_the_alignment() {
    let (_dir, path) = temp_file(&pattern(64 * 1024, 1));
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let Some(file) = open_direct(&path).await else {
                return;
            };
            let check = |res: io::Result<usize>| {
                let e = res.unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
                let msg = e.to_string();
                assert!(
                    msg.contains("aligned to") && msg.contains("multiples of"),
                    "{msg}"
                );
            };
            // Address: a Vec's memory is only 16-byte aligned; slice 1 byte in.
            let (res, _) = file
                .read_at(AlignedBuf::with_capacity(8192, 4096).slice(1..4097), 0)
                .await;
            check(res);
            // Length: not a multiple of the block.
            let (res, _) = file
                .read_at(AlignedBuf::with_capacity(4096 + 100, 4096), 0)
                .await;
            check(res);
            // Offset.
            let (res, _) = file
                .read_at(AlignedBuf::with_capacity(4096, 4096), 100)
                .await;
            check(res);
            let mut out = AlignedBuf::with_capacity(4096, 4096);
            out.set_len(1000);
            let (res, _) = file.write_at(out, 0).await;
            check(res);
            let (res, _) = file
                .readv_at(
                    vec![
                        AlignedBuf::with_capacity(4096, 4096),
                        AlignedBuf::with_capacity(100, 4096),
                    ],
                    0,
                )
                .await;
            check(res);
            // Nothing was written by the refused write.
            let (res, buf) = file.read_at(AlignedBuf::with_capacity(4096, 4096), 0).await;
            assert_eq!(res.unwrap(), 4096);
            assert_eq!(&buf[..], &pattern(64 * 1024, 1)[..4096]);
        })
    });
}

#[test]
fn custom_flags_o_direct_is_checked_the_same_way() {
    let (_dir, path) = temp_file(&pattern(8192, 2));
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let opened = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT)
                .open(&path)
                .await;
            let Ok(file) = opened else { return };
            let (res, _) = file.read_at(AlignedBuf::with_capacity(4096, 4096), 1).await;
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        })
    });
}

#[test]
fn buffered_files_accept_any_buffer() {
    let (_dir, path) = temp_file(&pattern(1000, 4));
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let file = File::open(&path).await.unwrap();
            let (res, buf) = file
                .read_at(AlignedBuf::with_capacity(100, 4096).slice(0..77), 3)
                .await;
            assert_eq!(res.unwrap(), 77);
            assert_eq!(&buf.into_inner()[..], &pattern(1000, 4)[3..80]);
        })
    });
}
