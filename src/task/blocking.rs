//! `spawn_blocking`: a bounded pool of threads, shared by the process, for
//! work that would stall a core's loop (a blocking system call, a CPU-heavy
//! computation, a library without async API).

use super::cell::Join;
use super::{JoinError, JoinHandle, ResultCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// Threads at most, unless changed with [`set_max_blocking_threads`].
const DEFAULT_MAX_THREADS: usize = 512;
/// An idle thread exits after this long without work, unless changed with
/// [`set_blocking_keep_alive`].
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Run `f` on a thread of the blocking pool and await its result from the
/// calling task (asyncio's `loop.run_in_executor(None, f)`).
///
/// The pool is shared by the whole process: it starts threads on demand,
/// up to 512 (see [`set_max_blocking_threads`]) — beyond that, calls queue
/// — and a thread idle for 5 s (see [`set_blocking_keep_alive`]) exits. Its
/// threads may run on every CPU the process may, never only on the CPU of
/// a pinned core that called this. A panic in `f` is a [`JoinError`] with
/// `is_panic()` and its payload, and the pool keeps working.
///
/// [`abort`](JoinHandle::abort) keeps a call that has not started from
/// running (the handle then gives a cancelled [`JoinError`], after `f` has
/// been dropped); a call already running cannot be interrupted: it runs to
/// its end and the handle gives its result.
/// Needs no runtime to run; awaiting the handle needs some executor.
///
/// ```
/// corio::block_on(async {
///     let digest = corio::task::spawn_blocking(|| (0..1_000_000u64).sum::<u64>()).await;
///     assert_eq!(digest.unwrap(), 499_999_500_000);
/// });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let state = Arc::new(ResultCell::new());
    let job_state = state.clone();
    pool().submit(Box::new(move || {
        if job_state.aborted() {
            job_state.cancel_after_dropping(f);
            return;
        }
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panic);
        job_state.complete(result);
    }));
    JoinHandle::new(Rc::new(BlockingJoin { state }))
}

/// Let the blocking pool grow to `n` threads (at least 1; 512 by default).
/// Lowering it does not stop threads already running: they exit when idle.
pub fn set_max_blocking_threads(n: usize) {
    pool().max_threads.store(n.max(1), Ordering::Relaxed);
}

/// How long an idle thread of the blocking pool waits for work before it
/// exits (5 s by default).
pub fn set_blocking_keep_alive(keep_alive: Duration) {
    let ms = u64::try_from(keep_alive.as_millis()).unwrap_or(u64::MAX);
    pool().keep_alive_ms.store(ms, Ordering::Relaxed);
}

/// The blocking pool's threads right now (started and not exited).
pub fn blocking_threads() -> usize {
    pool().lock().threads
}

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    queue: Mutex<Queue>,
    work: Condvar,
    max_threads: AtomicUsize,
    keep_alive_ms: AtomicU64,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Threads started and not exited.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Wake-ups sent to idle threads and not yet taken: an idle thread is
    /// free for new work only if `idle > notified`.
    notified: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        queue: Mutex::new(Queue {
            jobs: VecDeque::new(),
            threads: 0,
            idle: 0,
            notified: 0,
        }),
        work: Condvar::new(),
        max_threads: AtomicUsize::new(DEFAULT_MAX_THREADS),
        keep_alive_ms: AtomicU64::new(DEFAULT_KEEP_ALIVE.as_millis() as u64),
    })
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn submit(&'static self, job: Job) {
        let mut queue = self.lock();
        queue.jobs.push_back(job);
        if queue.idle > queue.notified {
            queue.notified += 1;
            drop(queue);
            self.work.notify_one();
            return;
        }
        if queue.threads >= self.max_threads.load(Ordering::Relaxed) {
            // Queued: a busy thread takes it when done.
            return;
        }
        queue.threads += 1;
        drop(queue);
        let spawned = std::thread::Builder::new()
            .name("corio-blocking".into())
            .spawn(move || self.worker());
        if spawned.is_err() {
            // No thread to be had: the job waits for a running one (if none
            // runs, it waits for the next submission to try again).
            self.lock().threads -= 1;
        }
    }

    fn worker(&self) {
        // Not the pinned core's single CPU it may have been started from.
        if let Some(cpus) = crate::driver::cpu::process_cpus() {
            let _ = crate::driver::cpu::pin(&cpus);
        }
        let mut queue = self.lock();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                drop(queue);
                // The job contains its own panics (they are its result).
                job();
                queue = self.lock();
                continue;
            }
            queue.idle += 1;
            let keep_alive = Duration::from_millis(self.keep_alive_ms.load(Ordering::Relaxed));
            let (q, waited) = self
                .work
                .wait_timeout(queue, keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            queue = q;
            queue.idle -= 1;
            if queue.notified > 0 {
                // A submission woke an idle thread: this one takes it
                // (whichever thread the condvar picked, one wake is spent).
                queue.notified -= 1;
                continue;
            }
            if waited.timed_out() && queue.jobs.is_empty() {
                queue.threads -= 1;
                return;
            }
        }
    }
}

/// The `JoinHandle` side of a blocking call.
struct BlockingJoin<T> {
    state: Arc<ResultCell<T>>,
}

impl<T> Join<T> for BlockingJoin<T> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        self.state.poll_result(cx, "JoinHandle")
    }

    fn abort(&self) {
        self.state.abort();
    }

    fn is_finished(&self) -> bool {
        self.state.is_finished()
    }
}
