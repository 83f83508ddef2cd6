//! The cores: one thread and one runtime each, started and stopped by the
//! [`Pool`], reached from anywhere through its [`Handle`].

use super::remote::{self, RemoteHandle};
use super::shutdown::Shutdown;
use super::{Builder, CoreId};
use crate::driver::cpu;
use crate::runtime::shared::{Shared, MAIN_TASK};
use std::future::{poll_fn, Future};
use std::io;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};

/// What every core and handle of one pool shares.
pub(crate) struct PoolShared {
    cores: Vec<CoreSlot>,
    pub(crate) shutdown: Shutdown,
}

struct CoreSlot {
    /// The core runtime's queue of work from elsewhere (and its waker).
    remote: Arc<Shared>,
    /// Asks the core's loop to return.
    stop: AtomicBool,
}

/// A pool of cores: one corio runtime per CPU, each on its own pinned
/// thread (thread-per-core). Tasks on a core stay there; work and messages
/// move between cores explicitly — [`spawn_on`](super::spawn_on),
/// [`corio::sync::mpsc`](crate::sync::mpsc), or one listener per core
/// ([`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport)).
///
/// ```no_run
/// let pool = corio::Pool::new()?;
/// let per_core = pool.run(|core| async move { core.index() * 10 });
/// assert_eq!(per_core.len(), pool.cores());
/// # std::io::Result::Ok(())
/// ```
///
/// The cores' threads and runtimes live as long as the `Pool`: tasks
/// spawned on a core go on running between and after [`run`](Pool::run)s.
/// Dropping it stops every core — their tasks are dropped, operations in
/// flight cancelled with a runtime's bounded shutdown — and joins the
/// threads.
pub struct Pool {
    shared: Arc<PoolShared>,
    threads: Vec<JoinHandle<()>>,
    /// Held for the length of a [`Pool::run`]: runs take turns.
    running: Mutex<()>,
}

/// A handle on a [`Pool`] for any thread — one that runs no corio runtime
/// included: spawn on a core, ask for shutdown. `Send + Sync + Clone`.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<PoolShared>,
}

impl Pool {
    /// One core per CPU this process may run on (`sched_getaffinity`), each
    /// pinned to its CPU. See [`Builder`] for the choices.
    pub fn new() -> io::Result<Pool> {
        Builder::new().build()
    }

    /// Configure a pool.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Start one core per entry of `placement` (its CPU, if pinned).
    pub(crate) fn start(
        placement: Vec<Option<usize>>,
        runtime: crate::Builder,
    ) -> io::Result<Pool> {
        let mut threads = Vec::with_capacity(placement.len());
        let mut started = Vec::with_capacity(placement.len());
        let mut gos = Vec::with_capacity(placement.len());
        for (index, cpu) in placement.into_iter().enumerate() {
            let (started_tx, started_rx) = mpsc::channel();
            let (go_tx, go_rx) = mpsc::channel::<Arc<PoolShared>>();
            let runtime = runtime.clone();
            let thread = thread::Builder::new()
                .name(format!("corio-core-{index}"))
                .spawn(move || core_main(CoreId(index), cpu, runtime, started_tx, go_rx))?;
            threads.push(thread);
            started.push(started_rx);
            gos.push(go_tx);
        }
        let mut cores = Vec::with_capacity(threads.len());
        let mut failure = None;
        for (index, rx) in started.into_iter().enumerate() {
            match rx.recv() {
                Ok(Ok(remote)) => cores.push(CoreSlot {
                    remote,
                    stop: AtomicBool::new(false),
                }),
                Ok(Err(e)) => {
                    failure.get_or_insert(io::Error::new(
                        e.kind(),
                        format!("core {index} could not start: {e}"),
                    ));
                }
                Err(_) => {
                    failure.get_or_insert(io::Error::other(format!(
                        "core {index} could not start: its thread ended"
                    )));
                }
            }
        }
        if let Some(e) = failure {
            // The cores that did start see their go channel close and end.
            drop(gos);
            for t in threads {
                let _ = t.join();
            }
            return Err(e);
        }
        let shared = Arc::new(PoolShared {
            cores,
            shutdown: Shutdown::new(),
        });
        for go in gos {
            let _ = go.send(shared.clone());
        }
        Ok(Pool {
            shared,
            threads,
            running: Mutex::new(()),
        })
    }

    /// Number of cores.
    pub fn cores(&self) -> usize {
        self.shared.cores.len()
    }

