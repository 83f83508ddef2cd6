//! A panic in user code that corio calls — a waker's `wake`, a task's
//! destructor — propagates, and leaves the runtime usable with no wake-up
//! lost: the other wakers of the same turn still run at the next
//! `block_on`, and futures of other executors waiting on a runtime that is
//! dropped are woken.

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use common::*;
use corio::time::sleep_until;
use corio::Runtime;

const LIMIT: Duration = Duration::from_secs(20);

struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("a waker that panics");
    }
}

#[test]
fn a_waker_that_panics_leaves_the_other_wakers_of_its_turn_for_the_next_block_on() {
    with_time_limit(LIMIT, || {
        let rt = Runtime::new().unwrap();
        let at = Instant::now() + Duration::from_millis(30);
        let (handle, mut foreign) = rt.block_on(async move {
            // Same deadline: fired in creation order, the panicking one first.
            let mut foreign = Box::pin(sleep_until(at));
            let waker = Waker::from(Arc::new(PanicsOnWake));
            assert!(foreign
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            let handle = corio::spawn(async move {
                sleep_until(at).await;
                7
            });
            corio::task::yield_now().await;
            (handle, foreign)
        });
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(sleep_until(at + Duration::from_millis(200)))
        }));
        assert!(
            panicked.is_err(),
            "the waker's panic propagates out of block_on"
        );
        // The task's timer fired in the same turn: it must still run.
        let out = rt.block_on(async {
            corio::time::timeout(Duration::from_secs(2), handle)
                .await
                .expect("the task woken in the panicking turn ran")
                .expect("task")
        });
        assert_eq!(out, 7);
        assert!(foreign.as_mut().is_elapsed());
    });
}

#[test]
fn a_foreign_future_waiting_on_a_dropped_runtime_is_woken() {
    with_time_limit(LIMIT, || {
        let a = Runtime::new().unwrap();
        let (stream, _peer) = a.block_on(std_peer_pair());
        let stream = std::rc::Rc::new(stream);
        let b = Runtime::new().unwrap();
        let a = std::rc::Rc::new(std::cell::RefCell::new(Some(a)));
        let out = b.block_on(async {
            // A read of runtime A, awaited by runtime B's block_on future:
            // its slot in A's driver holds B's waker.
            let reader = stream.clone();
            let dropper = a.clone();
            corio::spawn(async move {
                corio::time::sleep(Duration::from_millis(30)).await;
                // A is dropped while B waits: A cancels the read and must
                // wake whoever waits for it.
                drop(dropper.borrow_mut().take());
            });
            let read = async move {
                let r = reader.read(Vec::with_capacity(8));
                // The read is submitted on A's ring: enter A for its first
                // poll, then keep polling it from B.
                let mut r = Box::pin(r);
                {
                    let a_ref = a.borrow();
                    let a_rt = a_ref.as_ref().unwrap();
                    a_rt.block_on(async { assert!(poll_once(&mut r).await.is_pending()) });
                }
                r.await
            };
            let start = Instant::now();
            let out = corio::time::timeout(Duration::from_secs(3), read).await;
            (out, start.elapsed())
        });
        let (out, waited) = out;
        // A timeout still polls the inner future when its own timer fires:
        // being woken late (by that timer) is the bug, not only never.
        assert!(
            waited < Duration::from_millis(1500),
            "the waiting future was woken only after {waited:?}"
        );
        let (res, _) = out.expect("the waiting future was woken when A went away");
        let err = res.expect_err("the read was cancelled with its runtime");
        println!("read of a dropped runtime: {err}");
    });
}
