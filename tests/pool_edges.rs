//! The pool's edges: a task whose destructor panics when its pool goes,
//! shutdown requests between runs and from concurrent runs, an aborted
//! spawn releasing what its closure captured before its handle resolves,
//! and `spawn_on` this core from a runtime nested inside one of its tasks.
//! Each test failed before the fix it guards.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use corio::pool;
use corio::time::{sleep, timeout};
use corio::{Pool, Runtime};

const LIMIT: Duration = Duration::from_secs(60);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pool(cores: usize) -> Pool {
    Pool::builder().cores(cores).pin(false).build().unwrap()
}

/// Sets its flag when dropped — slowly, so that a handle resolved before
/// the drop finished is caught.
struct SlowDrop(Arc<AtomicBool>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        thread::sleep(ms(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_task_whose_destructor_panics_as_its_pool_drops_still_resolves_its_handle() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("a destructor that panics");
        }
    }
    with_time_limit(LIMIT, || {
        let pool = pool(1);
        let handle = pool.handle();
        let core = handle.cores()[0];
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let remote = handle.spawn_on(core, move || async move {
            let _guard = PanicsOnDrop;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        started_rx.recv_timeout(ms(10_000)).unwrap();
        drop(pool);
        let err = corio::block_on(remote).expect_err("it never finished");
        assert!(err.is_panic(), "{err}");
    });
}

#[test]
fn a_shutdown_requested_between_runs_does_not_stop_the_next_run() {
    with_time_limit(LIMIT, || {
        let pool = pool(2);
        pool.run(|_| async {});
        pool.handle().request_shutdown();
        let stopped =
            pool.run(|_| async { timeout(ms(100), pool::shutdown_requested()).await.is_ok() });
        assert_eq!(stopped, [false, false], "the request leaked into this run");
        // One made during a run reaches every future awaited in it, also
        // those created after the request.
        let seen = pool.run(|core| async move {
            if core.index() == 0 {
                pool::request_shutdown();
            }
            sleep(ms(20)).await;
            timeout(ms(5_000), pool::shutdown_requested()).await.is_ok()
        });
        assert_eq!(seen, [true, true]);
        // And it ended with that run.
        let stopped =
            pool.run(|_| async { timeout(ms(50), pool::shutdown_requested()).await.is_ok() });
        assert_eq!(stopped, [false, false]);
    });
}

#[test]
fn a_shutdown_requested_between_runs_reaches_the_tasks_already_waiting() {
    with_time_limit(LIMIT, || {
        let pool = pool(1);
        let handle = pool.handle();
        let core = handle.cores()[0];
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let waiting = handle.spawn_on(core, move || async move {
            let requested = pool::shutdown_requested();
            ready_tx.send(()).unwrap();
            requested.await;
        });
        ready_rx.recv_timeout(ms(10_000)).unwrap();
        handle.request_shutdown();
        corio::block_on(waiting).unwrap();
    });
}

#[test]
fn concurrent_runs_take_turns() {
    with_time_limit(LIMIT, || {
        let pool = Arc::new(pool(2));
        let active = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let (pool, active, most) = (pool.clone(), active.clone(), most.clone());
                thread::spawn(move || {
                    pool.run(move |_| {
                        let (active, most) = (active.clone(), most.clone());
                        async move {
                            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            sleep(ms(50)).await;
                            active.fetch_sub(1, Ordering::SeqCst);
                        }
                    })
                })
            })
            .collect();
        for run in runs {
            assert_eq!(run.join().unwrap().len(), 2);
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "the futures of two runs overlapped"
        );
    });
}

#[test]
fn an_aborted_spawn_drops_its_closure_before_its_handle_resolves() {
    with_time_limit(LIMIT, || {
        let pool = pool(1);
        let handle = pool.handle();
        let core = handle.cores()[0];
        // Keep the core busy so that the next spawn waits in its queue.
        let (busy_tx, busy_rx) = std::sync::mpsc::channel();
        let busy = handle.spawn_on(core, move || async move {
            busy_tx.send(()).unwrap();
            thread::sleep(ms(100));
        });
        busy_rx.recv_timeout(ms(10_000)).unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let held = SlowDrop(dropped.clone());
        let remote = handle.spawn_on(core, move || {
            let _held = held;
            async {}
        });
        remote.abort();
        let err = corio::block_on(remote).expect_err("aborted before it started");
        assert!(err.is_cancelled(), "{err}");
        assert!(
            dropped.load(Ordering::SeqCst),
            "the handle resolved before the closure was dropped"
        );
        corio::block_on(busy).unwrap();
    });
}

#[test]
fn spawn_on_this_core_from_a_nested_runtime_runs_on_the_core() {
    with_time_limit(LIMIT, || {
        let pool = pool(1);
        let out = pool.run(|core| async move {
            let nested = Runtime::new().unwrap();
            let mut remote = None;
            nested.block_on(async {
                remote = Some(pool::spawn_on(core, || async {
                    sleep(ms(30)).await;
                    5
                }));
            });
            // The nested runtime goes; the task lives on the core.
            drop(nested);
            remote.unwrap().await.map_err(|e| e.to_string())
        });
        assert_eq!(out, [Ok(5)]);
    });
}
