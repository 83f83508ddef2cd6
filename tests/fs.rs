//! Files: File and OpenOptions, positioned reads and writes with owned
//! buffers of every supported type, error kinds, and thousands of concurrent
//! reads on a ring of 8 entries.

mod common;

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use corio::buf::{IoBuf, Slice};
use corio::fs::{File, OpenOptions};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn create_write_sync_read_close_roundtrip() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roundtrip.txt");
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await
                .expect("open rw");
            let (res, buf) = f.write_all_at(b"hello world".to_vec(), 0).await;
            res.expect("write_all_at");
            assert_eq!(&buf[..], b"hello world", "the buffer comes back intact");
            f.sync_all().await.expect("sync_all");
            f.sync_data().await.expect("sync_data");

            let (res, buf) = f.read_at(vec![0u8; 11], 0).await;
            assert_eq!(res.expect("read_at"), 11);
            assert_eq!(&buf[..], b"hello world");

            let (res, buf) = f.read_exact_at(vec![0u8; 5], 6).await;
            res.expect("read_exact_at");
            assert_eq!(&buf[..], b"world");

            let (res, n) = {
                let (res, buf) = f.write_at(b"HELLO".to_vec(), 0).await;
                (res, buf.len())
            };
            assert_eq!(res.expect("write_at"), 5);
            assert_eq!(n, 5);

            f.close().await.expect("close");

            // Reopen read-only: File::open.
            let f = File::open(&path).await.expect("File::open");
            let (res, buf) = f.read_at(Vec::with_capacity(64), 0).await;
            assert_eq!(res.expect("read_at"), 11);
            assert_eq!(&buf[..], b"HELLO world");
            // At EOF a read gives 0.
            let (res, buf) = f.read_at(Vec::with_capacity(8), 11).await;
            assert_eq!(res.expect("read at EOF"), 0);
            assert!(buf.is_empty());
            f.close().await.expect("close");
        });
        assert_eq!(std::fs::read(&path).unwrap(), b"HELLO world");
    });
}

#[test]
fn file_create_truncates_and_create_new_refuses_existing() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(&[7u8; 100]);
        corio::block_on(async {
            let f = File::create(&path).await.expect("File::create");
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                0,
                "File::create truncates"
            );
            let (res, _) = f.write_all_at("created", 0).await;
            res.expect("write_all_at &'static str");
            f.close().await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"created");

            let err = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .expect_err("create_new on an existing file must fail");
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);

            let fresh = path.with_file_name("fresh.txt");
            let f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&fresh)
                .await
                .expect("create_new on a new path");
            drop(f);
            assert!(fresh.exists());

            let missing = path.with_file_name("missing.txt");
            let err = File::open(&missing)
                .await
                .expect_err("opening a missing file fails");
            assert_eq!(err.kind(), ErrorKind::NotFound);
        });
    });
}

#[test]
fn append_and_truncate_options() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"abc");
        corio::block_on(async {
            let f = OpenOptions::new()
                .append(true)
                .open(&path)
                .await
                .expect("append");
            // With O_APPEND the kernel writes at the end whatever the offset.
            let (res, _) = f.write_all_at(b"def".to_vec(), 0).await;
            res.expect("append write");
            f.close().await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"abcdef");

            let f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&path)
                .await
                .expect("truncate");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
            drop(f);
        });
    });
}

#[test]
fn mode_and_custom_flags() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mode.txt");
        let link = dir.path().join("link.txt");
        corio::block_on(async {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .mode(0o600)
                .open(&path)
                .await
                .expect("open with mode");
            f.close().await.unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);

            std::os::unix::fs::symlink(&path, &link).unwrap();
            let err = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&link)
                .await
                .expect_err("O_NOFOLLOW on a symlink fails");
            assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        });
    });
}

