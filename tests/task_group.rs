//! Structured concurrency: JoinSet (completion order, abort_all, abort on
//! drop, cancel-safe join_next) and TaskGroup (spawn-order outputs, the
//! first error or panic cancels the rest — destructors run before join
//! returns — and dropping the group or its join cancels the tasks).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use corio::task::{JoinSet, TaskGroup};
use corio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(30);

/// Records its name in a shared log when dropped.
struct Logged {
    name: &'static str,
    log: Rc<RefCell<Vec<&'static str>>>,
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.name);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_join_set_yields_tasks_in_the_order_they_finish() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut set = JoinSet::new();
            assert!(set.is_empty());
            for (delay, name) in [(40, "c"), (10, "a"), (25, "b")] {
                // !Send futures are fine.
                let tag = Rc::new(name);
                set.spawn(async move {
                    sleep(ms(delay)).await;
                    *tag
                });
            }
            assert_eq!(set.len(), 3);
            let mut order = Vec::new();
            while let Some(done) = set.join_next().await {
                order.push(done.expect("task"));
            }
            assert_eq!(order, ["a", "b", "c"]);
            assert!(set.join_next().await.is_none());
            assert_eq!(set.len(), 0);
        });
    });
}

#[test]
fn join_next_is_cancel_safe() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async {
                sleep(ms(30)).await;
                7
            });
            assert!(timeout(ms(5), set.join_next()).await.is_err());
            assert_eq!(set.len(), 1, "the task is still in the set");
            assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
        });
    });
}

#[test]
fn abort_all_and_dropping_a_join_set_cancel_its_tasks() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut set = JoinSet::new();
            for name in ["x", "y"] {
                let guard = Logged {
                    name,
                    log: log.clone(),
                };
                set.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
            }
            set.spawn(async {});
            corio::task::yield_now().await;
            set.abort_all();
            let mut cancelled = 0;
            let mut finished = 0;
            while let Some(r) = set.join_next().await {
                match r {
                    Ok(()) => finished += 1,
                    Err(e) if e.is_cancelled() => cancelled += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!((finished, cancelled), (1, 2));
            assert_eq!(log.borrow().len(), 2);

            // Dropping the set aborts what it holds.
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut set = JoinSet::new();
            let guard = Logged {
                name: "z",
                log: log.clone(),
            };
            set.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
            });
            corio::task::yield_now().await;
            drop(set);
            assert!(wait_for_async(Duration::from_secs(2), || log.borrow().len() == 1).await);
        });
    });
}

#[test]
fn a_task_group_returns_outputs_in_spawn_order() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut group: TaskGroup<u64, String> = TaskGroup::new();
            for delay in [30u64, 10, 20] {
                group.spawn(async move {
                    sleep(ms(delay)).await;
                    Ok(delay)
                });
            }
            assert_eq!(group.join().await, Ok(vec![30, 10, 20]));
            // An empty group joins at once.
            assert_eq!(TaskGroup::<u8, ()>::new().join().await, Ok(vec![]));
        });
    });
}

#[test]
fn the_third_task_failing_cancels_the_others_before_join_returns() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut group: TaskGroup<&'static str, String> = TaskGroup::new();
            for (i, name) in ["first", "second", "third", "fourth"]
                .into_iter()
                .enumerate()
            {
                let guard = Logged {
                    name,
                    log: log.clone(),
                };
                group.spawn(async move {
                    let _guard = guard;
                    if i == 2 {
                        sleep(ms(10)).await;
                        return Err(format!("{name} failed"));
                    }
                    sleep(Duration::from_secs(3600)).await;
                    Ok(name)
                });
            }
            let err = group.join().await.expect_err("the third task failed");
            assert_eq!(err, "third failed");
            let mut dropped = log.borrow().clone();
            dropped.sort_unstable();
            assert_eq!(
                dropped,
                ["first", "fourth", "second", "third"],
                "every task's destructor ran before join returned"
            );
        });
    });
}

#[test]
fn a_panic_in_a_group_cancels_the_others_and_is_resumed_in_the_awaiting_task() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let l = log.clone();
            let awaiting = corio::spawn(async move {
                let mut group: TaskGroup<(), ()> = TaskGroup::new();
                let guard = Logged {
                    name: "sleeper",
                    log: l,
                };
                group.spawn(async move {
                    let _guard = guard;
                    sleep(Duration::from_secs(3600)).await;
                    Ok(())
                });
                group.spawn(async {
                    sleep(ms(5)).await;
                    std::panic::panic_any("boom in the group")
                });
                let _ = group.join().await;
            });
            let err = awaiting.await.expect_err("the panic is resumed");
            assert!(err.is_panic());
            assert_eq!(
                *log.borrow(),
                ["sleeper"],
                "the other task was cancelled first"
            );
            assert_eq!(
                err.try_into_panic().unwrap().downcast_ref::<&str>(),
                Some(&"boom in the group")
            );
        });
    });
}

#[test]
fn dropping_a_group_or_its_join_cancels_the_tasks() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // The group itself, never joined.
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut group: TaskGroup<(), ()> = TaskGroup::new();
            let guard = Logged {
                name: "a",
                log: log.clone(),
            };
            group.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
                Ok(())
            });
            corio::task::yield_now().await;
            drop(group);
            assert!(wait_for_async(Duration::from_secs(2), || log.borrow().len() == 1).await);

            // The join future, timed out.
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut group: TaskGroup<(), ()> = TaskGroup::new();
            let guard = Logged {
                name: "b",
                log: log.clone(),
            };
            group.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
                Ok(())
            });
            assert!(timeout(ms(10), group.join()).await.is_err());
            assert!(wait_for_async(Duration::from_secs(2), || log.borrow().len() == 1).await);
        });
    });
}

#[test]
fn try_join_next_sheds_finished_tasks_without_waiting() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut set = JoinSet::new();
            assert!(set.try_join_next().is_none(), "empty");
            set.spawn(async { 1 });
            set.spawn(async {
                sleep(Duration::from_secs(3600)).await;
                2
            });
            assert!(set.try_join_next().is_none(), "not polled yet");
            corio::task::yield_now().await;
            corio::task::yield_now().await;
            assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
            assert!(set.try_join_next().is_none(), "the other one sleeps");
            assert_eq!(set.len(), 1);
        });
    });
}

#[test]
fn tasks_that_finish_before_the_first_join_next_come_out_in_the_order_they_finished() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut set = JoinSet::new();
            for (delay, name) in [(30, "slow"), (0, "fast"), (15, "middle")] {
                set.spawn(async move {
                    sleep(ms(delay)).await;
                    name
                });
            }
            // Every task finishes before join_next is first polled.
            sleep(ms(80)).await;
            let mut order = Vec::new();
            while let Some(done) = set.join_next().await {
                order.push(done.expect("task"));
            }
            assert_eq!(order, ["fast", "middle", "slow"]);
        });
    });
}

#[test]
fn try_join_next_sheds_tasks_in_the_order_they_finished() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut set = JoinSet::new();
            for (delay, name) in [(20, "b"), (5, "a")] {
                set.spawn(async move {
                    sleep(ms(delay)).await;
                    name
                });
            }
            sleep(ms(60)).await;
            assert_eq!(set.try_join_next().map(Result::unwrap), Some("a"));
            assert_eq!(set.try_join_next().map(Result::unwrap), Some("b"));
            assert!(set.try_join_next().is_none());
        });
    });
}
