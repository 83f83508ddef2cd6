//! corio::sync::oneshot: futures set by hand (asyncio's set_result / cancel /
//! done), within a runtime and across threads.

mod common;

use std::time::{Duration, Instant};

use common::*;
use corio::sync::oneshot::{self, Receiver, RecvError, Sender, TryRecvError};
use corio::time::sleep;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn halves_are_send_when_t_is() {
    fn assert_send<T: Send>() {}
    assert_send::<Sender<u32>>();
    assert_send::<Receiver<u32>>();
    assert_send::<Sender<Vec<String>>>();
    assert_send::<Receiver<Vec<String>>>();
}

#[test]
fn send_then_recv() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, rx) = oneshot::channel::<String>();
            tx.send("value".to_string()).expect("receiver alive");
            assert_eq!(rx.await.expect("value"), "value");

            // Sent later by a task.
            let (tx, rx) = oneshot::channel::<u64>();
            let _h = corio::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                tx.send(99).unwrap();
            });
            assert_eq!(rx.await.expect("value"), 99);
        });
    });
}

#[test]
fn dropping_the_sender_cancels() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, rx) = oneshot::channel::<u8>();
            drop(tx);
            let r: Result<u8, RecvError> = rx.await;
            assert!(r.is_err());

            // Dropped while the receiver waits.
            let (tx, rx) = oneshot::channel::<u8>();
            let _h = corio::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                drop(tx);
            });
            let t = Instant::now();
            assert!(rx.await.is_err());
            assert!(t.elapsed() < Duration::from_secs(2));
        });
    });
}

#[test]
fn send_after_the_receiver_is_gone_gives_the_value_back() {
    let (tx, rx) = oneshot::channel::<Vec<u8>>();
    drop(rx);
    let back = tx.send(vec![1, 2, 3]).expect_err("receiver gone");
    assert_eq!(back, vec![1, 2, 3]);
}

#[test]
fn try_recv_empty_closed_ok() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    tx.send(5).unwrap();
    assert!(matches!(rx.try_recv(), Ok(5)));

    let (tx, mut rx) = oneshot::channel::<i32>();
    drop(tx);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
}

#[test]
fn a_value_sent_from_a_plain_thread_completes_the_awaited_future() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut handles = Vec::new();
            let mut receivers = Vec::new();
            for i in 0..8u64 {
                let (tx, rx) = oneshot::channel::<u64>();
                receivers.push(rx);
                handles.push(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10 + 5 * i));
                    tx.send(i * i).unwrap();
                }));
            }
            let t = Instant::now();
            for (i, rx) in receivers.into_iter().enumerate() {
                assert_eq!(rx.await.expect("value"), (i * i) as u64);
            }
            assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
            for h in handles {
                h.join().unwrap();
            }
        });
    });
}

#[test]
fn a_receiver_can_be_awaited_on_another_threads_runtime() {
    with_time_limit(LIMIT, || {
        let (tx, rx) = oneshot::channel::<&'static str>();
        let other = std::thread::spawn(move || corio::block_on(rx));
        corio::block_on(async {
            sleep(Duration::from_millis(20)).await;
            tx.send("across runtimes").unwrap();
        });
        assert_eq!(other.join().unwrap().expect("value"), "across runtimes");
    });
}
