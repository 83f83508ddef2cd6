//! The loop: poll what is ready, submit the whole batch with one
//! `io_uring_enter`, and sleep in the kernel only when nothing is runnable.

use super::context;
use super::core::Core;
use super::shared::MAIN_TASK;
use crate::driver::{CurrentTask, Park};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

impl Core {
    pub(crate) fn block_on<F: Future>(self: &Rc<Core>, future: F) -> F::Output {
        let _enter = context::enter(self.clone());
        let mut future = pin!(future);
        let main_waker = self.main_waker.clone();
        let mut cx = Context::from_waker(&main_waker);
        // The first poll happens without a wake.
        self.main_woken.set(true);
        let mut tasks = Vec::with_capacity(64);
        let mut wakers = Vec::with_capacity(64);
        let mut finished = Vec::new();
        loop {
            // Both flags are taken (no short circuit): a wake from here and
            // one from elsewhere are answered by one poll.
            let woken_here = self.main_woken.replace(false);
            if self.shared.take_main_woken() | woken_here {
                self.current.set(CurrentTask {
                    id: MAIN_TASK,
                    waker: &main_waker,
                });
                let polled = future.as_mut().poll(&mut cx);
                self.current.set(CurrentTask::NONE);
                if let Poll::Ready(output) = polled {
                    return output;
                }
            }
            self.run_ready_tasks();
            let next_timer = self.fire_timers(&mut wakers);
            let sleep = !self.has_runnable() && self.shared.prepare_sleep();
            let park = if sleep {
                Park::Until(next_timer.map(|t| t.saturating_duration_since(Instant::now())))
            } else {
                Park::No
            };
            let turned = self.driver.borrow_mut().turn(park);
            if sleep {
                self.shared.awake();
            }
            if let Err(e) = turned {
                panic!("corio: io_uring_enter failed: {e}");
            }
            self.driver
                .borrow_mut()
                .take_ready(&mut tasks, &mut wakers, &mut finished);
            for id in tasks.drain(..) {
                self.wake_task(id);
            }
            for waker in wakers.drain(..) {
                waker.wake();
            }
            for (op, completion) in finished.drain(..) {
                op.finish(completion);
            }
        }
    }

    /// Poll the tasks that were runnable when this turn began; tasks they
    /// wake run next turn, after the ring has had its say.
    fn run_ready_tasks(&self) {
        self.shared.drain_remote(&mut self.run_queue.borrow_mut());
        let ready = self.run_queue.borrow().len();
        for _ in 0..ready {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(id) => self.run_task(id),
                None => break,
            }
        }
    }

    /// Wake due timers (in deadline order); returns the next deadline.
    fn fire_timers(&self, wakers: &mut Vec<std::task::Waker>) -> Option<Instant> {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return None;
        }
        let next = timers.fire(Instant::now(), wakers);
        drop(timers);
        for waker in wakers.drain(..) {
            waker.wake();
        }
        next
    }

    fn has_runnable(&self) -> bool {
        self.main_woken.get() || !self.run_queue.borrow().is_empty()
    }

    /// Drop every task, cancel every operation, wait (bounded) for the
    /// kernel, release what it returned and leak what it did not.
    pub(crate) fn shutdown(&self) {
        // Tasks may spawn or drop other tasks while being dropped: repeat
        // until the table stays empty (bounded, in case drops keep spawning).
        for _ in 0..16 {
            let tasks: Vec<_> = self.tasks.borrow_mut().drain().collect();
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                task.shut_down();
            }
        }
        self.run_queue.borrow_mut().clear();
        self.timers.borrow_mut().clear();
        let mut driver = self.driver.borrow_mut();
        driver.shutdown();
        let mut wakers = Vec::new();
        let mut finished = Vec::new();
        driver.take_ready(&mut Vec::new(), &mut wakers, &mut finished);
        drop(driver);
        drop(wakers);
        for (op, completion) in finished {
            op.finish(completion);
        }
    }
}
