//! The runtime: block_on, explicit runtimes, pending tasks across block_on
//! calls, panics escaping block_on, spawn outside a runtime, several runtimes
//! on one thread, cross-thread wake-ups and dropping a runtime.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::*;
use corio::sync::oneshot;
use corio::time::sleep;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn block_on_returns_the_output_of_a_non_send_borrowing_future() {
    with_time_limit(LIMIT, || {
        assert_eq!(corio::block_on(async { 1 + 2 }), 3);

        // Neither Send nor 'static: borrows a local and holds an Rc across awaits.
        let local = String::from("borrowed");
        let rc = Rc::new(Cell::new(0));
        let len = corio::block_on(async {
            let r = rc.clone();
            sleep(Duration::from_millis(1)).await;
            r.set(r.get() + 1);
            corio::task::yield_now().await;
            local.len()
        });
        assert_eq!(len, 8);
        assert_eq!(rc.get(), 1);

        // The thread's runtime is reused by later calls.
        for i in 0..20 {
            let v = corio::block_on(async move {
                sleep(Duration::from_micros(100)).await;
                i * 2
            });
            assert_eq!(v, i * 2);
        }
    });
}

#[test]
fn explicit_runtime_and_builder() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().expect("Runtime::new");
        let v = rt.block_on(async {
            sleep(Duration::from_millis(1)).await;
            let h = corio::spawn(async { 40 });
            h.await.expect("task") + 2
        });
        assert_eq!(v, 42);
        // A runtime runs several block_on calls.
        assert_eq!(rt.block_on(async { 7 }), 7);

        let small = corio::Builder::new()
            .entries(8)
            .build()
            .expect("Builder::build");
        let (_dir, path) = temp_file(b"builder file");
        let got = small.block_on(async {
            let f = corio::fs::File::open(&path).await.expect("open");
            let (res, buf) = f.read_at(Vec::with_capacity(64), 0).await;
            assert_eq!(res.expect("read_at"), 12);
            buf
        });
        assert_eq!(&got[..], b"builder file");
    });
}

#[test]
fn tasks_pending_when_block_on_returns_continue_at_the_next_block_on() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().expect("Runtime::new");

        // A task woken from outside while no block_on runs.
        let flag = Rc::new(Cell::new(false));
        let (tx, rx) = oneshot::channel::<u32>();
        let f2 = flag.clone();
        let handle = rt.block_on(async move {
            let h = corio::spawn(async move {
                let v = rx.await.expect("value");
                f2.set(true);
                v * 2
            });
            // Returned, not awaited: awaited in the next block_on.
            Some(h)
        });
        let handle = handle.expect("handle");
        assert!(
            !flag.get(),
            "task cannot have finished: nothing was sent yet"
        );
        tx.send(21).expect("receiver alive");
        let out = rt.block_on(handle);
        assert_eq!(out.expect("join"), 42);
        assert!(flag.get());

        // A task whose timer expires while no block_on runs.
        let ticks = Rc::new(Cell::new(0u32));
        let t2 = ticks.clone();
        rt.block_on(async move {
            let _detached = corio::spawn(async move {
                for _ in 0..3 {
                    sleep(Duration::from_millis(10)).await;
                    t2.set(t2.get() + 1);
                }
            });
        });
        let after_first = ticks.get();
        assert!(
            after_first < 3,
            "block_on returned before the task's timers"
        );
        std::thread::sleep(Duration::from_millis(50));
        let done = rt.block_on(async {
            let t3 = ticks.clone();
            wait_for_async(Duration::from_secs(5), move || t3.get() == 3).await
        });
        assert!(
            done,
            "the pending task did not go on at the next block_on (ticks = {})",
            ticks.get()
        );
    });
}

#[test]
fn a_panic_escaping_block_on_leaves_the_thread_able_to_run_a_runtime() {
    with_time_limit(LIMIT, || {
        let (_dir, path) = temp_file(b"still works");
        let r = catch_unwind(AssertUnwindSafe(|| {
            corio::block_on(async {
                // leave a task and a timer pending inside the runtime
                let _h = corio::spawn(async {
                    sleep(Duration::from_secs(3600)).await;
                });
                sleep(Duration::from_millis(1)).await;
                panic!("escaping panic from block_on");
            })
        }));
        let payload = r.expect_err("block_on must propagate the panic");
        assert!(panic_message(&*payload).contains("escaping panic from block_on"));

        // The thread can run the implicit runtime again, including real I/O.
        let got = corio::block_on(async {
            sleep(Duration::from_millis(1)).await;
            let f = corio::fs::File::open(&path).await.expect("open");
            let (res, buf) = f.read_at(Vec::with_capacity(32), 0).await;
            res.expect("read_at");
            buf
        });
        assert_eq!(&got[..], b"still works");

        // An explicit runtime that panicked: a new one works on this thread.
        let rt = corio::Runtime::new().expect("Runtime::new");
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                corio::task::yield_now().await;
                panic!("second escaping panic");
            })
        }));
        assert!(r.is_err());
        drop(rt);
        let rt2 = corio::Runtime::new().expect("Runtime::new after a panic");
        let v = rt2.block_on(async {
            sleep(Duration::from_millis(1)).await;
            corio::spawn(async { 5 }).await.expect("join")
        });
        assert_eq!(v, 5);
    });
}

