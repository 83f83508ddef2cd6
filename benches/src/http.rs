//! HTTP/1.1 "hello": hyper on corio (through `corio::io::Compat`) beside
//! hyper on tokio `current_thread`, each server on one core, driven by the
//! shared load generator speaking HTTP/1.1 keep-alive (one request in
//! flight per connection): requests/s and server CPU µs per request.

use crate::echo::loadgen::{Check, HTTP_BODY, HTTP_REQUEST};
use crate::echo::{drive, rounds, Sample, Server};
use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::{sys, Mode};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn, Request, Response};
use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

pub const CONTENDERS: &[&str] = &["corio", "tokio"];

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HTTP_BODY))))
}

/// The child side: pin, listen, announce the port, serve.
pub fn serve_child(contender: &str) -> io::Result<()> {
    if sys::cpus() > 1 {
        sys::pin_to_cpu(0)?;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    sys::set_backlog(&listener, 4096);
    crate::echo::announce(listener.local_addr()?.port())?;
    match contender {
        "corio" => corio::block_on(async move {
            let listener = corio::net::TcpListener::from_std(listener);
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                corio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(corio::io::Compat::new(stream), service_fn(hello))
                        .await;
                });
            }
        }),
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(
                                hyper_util::rt::TokioIo::new(stream),
                                service_fn(hello),
                            )
                            .await;
                    });
                }
            })
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown HTTP contender {other:?}"),
        )),
    }
}

/// One request over a plain socket: the length of the whole response
/// (constant for a server: the Date header has a fixed width).
fn response_len(addr: SocketAddr) -> io::Result<usize> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.write_all(HTTP_REQUEST)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..1000 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(HTTP_BODY) {
            return Ok(got.len());
        }
    }
    Err(io::Error::other(format!(
        "unexpected answer to the probe request: {:?}",
        String::from_utf8_lossy(&got)
    )))
}

fn measure(contender: &str, connections: usize, mode: &Mode) -> io::Result<Sample> {
    let mut server = Server::start_args(&["serve-http", contender])?;
    let len = response_len(server.addr)?;
    let mut load = mode.load(connections, HTTP_REQUEST.len());
    load.check = Check::Http { response_len: len };
    drive(&mut server, &mode.client_cpus(1), load, 1)
        .map_err(|e| io::Error::new(e.kind(), format!("http {contender}: {e}")))
}

pub fn run(mode: &Mode, report: &mut Report) -> io::Result<()> {
    let cases: &[usize] = if mode.smoke { &[16] } else { &[1, 16, 256] };
    report.section("HTTP/1.1 hello (hyper)");
    report.para(&format!(
        "hyper 1.x `http1` serving a 5-byte body, on corio (socket wrapped in \
         `corio::io::Compat`: one copy per read into the caller's buffer) and on tokio \
         `current_thread` (`hyper_util::rt::TokioIo`); each server alone on CPU 0; C keep-alive \
         connections from the shared load generator on CPUs {:?}, one request in flight each, \
         every response checked (status 200, body). {:.1} s warm-up + {:.1} s, {} round(s).",
        mode.client_cpus(1),
        mode.warmup.as_secs_f64(),
        mode.measure.as_secs_f64(),
        mode.reps
    ));
    for &c in cases {
        let samples = rounds(mode, CONTENDERS, &format!("http C={c}"), |name| {
            measure(name, c, mode)
        })?;
        let med = |i: usize, f: fn(&Sample) -> f64| {
            Summary::of(&samples[i].iter().map(f).collect::<Vec<_>>())
        };
        let corio = (!samples[0].is_empty()).then(|| med(0, |s| s.msgs_per_sec).median);
        let corio_cpu = (!samples[0].is_empty()).then(|| med(0, |s| s.server_us_per_msg).median);
        let mut rows = Vec::new();
        for (i, name) in CONTENDERS.iter().enumerate() {
            if samples[i].is_empty() {
                rows.push(vec![name.to_string(), "failed".into()]);
                continue;
            }
            let tput = med(i, |s| s.msgs_per_sec);
            let cpu = med(i, |s| s.server_us_per_msg);
            rows.push(vec![
                name.to_string(),
                format!(
                    "{:.1} ({:.1}–{:.1})",
                    tput.median / 1e3,
                    tput.min / 1e3,
                    tput.max / 1e3
                ),
                fmt_ratio(corio.map(|c| c / tput.median)),
                format!("{:.2}", cpu.median),
                fmt_ratio(corio_cpu.map(|c| cpu.median / c)),
                format!("{:.0}", med(i, |s| s.p50_us).median),
                format!("{:.0}", med(i, |s| s.p99_us).median),
                format!("{:.2}", med(i, |s| s.server_core_use).median),
            ]);
        }
        report.table(
            &format!("C = {c} connections"),
            &[
                "server",
                "k req/s median (min–max)",
                "ratio",
                "server µs/req",
                "ratio",
                "p50 µs",
                "p99 µs",
                "server core",
            ],
            &rows,
        );
    }
    Ok(())
}
