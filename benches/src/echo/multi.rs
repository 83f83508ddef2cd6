//! The multi-core echo server: N server cores, each contender the way it
//! scales — corio's `Pool` serving one SO_REUSEPORT listener per core,
//! monoio and compio one runtime per pinned thread with a reuseport
//! listener each, tokio's `multi_thread` runtime with N workers and one
//! listener — against load-generator threads pinned to the other CPUs.

use super::servers::{compio_rt, corio_rt, monoio_rt, tokio_rt};
use super::{Sample, Server};
use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::sys;
use crate::Mode;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CONTENDERS: &[&str] = &["corio-pool", "monoio", "compio", "tokio-multi-thread"];

/// A group of `n` listeners on one loopback port, each with SO_REUSEPORT
/// (the kernel spreads connections between them).
fn reuseport_group(n: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let mut group = Vec::with_capacity(n);
    let mut addr: SocketAddr = "127.0.0.1:0".parse().expect("address");
    for _ in 0..n {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(4096)?;
        let listener: std::net::TcpListener = socket.into();
        addr = listener.local_addr()?;
        group.push(listener);
    }
    Ok(group)
}

/// The server child: `serve-multi NAME N`. Announces the port, answers
/// stats requests, serves until killed.
pub fn serve_child(name: &str, cores: usize) -> io::Result<()> {
    let n = cores.clamp(1, sys::cpus());
    let listeners = if name == "tokio-multi-thread" {
        reuseport_group(1)?
    } else {
        reuseport_group(n)?
    };
    let cpus: Vec<usize> = (0..n).collect();
    // The server's CPUs, whatever mask it inherited (the parent may have
    // pinned itself to a load generator's CPU): a `Pool` places its cores
    // within the process's mask, tokio's workers inherit it.
    sys::pin_to_cpus(&cpus)?;
    super::announce(listeners[0].local_addr()?.port())?;
    match name {
        "corio-pool" => {
            let pool = corio::Pool::builder().cpus(cpus).build()?;
            let listeners = Arc::new(Mutex::new(listeners));
            let out = pool.run(move |_core| {
                let listeners = listeners.clone();
                async move {
                    let listener = listeners
                        .lock()
                        .unwrap()
                        .pop()
                        .expect("a listener per core");
                    corio_rt::serve_on(corio::net::TcpListener::from_std(listener)).await
                }
            });
            out.into_iter().collect::<io::Result<Vec<_>>>().map(drop)
        }
        "monoio" | "compio" => {
            let threads: Vec<_> = listeners
                .into_iter()
                .zip(cpus)
                .map(|(listener, cpu)| {
                    let name = name.to_owned();
                    std::thread::spawn(move || -> io::Result<()> {
                        sys::pin_to_cpu(cpu)?;
                        match name.as_str() {
                            "monoio" => monoio_rt::serve(listener),
                            _ => compio_rt::serve(listener),
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().expect("server thread")?;
            }
            Ok(())
        }
        "tokio-multi-thread" => {
            // The workers inherit the server's N CPUs (set above).
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()?;
            let listener = listeners.into_iter().next().expect("one listener");
            tokio_rt::serve_on(&rt, listener)
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown multi-core echo contender {other:?}"),
        )),
    }
}

/// Measure contender `name` with `cores` server cores at C × S, the load
/// spread over threads pinned to the CPUs after the server's.
fn measure(name: &str, cores: usize, c: usize, s: usize, mode: &Mode) -> io::Result<Sample> {
    let mut server = Server::start_args(&["serve-multi", name, &cores.to_string()])?;
    super::drive(
        &mut server,
        &mode.client_cpus(cores),
        mode.load(c, s),
        cores,
    )
    .map_err(|e| io::Error::new(e.kind(), format!("{name} with {cores} cores: {e}")))
}

/// The median of one field over a contender's samples.
fn med(samples: &[Sample], f: fn(&Sample) -> f64) -> f64 {
    Summary::of(&samples.iter().map(f).collect::<Vec<_>>()).median
}

/// The multi-core echo: every N of `server_cores`, every (C, S), every
/// contender, `mode.reps` rounds with the order rotated.
pub fn run(mode: &Mode, server_cores: &[usize], report: &mut Report) -> io::Result<()> {
    let total = sys::cpus();
    let matrix: Vec<(usize, usize)> = if mode.smoke {
        vec![(16, 64)]
    } else if mode.quick {
        vec![(256, 64), (1024, 64)]
    } else {
        vec![(256, 64), (256, 16384), (1024, 64)]
    };
    let matrix = mode.cases.clone().unwrap_or(matrix);
    report.section("TCP echo on several server cores");
    report.para(&format!(
        "The server on CPUs 0..N: corio's `Pool` with one SO_REUSEPORT listener per core, monoio \
         and compio one runtime per pinned thread with a reuseport listener each, tokio's \
         `multi_thread` runtime (N workers, one listener); load-generator threads pinned to the \
         following CPUs (up to 8). This machine has {total} CPUs. {:.1} s measured per point, {} \
         round(s). *× N=1*: throughput over the same contender's with one core in this run.",
        mode.measure.as_secs_f64(),
        mode.reps
    ));
    for &(c, s) in &matrix {
        let mut base: Vec<Option<f64>> = vec![None; CONTENDERS.len()];
        for &n in server_cores {
            let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); CONTENDERS.len()];
            for rep in 0..mode.reps {
                for k in 0..CONTENDERS.len() {
                    let i = (k + rep) % CONTENDERS.len();
                    eprintln!(
                        "[echo N={n}] C={c} S={s} round {}: {}",
                        rep + 1,
                        CONTENDERS[i]
                    );
                    match measure(CONTENDERS[i], n, c, s, mode) {
                        Ok(sample) => samples[i].push(sample),
                        Err(e) if mode.smoke => return Err(e),
                        Err(e) => eprintln!("[echo N={n}] {} failed: {e}", CONTENDERS[i]),
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            let mut rows = Vec::new();
            for (i, name) in CONTENDERS.iter().enumerate() {
                if samples[i].is_empty() {
                    rows.push(vec![name.to_string(), "failed".into()]);
                    continue;
                }
                let tput = Summary::of(
                    &samples[i]
                        .iter()
                        .map(|s| s.msgs_per_sec)
                        .collect::<Vec<_>>(),
                );
                let cpu = Summary::of(
                    &samples[i]
                        .iter()
                        .map(|s| s.server_us_per_msg)
                        .collect::<Vec<_>>(),
                );
                let p99 = Summary::of(&samples[i].iter().map(|s| s.p99_us).collect::<Vec<_>>());
                if n == server_cores[0] {
                    base[i] = Some(tput.median);
                }
                rows.push(vec![
                    name.to_string(),
                    format!(
                        "{:.1} ({:.1}–{:.1})",
                        tput.median / 1e3,
                        tput.min / 1e3,
                        tput.max / 1e3
                    ),
                    fmt_ratio(
                        base[i]
                            .filter(|_| server_cores[0] == 1)
                            .map(|b| tput.median / b),
                    ),
                    format!("{:.2}", cpu.median),
                    format!("{:.0}", p99.median),
                    format!("{:.2}", med(&samples[i], |s| s.server_core_use)),
                    format!("{:.2}", med(&samples[i], |s| s.client_core_use)),
                ]);
            }
            let regimes: Vec<&str> = samples.iter().flatten().map(Sample::regime).collect();
            report.table(
                &format!("N = {n} server cores, C = {c} connections, S = {s} B"),
                &[
                    "contender",
                    "k msgs/s median (min–max)",
                    "× N=1",
                    "server µs/msg",
                    "p99 µs",
                    "server core",
                    "client cores",
                ],
                &rows,
            );
            report.para(&super::saturation_line(&regimes));
        }
    }
    Ok(())
}