#[test]
fn reading_a_write_only_file_is_an_error_not_a_panic() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"some content");
        corio::block_on(async {
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .await
                .expect("open write-only");
            let (res, buf) = f.read_at(vec![0u8; 8], 0).await;
            let err = res.expect_err("reading a write-only file must fail");
            assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
            assert!(buf.capacity() >= 8, "the buffer comes back");
            let (res, _) = f.read_exact_at(vec![0u8; 4], 0).await;
            assert_eq!(
                res.expect_err("read_exact_at").raw_os_error(),
                Some(libc::EBADF)
            );

            // And File::create opens write-only, as std's does.
            let g = File::create(path.with_file_name("wo.txt")).await.unwrap();
            let (res, _) = g.read_at(vec![0u8; 8], 0).await;
            assert_eq!(
                res.expect_err("read of File::create").raw_os_error(),
                Some(libc::EBADF)
            );
        });
    });
}

#[test]
fn read_exact_at_past_eof_is_unexpected_eof() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"0123456789");
        corio::block_on(async {
            let f = File::open(&path).await.unwrap();
            let (res, _) = f.read_exact_at(vec![0u8; 20], 0).await;
            assert_eq!(
                res.expect_err("20 bytes from a 10-byte file").kind(),
                ErrorKind::UnexpectedEof
            );
            let (res, _) = f.read_exact_at(vec![0u8; 4], 8).await;
            assert_eq!(
                res.expect_err("crossing EOF").kind(),
                ErrorKind::UnexpectedEof
            );
            let (res, _) = f.read_exact_at(vec![0u8; 4], 100).await;
            assert_eq!(
                res.expect_err("beyond EOF").kind(),
                ErrorKind::UnexpectedEof
            );
            // Exactly up to EOF is fine.
            let (res, buf) = f.read_exact_at(vec![0u8; 4], 6).await;
            res.expect("read_exact_at up to EOF");
            assert_eq!(&buf[..], b"6789");
        });
    });
}

#[test]
fn write_all_and_read_exact_of_a_large_buffer() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let data = pattern(3 * 1024 * 1024 + 17, 9);
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            let (res, back) = f.write_all_at(data.clone(), 4096).await;
            res.expect("write_all_at 3 MiB");
            assert_eq!(back, data);
            let (res, got) = f.read_exact_at(vec![0u8; data.len()], 4096).await;
            res.expect("read_exact_at 3 MiB");
            assert!(
                got == data,
                "content differs at {:?}",
                first_difference(&got, &data)
            );
            // The hole before 4096 reads as zeros.
            let (res, hole) = f.read_exact_at(vec![1u8; 4096], 0).await;
            res.unwrap();
            assert!(hole.iter().all(|&b| b == 0));
        });
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            4096 + data.len() as u64
        );
    });
}

#[test]
fn offsets_beyond_i64_max_are_invalid_input() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"data");
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            for pos in [i64::MAX as u64 + 1, u64::MAX] {
                let (res, _) = f.read_at(vec![0u8; 4], pos).await;
                assert_eq!(
                    res.expect_err("read_at").kind(),
                    ErrorKind::InvalidInput,
                    "pos {pos}"
                );
                let (res, _) = f.write_at(b"xy".to_vec(), pos).await;
                assert_eq!(
                    res.expect_err("write_at").kind(),
                    ErrorKind::InvalidInput,
                    "pos {pos}"
                );
                let (res, _) = f.read_exact_at(vec![0u8; 4], pos).await;
                assert_eq!(
                    res.expect_err("read_exact_at").kind(),
                    ErrorKind::InvalidInput
                );
                let (res, _) = f.write_all_at(b"xy".to_vec(), pos).await;
                assert_eq!(
                    res.expect_err("write_all_at").kind(),
                    ErrorKind::InvalidInput
                );
            }
        });
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"data",
            "nothing was written"
        );
    });
}

#[test]
fn lengths_beyond_u32_max_are_invalid_input() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"small file");
        let len = u32::MAX as usize + 17;
        // A read-only, never-touched mapping: costs address space, not memory.
        // If the library truncated the length to u32 the kernel would see 16 bytes.
        // SAFETY: anonymous private mapping; we only hand out a shared slice of it,
        // which is readable (zero pages) for its whole length and is never unmapped.
        let big: &'static [u8] = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED, "mmap of {len} bytes");
            std::slice::from_raw_parts(p as *const u8, len)
        };
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            let (res, back) = f.write_at(big, 0).await;
            assert_eq!(
                res.expect_err("write of > u32::MAX bytes").kind(),
                ErrorKind::InvalidInput
            );
            assert_eq!(back.len(), len);

            // A > 4 GiB Vec only reserves address space until written.
            let mut v: Vec<u8> = Vec::new();
            if v.try_reserve_exact(len).is_ok() {
                let (res, v) = f.read_at(v, 0).await;
                assert_eq!(
                    res.expect_err("read into > u32::MAX bytes").kind(),
                    ErrorKind::InvalidInput
                );
                assert!(v.is_empty());
            } else {
                println!("skipped the read half: cannot reserve {len} bytes");
            }
        });
        assert_eq!(std::fs::read(&path).unwrap(), b"small file");
    });
}

