//! The load spread over several CPUs: one generator thread per client CPU,
//! each pinned, with its own ring and its share of the connections — so a
//! server on a machine with CPUs to spare can be driven until its core is
//! full, and the report can tell which side saturated.

use super::loadgen::{Check, LoadGen, Transport, Window};
use crate::sys;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// What a spread run measured.
pub struct Spread {
    /// Every generator's window, merged: messages summed, the longest
    /// elapsed time, the round trips of all.
    pub window: Window,
    /// The generators' mean use of their CPU during the window (CPU time
    /// over wall time, 0 to 1): near 1, the clients were the bottleneck.
    pub client_core_use: f64,
}

/// How the generators run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub size: usize,
    pub check: Check,
    /// Busy-poll the rings instead of sleeping in `io_uring_enter`: a
    /// response never has to wake a sleeping client.
    pub spin: bool,
    pub warmup: Duration,
    pub window: Duration,
    pub transport: Transport,
}

/// The CPUs the load generators use by default: every CPU but the
/// server's (`server`: CPUs 0..server), at most 8; on a one-CPU machine
/// that one.
pub fn default_client_cpus(server: usize) -> Vec<usize> {
    let total = sys::cpus();
    let cpus: Vec<usize> = (server..total).take(8).collect();
    if cpus.is_empty() {
        vec![0]
    } else {
        cpus
    }
}

/// Run `load` against `addr` from one generator thread per CPU of `cpus`
/// (fewer if there are fewer connections). `mark` runs on the calling
/// thread twice, right as the measured window opens and as it closes (to
/// sample the server's CPU time and allocations).
pub fn run(
    addr: SocketAddr,
    cpus: &[usize],
    load: Load,
    mut mark: impl FnMut() -> io::Result<()>,
) -> io::Result<Spread> {
    let gens = cpus.len().clamp(1, load.connections.max(1));
    let barrier = Arc::new(Barrier::new(gens + 1));
    let threads: Vec<_> = (0..gens)
        .map(|g| {
            let barrier = barrier.clone();
            let connections = load.connections / gens + usize::from(g < load.connections % gens);
            let cpu = cpus.get(g).copied();
            std::thread::spawn(move || -> io::Result<(Window, f64)> {
                // Every thread reaches every barrier, failed or not: one
                // that returned early would leave the others waiting.
                let pinned = match cpu {
                    Some(cpu) if sys::cpus() > 1 => sys::pin_to_cpu(cpu),
                    _ => Ok(()),
                };
                let gen = pinned.and_then(|()| {
                    LoadGen::connect_with(
                        load.transport,
                        addr,
                        connections,
                        load.size,
                        load.check,
                        load.spin,
                    )
                });
                barrier.wait();
                let warmed = gen.and_then(|mut gen| gen.run(load.warmup).map(|_| gen));
                barrier.wait();
                let cpu0 = sys::thread_cpu_ns();
                let measured = warmed.and_then(|mut gen| gen.run(load.window));
                let cpu1 = sys::thread_cpu_ns();
                barrier.wait();
                let window = measured?;
                let used =
                    cpu1.saturating_sub(cpu0) as f64 / window.elapsed.as_nanos().max(1) as f64;
                Ok((window, used))
            })
        })
        .collect();
    barrier.wait();
    barrier.wait();
    let started = mark();
    barrier.wait();
    let ended = mark();
    let mut merged: Option<Window> = None;
    let mut uses = Vec::with_capacity(gens);
    let mut failure = None;
    for t in threads {
        match t.join().expect("load generator thread") {
            Ok((w, used)) => {
                uses.push(used);
                match &mut merged {
                    Some(m) => {
                        m.messages += w.messages;
                        m.elapsed = m.elapsed.max(w.elapsed);
                        m.hist.add(&w.hist).expect("same bounds");
                    }
                    None => merged = Some(w),
                }
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    started?;
    ended?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Spread {
        window: merged.expect("at least one load generator"),
        client_core_use: uses.iter().sum::<f64>() / uses.len().max(1) as f64,
    })
}
