//! Time: sleep, sleep_until, timeout, interval; edge durations; deadline
//! order; 100,000 concurrent timers.

mod common;

use std::cell::{Cell, RefCell};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::*;
use corio::time::{interval, sleep, sleep_until, timeout, Elapsed, Interval};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn zero_sleep_and_past_deadlines_complete_at_once() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut s = pin!(sleep(Duration::ZERO));
            assert!(
                poll_once(&mut s.as_mut()).await.is_ready(),
                "sleep(0) must be ready on first poll"
            );

            let past = Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now);
            let mut s = pin!(sleep_until(past));
            assert!(
                poll_once(&mut s.as_mut()).await.is_ready(),
                "a past deadline must be ready on first poll"
            );

            let mut s = pin!(sleep_until(Instant::now()));
            let t = Instant::now();
            s.as_mut().await;
            assert!(t.elapsed() < Duration::from_millis(500));

            // Many zero sleeps in a row stay cheap.
            let t = Instant::now();
            for _ in 0..10_000 {
                sleep(Duration::ZERO).await;
            }
            println!("10,000 zero sleeps: {:?}", t.elapsed());
            assert!(t.elapsed() < Duration::from_secs(5));
        });
    });
}

#[test]
fn sleep_waits_at_least_its_duration() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for ms in [1u64, 5, 20, 50] {
                let d = Duration::from_millis(ms);
                let t = Instant::now();
                sleep(d).await;
                let el = t.elapsed();
                assert!(el >= d, "sleep({d:?}) returned after {el:?}");
                assert!(el < d + Duration::from_secs(1), "sleep({d:?}) took {el:?}");
            }
            let deadline = Instant::now() + Duration::from_millis(30);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        });
    });
}

#[test]
fn far_durations_mean_never_and_do_not_panic() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let t = Instant::now();
            let r: Result<(), Elapsed> =
                timeout(Duration::from_millis(20), sleep(Duration::MAX)).await;
            let el = t.elapsed();
            assert!(r.is_err(), "sleep(Duration::MAX) completed");
            assert!(
                el >= Duration::from_millis(20) && el < Duration::from_secs(2),
                "{el:?}"
            );
            let e = r.unwrap_err();
            assert!(!e.to_string().is_empty());

            // A deadline far in the future (but representable).
            if let Some(far) = Instant::now().checked_add(Duration::from_secs(100 * 365 * 86_400)) {
                let r = timeout(Duration::from_millis(10), sleep_until(far)).await;
                assert!(r.is_err());
            }

            // timeout(Duration::MAX, ..) is "no timeout".
            assert_eq!(
                timeout(Duration::MAX, async { 5 })
                    .await
                    .expect("completes"),
                5
            );
            let t = Instant::now();
            timeout(Duration::MAX, sleep(Duration::from_millis(10)))
                .await
                .expect("inner sleep completes first");
            assert!(t.elapsed() >= Duration::from_millis(10));

            // Both never: the outer short timeout decides.
            let r = timeout(
                Duration::from_millis(10),
                timeout(Duration::MAX, sleep(Duration::MAX)),
            )
            .await;
            assert!(r.is_err());

            // The runtime still works after all that.
            sleep(Duration::from_millis(1)).await;
        });
    });
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn timeout_gives_the_value_or_elapsed_and_drops_the_inner_future() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let v = timeout(Duration::from_secs(5), async {
                sleep(Duration::from_millis(5)).await;
                "inner"
            })
            .await;
            assert_eq!(v.expect("inner first"), "inner");

            let dropped = Rc::new(Cell::new(false));
            let g = DropFlag(dropped.clone());
            let t = Instant::now();
            let r = timeout(Duration::from_millis(15), async move {
                let _g = g;
                sleep(Duration::from_secs(10)).await;
                "too late"
            })
            .await;
            let el = t.elapsed();
            assert!(r.is_err());
            assert!(
                el >= Duration::from_millis(15) && el < Duration::from_secs(2),
                "{el:?}"
            );
            assert!(dropped.get(), "the timed-out future was dropped");
        });
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // Distinct deadlines 2 ms apart, created in a scrambled order.
            let n = 60usize;
            let base = Instant::now() + Duration::from_millis(30);
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut handles = Vec::new();
            for k in 0..n {
                let i = (k * 37) % n; // a permutation: gcd(37, 60) = 1
                let o = order.clone();
                handles.push(corio::spawn(async move {
                    sleep_until(base + Duration::from_millis(2 * i as u64)).await;
                    o.borrow_mut().push(i);
                }));
            }
            for h in handles {
                h.await.expect("timer task");
            }
            let got = order.borrow().clone();
            assert_eq!(
                got,
                (0..n).collect::<Vec<_>>(),
                "sleep_until timers fired out of order"
            );

            // Durations around the level boundaries of a hierarchical wheel, via sleep().
            let ms = [
                1u64, 3, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 700,
            ];
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut handles = Vec::new();
            for k in 0..ms.len() {
                let i = (k * 7) % ms.len(); // gcd(7, 15) = 1
                let d = ms[i];
                let o = order.clone();
                handles.push(corio::spawn(async move {
                    let t = Instant::now();
                    sleep(Duration::from_millis(d)).await;
                    assert!(
                        t.elapsed() >= Duration::from_millis(d),
                        "sleep({d} ms) fired early"
                    );
                    o.borrow_mut().push(d);
                }));
            }
            for h in handles {
                h.await.expect("timer task");
            }
            let got = order.borrow().clone();
            let mut sorted = ms.to_vec();
            sorted.sort();
            assert_eq!(got, sorted, "sleep timers fired out of deadline order");
        });
    });
}

