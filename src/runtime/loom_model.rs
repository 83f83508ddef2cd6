//! Model check of the cross-thread wake protocol with loom:
//! `RUSTFLAGS="--cfg corio_loom" cargo test --lib --release loom`.
//!
//! The real [`Shared`] and [`TaskWaker`] run against a loop reduced to the
//! protocol: take the wakes, "poll" what was woken (clear its queued flag,
//! read the data its waker published), and sleep on the eventfd when
//! nothing is runnable. Loom explores every interleaving; a wake-up lost in
//! any of them leaves the loop asleep with nobody to notify it, which loom
//! reports as a deadlock. (Each mutation of the protocol that loses a
//! wake — REMOTE never set, REMOTE cleared after draining, a plain store
//! clearing the queued flag, sleeping without checking — fails here.)

use super::shared::{Remote, Shared, MAIN_TASK};
use crate::task::TaskWaker;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::sync::Arc;
use std::task::Waker;

/// One spawned task: its waker and the data its wakers publish.
struct Task {
    waker: Arc<TaskWaker>,
    data: Arc<AtomicUsize>,
    /// Units of data the loop must have seen before it may stop.
    want: usize,
}

struct Model {
    shared: Arc<Shared>,
    tasks: Vec<Task>,
    /// Data published for the `block_on` future, and how much it must see.
    main: Arc<AtomicUsize>,
    want_main: usize,
}

impl Model {
    /// `wants[i]`: how many wakes task `i` will get.
    fn new(wants: &[usize], want_main: usize) -> Model {
        let shared = Arc::new(Shared::new().unwrap());
        let tasks = wants
            .iter()
            .enumerate()
            .map(|(id, &want)| Task {
                waker: Arc::new(TaskWaker::new(id, shared.clone())),
                data: Arc::new(AtomicUsize::new(0)),
                want,
            })
            .collect();
        Model {
            shared,
            tasks,
            main: Arc::new(AtomicUsize::new(0)),
            want_main,
        }
    }

    /// A thread that, `times` times, publishes one unit of data for task
    /// `id` and wakes it.
    fn wake_task_from_thread(&self, id: usize, times: usize) -> thread::JoinHandle<()> {
        let waker = Waker::from(self.tasks[id].waker.clone());
        let data = self.tasks[id].data.clone();
        thread::spawn(move || {
            for _ in 0..times {
                data.fetch_add(1, Ordering::Release);
                waker.wake_by_ref();
            }
        })
    }

    /// A thread that publishes data for the `block_on` future and wakes it.
    fn wake_main_from_thread(&self) -> thread::JoinHandle<()> {
        let shared = self.shared.clone();
        let main = self.main.clone();
        thread::spawn(move || {
            main.fetch_add(1, Ordering::Release);
            shared.wake_remote(MAIN_TASK);
        })
    }

    /// The run loop's side of the protocol, in the order `Core::block_on`
    /// runs it: the main future, the remote queue, the tasks, then sleep
    /// only if `prepare_sleep` allows it. Returns once everything published
    /// has been seen.
    fn run_loop(&self) {
        let shared = &self.shared;
        let mut queue = Vec::new();
        let mut seen = vec![0; self.tasks.len()];
        let mut seen_main = 0;
        loop {
            if shared.take_main_woken() {
                seen_main = self.main.load(Ordering::Acquire);
            }
            shared.drain_remote(&mut queue);
            for remote in queue.drain(..) {
                let Remote::Wake(id) = remote else {
                    unreachable!("the model sends no jobs")
                };
                let task = &self.tasks[id];
                // Core::run_task: the flag is cleared just before the poll.
                task.waker.clear_queued();
                seen[id] = task.data.load(Ordering::Acquire);
            }
            let done = seen_main == self.want_main
                && self.tasks.iter().zip(&seen).all(|(t, &s)| s == t.want);
            if done {
                return;
            }
            if shared.prepare_sleep() {
                // Driver::turn(Park::Until): asleep until the eventfd is
                // written (the armed read completes).
                shared.eventfd().wait();
            }
        }
    }
}

fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded like tokio's larger models: every interleaving with up to
    // this many preemptions (the bugs above need one or two).
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn loom_a_task_woken_from_another_thread_runs() {
    check(|| {
        let m = Model::new(&[1], 0);
        let t = m.wake_task_from_thread(0, 1);
        m.run_loop();
        t.join().unwrap();
    });
}

#[test]
fn loom_two_threads_waking_one_task_are_both_seen() {
    check(|| {
        let m = Model::new(&[2], 0);
        let a = m.wake_task_from_thread(0, 1);
        let b = m.wake_task_from_thread(0, 1);
        m.run_loop();
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn loom_two_threads_waking_two_tasks_both_run() {
    check(|| {
        let m = Model::new(&[1, 1], 0);
        let a = m.wake_task_from_thread(0, 1);
        let b = m.wake_task_from_thread(1, 1);
        m.run_loop();
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn loom_a_thread_waking_the_task_twice_is_seen_twice() {
    check(|| {
        let m = Model::new(&[2], 0);
        let t = m.wake_task_from_thread(0, 2);
        m.run_loop();
        t.join().unwrap();
    });
}

#[test]
fn loom_the_main_future_and_a_task_woken_from_two_threads() {
    check(|| {
        let m = Model::new(&[1], 1);
        let a = m.wake_task_from_thread(0, 1);
        let b = m.wake_main_from_thread();
        m.run_loop();
        a.join().unwrap();
        b.join().unwrap();
    });
}