#[test]
fn spawn_outside_a_running_runtime_panics_with_a_message() {
    with_time_limit(LIMIT, || {
        let r = catch_unwind(|| {
            let _h = corio::spawn(async { 1 });
        });
        let payload = r.expect_err("spawn with no runtime running must panic");
        let msg = panic_message(&*payload);
        assert!(
            msg.to_lowercase().contains("runtime"),
            "the panic message should say that no runtime is running, got: {msg:?}"
        );

        // Also after a block_on finished on this thread: a runtime exists, but none is running.
        corio::block_on(async {});
        let r = catch_unwind(|| {
            let _h = corio::spawn(async { 1 });
        });
        assert!(r.is_err(), "spawn after block_on returned must panic too");
    });
}

#[test]
fn several_runtimes_on_one_thread_keep_their_own_tasks_and_metrics() {
    with_time_limit(LIMIT, || {
        let rt1 = corio::Runtime::new().expect("rt1");
        let rt2 = corio::Runtime::new().expect("rt2");
        let m2_before = rt2.block_on(async { corio::metrics() });
        let (m1_before, m1_after) = rt1.block_on(async {
            let before = corio::metrics();
            for _ in 0..3 {
                let _detached = corio::spawn(async {
                    sleep(Duration::from_secs(3600)).await;
                });
            }
            corio::task::yield_now().await;
            (before, corio::metrics())
        });
        assert_eq!(m1_after.tasks_spawned - m1_before.tasks_spawned, 3);
        assert_eq!(m1_after.tasks_alive - m1_before.tasks_alive, 3);
        let m2_after = rt2.block_on(async { corio::metrics() });
        assert_eq!(
            m2_after.tasks_spawned, m2_before.tasks_spawned,
            "rt1's spawns counted in rt2"
        );
        assert_eq!(m2_after.tasks_alive, m2_before.tasks_alive);
        // rt1 still has its three tasks.
        let m1_again = rt1.block_on(async { corio::metrics() });
        assert_eq!(m1_again.tasks_alive, m1_after.tasks_alive);
    });
}

#[test]
fn a_oneshot_sent_from_another_thread_wakes_a_sleeping_ring_promptly() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for round in 0..3 {
                let (tx, rx) = oneshot::channel::<u64>();
                let t0 = Instant::now();
                let th = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    tx.send(7 + round).expect("receiver alive");
                });
                // No timer and no I/O pending: the ring sleeps in io_uring_enter.
                let v = rx.await.expect("value from thread");
                let el = t0.elapsed();
                println!("round {round}: woken from another thread after {el:?}");
                assert_eq!(v, 7 + round);
                assert!(el >= Duration::from_millis(50));
                assert!(el < Duration::from_secs(1), "cross-thread wake took {el:?}");
                th.join().unwrap();
            }
        });
    });
}

/// A future completed by another thread through a plain `Waker`.
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct WaitFlag(Arc<Flag>);

impl Future for WaitFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.set.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn a_raw_waker_woken_from_another_thread_wakes_the_ring_every_time() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let start = Instant::now();
            for i in 0..20 {
                let flag = Arc::new(Flag {
                    set: AtomicBool::new(false),
                    waker: Mutex::new(None),
                });
                let f2 = flag.clone();
                let t0 = Instant::now();
                let th = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    f2.set.store(true, Ordering::Release);
                    let w = f2.waker.lock().unwrap().take();
                    if let Some(w) = w {
                        w.wake();
                    }
                });
                WaitFlag(flag).await;
                let el = t0.elapsed();
                assert!(el < Duration::from_secs(1), "wake {i} took {el:?}");
                th.join().unwrap();
            }
            println!("20 cross-thread wake-ups in {:?}", start.elapsed());
        });
    });
}

struct DropCounter(Rc<Cell<u32>>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn dropping_a_runtime_drops_its_pending_tasks_promptly() {
    with_time_limit(LIMIT, || {
        let dropped = Rc::new(Cell::new(0));
        let rt = corio::Runtime::new().expect("Runtime::new");
        rt.block_on(async {
            for _ in 0..10 {
                let g = DropCounter(dropped.clone());
                let _detached = corio::spawn(async move {
                    let _g = g;
                    sleep(Duration::from_secs(3600)).await;
                });
            }
            corio::task::yield_now().await;
            sleep(Duration::from_millis(2)).await;
        });
        assert_eq!(dropped.get(), 0, "tasks are kept while the runtime lives");
        let t = Instant::now();
        drop(rt);
        let el = t.elapsed();
        println!("runtime with 10 sleeping tasks dropped in {el:?}");
        assert!(el < Duration::from_secs(5), "drop took {el:?}");
        assert_eq!(dropped.get(), 10, "dropping the runtime drops its tasks");
    });
}

#[test]
fn runtimes_on_several_threads_run_independently() {
    with_time_limit(LIMIT, || {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    let data = pattern(8192, t as u8);
                    let (_dir, path) = temp_file(&data);
                    corio::block_on(async move {
                        let f = corio::fs::File::open(&path).await.expect("open");
                        let mut handles = Vec::new();
                        let f = Rc::new(f);
                        for i in 0..64u64 {
                            let f = f.clone();
                            handles.push(corio::spawn(async move {
                                sleep(Duration::from_millis(i % 5)).await;
                                let (res, buf) = f.read_at(Vec::with_capacity(128), i * 128).await;
                                assert_eq!(res.expect("read_at"), 128);
                                buf
                            }));
                        }
                        for (i, h) in handles.into_iter().enumerate() {
                            let buf = h.await.expect("join");
                            assert_eq!(&buf[..], &data[i * 128..(i + 1) * 128]);
                        }
                    });
                })
            })
            .collect();
        for t in threads {
            t.join().expect("runtime thread");
        }
    });
}
