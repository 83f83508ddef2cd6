//! `corio::sync::mpsc`: capacity, order, closing from either end, the
//! stream, cancel-safety, every wake path (the matrix), and a million
//! messages between two cores that fall asleep between bursts.

mod common;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::{Duration, Instant};

use common::matrix::{wake_task_from, ORIGINS};
use common::*;
use corio::sync::mpsc::{self, SendError, TryRecvError, TrySendError};
use futures_core::Stream;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_channel_holds_exactly_its_capacity() {
    with_time_limit(LIMIT, || {
        let (tx, mut rx) = mpsc::channel::<usize>(3);
        for i in 0..3 {
            tx.try_send(i).expect("room");
        }
        match tx.try_send(3) {
            Err(TrySendError::Full(3)) => {}
            other => panic!("expected Full(3), got {other:?}"),
        }
        assert_eq!(rx.try_recv(), Ok(0));
        tx.try_send(3).expect("room again");
        for i in 1..4 {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let msg = std::panic::catch_unwind(|| mpsc::channel::<u8>(0)).unwrap_err();
        assert!(panic_message(&*msg).contains("at least 1"));
    });
}

#[test]
fn the_channel_closes_from_either_end() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // Every sender gone: the rest is received, then None.
            let (tx, mut rx) = mpsc::unbounded();
            let tx2 = tx.clone();
            tx.send(1).await.unwrap();
            tx2.send(2).await.unwrap();
            drop((tx, tx2));
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, None);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            // The receiver gone: sends give the value back.
            let (tx, rx) = mpsc::channel(1);
            drop(rx);
            assert!(tx.is_closed());
            assert_eq!(tx.send(5).await, Err(SendError(5)));
            match tx.try_send(6) {
                Err(TrySendError::Closed(6)) => {}
                other => panic!("{other:?}"),
            }
        });
    });
}

#[test]
fn a_full_channel_makes_send_wait_until_there_is_room() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            let sender = corio::spawn(async move {
                for i in 0..100u32 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
                if got.len() % 10 == 0 {
                    corio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            sender.await.unwrap();
            assert_eq!(got, (0..100).collect::<Vec<_>>());
        });
    });
}

#[test]
fn values_of_each_sender_arrive_in_order_and_the_receiver_is_a_stream() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            let threads: Vec<_> = (0..4u32)
                .map(|t| {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        corio::block_on(async move {
                            for i in 0..1000u32 {
                                tx.send((t, i)).await.unwrap();
                            }
                        })
                    })
                })
                .collect();
            drop(tx);
            let mut next = [0u32; 4];
            let mut n = 0;
            while let Some((t, i)) = poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await {
                assert_eq!(i, next[t as usize], "sender {t} out of order");
                next[t as usize] += 1;
                n += 1;
            }
            assert_eq!(n, 4000);
            for t in threads {
                t.join().unwrap();
            }
        });
    });
}

#[test]
fn a_dropped_recv_loses_no_value() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let (tx, mut rx) = mpsc::unbounded::<u32>();
            for round in 0..100 {
                let timed_out = corio::time::timeout(Duration::from_micros(200), rx.recv()).await;
                assert!(timed_out.is_err(), "round {round}: empty");
                tx.send(round).await.unwrap();
                assert_eq!(rx.recv().await, Some(round));
            }
        });
    });
}

#[test]
fn matrix_a_value_sent_wakes_a_waiting_receiver_from_every_origin() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().unwrap();
        for origin in ORIGINS {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let out = wake_task_from(&rt, origin, async move { rx.recv().await }, move || {
                tx.try_send(11).unwrap()
            });
            assert_eq!(out, Some(11), "{origin:?}");
            // And a full channel's sender is woken by a receive.
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            tx.try_send(1).unwrap();
            let out = wake_task_from(
                &rt,
                origin,
                async move { tx.send(2).await.is_ok() },
                move || {
                    assert_eq!(rx.try_recv(), Ok(1));
                    // Keep the receiver alive until the send lands.
                    std::mem::forget(rx);
                },
            );
            assert!(out, "{origin:?}");
        }
    });
}

#[test]
fn a_million_messages_between_two_cores_asleep_between_bursts() {
    const TOTAL: u64 = 1_000_000;
    const BURST: u64 = 10_000;
    with_time_limit(Duration::from_secs(120), || {
        let pool = corio::Pool::builder().cores(2).pin(false).build().unwrap();
        let (tx, rx) = mpsc::channel::<u64>(1024);
        let slots = std::sync::Arc::new(std::sync::Mutex::new((Some(tx), Some(rx))));
        let start = Instant::now();
        let out = pool.run(move |core| {
            let slots = slots.clone();
            async move {
                if core.index() == 0 {
                    let tx = slots.lock().unwrap().0.take().unwrap();
                    for burst in 0..TOTAL / BURST {
                        for i in 0..BURST {
                            tx.send(burst * BURST + i).await.unwrap();
                        }
                        // Both cores fall asleep between bursts.
                        corio::time::sleep(Duration::from_millis(2)).await;
                    }
                    0
                } else {
                    let mut rx = slots.lock().unwrap().1.take().unwrap();
                    let mut expected = 0u64;
                    while let Some(v) = rx.recv().await {
                        assert_eq!(v, expected, "lost or duplicated");
                        expected += 1;
                    }
                    expected
                }
            }
        });
        println!("{TOTAL} cross-core messages in {:?}", start.elapsed());
        assert_eq!(out[1], TOTAL);
    });
}
