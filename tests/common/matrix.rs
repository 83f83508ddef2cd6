//! The wake-path test matrix: every way a task can be woken, so a feature's
//! test runs once per path instead of only from the task that owns it.
//!
//! A feature test supplies a future a spawned task awaits and a trigger that
//! completes it (send on a channel, abort a handle, wake a stored waker);
//! [`wake_task_from`] runs the trigger from one [`Origin`] and returns the
//! task's output. Later features add their own rows by calling it with their
//! future and trigger for every origin in [`ORIGINS`] (or
//! [`SAME_THREAD_ORIGINS`] when the trigger is not `Send`).

use corio::task::{yield_now, JoinHandle};
use corio::Runtime;
use std::future::Future;
use std::thread;
use std::time::Duration;

/// Where the wake-up comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Another task of the same runtime, inside its `block_on`.
    OtherTask,
    /// The runtime's own `block_on` future.
    MainFuture,
    /// A plain thread without a runtime, while the ring sleeps in the kernel.
    OtherThread,
    /// A thread running its own corio runtime (inside that one's `block_on`).
    OtherThreadsRuntime,
    /// Another runtime's `block_on` on the same thread, nested inside this
    /// runtime's `block_on`.
    OtherRuntimeNested,
    /// Another runtime's `block_on` on the same thread, between two
    /// `block_on` calls of this runtime.
    OtherRuntimeBetween,
    /// The runtime's thread, outside any `block_on`.
    OutsideBlockOn,
}

/// Every origin (the trigger must be `Send`).
pub const ORIGINS: [Origin; 7] = [
    Origin::OtherTask,
    Origin::MainFuture,
    Origin::OtherThread,
    Origin::OtherThreadsRuntime,
    Origin::OtherRuntimeNested,
    Origin::OtherRuntimeBetween,
    Origin::OutsideBlockOn,
];

/// The origins on the runtime's own thread (for triggers that are `!Send`,
/// such as `JoinHandle::abort`).
pub const SAME_THREAD_ORIGINS: [Origin; 5] = [
    Origin::OtherTask,
    Origin::MainFuture,
    Origin::OtherRuntimeNested,
    Origin::OtherRuntimeBetween,
    Origin::OutsideBlockOn,
];

/// How long a cross-thread trigger waits first, so the ring is asleep in
/// `io_uring_enter` when the wake-up arrives.
const SETTLE: Duration = Duration::from_millis(20);

/// Spawn `waiting` on `rt`, let it run until it waits, then run `trigger`
/// from `origin` and return what the task returned. `trigger` must make the
/// task finish (it is awaited without a timeout: wrap the test in
/// `with_time_limit`).
pub fn wake_task_from<T, W, F>(rt: &Runtime, origin: Origin, waiting: W, trigger: F) -> T
where
    T: 'static,
    W: Future<Output = T> + 'static,
    F: FnOnce() + Send + 'static,
{
    match origin {
        Origin::OtherThread => {
            let handle = start(rt, waiting);
            rt.block_on(async move {
                let t = thread::spawn(move || {
                    thread::sleep(SETTLE);
                    trigger();
                });
                let out = handle.await;
                t.join().expect("trigger thread");
                out.expect("the woken task")
            })
        }
        Origin::OtherThreadsRuntime => {
            let handle = start(rt, waiting);
            rt.block_on(async move {
                let t = thread::spawn(move || {
                    corio::block_on(async move {
                        corio::time::sleep(SETTLE).await;
                        trigger();
                    })
                });
                let out = handle.await;
                t.join().expect("trigger thread");
                out.expect("the woken task")
            })
        }
        _ => wake_task_from_same_thread(rt, origin, waiting, trigger),
    }
}

/// [`wake_task_from`] for triggers that must stay on the runtime's thread;
/// `origin` must be one of [`SAME_THREAD_ORIGINS`].
pub fn wake_task_from_same_thread<T, W, F>(
    rt: &Runtime,
    origin: Origin,
    waiting: W,
    trigger: F,
) -> T
where
    T: 'static,
    W: Future<Output = T> + 'static,
    F: FnOnce() + 'static,
{
    let handle = start(rt, waiting);
    let out = match origin {
        Origin::OtherTask => rt.block_on(async move {
            corio::spawn(async move { trigger() });
            handle.await
        }),
        Origin::MainFuture => rt.block_on(async move {
            trigger();
            handle.await
        }),
        Origin::OtherRuntimeNested => rt.block_on(async move {
            let other = Runtime::new().expect("second runtime");
            other.block_on(async move { trigger() });
            handle.await
        }),
        Origin::OtherRuntimeBetween => {
            let other = Runtime::new().expect("second runtime");
            other.block_on(async move { trigger() });
            rt.block_on(handle)
        }
        Origin::OutsideBlockOn => {
            trigger();
            rt.block_on(handle)
        }
        Origin::OtherThread | Origin::OtherThreadsRuntime => {
            panic!("{origin:?} is not an origin on the runtime's thread")
        }
    };
    out.expect("the woken task")
}

/// Spawn `waiting` and return once it has been polled (and so registered
/// its waker wherever it waits).
#[allow(clippy::async_yields_async)] // the handle is returned, to be awaited later
fn start<T: 'static>(rt: &Runtime, waiting: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    rt.block_on(async move {
        let handle = corio::spawn(waiting);
        // The task runs in the turn after the one that spawned it.
        yield_now().await;
        yield_now().await;
        assert!(
            !handle.is_finished(),
            "the task must wait for its trigger, not finish on its own"
        );
        handle
    })
}
