//! Runtime micro-costs, corio beside tokio, monoio and a raw ring:
//! `cargo bench -p corio-bench`.
//!
//! Every benchmark times `iters` operations inside one `block_on`
//! (`iter_custom`), so what is measured is the operation, not entering the
//! runtime.

use criterion::{criterion_group, criterion_main, Criterion};
use io_uring::{opcode, IoUring};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn nop(c: &mut Criterion) {
    let mut g = c.benchmark_group("nop_round_trip");
    let rt = corio::Runtime::new().unwrap();
    g.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    corio::nop().await.unwrap();
                }
                t.elapsed()
            })
        })
    });
    // The floor: one NOP per enter on a SINGLE_ISSUER + DEFER_TASKRUN ring.
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(64)
        .unwrap();
    g.bench_function("raw_ring", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters {
                let e = opcode::Nop::new().build().user_data(i);
                // SAFETY: a NOP carries no pointers.
                unsafe { ring.submission().push(&e).unwrap() };
                ring.submit_and_wait(1).unwrap();
                black_box(ring.completion().next());
            }
            t.elapsed()
        })
    });
    g.finish();
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    let rt = corio::Runtime::new().unwrap();
    g.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(corio::spawn(async move { i }).await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    g.bench_function("tokio_spawn_local", |b| {
        b.iter_custom(|iters| {
            local.block_on(&tokio_rt, async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(tokio::task::spawn_local(async move { i }).await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    let mut monoio_rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .unwrap();
    g.bench_function("monoio", |b| {
        b.iter_custom(|iters| {
            monoio_rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(monoio::spawn(async move { i }).await);
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn yield_now(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_now");
    let rt = corio::Runtime::new().unwrap();
    g.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    corio::task::yield_now().await;
                }
                t.elapsed()
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            tokio_rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    tokio::task::yield_now().await;
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn oneshot(c: &mut Criterion) {
    let mut g = c.benchmark_group("oneshot_send_recv");
    let rt = corio::Runtime::new().unwrap();
    g.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    let (tx, rx) = corio::sync::oneshot::channel();
                    tx.send(i).unwrap();
                    black_box(rx.await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            tokio_rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    tx.send(i).unwrap();
                    black_box(rx.await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

const TIMERS: u64 = 100_000;

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers_100k_create_and_fire");
    g.sample_size(10);
    let rt = corio::Runtime::new().unwrap();
    g.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let handles: Vec<_> = (0..TIMERS)
                        .map(|i| corio::spawn(corio::time::sleep(Duration::from_micros(i % 1000))))
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                }
                t.elapsed()
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            local.block_on(&tokio_rt, async {
                let t = Instant::now();
                for _ in 0..iters {
                    let handles: Vec<_> = (0..TIMERS)
                        .map(|i| {
                            tokio::task::spawn_local(tokio::time::sleep(Duration::from_micros(
                                i % 1000,
                            )))
                        })
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(micro, nop, spawn_join, yield_now, oneshot, timers);
criterion_main!(micro);
