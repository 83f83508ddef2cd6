//! `buf::FixedBufPool`: registered buffers, used by file reads and writes
//! through READ_FIXED / WRITE_FIXED.

mod common;

use common::*;
use corio::buf::{FixedBufPool, IoBuf};
use corio::fs::{File, OpenOptions};
use std::io;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_pool_hands_out_its_buffers_and_takes_them_back() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let pool = FixedBufPool::new(4, 10_000).unwrap();
            assert_eq!(
                (pool.count(), pool.buf_len(), pool.available()),
                (4, 10_000, 4)
            );
            let bufs: Vec<_> = (0..4).map(|_| pool.try_take().unwrap()).collect();
            assert!(pool.try_take().is_none());
            let mut addrs: Vec<usize> = bufs.iter().map(|b| b.stable_ptr() as usize).collect();
            addrs.sort();
            addrs.dedup();
            assert_eq!(addrs.len(), 4, "buffers are distinct");
            assert!(bufs.iter().all(|b| b.is_empty() && b.capacity() == 10_000));
            // `take` waits for a buffer given back by another task.
            let waiter = corio::spawn({
                let pool = pool.clone();
                async move { pool.take().await.capacity() }
            });
            corio::time::sleep(Duration::from_millis(20)).await;
            assert!(!waiter.is_finished());
            drop(bufs);
            assert_eq!(waiter.await.unwrap(), 10_000);
            assert_eq!(pool.available(), 4);
        })
    });
}

#[test]
fn fixed_buffers_read_and_write_files_round_trip() {
    let data = pattern(1 << 20, 2);
    let (_dir, path) = temp_file(&data);
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let pool = FixedBufPool::new(8, 64 * 1024).unwrap();
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            for i in 0..16u64 {
                let (res, buf) = file.read_at(pool.take().await, i * 65536).await;
                assert_eq!(res.unwrap(), 65536);
                assert_eq!(
                    &buf[..],
                    &data[(i * 65536) as usize..((i + 1) * 65536) as usize]
                );
            }
            // A write from a fixed buffer (and from a slice of one).
            let mut buf = pool.take().await;
            assert_eq!(buf.extend_from_slice(&pattern(70_000, 8)), 65536);
            let (res, buf) = file.write_all_at(buf, 100).await;
            res.unwrap();
            let (res, _) = file.write_at(buf.slice(10..20), 1).await;
            assert_eq!(res.unwrap(), 10);
            let (res, back) = file.read_at(pool.take().await, 100).await;
            res.unwrap();
            assert_eq!(&back[..], &pattern(70_000, 8)[..65536]);
            let (res, head) = file.read_at(Vec::with_capacity(11), 0).await;
            res.unwrap();
            assert_eq!(&head[1..11], &pattern(70_000, 8)[10..20]);
        })
    });
}

#[test]
fn a_buffer_outlives_its_pool_handle_and_the_pool_outlives_the_runtime() {
    let (_dir, path) = temp_file(&pattern(4096, 6));
    with_time_limit(LIMIT, move || {
        let rt = corio::Runtime::new().unwrap();
        let (pool, buf) = rt.block_on(async {
            let pool = FixedBufPool::new(2, 4096).unwrap();
            let buf = pool.take().await;
            (pool, buf)
        });
        let buf = rt.block_on(async {
            let file = File::open(&path).await.unwrap();
            let (res, buf) = file.read_at(buf, 0).await;
            assert_eq!(res.unwrap(), 4096);
            buf
        });
        drop(pool);
        assert_eq!(&buf[..], &pattern(4096, 6)[..]);
        // Still usable after the pool handle is gone, on this runtime...
        let buf = rt.block_on(async {
            let file = File::open(&path).await.unwrap();
            let (res, buf) = file.read_at(buf, 1).await;
            assert_eq!(res.unwrap(), 4095);
            buf
        });
        drop(rt);
        // ...and as plain memory on another runtime once its own is gone.
        let buf = corio::block_on(async {
            let file = File::open(&path).await.unwrap();
            let (res, buf) = file.read_at(buf, 0).await;
            assert_eq!(res.unwrap(), 4096);
            buf
        });
        assert_eq!(&buf[..], &pattern(4096, 6)[..]);
    });
}

#[test]
fn pools_on_several_runtimes_and_threads_work_apart() {
    let (_dir, path) = temp_file(&pattern(1 << 16, 4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                corio::block_on(async move {
                    let pools: Vec<_> = (0..3)
                        .map(|_| FixedBufPool::new(4, 8192).unwrap())
                        .collect();
                    let file = File::open(&path).await.unwrap();
                    for (i, pool) in pools.iter().enumerate() {
                        let (res, buf) = file.read_at(pool.take().await, i as u64 * 8192).await;
                        assert_eq!(res.unwrap(), 8192);
                        assert_eq!(&buf[..], &pattern(1 << 16, 4)[i * 8192..(i + 1) * 8192]);
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn dropped_reads_into_fixed_buffers_give_them_back_once_the_kernel_is_done() {
    let (_dir, path) = temp_file(&pattern(1 << 20, 1));
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let pool = FixedBufPool::new(4, 65536).unwrap();
            let file = File::open(&path).await.unwrap();
            for i in 0..200u64 {
                let t = Duration::from_micros(i % 30);
                let buf = pool.take().await;
                let _ = corio::time::timeout(t, file.read_at(buf, (i % 16) * 65536)).await;
            }
            for _ in 0..1000 {
                if pool.available() == 4 {
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(pool.available(), 4);
        })
    });
}

#[test]
fn bad_arguments_and_no_runtime_are_invalid_input() {
    let e = FixedBufPool::new(4, 4096).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("inside a corio runtime"), "{e}");
    corio::block_on(async {
        for (count, len) in [(0u16, 4096usize), (4, 0), (1, (1 << 30) + 1)] {
            let e = FixedBufPool::new(count, len).unwrap_err();
            assert_eq!(
                e.kind(),
                io::ErrorKind::InvalidInput,
                "{count} x {len}: {e}"
            );
        }
    });
}
