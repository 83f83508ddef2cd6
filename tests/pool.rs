//! Thread-per-core: building a pool (and refusing bad placements), running
//! a future on every core, spawning on any core from any core or thread,
//! panics, aborts, shutdown requests, and dropping a pool with work in
//! flight.

mod common;

use std::cell::Cell;
use std::io::ErrorKind;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use corio::pool::{self, CoreId};
use corio::time::sleep;
use corio::Pool;

const LIMIT: Duration = Duration::from_secs(60);

/// The CPUs this test process may run on.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    parse_cpu_list(line.split(':').nth(1).unwrap().trim())
}

fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => cpus.push(part.parse().unwrap()),
        }
    }
    cpus
}

/// The CPUs the calling thread may run on (its own affinity).
fn thread_cpus() -> Vec<usize> {
    let tid = unsafe { libc::gettid() };
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    parse_cpu_list(line.split(':').nth(1).unwrap().trim())
}

fn invalid(result: std::io::Result<Pool>) -> String {
    let err = result.expect_err("the placement must be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    err.to_string()
}

#[test]
fn bad_placements_are_invalid_input_naming_the_cause() {
    with_time_limit(LIMIT, || {
        let allowed = allowed_cpus();
        let msg = invalid(Pool::builder().cores(0).build());
        assert!(msg.contains("at least one core"), "{msg}");
        let msg = invalid(Pool::builder().cpus([]).build());
        assert!(msg.contains("at least one core"), "{msg}");
        let msg = invalid(Pool::builder().cpus([100_000]).build());
        assert!(msg.contains("CPU 100000"), "{msg}");
        let absent = (0..4096).find(|c| !allowed.contains(c)).unwrap();
        let msg = invalid(Pool::builder().cpus([absent]).build());
        assert!(msg.contains(&format!("CPU {absent}")), "{msg}");
        let msg = invalid(Pool::builder().cpus([allowed[0], allowed[0]]).build());
        assert!(msg.contains("twice"), "{msg}");
        let msg = invalid(Pool::builder().cores(allowed.len() + 1).build());
        assert!(msg.contains("pin(false)"), "{msg}");
        println!("too many pinned cores: {msg}");
    });
}

#[test]
fn a_pool_runs_one_pinned_core_per_allowed_cpu() {
    with_time_limit(LIMIT, || {
        let allowed = allowed_cpus();
        let pool = Pool::new().expect("pool");
        assert_eq!(pool.cores(), allowed.len());
        let seen = pool.run(|core| async move {
            assert_eq!(pool::current(), Some(core));
            let cores = pool::cores();
            (core.index(), cores.len(), thread_cpus())
        });
        for (i, (index, n, cpus)) in seen.into_iter().enumerate() {
            assert_eq!(index, i, "outputs come back in core order");
            assert_eq!(n, allowed.len());
            assert_eq!(cpus, vec![allowed[i]], "core {i} is pinned to its CPU");
        }
        // Outside a pool.
        assert_eq!(pool::current(), None);
        assert!(pool::cores().is_empty());
    });
}

#[test]
fn unpinned_pools_may_have_more_cores_than_cpus() {
    with_time_limit(LIMIT, || {
        let allowed = allowed_cpus();
        let n = allowed.len() + 2;
        let pool = Pool::builder()
            .cores(n)
            .pin(false)
            .entries(64)
            .build()
            .unwrap();
        assert_eq!(pool.cores(), n);
        let cpus = pool.run(|_| async { thread_cpus() });
        for c in cpus {
            assert_eq!(c, allowed, "unpinned cores keep the process's CPUs");
        }
        // Chosen CPUs, pinned.
        let pool = Pool::builder().cpus([allowed[0]]).build().unwrap();
        assert_eq!(
            pool.run(|_| async { thread_cpus() }),
            vec![vec![allowed[0]]]
        );
    });
}

#[test]
fn spawn_on_every_core_from_every_core_and_from_a_plain_thread() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(3).pin(false).build().unwrap();
        // From every core to every core, including itself (a !Send future).
        let results = pool.run(|from| async move {
            let mut got = Vec::new();
            for to in pool::cores() {
                let h = pool::spawn_on(to, move || async move {
                    let local = Rc::new(Cell::new(0));
                    corio::task::yield_now().await;
                    local.set(to.index() * 100 + from.index());
                    (pool::current().unwrap(), local.get())
                });
                got.push(h.await.expect("remote task"));
            }
            got
        });
        for (from, got) in results.into_iter().enumerate() {
            for (to, (ran_on, value)) in got.into_iter().enumerate() {
                assert_eq!(ran_on.index(), to);
                assert_eq!(value, to * 100 + from);
            }
        }
        // From a plain thread, through a handle.
        let handle = pool.handle();
        let t = std::thread::spawn(move || {
            let cores = handle.cores();
            let hs: Vec<_> = cores
                .iter()
                .map(|&c| handle.spawn_on(c, move || async move { pool::current() }))
                .collect();
            hs.into_iter()
                .map(|h| futures_block_on(h).unwrap())
                .collect::<Vec<_>>()
        });
        let ran_on = t.join().unwrap();
        assert_eq!(
            ran_on,
            pool.handle()
                .cores()
                .into_iter()
                .map(Some)
                .collect::<Vec<_>>()
        );
    });
}

