//! One runtime's state on its thread: ring, tasks, run queue, timers.

use super::shared::{Shared, MAIN_TASK};
use crate::driver::{CurrentTask, Driver, DriverCell, FileTable, Handle, Ready};
use crate::task::{JoinHandle, Schedule, Task, TaskCell, TaskWaker};
use crate::time::timers::{Timers, TimersHandle};
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Wake, Waker};

pub(crate) struct Core {
    pub(crate) driver: Handle,
    pub(crate) timers: TimersHandle,
    pub(crate) shared: Arc<Shared>,
    pub(crate) tasks: RefCell<Slab<Rc<dyn Task>>>,
    pub(crate) run_queue: RefCell<VecDeque<usize>>,
    /// Its `block_on` is on the stack.
    pub(crate) running: Cell<bool>,
    /// The `block_on` future was woken from this thread while it runs
    /// (wakes from elsewhere go through [`Shared`]).
    pub(crate) main_woken: Cell<bool>,
    pub(crate) tasks_spawned: Cell<u64>,
    pub(crate) main_waker: Waker,
    /// The task being polled (shared with the driver, which wakes tasks
    /// polled with their own waker by id).
    pub(crate) current: Rc<Cell<CurrentTask>>,
    /// The driver's fixed-file table (reachable without borrowing it).
    pub(crate) files: Rc<FileTable>,
    /// Work reaped from the ring and due timers, done by the loop after the
    /// driver is released (see [`Ready`]).
    pub(crate) ready: RefCell<Ready>,
}

impl Core {
    pub(crate) fn new(entries: u32) -> std::io::Result<Core> {
        let shared = Arc::new(Shared::new()?);
        let driver = Driver::new(entries, shared.eventfd().as_raw_fd())?;
        let current = driver.current.clone();
        let files = driver.files.clone();
        Ok(Core {
            current,
            files,
            driver: Rc::new(DriverCell::new(driver)),
            timers: Rc::new(RefCell::new(Timers::new())),
            main_waker: Waker::from(Arc::new(MainWaker(shared.clone()))),
            shared,
            tasks: RefCell::new(Slab::with_capacity(64)),
            run_queue: RefCell::new(VecDeque::with_capacity(64)),
            running: Cell::new(false),
            main_woken: Cell::new(false),
            ready: RefCell::new(Ready::default()),
            tasks_spawned: Cell::new(0),
        })
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let mut tasks = self.tasks.borrow_mut();
        let id = tasks.vacant_key();
        let flag = Arc::new(TaskWaker::new(id, self.shared.clone()));
        flag.set_queued();
        let cell = Rc::new(TaskCell::new(future, flag));
        tasks.insert(cell.clone());
        drop(tasks);
        self.tasks_spawned.set(self.tasks_spawned.get() + 1);
        self.run_queue.borrow_mut().push_back(id);
        JoinHandle::new(cell)
    }

    /// Wake a task of this runtime by id (an operation it polled with its
    /// own waker completed). A stale id wakes nothing, or spuriously polls
    /// the task that reused it: harmless.
    pub(crate) fn wake_task(&self, id: usize) {
        if id == MAIN_TASK {
            self.main_woken.set(true);
            return;
        }
        let schedule = self.tasks.borrow().get(id).is_some_and(|t| t.set_queued());
        if schedule {
            self.run_queue.borrow_mut().push_back(id);
        }
    }

    /// Queue a task woken on this thread while this runtime runs.
    pub(crate) fn schedule_local(&self, id: usize) {
        if id == MAIN_TASK {
            self.main_woken.set(true);
        } else {
            self.run_queue.borrow_mut().push_back(id);
        }
    }

    /// Poll one queued task; drop it from the table once finished.
    pub(crate) fn run_task(&self, id: usize) {
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

    pub(crate) fn metrics(&self) -> crate::Metrics {
        let driver = self.driver.borrow();
        crate::Metrics {
            ops_submitted: driver.slots.submitted,
            ops_completed: driver.slots.completed,
            ops_in_flight: driver.slots.in_flight(),
            enter_calls: driver.enter_calls,
            completions_lost: driver.completions_lost,
            tasks_spawned: self.tasks_spawned.get(),
            tasks_alive: self.tasks.borrow().len() as u64,
        }
    }
}

/// The waker of the `block_on` future. No queued flag of its own: the
/// `main_woken` flag in [`Shared`] already makes repeated wakes free.
struct MainWaker(Arc<Shared>);

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.0.schedule(MAIN_TASK)
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.schedule(MAIN_TASK)
    }
}

/// Clears the task being polled when dropped (see [`Core::polling`]).
pub(crate) struct Polling<'a>(&'a Cell<CurrentTask>);

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.set(CurrentTask::NONE);
    }
}
