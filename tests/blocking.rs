//! `spawn_blocking`: results and panics (the pool keeps working), a bounded
//! thread count under 10,000 calls, idle threads exiting, aborting a call
//! still queued, threads free of a pinned core's affinity, and host names
//! resolved off the core's thread.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use corio::task::{
    blocking_threads, set_blocking_keep_alive, set_max_blocking_threads, spawn_blocking,
};

const LIMIT: Duration = Duration::from_secs(60);

/// The pool's settings are process-wide: these tests take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn defaults() {
    set_max_blocking_threads(512);
    set_blocking_keep_alive(Duration::from_secs(5));
}

#[test]
fn results_and_panics_come_back_and_the_pool_keeps_working() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            assert_eq!(spawn_blocking(|| 6 * 7).await.unwrap(), 42);
            for round in 0..20 {
                let err = spawn_blocking(move || -> u32 { panic!("round {round}") })
                    .await
                    .expect_err("panicked");
                assert!(err.is_panic());
                assert_eq!(
                    panic_message(&*err.try_into_panic().unwrap()),
                    format!("round {round}")
                );
                // The pool still runs work after a panic (glommio#37).
                assert_eq!(spawn_blocking(move || round * 2).await.unwrap(), round * 2);
            }
        });
    });
}

#[test]
fn ten_thousand_calls_run_on_a_bounded_number_of_threads() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        set_max_blocking_threads(16);
        let peak = Arc::new(AtomicUsize::new(0));
        corio::block_on(async {
            let handles: Vec<_> = (0..10_000u64)
                .map(|i| {
                    let peak = peak.clone();
                    spawn_blocking(move || {
                        peak.fetch_max(blocking_threads(), Ordering::Relaxed);
                        if i % 100 == 0 {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, 10_000 * 9_999 / 2);
        });
        let peak = peak.load(Ordering::Relaxed);
        println!("10,000 blocking calls ran on at most {peak} threads");
        assert!(peak <= 16, "{peak} threads");
        defaults();
    });
}

#[test]
fn blocking_calls_run_concurrently_up_to_the_limit() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            // Eight 200 ms sleeps take ~200 ms, not 1.6 s.
            let start = Instant::now();
            let handles: Vec<_> = (0..8)
                .map(|_| spawn_blocking(|| std::thread::sleep(Duration::from_millis(200))))
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            let took = start.elapsed();
            println!("8 concurrent 200 ms blocking calls: {took:?}");
            assert!(took < Duration::from_millis(1000), "{took:?}");
        });
    });
}

#[test]
fn idle_threads_exit() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        set_blocking_keep_alive(Duration::from_millis(100));
        corio::block_on(async {
            let handles: Vec<_> = (0..4)
                .map(|_| spawn_blocking(|| std::thread::sleep(Duration::from_millis(20))))
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        assert!(blocking_threads() > 0);
        assert!(
            wait_for(Duration::from_secs(5), || blocking_threads() == 0),
            "{} threads still alive",
            blocking_threads()
        );
        defaults();
    });
}

#[test]
fn an_aborted_call_that_has_not_started_never_runs() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        set_max_blocking_threads(1);
        set_blocking_keep_alive(Duration::from_millis(50));
        // Let the pool shrink to one thread at most.
        assert!(wait_for(Duration::from_secs(10), || blocking_threads() == 0));
        let ran = Arc::new(AtomicUsize::new(0));
        corio::block_on(async {
            let busy = spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)));
            let r = ran.clone();
            let queued = spawn_blocking(move || {
                r.fetch_add(1, Ordering::SeqCst);
            });
            queued.abort();
            assert!(queued.await.expect_err("aborted").is_cancelled());
            busy.await.unwrap();
        });
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        defaults();
    });
}

#[test]
fn an_aborted_call_drops_its_closure_before_its_handle_resolves() {
    struct SlowDrop(Arc<AtomicBool>);
    impl Drop for SlowDrop {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(50));
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let _serial = serial();
    with_time_limit(LIMIT, || {
        set_max_blocking_threads(1);
        set_blocking_keep_alive(Duration::from_millis(50));
        assert!(wait_for(Duration::from_secs(10), || blocking_threads() == 0));
        let dropped = Arc::new(AtomicBool::new(false));
        let held = SlowDrop(dropped.clone());
        corio::block_on(async {
            let busy = spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)));
            let queued = spawn_blocking(move || drop(held));
            queued.abort();
            assert!(queued.await.expect_err("aborted").is_cancelled());
            assert!(
                dropped.load(Ordering::SeqCst),
                "the handle resolved before the closure was dropped"
            );
            busy.await.unwrap();
        });
        defaults();
    });
}

fn cpus_of_this_thread() -> String {
    let tid = unsafe { libc::gettid() };
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn blocking_threads_do_not_inherit_a_pinned_cores_affinity() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        let process = cpus_of_this_thread();
        let pool = corio::Pool::builder().cores(1).build().unwrap();
        let (core, blocking) = pool
            .run(|_| async {
                let core = cpus_of_this_thread();
                let blocking = spawn_blocking(cpus_of_this_thread).await.unwrap();
                (core, blocking)
            })
            .remove(0);
        println!("process CPUs {process}, core {core}, blocking thread {blocking}");
        assert_eq!(blocking, process);
    });
}

#[test]
fn connect_resolves_a_host_name_on_the_blocking_pool() {
    let _serial = serial();
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = loopback_listener();
            let port = listener.local_addr().unwrap().port();
            // "localhost" is looked up (from /etc/hosts), not parsed.
            for addr in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
                let client = corio::net::TcpStream::connect(addr.as_str())
                    .await
                    .expect("connect");
                let (_server, _) = listener.accept().await.unwrap();
                assert_eq!(client.peer_addr().unwrap().port(), port);
            }
            let client = corio::net::TcpStream::connect(("localhost", port))
                .await
                .expect("connect");
            drop(client);
            let err = corio::net::TcpStream::connect("no-such-host.invalid:80")
                .await
                .expect_err("cannot resolve");
            println!("unresolvable: {err}");
        });
    });
}
