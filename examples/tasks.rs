//! Tasks: asyncio's `create_task`, `Task.result()`, `Task.cancel()`,
//! `Task.done()` and `wait_for`, as `corio::spawn`, `.await` on the
//! `JoinHandle`, `abort()`, `is_finished()` and `corio::time::timeout`.
//!
//! A task that panics ends with a `JoinError` (`is_panic()`); the runtime
//! and the other tasks carry on. An aborted task ends with a `JoinError`
//! whose `is_cancelled()` is true.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example tasks
//! ```

use corio::time::{sleep, timeout};
use std::time::Duration;

async fn square(n: u64) -> u64 {
    sleep(Duration::from_millis(10 * n)).await;
    n * n
}

fn main() {
    corio::block_on(async {
        // create_task + await: the results, in the order we ask for them.
        let handles: Vec<_> = (1..=5).map(|n| corio::spawn(square(n))).collect();
        let mut squares = Vec::new();
        for handle in handles {
            squares.push(handle.await.expect("square() does not panic"));
        }
        println!("squares: {squares:?}");

        // done(): a task is finished once it returned, panicked or was
        // cancelled.
        let quick = corio::spawn(async { "quick" });
        let slow = corio::spawn(sleep(Duration::from_secs(3600)));
        println!(
            "before running: quick finished? {}, slow finished? {}",
            quick.is_finished(),
            slow.is_finished()
        );
        corio::task::yield_now().await; // let the runtime poll both once
        println!(
            "after one turn: quick finished? {}, slow finished? {}",
            quick.is_finished(),
            slow.is_finished()
        );
        println!("quick returned {:?}", quick.await.unwrap());

        // cancel(): the slow task's future is dropped (and its timer with it)
        // at the runtime's next turn; awaiting it says it was cancelled.
        slow.abort();
        match slow.await {
            Err(e) if e.is_cancelled() => println!("slow: {e} (is_cancelled)"),
            other => println!("slow: unexpected {other:?}"),
        }

        // Aborting a task that already finished changes nothing.
        let done = corio::spawn(async { 7 });
        sleep(Duration::from_millis(1)).await;
        done.abort();
        println!("abort after completion still gives {:?}", done.await);

        // A panicking task does not take the others down. The panic hook
        // still reports the panic on stderr; a one-line hook keeps that
        // short here (the default one prints where it happened, and a
        // backtrace when RUST_BACKTRACE is set).
        std::panic::set_hook(Box::new(|info| eprintln!("(panic hook) {info}")));
        let worker = corio::spawn(async {
            for i in 1..=3 {
                sleep(Duration::from_millis(20)).await;
                println!("worker: step {i}");
            }
            "worker finished"
        });
        let faulty = corio::spawn(async {
            sleep(Duration::from_millis(30)).await;
            let empty: Vec<u32> = Vec::new();
            empty[0] // a bug: index out of bounds, the task panics
        });
        match faulty.await {
            Ok(v) => println!("faulty: unexpectedly returned {v}"),
            Err(e) if e.is_panic() => println!("faulty: {e} (is_panic)"),
            Err(e) => println!("faulty: {e}"),
        }
        println!("{}", worker.await.unwrap());

        // wait_for: give up on a future that takes too long.
        match timeout(Duration::from_millis(50), square(100)).await {
            Ok(v) => println!("timeout: got {v}"),
            Err(e) => println!("timeout: square(100) gave up: {e}"),
        }
        match timeout(Duration::from_millis(500), square(2)).await {
            Ok(v) => println!("timeout: square(2) = {v} in time"),
            Err(e) => println!("timeout: {e}"),
        }
    });
}
