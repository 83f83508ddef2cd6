//! The loop: poll what is ready, submit the whole batch with one
//! `io_uring_enter`, and sleep in the kernel only when nothing is runnable.

use super::context;
use super::core::Core;
use super::shared::{Remote, MAIN_TASK};
use crate::driver::Park;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

impl Core {
    pub(crate) fn block_on<F: Future>(self: &Rc<Core>, future: F) -> F::Output {
        let _enter = context::enter(self.clone());
        let mut future = pin!(future);
        let main_waker = self.main_waker.clone();
        let mut cx = Context::from_waker(&main_waker);
        // The first poll happens without a wake.
        self.main_woken.set(true);
        // Left over if a waker panicked out of the last `block_on`.
        self.run_ready();
        loop {
            // Both flags are taken (no short circuit): a wake from here and
            // one from elsewhere are answered by one poll.
            let woken_here = self.main_woken.replace(false);
            if self.shared.take_main_woken() | woken_here {
                let polling = self.executor.polling(MAIN_TASK, &main_waker);
                let polled = future.as_mut().poll(&mut cx);
                drop(polling);
                if let Poll::Ready(output) = polled {
                    return output;
                }
            }
            self.run_ready_tasks();
            let next_timer = self.fire_timers();
            // Operations dropped while the driver was borrowed.
            self.driver.drain_deferred();
            let sleep = !self.has_runnable() && self.shared.prepare_sleep();
            let park = if sleep {
                Park::Until(next_timer.map(|t| t.saturating_duration_since(Instant::now())))
            } else {
                Park::No
            };
            let turned = self.driver.with(|driver| {
                let turned = driver.turn(park);
                driver.take_ready(&mut self.ready.borrow_mut());
                turned
            });
            if let Err(e) = turned {
                panic!("corio: io_uring_enter failed: {e}");
            }
            self.run_ready();
        }
    }

    /// Wake what completions woke and finish the abandoned operations whose
    /// final completion arrived — one at a time, outside every borrow, so a
    /// waker that panics leaves the rest for the next turn.
    fn run_ready(&self) {
        if self.ready.borrow().is_empty() {
            return;
        }
        loop {
            let next = self.ready.borrow_mut().tasks.pop_front();
            let Some(id) = next else { break };
            self.wake_task(id);
        }
        loop {
            let next = self.ready.borrow_mut().wakers.pop_front();
            let Some(waker) = next else { break };
            waker.wake();
        }
        loop {
            let next = self.ready.borrow_mut().finished.pop_front();
            let Some((op, completion)) = next else { break };
            op.finish(completion);
        }
    }

    /// Poll the tasks that were runnable when this turn began (woken here
    /// or from elsewhere); tasks they wake run next turn, after the ring has
    /// had its say.
    fn run_ready_tasks(&self) {
        self.take_remote();
        self.executor.run_ready();
    }

    /// Take the work sent from elsewhere: woken tasks join the run queue,
    /// jobs (another core's spawns) run now, in the order they were sent.
    fn take_remote(&self) {
        let mut remote = std::mem::take(&mut *self.remote.borrow_mut());
        self.shared.drain_remote(&mut remote);
        for item in remote.drain(..) {
            match item {
                Remote::Wake(id) => self.executor.push(id),
                // The job contains its own panics (it reports them to
                // whoever awaits it).
                Remote::Run(job) => job(),
            }
        }
        // The storage is kept for the next turn.
        *self.remote.borrow_mut() = remote;
    }

    /// Wake due timers (in deadline order); returns the next deadline.
    fn fire_timers(&self) -> Option<Instant> {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return None;
        }
        let next = timers.fire(Instant::now(), &mut self.ready.borrow_mut().wakers);
        drop(timers);
        self.run_ready();
        next
    }

    fn has_runnable(&self) -> bool {
        self.main_woken.get() || self.executor.has_runnable()
    }

    /// Drop every task, cancel every operation, wait at most `grace` for
    /// the kernel, release what it returned and orphan (leak) what it did
    /// not.
    ///
    /// Dropping tasks runs user code (destructors, join wakers). If some of
    /// it panics, the driver is shut down all the same — a guard does it
    /// while the panic unwinds — so no buffer the kernel may still write is
    /// ever freed; the first such panic is resumed at the end.
    pub(crate) fn shutdown(&self, grace: Duration) {
        crate::trace::debug_event!(grace_ms = grace.as_millis() as u64, "runtime stopping");
        // Work sent from elsewhere is refused from now on; jobs queued and
        // never run are dropped (whoever awaits them learns they were
        // cancelled).
        let unrun = self.shared.close();
        contain(|| drop(unrun));
        struct ShutDriver<'a>(&'a Core, Duration);
        impl Drop for ShutDriver<'_> {
            fn drop(&mut self) {
                self.0.shut_driver(self.1);
            }
        }
        if grace.is_zero() {
            // Not waiting for the kernel at all: still, what user code
            // queued (a close) is submitted before the ring goes. The
            // cancels of the tasks dropped below are not.
            self.driver.with(|driver| driver.flush());
        }
        let guard = ShutDriver(self, grace);
        let panic = self.drop_tasks();
        drop(guard);
        if let Some(payload) = panic {
            if !std::thread::panicking() {
                resume_unwind(payload);
            }
        }
    }

    /// Drop every task; returns the first panic user code raised meanwhile.
    fn drop_tasks(&self) -> Option<Box<dyn Any + Send>> {
        self.executor.drop_all()
    }

    /// The driver's half of shutdown; user code it runs (timer wakers, a
    /// waiting `close`) cannot stop it: its panics are dropped.
    fn shut_driver(&self, grace: Duration) {
        let timers = self.timers.borrow_mut().take_all();
        contain(|| drop(timers));
        contain(|| self.driver.drain_deferred());
        contain(|| {
            self.driver.with(|driver| {
                driver.shutdown(grace);
                driver.take_ready(&mut self.ready.borrow_mut());
            })
        });
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        // Futures of other executors waiting on this runtime's operations
        // are woken: they learn their operation finished or was orphaned.
        for waker in ready.wakers {
            contain(|| waker.wake());
        }
        for (op, completion) in ready.finished {
            contain(|| op.finish(completion));
        }
    }
}

/// Run foreign code during shutdown, dropping a panic it raises (the
/// runtime must finish shutting down; a second panic while one unwinds
/// would abort).
fn contain(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}
