//! A submission queue that is exactly full when the loop goes to sleep:
//! arming the wake-up read then submits the queue and reaps completions, and
//! the tasks those completions woke must run before the loop sleeps.

mod common;

use std::time::{Duration, Instant};

use common::*;
use corio::time::sleep;
use corio::Builder;

/// `tasks` spawned tasks each await one NOP, on a ring of `entries`.
fn nops_on_a_ring(entries: u32, tasks: usize) -> Duration {
    let rt = Builder::new().entries(entries).build().expect("runtime");
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|i| {
                corio::spawn(async move {
                    corio::nop().await.expect("nop");
                    i
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.expect("task"), i);
        }
        start.elapsed()
    })
}

#[test]
fn task_counts_around_multiples_of_the_ring_size_all_complete() {
    for entries in [8u32, 16, 64] {
        for multiple in [1usize, 2, 4] {
            let n = multiple * entries as usize;
            for tasks in [n - 1, n, n + 1] {
                with_time_limit(Duration::from_secs(3), move || {
                    nops_on_a_ring(entries, tasks);
                });
            }
        }
    }
}

#[test]
fn the_default_ring_with_256_512_and_1024_waiting_tasks_completes() {
    for tasks in [255usize, 256, 257, 512, 1024] {
        with_time_limit(Duration::from_secs(3), move || {
            let rt = corio::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| corio::spawn(async { corio::nop().await.expect("nop") }))
                    .collect();
                for h in handles {
                    h.await.expect("task");
                }
            });
        });
    }
}

#[test]
fn a_pending_timer_does_not_delay_a_full_queue_of_completions() {
    with_time_limit(Duration::from_secs(5), || {
        let rt = corio::Runtime::new().expect("runtime");
        rt.block_on(async {
            // A timer far enough away that waiting for it shows.
            let _timer = corio::spawn(sleep(Duration::from_millis(1500)));
            let start = Instant::now();
            let handles: Vec<_> = (0..256)
                .map(|_| corio::spawn(async { corio::nop().await.expect("nop") }))
                .collect();
            for h in handles {
                h.await.expect("task");
            }
            let took = start.elapsed();
            println!("256 NOPs with a 1.5 s timer pending: {took:?}");
            assert!(
                took < Duration::from_millis(700),
                "256 NOPs waited for the timer: {took:?}"
            );
        });
    });
}
