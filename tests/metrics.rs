//! corio::metrics(): an idle runtime has no ops in flight, the op counters
//! count user operations, and operations issued together are batched into a
//! handful of io_uring_enter calls.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::*;
use corio::fs::File;
use corio::Metrics;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn an_idle_runtime_has_no_ops_in_flight() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().expect("Runtime::new");
        let m: Metrics = rt.block_on(async { corio::metrics() });
        assert_eq!(
            m.ops_in_flight, 0,
            "internal ops (e.g. a wake-up read) must not be counted"
        );
        assert_eq!(m.ops_submitted, m.ops_completed);

        // Still idle after timers, a task waiting on a oneshot, and finished I/O.
        let (_dir, path) = temp_file(b"idle");
        let m = rt.block_on(async {
            corio::time::sleep(Duration::from_millis(5)).await;
            let (_tx, rx) = corio::sync::oneshot::channel::<()>();
            let _waiting = corio::spawn(async move {
                let _ = rx.await;
            });
            let f = File::open(&path).await.unwrap();
            let (res, _) = f.read_at(Vec::with_capacity(8), 0).await;
            res.unwrap();
            f.close().await.unwrap();
            corio::task::yield_now().await;
            corio::metrics()
        });
        assert_eq!(m.ops_in_flight, 0);
        assert_eq!(m.ops_submitted, m.ops_completed);
        assert!(
            m.ops_submitted >= 3,
            "open, read and close were submitted: {}",
            m.ops_submitted
        );
    });
}

#[test]
fn op_counters_count_each_user_operation() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(&pattern(4096, 2));
        let rt = corio::Runtime::new().expect("Runtime::new");
        rt.block_on(async {
            let f = File::open(&path).await.unwrap();
            let m0 = corio::metrics();
            for i in 0..10u64 {
                let (res, _) = f.read_at(Vec::with_capacity(16), i * 16).await;
                assert_eq!(res.unwrap(), 16);
            }
            let m1 = corio::metrics();
            assert_eq!(m1.ops_submitted - m0.ops_submitted, 10);
            assert_eq!(m1.ops_completed - m0.ops_completed, 10);
            assert_eq!(m1.ops_in_flight, 0);
            assert!(
                m1.enter_calls > m0.enter_calls,
                "completing reads takes io_uring_enter calls"
            );
        });
    });
}

fn report(label: &str, ops: usize, m0: &Metrics, m1: &Metrics) -> u64 {
    let enters = m1.enter_calls - m0.enter_calls;
    println!(
        "batching ({label}): {ops} reads, {enters} io_uring_enter calls, {:.4} enter calls per op; \
         ops submitted {}, completed {}",
        enters as f64 / ops as f64,
        m1.ops_submitted - m0.ops_submitted,
        m1.ops_completed - m0.ops_completed
    );
    enters
}

#[test]
fn reads_issued_together_complete_in_a_handful_of_enter_calls() {
    with_time_limit(LIMIT, || {
        const N: usize = 256;
        let (_dir, path) = temp_file_of_records(N);
        let rt = corio::Runtime::new().expect("Runtime::new");
        rt.block_on(async {
            let f = File::open(&path).await.unwrap();
            // Warm up: page cache and any lazy runtime setup.
            for i in 0..N {
                let (res, _) = f.read_at(Vec::with_capacity(16), (i * 16) as u64).await;
                res.unwrap();
            }

            // N reads from one task, all queued in a single poll.
            let m0 = corio::metrics();
            let reads = (0..N).map(|i| f.read_at(Vec::with_capacity(16), (i * 16) as u64));
            let results = join_all(reads).await;
            let m1 = corio::metrics();
            for (i, (res, buf)) in results.into_iter().enumerate() {
                assert_eq!(res.unwrap(), 16);
                assert_eq!(buf, record(i));
            }
            let enters = report("one task", N, &m0, &m1);
            assert_eq!(m1.ops_submitted - m0.ops_submitted, N as u64);
            assert!(enters >= 1, "the enter_calls counter does not move");
            assert!(
                enters <= 10,
                "{N} reads issued together took {enters} io_uring_enter calls"
            );

            // N reads from N tasks, spawned together.
            let f = Rc::new(f);
            let m0 = corio::metrics();
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let f = f.clone();
                    corio::spawn(async move {
                        let (res, buf) = f.read_at(Vec::with_capacity(16), (i * 16) as u64).await;
                        assert_eq!(res.unwrap(), 16);
                        buf
                    })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), record(i));
            }
            let m1 = corio::metrics();
            let enters = report("one task per read", N, &m0, &m1);
            assert!(enters >= 1);
            assert!(
                enters <= 10,
                "{N} reads from {N} tasks took {enters} io_uring_enter calls"
            );
        });
    });
}

#[test]
fn more_reads_than_ring_entries_still_batch() {
    with_time_limit(LIMIT, || {
        const N: usize = 500;
        let (_dir, path) = temp_file_of_records(N);
        let rt = corio::Runtime::new().expect("Runtime::new");
        rt.block_on(async {
            let f = File::open(&path).await.unwrap();
            for i in 0..N {
                let (res, _) = f.read_at(Vec::with_capacity(16), (i * 16) as u64).await;
                res.unwrap();
            }
            let m0 = corio::metrics();
            let reads = (0..N).map(|i| f.read_at(Vec::with_capacity(16), (i * 16) as u64));
            let results = join_all(reads).await;
            let m1 = corio::metrics();
            for (i, (res, buf)) in results.into_iter().enumerate() {
                assert_eq!(res.unwrap(), 16);
                assert_eq!(buf, record(i));
            }
            let enters = report("500 reads, one task", N, &m0, &m1);
            assert!(enters >= 1);
            assert!(
                enters <= 10,
                "{N} reads issued together took {enters} io_uring_enter calls"
            );
        });
    });
}