    /// A handle for any thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Run `f(core)` on every core, as that core's main future, and return
    /// the outputs in core order. Blocks the calling thread (which must not
    /// be one of this pool's cores).
    ///
    /// If one core's future panics, the others are asked to stop
    /// ([`shutdown_requested`](super::shutdown_requested) resolves on every
    /// core); `run` waits until every core's future has finished — their
    /// destructors have run — and then resumes that panic here, with its
    /// original payload. A shutdown request ends with the run it was made
    /// during: `run` can be called again, also after a panic.
    ///
    /// Runs take turns: a `run` called from another thread while one is in
    /// progress waits for it to return first — so a run's futures must not
    /// wait for the thread of a second `run` (that thread is blocked until
    /// the first returns).
    pub fn run<F, Fut>(&self, f: F) -> Vec<Fut::Output>
    where
        F: Fn(CoreId) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        if super::current_pool().is_some_and(|p| Arc::ptr_eq(&p, &self.shared)) {
            panic!(
                "corio: Pool::run called from one of the pool's own cores, which it would block \
                 forever; spawn on the cores with corio::pool::spawn_on instead"
            );
        }
        let _turn = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let run = self.shared.shutdown.begin_run();
        let f = Arc::new(f);
        let mut handles: Vec<Option<RemoteHandle<Fut::Output>>> = self
            .shared
            .core_ids()
            .map(|core| {
                let f = f.clone();
                Some(self.shared.spawn_on(core, move || f(core)))
            })
            .collect();
        let mut outputs: Vec<Option<Fut::Output>> = handles.iter().map(|_| None).collect();
        let mut first_panic = None;
        block_on_thread(poll_fn(|cx| {
            let mut pending = false;
            for (i, slot) in handles.iter_mut().enumerate() {
                let Some(handle) = slot else { continue };
                match Pin::new(handle).poll(cx) {
                    Poll::Pending => pending = true,
                    Poll::Ready(result) => {
                        *slot = None;
                        match result {
                            Ok(value) => outputs[i] = Some(value),
                            Err(e) => {
                                if first_panic.is_none() {
                                    // Panicked (or, if the core was somehow
                                    // stopped, cancelled): the others stop.
                                    self.shared.shutdown.request();
                                    first_panic = Some(e.try_into_panic().unwrap_or_else(|e| {
                                        Box::new(format!("core {i}'s future: {e}"))
                                    }));
                                }
                            }
                        }
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }));
        self.shared.shutdown.end_run(run);
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
        outputs
            .into_iter()
            .map(|o| o.expect("every core returned"))
            .collect()
    }

    /// The counters of every core, in core order (see
    /// [`Metrics`](crate::Metrics)).
    pub fn metrics(&self) -> Vec<crate::Metrics> {
        let handles: Vec<_> = self
            .shared
            .core_ids()
            .map(|core| self.shared.spawn_on(core, || async { crate::metrics() }))
            .collect();
        handles
            .into_iter()
            .map(|h| block_on_thread(h).unwrap_or_default())
            .collect()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for core in &self.shared.cores {
            core.stop.store(true, Ordering::Release);
            core.remote.wake_remote(MAIN_TASK);
        }
        let me = thread::current().id();
        for t in self.threads.drain(..) {
            // A pool dropped on one of its own cores cannot wait for
            // itself: that core stops once this task returns.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("cores", &self.cores())
            .finish()
    }
}

impl Handle {
    /// Run `f` on core `core`: the closure crosses to that core, and the
    /// future it builds runs there as a task (it need not be `Send`). See
    /// [`spawn_on`](super::spawn_on).
    ///
    /// # Panics
    ///
    /// If `core` is not a core of this pool.
    pub fn spawn_on<F, Fut>(&self, core: CoreId, f: F) -> RemoteHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.shared.spawn_on(core, f)
    }

    /// Ask every core to stop, as [`request_shutdown`](super::request_shutdown)
    /// does from a core: the [`shutdown_requested`](super::shutdown_requested)
    /// futures waiting resolve, and during a [`Pool::run`] so does every one
    /// awaited until that run returns.
    pub fn request_shutdown(&self) {
        self.shared.shutdown.request();
    }

    /// The pool's cores, in order.
    pub fn cores(&self) -> Vec<CoreId> {
        self.shared.core_ids().collect()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("cores", &self.shared.cores.len())
            .finish()
    }
}

impl PoolShared {
    pub(crate) fn core_ids(&self) -> impl Iterator<Item = CoreId> {
        (0..self.cores.len()).map(CoreId)
    }

    pub(crate) fn spawn_on<F, Fut>(
        self: &Arc<Self>,
        core: CoreId,
        f: F,
    ) -> RemoteHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let Some(slot) = self.cores.get(core.0) else {
            panic!(
                "corio: core {} is not a core of this pool, which has {}",
                core.0,
                self.cores.len()
            );
        };
        let (handle, job) = remote::new(f);
        // This core's own runtime runs here (not one nested in a task of
        // it, whose tasks would die with it).
        let here = crate::runtime::context::is_running(&slot.remote);
        if here {
            // This core: spawned at once, no queue.
            job.start();
        } else if let Err(refused) = slot.remote.run_remote(Box::new(move || job.start())) {
            // The core has stopped: dropping the job cancels the task.
            drop(refused);
        }
        handle
    }
}

/// A core's thread: pin, build the runtime, report, wait for the pool,
/// then run the loop until asked to stop.
fn core_main(
    id: CoreId,
    cpu: Option<usize>,
    runtime: crate::Builder,
    started: mpsc::Sender<io::Result<Arc<Shared>>>,
    go: mpsc::Receiver<Arc<PoolShared>>,
) {
    if let Some(cpu) = cpu {
        if let Err(e) = cpu::pin(&[cpu]) {
            let _ = started.send(Err(io::Error::new(
                e.kind(),
                format!("pinning to CPU {cpu}: {e}"),
            )));
            return;
        }
    }
    let rt = match runtime.build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    if started.send(Ok(rt.shared())).is_err() {
        return;
    }
    let Ok(pool) = go.recv() else {
        // Another core failed: the pool was not built.
        return;
    };
    let _context = super::enter(id, pool.clone());
    let stop = &pool.cores[id.0].stop;
    rt.block_on(poll_fn(|_| {
        // The pool wakes this future (the runtime's main one) after setting
        // the flag.
        if stop.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    drop(rt);
}

/// Wait for `future` on a thread that may run no runtime: park until woken.
fn block_on_thread<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}