/// Waits for a future on a plain thread (no runtime): polls it with a
/// waker that unparks the thread.
fn futures_block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let start = Instant::now();
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never woken");
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn a_panic_in_a_spawn_on_closure_or_future_is_a_join_error_with_its_payload() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(2).pin(false).build().unwrap();
        let (closure, future) = pool
            .run(|core| async move {
                if core.index() != 0 {
                    return (None, None);
                }
                let other = pool::cores()[1];
                let closure = pool::spawn_on(other, || -> std::future::Ready<()> {
                    panic!("in the closure")
                })
                .await
                .expect_err("panicked");
                let future = pool::spawn_on(other, || async { panic!("in the future") })
                    .await
                    .expect_err("panicked");
                (
                    Some(panic_message(&*closure.try_into_panic().unwrap())),
                    Some(panic_message(&*future.try_into_panic().unwrap())),
                )
            })
            .remove(0);
        assert_eq!(closure.as_deref(), Some("in the closure"));
        assert_eq!(future.as_deref(), Some("in the future"));
        // The cores keep working.
        assert_eq!(pool.run(|c| async move { c.index() }), vec![0, 1]);
    });
}

struct SetOnDrop(Arc<AtomicUsize>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn abort_from_another_core_or_a_plain_thread_cancels_the_remote_task() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(2).pin(false).build().unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        // From another core.
        let d = dropped.clone();
        let out = pool.run(move |core| {
            let d = d.clone();
            async move {
                if core.index() != 0 {
                    return true;
                }
                let h = pool::spawn_on(pool::cores()[1], move || async move {
                    let _guard = SetOnDrop(d);
                    std::future::pending::<()>().await
                });
                sleep(Duration::from_millis(20)).await;
                assert!(!h.is_finished());
                h.abort();
                let err = h.await.expect_err("aborted");
                err.is_cancelled()
            }
        });
        assert!(out[0]);
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "the future was dropped");
        // From a plain thread, through a handle.
        let handle = pool.handle();
        let d = dropped.clone();
        let h = handle.spawn_on(handle.cores()[0], move || async move {
            let _guard = SetOnDrop(d);
            std::future::pending::<()>().await
        });
        std::thread::sleep(Duration::from_millis(20));
        h.abort();
        assert!(futures_block_on(h).expect_err("aborted").is_cancelled());
        assert_eq!(dropped.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_dropped_remote_handle_detaches_and_tasks_outlive_the_run() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(2).pin(false).build().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        pool.run(move |core| {
            let c = c.clone();
            async move {
                if core.index() == 0 {
                    // Detached: keeps running after this run returns.
                    drop(pool::spawn_on(pool::cores()[1], move || async move {
                        for _ in 0..5 {
                            sleep(Duration::from_millis(10)).await;
                            c.fetch_add(1, Ordering::SeqCst);
                        }
                    }));
                }
            }
        });
        assert!(wait_for(Duration::from_secs(5), || count
            .load(Ordering::SeqCst)
            == 5));
    });
}

