//! Tasks: futures the runtime polls on its own (asyncio's `Task`).
//!
//! [`spawn`] starts one and gives a [`JoinHandle`] to await, abort or check.
//! Tasks run on the thread of the runtime that spawned them and need not be
//! `Send`; a task that panics ends with [`JoinError::is_panic`] and leaves
//! the runtime and its other tasks running.
//!
//! Structured concurrency, local to a thread: a [`JoinSet`] joins tasks in
//! the order they finish and cancels what it still holds when dropped; a
//! [`TaskGroup`] succeeds or fails as a whole (asyncio's `TaskGroup`).

mod blocking;
mod cell;
pub(crate) mod executor;
mod group;
mod join;
mod join_set;
mod result_cell;
mod waker;
mod yield_now;

pub use blocking::{
    blocking_threads, set_blocking_keep_alive, set_max_blocking_threads, spawn_blocking,
};
pub(crate) use executor::{CurrentTask, Executor};
pub use group::TaskGroup;
pub use join::{JoinError, JoinHandle};
pub use join_set::JoinSet;
pub(crate) use result_cell::ResultCell;
pub(crate) use waker::Schedule;
#[cfg(all(test, corio_loom))]
pub(crate) use waker::TaskWaker;
pub use yield_now::yield_now;

use std::future::Future;

/// Run `future` as a new task on the runtime whose `block_on` is running on
/// this thread (asyncio's `create_task`).
///
/// The future need not be `Send`; it must be `'static` because it may
/// outlive the caller. It starts at the runtime's next turn. Tasks still
/// pending when `block_on` returns stay with their runtime and go on at its
/// next `block_on`; dropping the runtime cancels them.
///
/// # Panics
///
/// If no corio runtime is running on this thread.
///
/// ```
/// corio::block_on(async {
///     let handle = corio::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = std::panic::Location::caller();
    match executor::with_current(move |e| e.spawn_at(future, location)) {
        Some(handle) => handle,
        None => panic!(
            "corio::spawn called with no corio runtime running on this thread: \
             call it from inside corio::block_on or Runtime::block_on"
        ),
    }
}
