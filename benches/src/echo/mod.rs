//! TCP echo, every contender in its own process pinned to CPU 0, the shared
//! load generator pinned to CPU 1; throughput, round-trip latency, server
//! CPU time and heap allocations per message.

pub mod loadgen;
pub mod multi;
pub mod servers;
pub mod spread;

use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::sys;
use crate::Mode;
use loadgen::{Check, LoadGen};
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// One measured run of one contender.
#[derive(Debug, Clone)]
pub struct Sample {
    pub msgs_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub server_us_per_msg: f64,
    pub allocs_per_msg: f64,
    /// The server's use of its cores during the window (CPU time over wall
    /// time, per core: 0 to 1). Near 1: the server was the bottleneck.
    pub server_core_use: f64,
    /// The load generators' mean use of their CPUs.
    pub client_core_use: f64,
    /// The kernel's TCP counters per message ([`crate::netstat::COUNTERS`]).
    pub tcp: Vec<f64>,
}

impl Sample {
    /// Which side was the bottleneck.
    pub fn regime(&self) -> &'static str {
        regime(self.server_core_use, self.client_core_use)
    }
}

/// Above this use of its core(s), a side counts as saturated.
const SATURATED: f64 = 0.9;

/// Which side was saturated: "server", "client", "both" or "neither".
pub fn regime(server: f64, client: f64) -> &'static str {
    match (server >= SATURATED, client >= SATURATED) {
        (true, false) => "server",
        (false, true) => "client",
        (true, true) => "both",
        (false, false) => "neither",
    }
}