#[test]
fn a_panic_on_one_core_stops_the_others_and_is_resumed_by_run() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(3).pin(false).build().unwrap();
        let cleaned = Arc::new(AtomicUsize::new(0));
        let c = cleaned.clone();
        let payload = catch_unwind(AssertUnwindSafe(|| {
            pool.run(move |core| {
                let c = c.clone();
                async move {
                    if core.index() == 1 {
                        sleep(Duration::from_millis(20)).await;
                        std::panic::panic_any(42u32);
                    }
                    let _guard = SetOnDrop(c);
                    // The others run until asked to stop.
                    pool::shutdown_requested().await;
                }
            })
        }))
        .expect_err("run resumes the panic");
        assert_eq!(
            payload.downcast_ref::<u32>(),
            Some(&42),
            "the original payload"
        );
        assert_eq!(
            cleaned.load(Ordering::SeqCst),
            2,
            "run returned after the other cores' futures (and destructors) finished"
        );
        // The request ended with that run: a new run is not asked to stop.
        let out = pool.run(|_| async {
            corio::time::timeout(Duration::from_millis(50), pool::shutdown_requested())
                .await
                .is_err()
        });
        assert_eq!(out, vec![true, true, true]);
    });
}

#[test]
fn request_shutdown_from_a_core_or_a_handle_reaches_every_core() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(3).pin(false).build().unwrap();
        let out = pool.run(|core| async move {
            if core.index() == 2 {
                sleep(Duration::from_millis(10)).await;
                pool::request_shutdown();
            }
            pool::shutdown_requested().await;
            core.index()
        });
        assert_eq!(out, vec![0, 1, 2]);
        let handle = pool.handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            handle.request_shutdown();
        });
        let out = pool.run(|_| async {
            pool::shutdown_requested().await;
            true
        });
        assert_eq!(out, vec![true; 3]);
        t.join().unwrap();
    });
}

#[test]
fn outside_a_pool_spawn_on_and_request_shutdown_panic_with_a_message() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(1).pin(false).build().unwrap();
        let core: CoreId = pool.handle().cores()[0];
        let msg = catch_unwind(|| drop(pool::spawn_on(core, || async {}))).unwrap_err();
        assert!(panic_message(&*msg).contains("Handle::spawn_on"));
        let msg = catch_unwind(pool::request_shutdown).unwrap_err();
        assert!(panic_message(&*msg).contains("Handle::request_shutdown"));
        // And run on the pool's own core is refused rather than deadlocking.
        let handle = pool.handle();
        let inner = Arc::new(Mutex::new(Some(pool)));
        let i2 = inner.clone();
        let refused = futures_block_on(handle.spawn_on(core, move || async move {
            let guard = i2.lock().unwrap();
            let pool = guard.as_ref().unwrap();
            catch_unwind(AssertUnwindSafe(|| pool.run(|_| async {}))).is_err()
        }));
        assert!(refused.unwrap(), "Pool::run on its own core panics");
        drop(inner);
    });
}

#[test]
fn pool_metrics_are_per_core() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(2).pin(false).build().unwrap();
        pool.run(|core| async move {
            for _ in 0..(core.index() + 1) * 10 {
                corio::nop().await.unwrap();
            }
        });
        let m = pool.metrics();
        assert_eq!(m.len(), 2);
        assert!(m[1].ops_submitted >= m[0].ops_submitted + 10, "{m:?}");
    });
}

#[test]
fn dropping_a_pool_with_work_in_flight_on_every_core_joins_within_a_bound() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(3).pin(false).build().unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let (d, p) = (dropped.clone(), peers.clone());
        pool.run(move |_| {
            let (d, p) = (d.clone(), p.clone());
            async move {
                let (stream, peer) = std_peer_pair().await;
                p.lock().unwrap().push(peer);
                corio::spawn(async move {
                    let _guard = SetOnDrop(d);
                    // A read in flight and a timer far away.
                    let _ = stream.read(Vec::with_capacity(64)).await;
                    sleep(Duration::from_secs(3600)).await;
                });
            }
        });
        let handle = pool.handle();
        let start = Instant::now();
        drop(pool);
        let took = start.elapsed();
        println!("dropping a pool of 3 busy cores took {took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "every core's tasks were dropped"
        );
        // A handle outliving its pool: spawning is cancelled, not lost.
        let h = handle.spawn_on(handle.cores()[0], || async { 1 });
        assert!(futures_block_on(h)
            .expect_err("no core runs it")
            .is_cancelled());
    });
}

