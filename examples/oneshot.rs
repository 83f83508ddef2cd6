//! A future set by hand: asyncio's
//!
//! ```python
//! fut = loop.create_future()
//! threading.Thread(target=lambda: loop.call_soon_threadsafe(fut.set_result, 42)).start()
//! await fut
//! ```
//!
//! is a `corio::sync::oneshot` channel: the `Sender` sets the result
//! (`send` = `set_result`), the `Receiver` is the future to await, and
//! `try_recv` answers `done()`/`result()` without waiting. Dropping the
//! sender without sending cancels the future (`cancel()`): awaiting the
//! receiver then gives `RecvError`.
//!
//! Both halves are `Send`, so a plain OS thread can complete a future the
//! runtime awaits; the runtime, asleep in `io_uring_enter`, is woken at
//! once.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example oneshot
//! ```

use corio::sync::oneshot::{self, TryRecvError};
use std::time::{Duration, Instant};

fn main() {
    corio::block_on(async {
        let start = Instant::now();

        // 1. A thread sets the result while the runtime is busy sleeping.
        let (tx, mut rx) = oneshot::channel::<u64>();
        println!("done() before: {:?}", rx.try_recv().err());
        let worker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            println!("thread: set_result(42)");
            // Err(value) would mean the receiver was already dropped.
            tx.send(42).expect("the receiver is still waiting");
        });
        // Meanwhile the runtime sleeps on a corio timer; the value is only
        // looked at afterwards.
        corio::time::sleep(Duration::from_millis(500)).await;
        match rx.try_recv() {
            Ok(v) => println!(
                "after 500 ms: done() = true, result() = {v} ({} ms)",
                start.elapsed().as_millis()
            ),
            Err(e) => println!("after 500 ms: {e}"),
        }
        worker.join().unwrap();

        // 2. Awaiting the receiver while another thread completes it: the
        //    waker wakes the runtime sleeping in the kernel.
        let (tx, rx) = oneshot::channel::<String>();
        let t0 = Instant::now();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let _ = tx.send("hello from a thread".to_string());
        });
        let value = rx.await.expect("the sender sends");
        println!("awaited {value:?} after {} ms", t0.elapsed().as_millis());
        worker.join().unwrap();

        // 3. cancel(): the sender is dropped without sending.
        let (tx, mut rx) = oneshot::channel::<u64>();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            println!("thread: giving up, dropping the sender (cancel)");
            drop(tx);
        });
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        match rx.await {
            Ok(v) => println!("unexpected value {v}"),
            Err(e) => println!("awaiting the cancelled future: {e}"),
        }
        worker.join().unwrap();

        // And the other direction: a send to a receiver that is gone gives
        // the value back.
        let (tx, rx) = oneshot::channel::<&str>();
        drop(rx);
        println!("send after the receiver was dropped: {:?}", tx.send("lost"));
    });
}
