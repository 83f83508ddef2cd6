//! Thread-per-core: one runtime per CPU, each on its own pinned thread,
//! sharing nothing by default, with explicit work and messages between
//! them.
//!
//! A [`Pool`] starts the cores. Inside one, a task can:
//! - run a closure on another core with [`spawn_on`] — the closure crosses,
//!   the future it builds runs there and need not be `Send` (seastar's
//!   `submit_to`): for work that belongs to another core's data;
//! - send values with [`corio::sync::mpsc`](crate::sync::mpsc): for streams
//!   of messages between long-lived tasks;
//! - or need neither: with one listener per core
//!   ([`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport))
//!   the kernel spreads connections and each core serves its own.
//!
//! A core asleep in `io_uring_enter` is woken by the first message or spawn
//! sent to it after it fell asleep, and only by that one.

mod builder;
mod remote;
mod shutdown;
mod threads;

pub use builder::Builder;
pub use remote::RemoteHandle;
pub use shutdown::ShutdownRequested;
pub use threads::{Handle, Pool};

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use threads::PoolShared;

/// One core of a [`Pool`]: its position in the pool, `0..pool.cores()`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CoreId(usize);

impl CoreId {
    /// The core's position in its pool (not its CPU number).
    pub fn index(&self) -> usize {
        self.0
    }
}

thread_local! {
    /// The core this thread is, and its pool.
    static CURRENT: RefCell<Option<(CoreId, Arc<PoolShared>)>> = const { RefCell::new(None) };
}

/// Makes this thread core `id` of `pool` until dropped.
struct Entered;

fn enter(id: CoreId, pool: Arc<PoolShared>) -> Entered {
    CURRENT.with(|c| *c.borrow_mut() = Some((id, pool)));
    Entered
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

fn current_pool() -> Option<Arc<PoolShared>> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|(_, p)| p.clone()))
        .ok()
        .flatten()
}

/// The core this code runs on, if it runs on a pool's core.
pub fn current() -> Option<CoreId> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|(id, _)| *id))
        .ok()
        .flatten()
}

/// The cores of the pool this code runs on, in order; empty outside a
/// pool.
pub fn cores() -> Vec<CoreId> {
    current_pool().map_or_else(Vec::new, |p| p.core_ids().collect())
}

/// Run `f` on core `core` of this pool: the closure crosses to that core,
/// and the future it builds runs there as a task — it need not be `Send`,
/// only the closure and the output cross. On the current core it is
/// spawned at once, without a queue — unless the code calling it runs in a
/// runtime nested inside one of the core's tasks: the task still goes to
/// the core, and starts once the nested `block_on` has returned (awaiting
/// it inside the nested runtime would wait forever).
///
/// The returned [`RemoteHandle`] is a `Send` future of the result; a panic
/// in `f` or in its future is a [`JoinError`](crate::task::JoinError) with
/// its payload.
///
/// ```no_run
/// # corio::Pool::new()?.run(|_| async {
/// let cores = corio::pool::cores();
/// let last = *cores.last().unwrap();
/// let on_last = corio::pool::spawn_on(last, move || async move {
///     // Runs on the last core: !Send values are fine here.
///     let local = std::rc::Rc::new(corio::pool::current().unwrap().index());
///     *local
/// });
/// assert_eq!(on_last.await.unwrap(), last.index());
/// # });
/// # std::io::Result::Ok(())
/// ```
///
/// # Panics
///
/// Outside a pool's core (use [`Handle::spawn_on`] there), or if `core` is
/// not a core of this pool.
#[track_caller]
pub fn spawn_on<F, Fut>(core: CoreId, f: F) -> RemoteHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    match current_pool() {
        Some(pool) => pool.spawn_on(core, f),
        None => panic!(
            "corio::pool::spawn_on called outside a pool's core: \
             use Handle::spawn_on (from Pool::handle) on other threads"
        ),
    }
}

/// Ask every core of this pool to stop: the [`shutdown_requested`] futures
/// waiting on all of them resolve, and during a [`Pool::run`] so does every
/// one awaited until that run returns (the request ends with it).
///
/// # Panics
///
/// Outside a pool's core (use [`Handle::request_shutdown`] there).
#[track_caller]
pub fn request_shutdown() {
    match current_pool() {
        Some(pool) => pool.shutdown.request(),
        None => panic!(
            "corio::pool::request_shutdown called outside a pool's core: \
             use Handle::request_shutdown (from Pool::handle) on other threads"
        ),
    }
}

/// Resolves once a shutdown of this pool is requested — by
/// [`request_shutdown`], a [`Handle`], or a core's future panicking during
/// [`Pool::run`]. A request made after this future was created always
/// resolves it; one made earlier does only while the run it was made during
/// is still in progress (a request never outlives its run, and one made
/// between runs reaches only the futures already waiting). Outside a pool
/// it never resolves.
///
/// Cancel-safe: it only observes the request.
pub fn shutdown_requested() -> ShutdownRequested {
    ShutdownRequested::new(current_pool())
}
