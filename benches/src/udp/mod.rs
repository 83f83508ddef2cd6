//! UDP echo: corio, tokio and a raw io_uring loop, each in its own process
//! pinned to CPU 0, driven by the shared load generator over connected UDP
//! sockets (one datagram in flight per client).

mod servers;

use crate::echo::loadgen::Transport;
use crate::echo::{drive, rounds, Sample, Server};
use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::Mode;
use std::io;

/// UDP echo contenders, corio first.
pub const CONTENDERS: &[&str] = &["corio", "tokio", "raw-uring"];

pub use servers::serve_child;

/// One contender at `clients` × `size`.
fn measure(contender: &str, clients: usize, size: usize, mode: &Mode) -> io::Result<Sample> {
    let mut server = Server::start_args(&["serve-udp", contender])?;
    let mut load = mode.load(clients, size);
    load.transport = Transport::Udp;
    drive(&mut server, &mode.client_cpus(1), load, 1)
        .map_err(|e| io::Error::new(e.kind(), format!("udp {contender}: {e}")))
}

/// Every case, every contender, `mode.reps` rounds, order rotated.
pub fn run(mode: &Mode, contenders: &[&str], report: &mut Report) -> io::Result<()> {
    let cases: &[(usize, usize)] = if mode.smoke {
        &[(16, 64)]
    } else {
        &[(1, 64), (16, 64), (64, 64), (64, 1024)]
    };
    let contenders: Vec<&str> = CONTENDERS
        .iter()
        .copied()
        .filter(|c| contenders.contains(c))
        .collect();
    if contenders.is_empty() {
        return Ok(());
    }
    report.section("UDP echo");
    report.para(&format!(
        "Ping-pong per client: C clients, each a UDP socket connected to the server, one \
         datagram of S bytes in flight (sent, echoed, checked); the same load generator as \
         TCP echo, on CPUs {:?}; the server in its own process on CPU 0: corio and tokio \
         `current_thread` with 32 tasks sharing the socket (`recv_from` → `send_to`), the raw \
         loop with 32 `RECVMSG`s in flight. At most 64 clients: more could overflow the \
         server's receive buffer, and a lost datagram stalls its client. {:.1} s warm-up + \
         {:.1} s, {} round(s).",
        mode.client_cpus(1),
        mode.warmup.as_secs_f64(),
        mode.measure.as_secs_f64(),
        mode.reps
    ));
    for &(c, s) in cases {
        let samples = rounds(mode, &contenders, &format!("udp C={c} S={s}"), |name| {
            measure(name, c, s, mode)
        })?;
        let med = |i: usize, f: fn(&Sample) -> f64| {
            Summary::of(&samples[i].iter().map(f).collect::<Vec<_>>())
        };
        let corio = (!samples[0].is_empty()).then(|| med(0, |s| s.msgs_per_sec).median);
        let mut rows = Vec::new();
        for (i, name) in contenders.iter().enumerate() {
            if samples[i].is_empty() {
                rows.push(vec![name.to_string(), "failed".into()]);
                continue;
            }
            let tput = med(i, |s| s.msgs_per_sec);
            rows.push(vec![
                name.to_string(),
                format!(
                    "{:.1} ({:.1}–{:.1})",
                    tput.median / 1e3,
                    tput.min / 1e3,
                    tput.max / 1e3
                ),
                fmt_ratio(corio.map(|c| c / tput.median)),
                format!("{:.2}", med(i, |s| s.server_us_per_msg).median),
                format!("{:.0}", med(i, |s| s.p50_us).median),
                format!("{:.0}", med(i, |s| s.p99_us).median),
                format!("{:.2}", med(i, |s| s.server_core_use).median),
            ]);
        }
        report.table(
            &format!("C = {c} clients, S = {s} B"),
            &[
                "contender",
                "k msgs/s median (min–max)",
                "ratio",
                "server µs/msg",
                "p50 µs",
                "p99 µs",
                "server core",
            ],
            &rows,
        );
    }
    Ok(())
}