#[test]
fn one_hundred_thousand_concurrent_timers_all_fire() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            const N: usize = 100_000;
            let fired = Rc::new(Cell::new(0usize));
            let early = Rc::new(Cell::new(0usize));
            // How many sleeps were pending at once, at most.
            let sleeping = Rc::new(Cell::new(0usize));
            let peak = Rc::new(Cell::new(0usize));
            let m0 = corio::metrics();
            let t0 = Instant::now();
            let mut handles = Vec::with_capacity(N);
            for i in 0..N {
                let d = Duration::from_millis(1 + (i % 100) as u64);
                let (f, e) = (fired.clone(), early.clone());
                let (s, p) = (sleeping.clone(), peak.clone());
                handles.push(corio::spawn(async move {
                    let t = Instant::now();
                    s.set(s.get() + 1);
                    p.set(p.get().max(s.get()));
                    sleep(d).await;
                    s.set(s.get() - 1);
                    if t.elapsed() < d {
                        e.set(e.get() + 1);
                    }
                    f.set(f.get() + 1);
                }));
            }
            let spawned = t0.elapsed();
            for h in handles {
                h.await.expect("timer task");
            }
            let el = t0.elapsed();
            let m1 = corio::metrics();
            println!(
                "100,000 timers (1..=100 ms): spawned in {spawned:?}, all fired after {el:?}; \
                 at most {} pending at once; enter calls {}, ops submitted {}",
                peak.get(),
                m1.enter_calls - m0.enter_calls,
                m1.ops_submitted - m0.ops_submitted
            );
            assert_eq!(fired.get(), N);
            assert!(
                peak.get() >= N / 10,
                "only {} sleeps were ever pending at once",
                peak.get()
            );
            assert_eq!(early.get(), 0, "some timers fired before their duration");
            assert!(el >= Duration::from_millis(100));
            assert!(el < Duration::from_secs(20), "100,000 timers took {el:?}");
            assert_eq!(m1.ops_in_flight, 0);
        });
    });
}

#[test]
fn interval_ticks_periodically_and_is_a_stream() {
    fn assert_stream_unpin<S: futures_core::Stream + Unpin>() {}
    assert_stream_unpin::<Interval>();

    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let period = Duration::from_millis(20);
            let t0 = Instant::now();
            let mut iv = interval(period);
            for _ in 0..4 {
                let _ = iv.tick().await;
            }
            let el = t0.elapsed();
            println!("4 ticks of a 20 ms interval: {el:?}");
            // Four ticks span at least three periods (the first may be immediate).
            assert!(el >= 3 * period, "4 ticks after {el:?}");
            assert!(el < Duration::from_secs(2), "4 ticks after {el:?}");

            // The same through futures_core::Stream.
            let t1 = Instant::now();
            for _ in 0..3 {
                let item = std::future::poll_fn(|cx| {
                    futures_core::Stream::poll_next(Pin::new(&mut iv), cx)
                })
                .await;
                assert!(item.is_some(), "an interval never ends");
            }
            let el = t1.elapsed();
            assert!(el >= 2 * period, "3 stream items after {el:?}");
            assert!(el < Duration::from_secs(2));
        });
    });
}

#[test]
fn sleeps_in_many_tasks_with_same_deadline_all_fire() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let deadline = Instant::now() + Duration::from_millis(20);
            let count = Rc::new(Cell::new(0));
            let handles: Vec<_> = (0..1000)
                .map(|_| {
                    let c = count.clone();
                    corio::spawn(async move {
                        sleep_until(deadline).await;
                        assert!(Instant::now() >= deadline);
                        c.set(c.get() + 1);
                    })
                })
                .collect();
            for h in handles {
                h.await.expect("task");
            }
            assert_eq!(count.get(), 1000);
        });
    });
}