#[test]
fn vec_spare_capacity_is_read_into_and_len_is_set() {
    with_time_limit(LIMIT, || {
        let data = pattern(100, 1);
        let (_dir, path) = temp_file(&data);
        corio::block_on(async {
            let f = File::open(&path).await.unwrap();
            let (res, buf) = f.read_at(Vec::with_capacity(64), 0).await;
            assert_eq!(res.unwrap(), 64);
            assert_eq!(buf.len(), 64);
            assert_eq!(&buf[..], &data[..64]);

            // Near EOF: fewer bytes, len is what was read.
            let (res, buf) = f.read_at(Vec::with_capacity(64), 90).await;
            assert_eq!(res.unwrap(), 10);
            assert_eq!(buf.len(), 10);
            assert_eq!(&buf[..], &data[90..]);

            // A read writes from the start of the buffer up to its capacity.
            let mut v = Vec::with_capacity(16);
            v.extend_from_slice(b"xyz");
            let cap = v.capacity();
            let (res, buf) = f.read_at(v, 0).await;
            assert_eq!(res.unwrap(), cap);
            assert_eq!(buf.len(), cap);
            assert_eq!(&buf[..], &data[..cap]);

            // read_exact_at with spare capacity fills the capacity.
            let (res, buf) = f.read_exact_at(Vec::with_capacity(32), 10).await;
            res.unwrap();
            assert_eq!(&buf[..], &data[10..42]);
        });
    });
}

#[test]
fn slices_are_written_from_and_read_into() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slice.bin");
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await
                .unwrap();
            let data = b"0123456789".to_vec();
            let s: Slice<Vec<u8>> = data.slice(2..5);
            let (res, s) = f.write_all_at(s, 0).await;
            res.expect("write slice");
            assert_eq!(
                s.into_inner(),
                b"0123456789".to_vec(),
                "into_inner gives the whole buffer"
            );
            assert_eq!(std::fs::read(&path).unwrap(), b"234");

            let (res, s) = f.write_at(b"abcdef".to_vec().slice(3..), 3).await;
            assert_eq!(res.unwrap(), 3);
            assert_eq!(&s.into_inner()[..], b"abcdef");
            let (res, s) = f.write_at(b"XY".to_vec().slice(..), 6).await;
            assert_eq!(res.unwrap(), 2);
            drop(s);
            assert_eq!(std::fs::read(&path).unwrap(), b"234defXY");

            // Read into the middle of a buffer.
            let buf = vec![b'.'; 10];
            let (res, s) = f.read_exact_at(buf.slice(2..5), 3).await;
            res.expect("read_exact_at into slice");
            assert_eq!(&s.into_inner()[..], b"..def.....");

            let buf = vec![b'.'; 10];
            let (res, s) = f.read_at(buf.slice(4..=6), 0).await;
            assert_eq!(res.unwrap(), 3);
            assert_eq!(&s.into_inner()[..], b"....234...");
        });
    });
}

