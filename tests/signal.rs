//! Signals: SIGINT sent to this process is seen by `ctrl_c()` on every core
//! that waits, every listener of a signal gets each delivery, deliveries
//! made while nobody waits are not lost, and signals that cannot be
//! handled are refused.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use corio::signal::unix::{signal, SignalKind};

const LIMIT: Duration = Duration::from_secs(30);

fn raise(sig: i32) {
    // SAFETY: kill(2) on our own process.
    let r = unsafe { libc::kill(libc::getpid(), sig) };
    assert_eq!(r, 0);
}

#[test]
fn sigint_is_seen_by_ctrl_c_on_every_core_that_waits() {
    with_time_limit(LIMIT, || {
        let pool = corio::Pool::builder().cores(3).pin(false).build().unwrap();
        let ready = Arc::new(AtomicUsize::new(0));
        let r = ready.clone();
        let sender = std::thread::spawn(move || {
            assert!(wait_for(Duration::from_secs(10), || r
                .load(Ordering::SeqCst)
                == 3));
            // The cores sleep in the kernel, waiting.
            std::thread::sleep(Duration::from_millis(50));
            raise(libc::SIGINT);
        });
        let seen = pool.run(move |core| {
            let ready = ready.clone();
            async move {
                let ctrl_c = corio::signal::ctrl_c();
                ready.fetch_add(1, Ordering::SeqCst);
                corio::time::timeout(Duration::from_secs(10), ctrl_c)
                    .await
                    .expect("Ctrl-C arrived")
                    .expect("listening works");
                core.index()
            }
        });
        assert_eq!(seen, vec![0, 1, 2]);
        sender.join().unwrap();
    });
}

#[test]
fn every_listener_gets_each_delivery_across_threads_and_runtimes() {
    with_time_limit(LIMIT, || {
        let ready = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let ready = ready.clone();
                std::thread::spawn(move || {
                    corio::block_on(async move {
                        let mut a = signal(SignalKind::user_defined1()).unwrap();
                        let mut b = signal(SignalKind::user_defined1()).unwrap();
                        ready.fetch_add(1, Ordering::SeqCst);
                        for _ in 0..3 {
                            corio::time::timeout(Duration::from_secs(10), a.recv())
                                .await
                                .expect("delivered")
                                .unwrap();
                            corio::time::timeout(Duration::from_secs(10), b.recv())
                                .await
                                .expect("delivered")
                                .unwrap();
                        }
                    })
                })
            })
            .collect();
        assert!(wait_for(Duration::from_secs(10), || ready
            .load(Ordering::SeqCst)
            == 2));
        for _ in 0..3 {
            raise(libc::SIGUSR1);
            std::thread::sleep(Duration::from_millis(50));
        }
        for t in threads {
            t.join().expect("every listener saw every signal");
        }
    });
}

#[test]
fn a_delivery_while_nobody_waits_is_returned_by_the_next_recv() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let mut s = signal(SignalKind::user_defined2()).unwrap();
            raise(libc::SIGUSR2);
            std::thread::sleep(Duration::from_millis(20));
            corio::time::timeout(Duration::from_secs(5), s.recv())
                .await
                .expect("not lost")
                .unwrap();
            // A recv dropped while waiting loses nothing either.
            assert!(corio::time::timeout(Duration::from_millis(20), s.recv())
                .await
                .is_err());
            raise(libc::SIGUSR2);
            corio::time::timeout(Duration::from_secs(5), s.recv())
                .await
                .expect("not lost")
                .unwrap();
            // A listener made after a delivery does not see it.
            let mut late = signal(SignalKind::user_defined2()).unwrap();
            assert!(corio::time::timeout(Duration::from_millis(30), late.recv())
                .await
                .is_err());
        });
    });
}

#[test]
fn signals_that_cannot_be_handled_are_refused() {
    for sig in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 65, -1] {
        let err = signal(SignalKind::from_raw(sig)).expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{sig}: {err}");
    }
}