/// A server child process and its control pipes.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(contender: &str) -> io::Result<Server> {
        Server::start_args(&["serve", contender])
    }

    /// A server child started with these arguments (`serve NAME`,
    /// `serve-multi NAME N`); it prints its port first.
    pub fn start_args(args: &[&str]) -> io::Result<Server> {
        let contender = args.get(1).copied().unwrap_or("?").to_owned();
        // Another build's servers (an A/B of two corio versions): any
        // corio-bench binary speaking the same `serve` protocol.
        let exe = match std::env::var_os("CORIO_BENCH_SERVER_BIN") {
            Some(path) => path.into(),
            None => std::env::current_exe()?,
        };
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| {
                io::Error::other(format!("{contender} server did not start: {line:?}"))
            })?;
        Ok(Server {
            child,
            stdin,
            stdout,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Heap allocations the server process has made so far.
    pub fn allocations(&mut self) -> io::Result<u64> {
        writeln!(self.stdin, "allocs")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        line.strip_prefix("ALLOCS ")
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad stats line {line:?}")))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child side: pin, listen, announce the port, answer stats requests
/// on stdin, serve forever.
pub fn serve_child(contender: &str) -> io::Result<()> {
    if sys::cpus() > 1 {
        sys::pin_to_cpu(0)?;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    sys::set_backlog(&listener, 4096);
    announce(listener.local_addr()?.port())?;
    servers::serve(contender, listener)
}

/// Tell the parent the port, then answer its stats requests on stdin from
/// a thread (and exit when it goes away).
pub fn announce(port: u16) -> io::Result<()> {
    println!("PORT {port}");
    io::stdout().flush()?;
    std::thread::spawn(|| {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            match line.as_deref() {
                Ok("allocs") => {
                    println!("ALLOCS {}", crate::alloc::allocations());
                    let _ = io::stdout().flush();
                }
                _ => std::process::exit(0),
            }
        }
        // The parent went away: so do we.
        std::process::exit(0);
    });
    Ok(())
}

/// Measure one contender at `connections` × `size`.
pub fn measure(
    contender: &str,
    connections: usize,
    size: usize,
    mode: &Mode,
) -> io::Result<Sample> {
    let mut server = Server::start(contender)?;
    let load = mode.load(connections, size);
    drive(&mut server, &mode.client_cpus(1), load, 1)
        .map_err(|e| io::Error::new(e.kind(), format!("{contender}: {e}")))
}

/// Drive `server` (on `server_cores` cores) with `load` from generator
/// threads on `cpus`; what the window saw, per message.
pub fn drive(
    server: &mut Server,
    cpus: &[usize],
    load: spread::Load,
    server_cores: usize,
) -> io::Result<Sample> {
    let pid = server.pid();
    let addr = server.addr;
    let mut marks: Vec<(u64, u64, Vec<u64>)> = Vec::with_capacity(2);
    let spread = spread::run(addr, cpus, load, || {
        let tcp = crate::netstat::snapshot();
        marks.push((sys::process_cpu_ns(pid), server.allocations()?, tcp));
        Ok(())
    })?;
    let window = spread.window;
    if window.messages == 0 {
        return Err(io::Error::other(format!(
            "no message completed at C={} S={}",
            load.connections, load.size
        )));
    }
    let (cpu0, alloc0, ref tcp0) = marks[0];
    let (cpu1, alloc1, ref tcp1) = marks[1];
    let msgs = window.messages as f64;
    let us = |q: f64| window.hist.value_at_quantile(q) as f64 / 1000.0;
    let server_ns = cpu1.saturating_sub(cpu0) as f64;
    Ok(Sample {
        msgs_per_sec: msgs / window.elapsed.as_secs_f64(),
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        server_us_per_msg: server_ns / 1000.0 / msgs,
        allocs_per_msg: alloc1.saturating_sub(alloc0) as f64 / msgs,
        server_core_use: server_ns
            / window.elapsed.as_nanos().max(1) as f64
            / server_cores.max(1) as f64,
        client_core_use: spread.client_core_use,
        tcp: crate::netstat::per_message(tcp0, tcp1, msgs),
    })
}

/// `mode.reps` rounds of `measure` over `contenders`, the order rotated
/// each round (so no contender always runs first or right after another);
/// each contender's results, in `contenders` order. A failure ends a smoke
/// run and is reported and skipped otherwise. `what` names the case in the
/// progress lines.
pub fn rounds<T>(
    mode: &Mode,
    contenders: &[&str],
    what: &str,
    mut measure: impl FnMut(&str) -> io::Result<T>,
) -> io::Result<Vec<Vec<T>>> {
    let mut results: Vec<Vec<T>> = contenders.iter().map(|_| Vec::new()).collect();
    for rep in 0..mode.reps {
        for k in 0..contenders.len() {
            let idx = (k + rep) % contenders.len();
            let name = contenders[idx];
            eprintln!("[{what}] round {}/{}: {name}", rep + 1, mode.reps);
            match measure(name) {
                Ok(result) => results[idx].push(result),
                Err(e) if mode.smoke => return Err(e),
                Err(e) => eprintln!("[{what}] {name} failed: {e}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(results)
}

/// The echo matrix: every (C, S), every contender, `mode.reps` rounds with
/// the contender order rotated each round.
pub fn run(mode: &Mode, contenders: &[&str], report: &mut Report) -> io::Result<()> {
    let matrix: Vec<(usize, usize)> = if mode.smoke {
        vec![(1, 64), (16, 16384)]
    } else if mode.quick {
        vec![
            (1, 64),
            (16, 64),
            (16, 1024),
            (256, 64),
            (256, 16384),
            (1024, 64),
        ]
    } else {
        let mut m = Vec::new();
        for c in [1, 16, 256, 1024] {
            for s in [64, 1024, 16384] {
                m.push((c, s));
            }
        }
        m
    };
    // `--cases 1024x64,16x1024` replaces the matrix (for profiling one point).
    let matrix = match &mode.cases {
        Some(cases) => cases.clone(),
        None => matrix,
    };
    report.section("TCP echo");
    report.para(&format!(
        "Ping-pong per connection; server pinned to CPU 0, load generators (one thread and \
         ring per CPU, each with its share of the connections{spin}) pinned to CPUs {clients:?}; \
         {:.1} s warm-up + {:.1} s measured, {} round(s), contender order rotated each round. \
         *server µs/msg* is the server process's CPU time (all threads) divided by messages: \
         lower is better, and it is the fair figure when the load generator saturates first. \
         *ratio* is corio ÷ contender for throughput and contender ÷ corio for CPU (above 1: corio \
         better). *server core* and *client cores*: CPU time over wall time during the window \
         (the clients' averaged); a side at {SATURATED} or more is saturated, and each table \
         says which side was — only a server-saturated table ranks the servers' throughput.",
        mode.warmup.as_secs_f64(),
        mode.measure.as_secs_f64(),
        mode.reps,
        clients = mode.client_cpus(1),
        spin = if mode.spin { ", busy-polling" } else { "" },
    ));
    for &(c, s) in &matrix {
        let samples = rounds(mode, contenders, &format!("echo C={c} S={s}"), |name| {
            measure(name, c, s, mode)
        })?;
        table(report, (c, s), contenders, &samples, mode.tcp_counters);
    }
    Ok(())
}

fn table(
    report: &mut Report,
    (c, s): (usize, usize),
    contenders: &[&str],
    samples: &[Vec<Sample>],
    tcp_counters: bool,
) {
    let summary = |i: usize, f: fn(&Sample) -> f64| {
        Summary::of(&samples[i].iter().map(f).collect::<Vec<_>>())
    };
    let corio = contenders.iter().position(|&n| n == "corio");
    let corio_tput = corio.map(|i| summary(i, |s| s.msgs_per_sec).median);
    let corio_cpu = corio.map(|i| summary(i, |s| s.server_us_per_msg).median);
    let mut rows = Vec::new();
    for (i, name) in contenders.iter().enumerate() {
        if samples[i].is_empty() {
            rows.push(vec![name.to_string(), "failed".into()]);
            continue;
        }
        let tput = summary(i, |s| s.msgs_per_sec);
        let cpu = summary(i, |s| s.server_us_per_msg);
        rows.push(vec![
            name.to_string(),
            format!(
                "{:.1} ({:.1}–{:.1})",
                tput.median / 1e3,
                tput.min / 1e3,
                tput.max / 1e3
            ),
            fmt_ratio(corio_tput.map(|c| c / tput.median)),
            format!("{:.2} ({:.2}–{:.2})", cpu.median, cpu.min, cpu.max),
            fmt_ratio(corio_cpu.map(|c| cpu.median / c)),
            format!("{:.0}", summary(i, |s| s.p50_us).median),
            format!("{:.0}", summary(i, |s| s.p99_us).median),
            format!("{:.0}", summary(i, |s| s.p999_us).median),
            format!("{:.2}", summary(i, |s| s.allocs_per_msg).median),
            format!("{:.2}", summary(i, |s| s.server_core_use).median),
            format!("{:.2}", summary(i, |s| s.client_core_use).median),
        ]);
        report.record("echo", &format!("C={c} S={s}"), name, cpu.median);
    }
    let regimes: Vec<&str> = samples.iter().flatten().map(Sample::regime).collect();
    report.table(
        &format!("C = {c} connections, S = {s} B"),
        &[
            "contender",
            "k msgs/s median (min–max)",
            "ratio",
            "server µs/msg (min–max)",
            "ratio",
            "p50 µs",
            "p99 µs",
            "p999 µs",
            "allocs/msg",
            "server core",
            "client cores",
        ],
        &rows,
    );
    report.para(&saturation_line(&regimes));
    if tcp_counters {
        counters_table(report, c, s, contenders, samples);
    }
}

/// The kernel's TCP counters per message, per contender (medians).
fn counters_table(
    report: &mut Report,
    c: usize,
    s: usize,
    contenders: &[&str],
    samples: &[Vec<Sample>],
) {
    let mut rows = Vec::new();
    for (i, name) in contenders.iter().enumerate() {
        if samples[i].is_empty() {
            continue;
        }
        let mut row = vec![name.to_string()];
        for k in 0..crate::netstat::COUNTERS.len() {
            let v = Summary::of(&samples[i].iter().map(|s| s.tcp[k]).collect::<Vec<_>>());
            row.push(format!("{:.3}", v.median));
        }
        rows.push(row);
    }
    let mut headers = vec!["contender".to_owned()];
    headers.extend(crate::netstat::COUNTERS.iter().map(|(_, n)| n.to_string()));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    report.table(
        &format!("TCP counters per message, C = {c}, S = {s} B (both ends of loopback)"),
        &headers,
        &rows,
    );
}

/// Which side saturated over a table's samples.
pub fn saturation_line(regimes: &[&str]) -> String {
    let count = |r: &str| regimes.iter().filter(|&&x| x == r).count();
    let total = regimes.len();
    let (server, client, both, neither) = (
        count("server"),
        count("client"),
        count("both"),
        count("neither"),
    );
    if server == total {
        "Regime: **server-saturated** in every round: the server's core was the bottleneck, \
         so throughput ranks the servers."
            .into()
    } else if client == total {
        "Regime: **client-saturated** in every round: the load generators were the \
         bottleneck; compare *server µs/msg*, not throughput."
            .into()
    } else if both == total {
        "Regime: **both sides saturated** in every round (on a machine this small, the \
         loopback work of each send is charged to the side that sends): compare *server \
         µs/msg*; only a machine with CPUs to spare for the load can rank throughput."
            .into()
    } else {
        format!(
            "Regime: mixed — over {total} rounds, server-saturated {server}, \
             client-saturated {client}, both {both}, neither {neither}."
        )
    }
}

/// Scaling: 64-byte echo at growing connection counts, and the server's
/// resident memory per connection once every connection has been served.
pub fn scale(mode: &Mode, contenders: &[&str], report: &mut Report) -> io::Result<()> {
    if sys::cpus() > 1 {
        sys::pin_to_cpu(1)?;
    }
    let nofile = sys::raise_nofile();
    // Each connection costs one descriptor in each process, plus slack.
    let max_conns = (nofile.saturating_sub(64) as usize).min(10_000);
    let counts: Vec<usize> = if mode.smoke {
        vec![1, 100]
    } else if mode.quick {
        vec![1, 1000, 10_000]
    } else {
        vec![1, 10, 100, 1000, 10_000]
    }
    .into_iter()
    .map(|c| c.min(max_conns))
    .collect();
    report.section("Scaling: TCP echo, 64 B, 1 … 10,000 connections");
    report.para(&format!(
        "Same setup as the echo table, one round of {:.1} s per point (RLIMIT_NOFILE {nofile}). \
         *KiB/conn* is the growth of the server's resident memory from before the first \
         connection to after every connection was served once, divided by the connections, \
         at the largest count (every server keeps one 16 KiB buffer per connection).",
        mode.measure.as_secs_f64()
    ));
    let mut headers = vec!["contender".to_owned()];
    for c in &counts {
        headers.push(format!("C={c} k msgs/s"));
        headers.push(format!("C={c} p99 µs"));
    }
    headers.push("KiB/conn".into());
    let mut rows = Vec::new();
    for &name in contenders {
        let mut row = vec![name.to_owned()];
        let mut per_conn = f64::NAN;
        for &c in &counts {
            eprintln!("[scale] C={c}: {name}");
            match scale_point(name, c, mode) {
                Ok((tput, p99, kib)) => {
                    row.push(format!("{:.1}", tput / 1e3));
                    row.push(format!("{p99:.0}"));
                    per_conn = kib;
                }
                Err(e) if mode.smoke => return Err(e),
                Err(e) => {
                    eprintln!("[scale] {name} C={c} failed: {e}");
                    row.push("failed".into());
                    row.push(String::new());
                }
            }
        }
        row.push(format!("{per_conn:.1}"));
        rows.push(row);
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    report.table("Throughput, p99 and memory per connection", &headers, &rows);
    Ok(())
}

/// (messages/s, p99 µs, KiB of server RSS per connection).
fn scale_point(contender: &str, connections: usize, mode: &Mode) -> io::Result<(f64, f64, f64)> {
    let server = Server::start(contender)?;
    std::thread::sleep(Duration::from_millis(20));
    let rss0 = sys::rss_bytes(server.pid());
    let check = if mode.smoke { Check::Full } else { Check::Ends };
    let mut gen = LoadGen::connect(server.addr, connections, 64, check, mode.spin)?;
    gen.run(mode.warmup.max(Duration::from_millis(200)))?;
    let rss1 = sys::rss_bytes(server.pid());
    let window = gen.run(mode.measure)?;
    drop(gen);
    if window.messages == 0 {
        return Err(io::Error::other(format!(
            "{contender}: no message completed"
        )));
    }
    Ok((
        window.messages as f64 / window.elapsed.as_secs_f64(),
        window.hist.value_at_quantile(0.99) as f64 / 1000.0,
        rss1.saturating_sub(rss0) as f64 / 1024.0 / connections as f64,
    ))
}
