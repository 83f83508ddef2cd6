//! Waking a runtime asleep in `io_uring_enter` from another runtime's ring
//! (IORING_OP_MSG_RING): the wake reaches it even when the waker's thread
//! blocks right after waking, unwinds out of `block_on`, or is one of the
//! pool's own cores waiting for the others. Each test failed (timed out or
//! hung) while the message was deferred to the waker's next enter.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use corio::sync::mpsc;
use corio::{Pool, Runtime};

const LIMIT: Duration = Duration::from_secs(60);
/// Long enough for an idle runtime to fall asleep in the kernel.
const SETTLE: Duration = Duration::from_millis(30);
/// How long a blocked waker waits for the runtime it woke to answer.
const ANSWER: Duration = Duration::from_secs(10);

/// A runtime on its own thread, asleep in the kernel waiting for one value:
/// the sender, where the value it got is reported, and its thread.
fn sleeping_receiver() -> (
    mpsc::Sender<u32>,
    std_mpsc::Receiver<Option<u32>>,
    thread::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::unbounded::<u32>();
    let (ack_tx, ack_rx) = std_mpsc::channel();
    let receiver = thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        let value = rt.block_on(rx.recv());
        ack_tx.send(value).unwrap();
    });
    thread::sleep(SETTLE);
    (tx, ack_rx, receiver)
}

fn pool(cores: usize) -> Pool {
    Pool::builder().cores(cores).pin(false).build().unwrap()
}

#[test]
fn pool_run_inside_block_on_wakes_the_sleeping_cores() {
    for msg_ring in [true, false] {
        with_time_limit(LIMIT, move || {
            let pool = Pool::builder()
                .cores(2)
                .pin(false)
                .wake_with_msg_ring(msg_ring)
                .build()
                .unwrap();
            thread::sleep(SETTLE);
            // `run` blocks this thread, whose own runtime sent the spawns.
            let out = corio::block_on(async { pool.run(|core| async move { core.index() }) });
            assert_eq!(out, vec![0, 1]);
        });
    }
}

#[test]
fn pool_metrics_inside_block_on() {
    with_time_limit(LIMIT, || {
        let pool = pool(2);
        thread::sleep(SETTLE);
        let metrics = corio::block_on(async { pool.metrics() });
        assert_eq!(metrics.len(), 2);
    });
}

#[test]
fn pool_dropped_inside_block_on_stops_its_cores() {
    with_time_limit(LIMIT, || {
        let pool = pool(2);
        thread::sleep(SETTLE);
        // The drop wakes each core, then joins its thread.
        corio::block_on(async move { drop(pool) });
    });
}

#[test]
fn pool_dropped_on_its_own_core_stops_the_others() {
    with_time_limit(LIMIT, || {
        let pool = pool(2);
        let handle = pool.handle();
        let cores = handle.cores();
        let (done_tx, done_rx) = std_mpsc::channel();
        thread::sleep(SETTLE);
        let _dropping = handle.spawn_on(cores[0], move || async move {
            // Wakes core 1 from core 0's ring and joins core 1's thread.
            drop(pool);
            done_tx.send(()).unwrap();
        });
        assert!(
            done_rx.recv_timeout(ANSWER).is_ok(),
            "dropping the pool on core 0 never joined core 1"
        );
    });
}

#[test]
fn a_task_that_blocks_after_sending_has_woken_the_receiver() {
    with_time_limit(LIMIT, || {
        let pool = pool(2);
        let handle = pool.handle();
        let cores = handle.cores();
        let (tx, mut rx) = mpsc::unbounded::<u32>();
        let (ack_tx, ack_rx) = std_mpsc::channel();
        let receiver = handle.spawn_on(cores[1], move || async move {
            let value = rx.recv().await;
            ack_tx.send(value).unwrap();
        });
        thread::sleep(SETTLE);
        let sender = handle.spawn_on(cores[0], move || async move {
            tx.send(7).await.unwrap();
            // Blocks core 0 until core 1 answers: the wake must be out.
            ack_rx.recv_timeout(ANSWER)
        });
        let answer = corio::block_on(sender).unwrap();
        assert_eq!(answer, Ok(Some(7)), "core 1 was never woken");
        corio::block_on(receiver).unwrap();
    });
}

#[test]
fn a_block_on_that_unwinds_after_sending_has_woken_the_receiver() {
    with_time_limit(LIMIT, || {
        let (tx, ack_rx, receiver) = sleeping_receiver();
        let rt = Runtime::new().unwrap();
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                tx.send(3).await.unwrap();
                panic!("after the send");
            })
        }));
        assert!(unwound.is_err());
        // This thread now blocks outside any runtime.
        assert_eq!(
            ack_rx.recv_timeout(ANSWER),
            Ok(Some(3)),
            "the receiving runtime was never woken"
        );
        receiver.join().unwrap();
    });
}

#[test]
fn a_runtime_dropped_after_sending_has_woken_the_receiver() {
    with_time_limit(LIMIT, || {
        let (tx, ack_rx, receiver) = sleeping_receiver();
        let rt = Runtime::new().unwrap();
        // The send happens in a task that is dropped with the runtime
        // right after it ran.
        rt.block_on(async {
            let sending = corio::spawn(async move { tx.send(4).await.unwrap() });
            sending.await.unwrap();
        });
        drop(rt);
        assert_eq!(ack_rx.recv_timeout(ANSWER), Ok(Some(4)));
        receiver.join().unwrap();
    });
}

#[test]
fn a_wake_of_another_ring_is_not_an_operation_of_the_waker() {
    with_time_limit(LIMIT, || {
        let (tx, ack_rx, receiver) = sleeping_receiver();
        let rt = Runtime::new().unwrap();
        let before = rt.metrics();
        rt.block_on(async { tx.send(5).await.unwrap() });
        let after = rt.metrics();
        assert_eq!(ack_rx.recv_timeout(ANSWER), Ok(Some(5)));
        // An idle runtime shows nothing in flight, whoever it woke.
        assert_eq!(after.ops_in_flight, 0);
        assert_eq!(after.ops_submitted, before.ops_submitted);
        receiver.join().unwrap();
    });
}

#[test]
fn a_wake_sent_while_the_submission_queue_is_exactly_full() {
    const ENTRIES: u32 = 8;
    with_time_limit(LIMIT, || {
        let (tx, ack_rx, receiver) = sleeping_receiver();
        let rt = corio::Builder::new().entries(ENTRIES).build().unwrap();
        rt.block_on(async {
            // Polled in spawn order in one turn: the NOPs fill the queue,
            // then the send's wake finds it full.
            let nops: Vec<_> = (0..ENTRIES)
                .map(|_| corio::spawn(async { corio::nop().await }))
                .collect();
            let sending = corio::spawn(async move { tx.send(9).await.unwrap() });
            sending.await.unwrap();
            // Blocks this thread: the wake must already be out.
            assert_eq!(ack_rx.recv_timeout(ANSWER), Ok(Some(9)));
            for nop in nops {
                nop.await.unwrap().unwrap();
            }
        });
        assert_eq!(rt.metrics().ops_in_flight, 0);
        receiver.join().unwrap();
    });
}
