//! The executor core: the table of spawned tasks, the run queue, the task
//! being polled, and which executor runs on this thread. It knows no
//! runtime and no driver: a runtime builds one around a [`Schedule`] (how a
//! wake from elsewhere reaches it), enters it while its loop runs and asks
//! it to poll what is runnable; [`spawn`](crate::spawn) finds it here.

use super::cell::{Task, TaskCell};
use super::waker::{Schedule, TaskWaker};
use super::JoinHandle;
use slab::Slab;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

/// The task being polled: its id and the address of the waker it is polled
/// with (compared, never dereferenced). The driver reads it to wake a task
/// that polled an operation with its own waker by id, without cloning the
/// waker.
#[derive(Clone, Copy)]
pub(crate) struct CurrentTask {
    pub(crate) id: usize,
    pub(crate) waker: *const Waker,
}

impl CurrentTask {
    pub(crate) const NONE: CurrentTask = CurrentTask {
        id: usize::MAX,
        waker: std::ptr::null(),
    };
}

pub(crate) struct Executor {
    tasks: RefCell<Slab<Rc<dyn Task>>>,
    run_queue: RefCell<VecDeque<usize>>,
    scheduler: Arc<dyn Schedule>,
    current: Rc<Cell<CurrentTask>>,
    spawned: Cell<u64>,
}

thread_local! {
    /// The executor whose runtime's loop is running on this thread.
    static CURRENT: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
}

impl Executor {
    pub(crate) fn new(scheduler: Arc<dyn Schedule>) -> Executor {
        Executor {
            tasks: RefCell::new(Slab::with_capacity(64)),
            run_queue: RefCell::new(VecDeque::with_capacity(64)),
            scheduler,
            current: Rc::new(Cell::new(CurrentTask::NONE)),
            spawned: Cell::new(0),
        }
    }

    /// The task being polled, shared with whoever wakes tasks by id.
    pub(crate) fn current_task(&self) -> Rc<Cell<CurrentTask>> {
        self.current.clone()
    }

    /// Spawn, `location` being where the user spawned it (for its span).
    pub(crate) fn spawn_at<F>(
        &self,
        future: F,
        location: &'static std::panic::Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let mut tasks = self.tasks.borrow_mut();
        let id = tasks.vacant_key();
        #[cfg(feature = "tracing")]
        let future = tracing::Instrument::instrument(
            future,
            tracing::trace_span!(target: "corio", "task", id, spawned_at = %location),
        );
        #[cfg(not(feature = "tracing"))]
        let _ = location;
        let waker = Arc::new(TaskWaker::new(id, self.scheduler.clone()));
        waker.set_queued();
        let cell = Rc::new(TaskCell::new(future, waker));
        tasks.insert(cell.clone());
        drop(tasks);
        self.spawned.set(self.spawned.get() + 1);
        self.run_queue.borrow_mut().push_back(id);
        JoinHandle::new(cell)
    }

    /// Wake task `id` (an operation it polled with its own waker completed).
    /// A stale id wakes nothing, or spuriously polls the task that reused
    /// it: harmless.
    pub(crate) fn wake(&self, id: usize) {
        let schedule = self.tasks.borrow().get(id).is_some_and(|t| t.set_queued());
        if schedule {
            self.run_queue.borrow_mut().push_back(id);
        }
    }

    /// Queue task `id`, whose waker already marked it queued.
    pub(crate) fn push(&self, id: usize) {
        self.run_queue.borrow_mut().push_back(id);
    }

    pub(crate) fn has_runnable(&self) -> bool {
        !self.run_queue.borrow().is_empty()
    }

    /// Whether `scheduler` is this executor's (a waker of one of its tasks).
    pub(crate) fn schedules_with(&self, scheduler: &Arc<dyn Schedule>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.scheduler), Arc::as_ptr(scheduler))
    }

    /// Poll the tasks that were runnable when this was called; tasks they
    /// wake run at the next call, after the ring has had its say.
    pub(crate) fn run_ready(&self) {
        let ready = self.run_queue.borrow().len();
        for _ in 0..ready {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(id) => self.run_task(id),
                None => break,
            }
        }
    }

    /// Poll one queued task; drop it from the table once finished.
    fn run_task(&self, id: usize) {
        let task = self.tasks.borrow().get(id).cloned();
        let Some(task) = task else { return };
        let polling = self.polling(id, task.waker());
        let finished = task.run();
        drop(polling);
        if finished {
            let removed = {
                let mut tasks = self.tasks.borrow_mut();
                tasks
                    .get(id)
                    .is_some_and(|t| Rc::ptr_eq(t, &task))
                    .then(|| tasks.remove(id))
            };
            // Dropped outside the borrow: the cell may hold the task's
            // output, whose destructor is user code (it may spawn).
            drop(removed);
        }
    }

    /// Mark task `id`, polled with `waker`, as the one being polled, until
    /// the guard is dropped — also when the poll unwinds, so the address of
    /// a waker that no longer exists is never compared with a later one.
    pub(crate) fn polling(&self, id: usize, waker: &Waker) -> Polling<'_> {
        self.current.set(CurrentTask { id, waker });
        Polling(&self.current)
    }

    /// Drop every task (their futures, then their cells); returns the first
    /// panic user code raised meanwhile (each is contained, so every task
    /// is dropped).
    pub(crate) fn drop_all(&self) -> Option<Box<dyn Any + Send>> {
        self.run_queue.borrow_mut().clear();
        let mut first_panic = None;
        // Tasks may spawn or drop other tasks while being dropped: repeat
        // until the table stays empty (bounded, in case drops keep spawning).
        for _ in 0..16 {
            let tasks: Vec<_> = self.tasks.borrow_mut().drain().collect();
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| task.shut_down())) {
                    first_panic.get_or_insert(p);
                }
            }
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(tasks))) {
                first_panic.get_or_insert(p);
            }
        }
        self.run_queue.borrow_mut().clear();
        first_panic
    }

    /// Tasks spawned so far.
    pub(crate) fn spawned(&self) -> u64 {
        self.spawned.get()
    }

    /// Tasks spawned and not finished.
    pub(crate) fn alive(&self) -> u64 {
        self.tasks.borrow().len() as u64
    }
}

/// Clears the task being polled when dropped (see [`Executor::polling`]).
pub(crate) struct Polling<'a>(&'a Cell<CurrentTask>);

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.set(CurrentTask::NONE);
    }
}

/// Make `executor` the one running on this thread until the guard is
/// dropped (then the previous one is back — also when a panic unwinds).
pub(crate) fn enter(executor: Rc<Executor>) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(executor)));
    Entered { previous }
}

/// Restores the previously running executor (see [`enter`]).
pub(crate) struct Entered {
    previous: Option<Rc<Executor>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Run `f` with the executor running on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(&Executor) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}
