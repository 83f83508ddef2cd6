//! The event loop: asyncio's `loop.run_until_complete(main())` is
//! `corio::block_on(main())`.
//!
//! Three one-second waits run twice: first awaited one after another (about
//! three seconds: each `await` finishes before the next wait starts), then
//! spawned as three concurrent tasks and joined (about one second: all three
//! timers run at once on one thread, one io_uring).
//!
//! Run it with:
//!
//! ```text
//! cargo run --example event_loop
//! ```

use std::time::{Duration, Instant};

/// A coroutine (`async def` in asyncio): nothing runs until it is awaited
/// or spawned.
async fn wait(name: &'static str, seconds: u64) -> &'static str {
    println!("  {name}: waiting {seconds} s");
    corio::time::sleep(Duration::from_secs(seconds)).await;
    println!("  {name}: done");
    name
}

async fn sequential() -> Duration {
    let start = Instant::now();
    wait("a", 1).await;
    wait("b", 1).await;
    wait("c", 1).await;
    start.elapsed()
}

async fn concurrent() -> Duration {
    let start = Instant::now();
    // asyncio.create_task: each one starts at the runtime's next turn.
    let tasks = [
        corio::spawn(wait("a", 1)),
        corio::spawn(wait("b", 1)),
        corio::spawn(wait("c", 1)),
    ];
    for task in tasks {
        let name = task
            .await
            .expect("the task neither panicked nor was aborted");
        println!("  joined {name}");
    }
    start.elapsed()
}

fn main() {
    // block_on: build (or reuse) this thread's runtime and run the future to
    // completion on it, like asyncio's run_until_complete / asyncio.run.
    let (sync, asynchronous) = corio::block_on(async {
        println!("one after another:");
        let sync = sequential().await;
        println!("as concurrent tasks:");
        let asynchronous = concurrent().await;
        (sync, asynchronous)
    });
    println!("synchronous:  {:.2} s", sync.as_secs_f64());
    println!("asynchronous: {:.2} s", asynchronous.as_secs_f64());
}
