//! Wake-ups from everywhere: a spawned task (or the `block_on` future) woken
//! from another task, another thread, another runtime on the same thread,
//! a thread with its own runtime, or outside `block_on` always runs again —
//! and keeps being woken afterwards.

// Tasks are spawned in one block_on and their handles awaited in another.
#![allow(clippy::async_yields_async)]

mod common;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::matrix::{wake_task_from, wake_task_from_same_thread, ORIGINS, SAME_THREAD_ORIGINS};
use common::*;
use corio::sync::oneshot;
use corio::task::yield_now;
use corio::time::sleep;
use corio::Runtime;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn spawned_task_woken_by_a_oneshot_sent_from_a_plain_thread_completes() {
    with_time_limit(Duration::from_secs(3), || {
        corio::block_on(async {
            let (tx, rx) = oneshot::channel();
            let task = corio::spawn(async move { rx.await.expect("sent") + 1 });
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                tx.send(41).expect("receiver alive");
            });
            assert_eq!(task.await.expect("task"), 42);
            sender.join().unwrap();

            // Woken once from a thread, the task is woken normally afterwards
            // (I/O, timers, another thread again).
            let (tx, rx) = oneshot::channel();
            let task = corio::spawn(async move {
                let first = rx.await.expect("sent");
                corio::nop().await.expect("nop");
                sleep(Duration::from_millis(5)).await;
                let (tx2, rx2) = oneshot::channel();
                thread::spawn(move || tx2.send(first * 2).unwrap());
                rx2.await.expect("sent again")
            });
            thread::spawn(move || tx.send(21).unwrap());
            assert_eq!(task.await.expect("task"), 42);
        });
    });
}

struct OnDrop(Rc<Cell<bool>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn abort_called_between_two_block_on_calls_cancels_the_task() {
    with_time_limit(Duration::from_secs(3), || {
        let rt = Runtime::new().unwrap();
        let dropped = Rc::new(Cell::new(false));
        let guard = OnDrop(dropped.clone());
        let handle = rt.block_on(async move {
            let handle = corio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
            yield_now().await;
            handle
        });
        assert!(!dropped.get(), "the task is waiting");
        handle.abort();
        let err = rt
            .block_on(handle)
            .expect_err("an aborted task gives a JoinError");
        assert!(err.is_cancelled());
        assert!(dropped.get(), "aborting dropped the task's future");

        // The runtime goes on waking tasks normally.
        let v = rt.block_on(async { corio::spawn(async { 5 }).await.unwrap() });
        assert_eq!(v, 5);
    });
}

#[test]
fn task_of_runtime_a_woken_while_runtime_b_block_on_runs_on_the_same_thread() {
    with_time_limit(Duration::from_secs(3), || {
        let a = Runtime::new().unwrap();
        let b = Runtime::new().unwrap();

        // B's block_on between two of A's.
        let (tx, rx) = oneshot::channel();
        let handle = a.block_on(async move {
            let h = corio::spawn(async move { rx.await.expect("sent") + 1 });
            yield_now().await;
            h
        });
        b.block_on(async move { tx.send(1).unwrap() });
        assert_eq!(a.block_on(handle).expect("task"), 2);

        // B's block_on nested in A's.
        let (tx, rx) = oneshot::channel();
        let out = a.block_on(async move {
            let h = corio::spawn(async move { rx.await.expect("sent") + 1 });
            yield_now().await;
            b.block_on(async move { tx.send(10).unwrap() });
            h.await.expect("task")
        });
        assert_eq!(out, 11);
    });
}

#[test]
fn thousands_of_tasks_each_woken_once_from_one_of_several_threads_all_run() {
    const TASKS: usize = 4000;
    const THREADS: usize = 4;
    with_time_limit(Duration::from_secs(30), || {
        corio::block_on(async {
            let mut senders: Vec<Vec<(usize, oneshot::Sender<usize>)>> =
                (0..THREADS).map(|_| Vec::new()).collect();
            let mut handles = Vec::with_capacity(TASKS);
            for i in 0..TASKS {
                let (tx, rx) = oneshot::channel();
                senders[i % THREADS].push((i, tx));
                handles.push(corio::spawn(async move { rx.await.expect("sent") }));
            }
            // Every task runs once and waits before the first send.
            yield_now().await;
            yield_now().await;

            // The loop alternates between busy (a task yielding in bursts)
            // and asleep (that task sleeping).
            let stop = Rc::new(Cell::new(false));
            let busy = {
                let stop = stop.clone();
                corio::spawn(async move {
                    let mut rounds = 0;
                    while !stop.get() && rounds < 100_000 {
                        for _ in 0..20 {
                            yield_now().await;
                        }
                        sleep(Duration::from_micros(500)).await;
                        rounds += 1;
                    }
                })
            };
            let start = Instant::now();
            let threads: Vec<_> = senders
                .into_iter()
                .enumerate()
                .map(|(t, batch)| {
                    thread::spawn(move || {
                        for (k, (i, tx)) in batch.into_iter().enumerate() {
                            tx.send(i).expect("receiver alive");
                            // Pauses of different lengths per thread: the
                            // ring falls asleep between some wake-ups.
                            if k % (17 + 5 * t) == 0 {
                                thread::sleep(Duration::from_micros(300 * (t as u64 + 1)));
                            }
                        }
                    })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await.expect("task"), i);
            }
            stop.set(true);
            busy.await.expect("busy task");
            for t in threads {
                t.join().expect("sender thread");
            }
            println!("{TASKS} cross-thread wake-ups ran in {:?}", start.elapsed());
            assert_eq!(corio::metrics().tasks_alive, 0);
        });
    });
}

/// A future that waits until `flag` is set, keeping its latest waker where
/// a trigger can wake it: the "any `Waker`" row of the matrix.
fn wait_for_flag(
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
) -> impl std::future::Future<Output = u32> {
    poll_fn(move |cx| {
        if flag.load(Ordering::SeqCst) {
            return Poll::Ready(7);
        }
        *slot.lock().unwrap() = Some(cx.waker().clone());
        // A set between the check and the store is seen here.
        if flag.load(Ordering::SeqCst) {
            return Poll::Ready(7);
        }
        Poll::Pending
    })
}

#[test]
fn matrix_oneshot_send_wakes_a_spawned_receiver_from_every_origin() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        for origin in ORIGINS {
            let (tx, rx) = oneshot::channel::<u32>();
            let out = wake_task_from(
                &rt,
                origin,
                async move { rx.await.expect("sent") },
                move || tx.send(3).unwrap(),
            );
            assert_eq!(out, 3, "{origin:?}");
        }
        // After every origin, the runtime still wakes its tasks.
        assert_eq!(
            rt.block_on(async { corio::spawn(async { 1 }).await.unwrap() }),
            1
        );
    });
}

