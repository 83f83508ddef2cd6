//! Tasks: spawn, JoinHandle (await, abort, is_finished, detach), JoinError,
//! panicking tasks, yield_now.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::*;
use corio::sync::oneshot;
use corio::task::{yield_now, JoinError, JoinHandle};
use corio::time::sleep;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn spawn_returns_the_task_value() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let h: JoinHandle<u32> = corio::spawn(async {
                sleep(Duration::from_millis(1)).await;
                41 + 1
            });
            assert_eq!(h.await.expect("join"), 42);

            // A non-Send 'static future.
            let rc = Rc::new(String::from("rc"));
            let h = corio::spawn(async move { rc.len() });
            assert_eq!(h.await.expect("join"), 2);

            // Many tasks.
            let handles: Vec<_> = (0..10_000u64)
                .map(|i| corio::spawn(async move { i * 3 }))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.expect("join");
            }
            assert_eq!(sum, 3 * (10_000 * 9_999 / 2));
        });
    });
}

#[test]
fn is_finished_and_abort_after_finish_still_yields_the_value() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, rx) = oneshot::channel::<()>();
            let h = corio::spawn(async move {
                rx.await.expect("go");
                7
            });
            yield_now().await;
            assert!(!h.is_finished(), "task waits for the oneshot");
            tx.send(()).unwrap();
            let done = {
                let mut ok = false;
                for _ in 0..1000 {
                    if h.is_finished() {
                        ok = true;
                        break;
                    }
                    yield_now().await;
                }
                ok
            };
            assert!(done, "is_finished never became true");
            h.abort(); // no effect on a finished task
            assert!(h.is_finished());
            assert_eq!(h.await.expect("abort after finish has no effect"), 7);
        });
    });
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn abort_cancels_a_pending_task_and_drops_its_future() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let dropped = Rc::new(Cell::new(false));
            let reached_end = Rc::new(Cell::new(false));
            let (g, r) = (DropFlag(dropped.clone()), reached_end.clone());
            let h = corio::spawn(async move {
                let _g = g;
                sleep(Duration::from_secs(3600)).await;
                r.set(true);
            });
            sleep(Duration::from_millis(2)).await;
            assert!(!h.is_finished());
            let t = Instant::now();
            h.abort();
            let err: JoinError = h.await.expect_err("aborted task must give JoinError");
            assert!(err.is_cancelled());
            assert!(!err.is_panic());
            assert!(t.elapsed() < Duration::from_secs(1));
            assert!(dropped.get(), "the aborted task's future was dropped");
            assert!(!reached_end.get());
            // Display works and says something.
            assert!(!err.to_string().is_empty());

            // Abort before the task was ever polled.
            let h = corio::spawn(async { 1 });
            h.abort();
            match h.await {
                Err(e) => assert!(e.is_cancelled()),
                // Acceptable only if the task had already run; it cannot have: we never yielded.
                Ok(v) => panic!("task aborted before its first poll still ran to {v}"),
            }
        });
    });
}

#[test]
fn a_panicking_task_gives_is_panic_and_other_tasks_keep_running() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let l1 = log.clone();
            let steady = corio::spawn(async move {
                for i in 0..5 {
                    sleep(Duration::from_millis(2)).await;
                    l1.borrow_mut().push(i);
                }
                "steady done"
            });
            let bad = corio::spawn(async {
                sleep(Duration::from_millis(3)).await;
                panic!("task panicked on purpose");
            });
            let err = bad.await.expect_err("panicking task gives JoinError");
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert_eq!(steady.await.expect("steady task"), "steady done");
            assert_eq!(*log.borrow(), vec![0, 1, 2, 3, 4]);

            // The runtime still does I/O and timers after a task panicked.
            sleep(Duration::from_millis(1)).await;
            let h = corio::spawn(async { 9 });
            assert_eq!(h.await.expect("join"), 9);
        });
        // And the next block_on on this thread works.
        assert_eq!(corio::block_on(async { 3 }), 3);
    });
}