#[test]
fn a_task_on_one_core_is_woken_from_another_core() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(2).pin(false).build().unwrap();
        let slot: Arc<Mutex<Option<corio::sync::oneshot::Sender<u64>>>> =
            Arc::new(Mutex::new(None));
        let s = slot.clone();
        let out = pool.run(move |core| {
            let s = s.clone();
            async move {
                if core.index() == 0 {
                    let (tx, rx) = corio::sync::oneshot::channel();
                    *s.lock().unwrap() = Some(tx);
                    // Asleep in the kernel until core 1 sends.
                    rx.await.unwrap()
                } else {
                    loop {
                        let tx = s.lock().unwrap().take();
                        if let Some(tx) = tx {
                            sleep(Duration::from_millis(20)).await;
                            tx.send(7).unwrap();
                            return 0;
                        }
                        sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        });
        assert_eq!(out, vec![7, 0]);
    });
}

/// Whichever of an accept and the shutdown request comes first.
async fn accept_or_shutdown(
    listener: &corio::net::TcpListener,
) -> Option<std::io::Result<(corio::net::TcpStream, std::net::SocketAddr)>> {
    let mut accept = std::pin::pin!(listener.accept());
    let mut stop = std::pin::pin!(pool::shutdown_requested());
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(r) = accept.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(r));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}

use std::future::Future as _;

#[test]
fn every_core_serves_loopback_clients_on_one_reuseport_port() {
    with_time_limit(LIMIT, || {
        let pool = Pool::builder().cores(3).pin(false).build().unwrap();
        // A free port for the whole group.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let bound = Arc::new(AtomicUsize::new(0));
        let b = bound.clone();
        let handle = pool.handle();
        let clients = std::thread::spawn(move || {
            assert!(wait_for(Duration::from_secs(10), || b
                .load(Ordering::SeqCst)
                == 3));
            use std::io::{Read, Write};
            for conn in 0..48u32 {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                for round in 0..5u32 {
                    let msg: Vec<u8> = (0..(1 + conn * 97 + round * 13) % 5000 + 1)
                        .map(|i| (i ^ conn ^ round) as u8)
                        .collect();
                    s.write_all(&msg).unwrap();
                    let mut back = vec![0; msg.len()];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg, "connection {conn}, round {round}");
                }
            }
            handle.request_shutdown();
        });
        let served = pool.run(move |_| {
            let bound = bound.clone();
            async move {
                let listener = corio::net::TcpListener::bind_reuseport(addr).unwrap();
                bound.fetch_add(1, Ordering::SeqCst);
                let mut conns = corio::task::JoinSet::new();
                let mut served = 0;
                while let Some(accepted) = accept_or_shutdown(&listener).await {
                    let (stream, _) = accepted.unwrap();
                    served += 1;
                    conns.spawn(async move {
                        let mut buf = Vec::with_capacity(8192);
                        loop {
                            let (res, b) = stream.read(buf).await;
                            if !matches!(res, Ok(n) if n > 0) {
                                return;
                            }
                            let (res, b) = stream.write_all(b).await;
                            res.unwrap();
                            buf = b;
                        }
                    });
                }
                while conns.join_next().await.is_some() {}
                served
            }
        });
        clients.join().expect("every byte came back");
        println!("connections per core: {served:?}");
        assert_eq!(served.iter().sum::<usize>(), 48);
        assert!(
            served.iter().filter(|&&n| n > 0).count() >= 2,
            "the kernel spread the connections over the cores: {served:?}"
        );
    });
}

#[test]
fn the_promised_traits_hold() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unpin<T: Unpin>() {}
    fn clone<T: Clone>() {}
    fn core_id<T: Copy + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync>() {}
    send::<pool::RemoteHandle<Vec<u8>>>();
    unpin::<pool::RemoteHandle<Vec<u8>>>();
    send::<pool::Handle>();
    sync::<pool::Handle>();
    clone::<pool::Handle>();
    send::<Pool>();
    sync::<Pool>();
    core_id::<CoreId>();
    send::<corio::sync::mpsc::Sender<String>>();
    sync::<corio::sync::mpsc::Sender<String>>();
    clone::<corio::sync::mpsc::Sender<String>>();
    send::<corio::sync::mpsc::Receiver<String>>();
    unpin::<corio::sync::mpsc::Receiver<String>>();
}
