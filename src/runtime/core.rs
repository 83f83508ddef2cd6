//! One runtime's state on its thread: ring, tasks, run queue, timers.

use super::shared::{Remote, Shared, MAIN_TASK};
use crate::driver::{BufferTable, Driver, DriverCell, FileTable, Handle, Ready};
use crate::task::Executor;
use crate::time::timers::{Timers, TimersHandle};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Wake, Waker};

pub(crate) struct Core {
    pub(crate) driver: Handle,
    pub(crate) timers: TimersHandle,
    pub(crate) shared: Arc<Shared>,
    /// The spawned tasks and their run queue.
    pub(crate) executor: Rc<Executor>,
    /// Its `block_on` is on the stack.
    pub(crate) running: Cell<bool>,
    /// The `block_on` future was woken from this thread while it runs
    /// (wakes from elsewhere go through [`Shared`]).
    pub(crate) main_woken: Cell<bool>,
    pub(crate) main_waker: Waker,
    /// The driver's fixed-file table (reachable without borrowing it).
    pub(crate) files: Rc<FileTable>,
    /// The driver's registered-buffer table (likewise).
    pub(crate) buffers: Rc<BufferTable>,
    /// Work reaped from the ring and due timers, done by the loop after the
    /// driver is released (see [`Ready`]).
    pub(crate) ready: RefCell<Ready>,
    /// Storage for the work taken from [`Shared`]'s queue each turn.
    pub(crate) remote: RefCell<Vec<Remote>>,
}

impl Core {
    pub(crate) fn new(entries: u32, msg_ring_wake: bool) -> std::io::Result<Core> {
        let shared = Arc::new(Shared::new()?);
        let executor = Rc::new(Executor::new(shared.clone()));
        let current = executor.current_task();
        let driver = Driver::new(entries, shared.eventfd().as_raw_fd(), current)?;
        if msg_ring_wake {
            // Without one (no MSG_RING, or no descriptor left to duplicate
            // the ring's), wakes from other rings use the eventfd.
            if let Ok(Some(target)) = driver.wake_target(shared.eventfd().as_raw_fd()) {
                shared.wake_with_msg_ring(target);
            }
        }
        let files = driver.files.clone();
        let buffers = driver.buffers.clone();
        crate::trace::debug_event!(entries, msg_ring_wake, "runtime started");
        Ok(Core {
            files,
            buffers,
            driver: Rc::new(DriverCell::new(driver)),
            timers: Rc::new(RefCell::new(Timers::new())),
            main_waker: Waker::from(Arc::new(MainWaker(shared.clone()))),
            shared,
            executor,
            running: Cell::new(false),
            main_woken: Cell::new(false),
            ready: RefCell::new(Ready::default()),
            remote: RefCell::new(Vec::new()),
        })
    }

    /// Wake a task of this runtime, or its `block_on` future, by id (an
    /// operation it polled with its own waker completed).
    pub(crate) fn wake_task(&self, id: usize) {
        if id == MAIN_TASK {
            self.main_woken.set(true);
        } else {
            self.executor.wake(id);
        }
    }

    pub(crate) fn metrics(&self) -> crate::Metrics {
        let driver = self.driver.borrow();
        crate::Metrics {
            ops_submitted: driver.slots.submitted,
            ops_completed: driver.slots.completed,
            ops_in_flight: driver.slots.in_flight(),
            enter_calls: driver.enter_calls,
            completions_lost: driver.completions_lost,
            tasks_spawned: self.executor.spawned(),
            tasks_alive: self.executor.alive(),
        }
    }
}

/// The waker of the `block_on` future. No queued flag of its own: the
/// `main_woken` flags (in [`Core`] for wakes from its own loop, in
/// [`Shared`] for the rest) already make repeated wakes free.
struct MainWaker(Arc<Shared>);

impl MainWaker {
    fn wake_main(&self) {
        // On the runtime's own thread, inside its block_on: a plain flag.
        let local = super::context::with_core(|core| {
            let ours = Arc::ptr_eq(&core.shared, &self.0);
            if ours {
                core.main_woken.set(true);
            }
            ours
        });
        if local != Some(true) {
            self.0.wake_remote(MAIN_TASK);
        }
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_main()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_main()
    }
}