#[test]
fn matrix_a_stored_waker_wakes_its_task_from_every_origin() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        for origin in ORIGINS {
            for round in 0..3 {
                let flag = Arc::new(AtomicBool::new(false));
                let slot = Arc::new(Mutex::new(None::<Waker>));
                let waiting = wait_for_flag(flag.clone(), slot.clone());
                let out = wake_task_from(&rt, origin, waiting, move || {
                    flag.store(true, Ordering::SeqCst);
                    let waker = slot
                        .lock()
                        .unwrap()
                        .take()
                        .expect("the task stored its waker");
                    waker.wake();
                });
                assert_eq!(out, 7, "{origin:?}, round {round}");
            }
        }
    });
}

#[test]
fn matrix_abort_cancels_a_waiting_task_from_every_origin_on_its_thread() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        for origin in SAME_THREAD_ORIGINS {
            let dropped = Rc::new(Cell::new(false));
            let guard = OnDrop(dropped.clone());
            let victim = rt.block_on(async move {
                let h = corio::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
                yield_now().await;
                h
            });
            // A watcher task awaits the victim's handle; the trigger aborts
            // the victim through the same handle.
            let victim = Rc::new(RefCell::new(victim));
            let to_abort = victim.clone();
            let watcher = async move {
                poll_fn(|cx| Pin::new(&mut *victim.borrow_mut()).poll(cx))
                    .await
                    .expect_err("aborted")
                    .is_cancelled()
            };
            let cancelled =
                wake_task_from_same_thread(&rt, origin, watcher, move || to_abort.borrow().abort());
            assert!(cancelled, "{origin:?}");
            assert!(dropped.get(), "{origin:?}: the victim's future was dropped");
        }
    });
}

#[test]
fn matrix_the_block_on_future_is_woken_from_other_threads_and_runtimes() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        // From a plain thread and from a thread running a runtime, while
        // the ring sleeps.
        for with_runtime in [false, true] {
            let (tx, rx) = oneshot::channel();
            let t = thread::spawn(move || {
                let send = move || {
                    thread::sleep(Duration::from_millis(20));
                    tx.send(9).unwrap();
                };
                if with_runtime {
                    corio::block_on(async move { send() });
                } else {
                    send();
                }
            });
            assert_eq!(rt.block_on(rx).unwrap(), 9);
            t.join().unwrap();
        }
        // From another runtime nested on the same thread.
        let (tx, rx) = oneshot::channel();
        let out = rt.block_on(async move {
            let mut rx = rx;
            assert!(poll_once(&mut rx).await.is_pending());
            Runtime::new()
                .unwrap()
                .block_on(async move { tx.send(4).unwrap() });
            rx.await.unwrap()
        });
        assert_eq!(out, 4);
    });
}

#[test]
fn matrix_with_eventfd_wake_ups_only() {
    with_time_limit(LIMIT, || {
        // The other mechanism: a waker on another ring writes the eventfd
        // instead of posting a completion with MSG_RING.
        let rt = corio::Builder::new()
            .wake_with_msg_ring(false)
            .build()
            .unwrap();
        for origin in ORIGINS {
            let (tx, rx) = oneshot::channel::<u32>();
            let out = wake_task_from(
                &rt,
                origin,
                async move { rx.await.expect("sent") },
                move || tx.send(5).unwrap(),
            );
            assert_eq!(out, 5, "{origin:?}");
        }
    });
}

#[test]
fn a_wake_sent_by_a_block_on_that_returns_at_once_arrives() {
    with_time_limit(LIMIT, || {
        // The waker's runtime queues a MSG_RING wake for the sleeping one
        // and its block_on returns in the same turn: the wake must leave
        // anyway (it waited for a next block_on that never came).
        for _ in 0..20 {
            let (tx, rx) = oneshot::channel::<u32>();
            let sleeper = thread::spawn(move || corio::block_on(rx));
            thread::sleep(Duration::from_millis(10));
            corio::block_on(async move { tx.send(1).unwrap() });
            assert_eq!(sleeper.join().unwrap().unwrap(), 1);
        }
    });
}