#[test]
fn bytes_str_static_slice_and_boxed_slice_buffers() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bufs.bin");
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await
                .unwrap();
            let (res, _) = f.write_all_at("str|", 0).await;
            res.unwrap();
            let stat: &'static [u8] = b"static|";
            let (res, _) = f.write_all_at(stat, 4).await;
            res.unwrap();
            let (res, b) = f.write_all_at(Bytes::from_static(b"bytes|"), 11).await;
            res.unwrap();
            assert_eq!(&b[..], b"bytes|");
            let mut bm = BytesMut::with_capacity(16);
            bm.extend_from_slice(b"bytesmut|");
            let (res, _) = f.write_all_at(bm, 17).await;
            res.unwrap();
            let boxed: Box<[u8]> = b"boxed".to_vec().into_boxed_slice();
            let (res, _) = f.write_all_at(boxed, 26).await;
            res.unwrap();
            let expected = b"str|static|bytes|bytesmut|boxed";
            assert_eq!(std::fs::read(&path).unwrap(), expected);

            // Reads into BytesMut (spare capacity) and Box<[u8]> (its length).
            let bm = BytesMut::with_capacity(10);
            let cap = bm.capacity();
            let (res, bm) = f.read_at(bm, 0).await;
            let n = res.unwrap();
            assert_eq!(n, cap.min(expected.len()));
            assert_eq!(bm.len(), n);
            assert_eq!(&bm[..], &expected[..n]);

            let boxed: Box<[u8]> = vec![0u8; 6].into_boxed_slice();
            let (res, boxed) = f.read_at(boxed, 11).await;
            assert_eq!(res.unwrap(), 6);
            assert_eq!(&boxed[..], b"bytes|");

            let (res, bm) = f.read_exact_at(BytesMut::zeroed(5), 26).await;
            res.unwrap();
            assert_eq!(&bm[..], b"boxed");
        });
    });
}

#[test]
fn many_reads_and_writes_of_one_file_run_at_once() {
    with_time_limit(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("concurrent.bin");
        corio::block_on(async {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await
                .unwrap();
            // &self methods: 200 writes of distinct records at once.
            let writes = (0..200).map(|i| f.write_all_at(record(i), (i * 16) as u64));
            for (res, _) in join_all(writes).await {
                res.expect("concurrent write");
            }
            let reads = (0..200).map(|i| f.read_exact_at(vec![0u8; 16], (i * 16) as u64));
            for (i, (res, buf)) in join_all(reads).await.into_iter().enumerate() {
                res.expect("concurrent read");
                assert_eq!(buf, record(i));
            }
        });
    });
}

fn thousands_of_reads_on_a_ring_of_8(spawned: bool) {
    const N: usize = 4000;
    let (_dir, path) = temp_file_of_records(N);
    let rt = corio::Builder::new()
        .entries(8)
        .build()
        .expect("ring of 8 entries");
    let el = rt.block_on(async {
        let f = Rc::new(File::open(&path).await.expect("open"));
        let t = Instant::now();
        let results: Vec<(usize, std::io::Result<usize>, Vec<u8>)> = if spawned {
            let handles: Vec<_> = (0..N)
                .map(|k| {
                    // scrambled offsets
                    let i = (k * 7919) % N;
                    let f = f.clone();
                    corio::spawn(async move {
                        let (res, buf) = f.read_at(Vec::with_capacity(16), (i * 16) as u64).await;
                        (i, res, buf)
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(N);
            for h in handles {
                out.push(h.await.expect("read task"));
            }
            out
        } else {
            // One task queues all 4000 reads in a single poll: the SQ (8 entries)
            // fills up again and again and must be drained by submitting.
            let f2 = f.clone();
            let reads = (0..N).map(move |k| {
                let i = (k * 7919) % N;
                let f = f2.clone();
                async move {
                    let (res, buf) = f.read_at(Vec::with_capacity(16), (i * 16) as u64).await;
                    (i, res, buf)
                }
            });
            join_all(reads).await
        };
        let el = t.elapsed();
        assert_eq!(results.len(), N);
        let mut seen = vec![false; N];
        for (i, res, buf) in results {
            assert_eq!(res.expect("read_at"), 16, "read {i}");
            assert_eq!(buf, record(i), "read {i} returned the wrong content");
            assert!(!seen[i]);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(corio::metrics().ops_in_flight, 0);
        el
    });
    println!(
        "{N} concurrent reads ({}) on a ring of 8 entries: {el:?}",
        if spawned {
            "one task each"
        } else {
            "one task, join_all"
        }
    );
}

#[test]
fn thousands_of_concurrent_reads_on_a_ring_of_8_entries_spawned() {
    with_time_limit(LIMIT, || thousands_of_reads_on_a_ring_of_8(true));
}

#[test]
fn thousands_of_concurrent_reads_on_a_ring_of_8_entries_one_task() {
    with_time_limit(LIMIT, || thousands_of_reads_on_a_ring_of_8(false));
}