#[test]
fn join_error_and_elapsed_implement_std_error() {
    fn assert_error<E: std::error::Error + 'static>() {}
    assert_error::<corio::task::JoinError>();
    assert_error::<corio::time::Elapsed>();
}

#[test]
fn yield_now_lets_other_tasks_run() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // The main future waits for a task only through yield_now.
            let flag = Rc::new(Cell::new(false));
            let f2 = flag.clone();
            let _h = corio::spawn(async move { f2.set(true) });
            let mut yields = 0;
            while !flag.get() && yields < 10 {
                yield_now().await;
                yields += 1;
            }
            assert!(
                flag.get(),
                "spawned task did not run across {yields} yields"
            );

            // Two tasks that yield interleave.
            let log = Rc::new(RefCell::new(Vec::new()));
            let (la, lb) = (log.clone(), log.clone());
            let a = corio::spawn(async move {
                la.borrow_mut().push("a1");
                yield_now().await;
                la.borrow_mut().push("a2");
            });
            let b = corio::spawn(async move {
                lb.borrow_mut().push("b1");
                yield_now().await;
                lb.borrow_mut().push("b2");
            });
            a.await.unwrap();
            b.await.unwrap();
            let log = log.borrow();
            let pos = |s: &str| log.iter().position(|x| *x == s).unwrap();
            assert!(
                pos("b1") < pos("a2"),
                "a's yield did not let b run: {log:?}"
            );
            assert!(
                pos("a1") < pos("b2"),
                "b's yield did not let a run: {log:?}"
            );
        });
    });
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, rx) = oneshot::channel::<&'static str>();
            let h = corio::spawn(async move {
                sleep(Duration::from_millis(10)).await;
                tx.send("detached task finished").unwrap();
            });
            drop(h);
            let v = corio::time::timeout(Duration::from_secs(5), rx)
                .await
                .expect("detached task still runs")
                .expect("value");
            assert_eq!(v, "detached task finished");
        });
    });
}

#[test]
fn tasks_spawned_and_alive_metrics_follow_tasks() {
    with_time_limit(LIMIT, || {
        // An explicit runtime, so nothing else has spawned on it.
        let rt = corio::Runtime::new().expect("Runtime::new");
        rt.block_on(async {
            let m0 = corio::metrics();
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for i in 0..10u32 {
                let (tx, rx) = oneshot::channel::<u32>();
                senders.push(tx);
                handles.push(corio::spawn(async move { rx.await.unwrap_or(0) + i }));
            }
            yield_now().await;
            let m1 = corio::metrics();
            assert_eq!(m1.tasks_spawned - m0.tasks_spawned, 10);
            assert_eq!(m1.tasks_alive - m0.tasks_alive, 10);

            // Keep the last five senders alive so those tasks stay pending.
            let keep = senders.split_off(5);
            for tx in senders {
                tx.send(100).unwrap();
            }
            // Five tasks finish, five are aborted.
            for (i, h) in handles.into_iter().enumerate() {
                if i < 5 {
                    assert_eq!(h.await.expect("join"), 100 + i as u32);
                } else {
                    h.abort();
                    assert!(h.await.expect_err("aborted").is_cancelled());
                }
            }
            drop(keep);
            let back = wait_for_async(Duration::from_secs(2), || {
                corio::metrics().tasks_alive == m0.tasks_alive
            })
            .await;
            let m2 = corio::metrics();
            assert!(
                back,
                "tasks_alive {} did not return to {}",
                m2.tasks_alive, m0.tasks_alive
            );
            assert_eq!(m2.tasks_spawned - m0.tasks_spawned, 10);
        });
    });
}

#[test]
fn join_error_is_send_sync_and_converts_into_boxed_errors() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<corio::task::JoinError>();
    corio::block_on(async {
        let err = corio::spawn(async { panic!("boom") }).await.unwrap_err();
        assert!(err.to_string().contains("boom"));
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
        assert!(boxed.to_string().contains("boom"));
    });
}
