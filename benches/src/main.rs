//! corio-bench: corio side by side with tokio, tokio-uring, monoio, compio
//! and hand-written io_uring and epoll loops, in one run.
//!
//! ```text
//! cargo run --release -p corio-bench -- all            # full run, writes BENCHMARKS.md
//! cargo run --release -p corio-bench -- all --quick    # 2–3 minutes
//! cargo run --release -p corio-bench -- all --smoke    # CI: every contender, every byte checked
//! cargo run --release -p corio-bench -- echo --contenders corio,tokio
//! cargo run --release -p corio-bench -- echo --server-cores 1,2,4   # multi-core servers
//! cargo run --release -p corio-bench -- cross-core                  # messages between cores
//! ```

mod alloc;
mod chart;
mod cross_core;
mod echo;
mod file;
mod http;
mod micro;
mod netstat;
mod report;
mod sendfile;
mod stats;
mod sys;
mod udp;

use std::process::ExitCode;
use std::time::Duration;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Buffer size every echo server reads into (same for every contender).
pub const BUF_SIZE: usize = 16 * 1024;

/// How long and how often each measurement runs.
#[derive(Debug, Clone)]
pub struct Mode {
    pub quick: bool,
    pub smoke: bool,
    pub reps: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// Echo cases (connections, size) given with `--cases CxS,...`.
    pub cases: Option<Vec<(usize, usize)>>,
    /// Server cores of the multi-core echo (`--server-cores 1,2,4`).
    pub server_cores: Option<Vec<usize>>,
    /// The echo load generators' CPUs (`--client-cpus 2,3,4`).
    pub client_cpus: Option<Vec<usize>>,
    /// The load generators busy-poll their rings (`--spin`).
    pub spin: bool,
    /// Echo tables are followed by the kernel's TCP counters per message
    /// (`--tcp-counters`).
    pub tcp_counters: bool,
}

impl Mode {
    fn from_args(args: &[String]) -> Mode {
        let smoke = args.iter().any(|a| a == "--smoke");
        let quick = args.iter().any(|a| a == "--quick");
        let reps = arg_value(args, "--reps").and_then(|v| v.parse().ok());
        let client_cpus = arg_value(args, "--client-cpus").map(|v| {
            cpu_list(v).unwrap_or_else(|| {
                eprintln!("corio-bench: --client-cpus takes CPU numbers and ranges, e.g. 2-9 or 1,3,5 (got {v:?})");
                std::process::exit(2)
            })
        });
        let spin = args.iter().any(|a| a == "--spin");
        let tcp_counters = args.iter().any(|a| a == "--tcp-counters");
        let server_cores = arg_value(args, "--server-cores").map(|v| {
            v.split(',')
                .filter_map(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .collect()
        });
        let cases = arg_value(args, "--cases").map(|v| {
            v.split(',')
                .filter_map(|c| {
                    let (conns, size) = c.split_once('x')?;
                    Some((conns.parse().ok()?, size.parse().ok()?))
                })
                .collect()
        });
        if smoke {
            Mode {
                quick: true,
                smoke,
                reps: reps.unwrap_or(1),
                warmup: Duration::from_millis(100),
                measure: Duration::from_millis(200),
                cases,
                server_cores,
                client_cpus,
                spin,
                tcp_counters,
            }
        } else if quick {
            Mode {
                quick,
                smoke,
                reps: reps.unwrap_or(1),
                warmup: Duration::from_millis(200),
                measure: Duration::from_millis(800),
                cases,
                server_cores,
                client_cpus,
                spin,
                tcp_counters,
            }
        } else {
            Mode {
                quick,
                smoke,
                // Five short rounds rather than three long ones: on a shared
                // 2-core VM a run is sometimes bimodal, and the median of
                // five rounds shrugs off an outlier better.
                reps: reps.unwrap_or(5),
                warmup: Duration::from_millis(500),
                measure: sys::secs(
                    arg_value(args, "--secs")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(2.0),
                ),
                cases,
                server_cores,
                client_cpus,
                spin,
                tcp_counters,
            }
        }
    }
}

impl Mode {
    /// The echo load of one point.
    pub fn load(&self, connections: usize, size: usize) -> echo::spread::Load {
        echo::spread::Load {
            connections,
            size,
            check: if self.smoke {
                echo::loadgen::Check::Full
            } else {
                echo::loadgen::Check::Ends
            },
            spin: self.spin,
            warmup: self.warmup,
            window: self.measure,
            transport: echo::loadgen::Transport::Tcp,
        }
    }

    /// The load generators' CPUs beside a server on CPUs 0..`server_cores`:
    /// `--client-cpus`, or every other CPU (at most 8).
    pub fn client_cpus(&self, server_cores: usize) -> Vec<usize> {
        self.client_cpus
            .clone()
            .filter(|cpus| !cpus.is_empty())
            .unwrap_or_else(|| echo::spread::default_client_cpus(server_cores))
    }
}

/// A CPU list as `taskset -c` writes it: numbers and ranges, comma
/// separated (`2-9`, `1,3,5-7`); `None` if any item is not one.
fn cpu_list(v: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for item in v.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(item.trim().parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

fn arg_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: corio-bench <all|echo|udp|http|scale|file|sendfile|cross-core|chart [BENCHMARKS.md]> [--quick|--smoke] [--reps N] [--secs S] \
         [--contenders a,b,...] [--cases CxS,...] [--server-cores 1,2,4] [--client-cpus 2-9] [--spin] [--tcp-counters] [--out FILE]\n\
         echo contenders: {}",
        echo::servers::CONTENDERS.join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().map(String::as_str) else {
        return usage();
    };
    if cmd == "file-worker" {
        return match file::worker_child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("file worker: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "chart" {
        // Redraw the echo chart from an existing report, without re-measuring.
        let input = args.get(1).map_or("BENCHMARKS.md", String::as_str);
        let path = std::path::Path::new(input).with_file_name("benchmarks-echo.svg");
        let drawn = std::fs::read_to_string(input)
            .map_err(|e| e.to_string())
            .and_then(|md| {
                chart::echo_cpu(&chart::records_from_markdown(&md), &path)
                    .map_err(|e| e.to_string())
            });
        return match drawn {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corio-bench chart: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "serve-multi" {
        let name = args.get(1).map(String::as_str).unwrap_or("");
        let cores = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
        return match echo::multi::serve_child(name, cores) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name} multi-core server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "serve-http" {
        let name = args.get(1).map(String::as_str).unwrap_or("");
        return match http::serve_child(name) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name} HTTP server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "serve-udp" {
        let name = args.get(1).map(String::as_str).unwrap_or("");
        return match udp::serve_child(name) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name} UDP server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "serve" {
        let name = args.get(1).map(String::as_str).unwrap_or("");
        return match echo::serve_child(name) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name} server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mode = Mode::from_args(&args);
    let filter: Option<Vec<String>> =
        arg_value(&args, "--contenders").map(|v| v.split(',').map(str::to_owned).collect());
    let echo_contenders: Vec<&str> = echo::servers::CONTENDERS
        .iter()
        .copied()
        .filter(|c| filter.as_ref().is_none_or(|f| f.iter().any(|x| x == c)))
        .collect();
    sys::raise_nofile();
    let mut report = report::Report::default();
    // N = 1, 2, 4 where the machine has room for load generators beside
    // them; on a small machine only N = 1 means anything.
    let server_cores = mode.server_cores.clone().unwrap_or_else(|| {
        if sys::cpus() >= 8 {
            vec![1, 2, 4]
        } else {
            vec![1]
        }
    });
    let mut all: Vec<&str> = echo::servers::CONTENDERS
        .iter()
        .chain(file::workers::READ_CONTENDERS)
        .chain(&["fio"])
        .copied()
        .filter(|c| filter.as_ref().is_none_or(|f| f.iter().any(|x| x == c)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    all.retain(|c| seen.insert(*c));
    let result = match cmd {
        "all" => echo::run(&mode, &echo_contenders, &mut report)
            .and_then(|()| echo::scale(&mode, &echo_contenders, &mut report))
            .and_then(|()| echo::multi::run(&mode, &server_cores, &mut report))
            .and_then(|()| udp::run(&mode, &echo_contenders, &mut report))
            .and_then(|()| http::run(&mode, &mut report))
            .and_then(|()| file::run(&mode, &all, &mut report))
            .and_then(|()| sendfile::run(&mode, &mut report))
            .and_then(|()| cross_core::run(&mode, &mut report))
            .map(|()| micro::add_to(&mut report)),
        "echo" if mode.server_cores.is_some() => {
            echo::multi::run(&mode, &server_cores, &mut report)
        }
        "echo" => echo::run(&mode, &echo_contenders, &mut report),
        "scale" => echo::scale(&mode, &echo_contenders, &mut report),
        "udp" => udp::run(&mode, &echo_contenders, &mut report),
        "http" => http::run(&mode, &mut report),
        "sendfile" => sendfile::run(&mode, &mut report),
        "file" => file::run(&mode, &all, &mut report),
        "cross-core" => cross_core::run(&mode, &mut report),
        _ => return usage(),
    };
    if let Err(e) = result {
        eprintln!("corio-bench: {e}");
        return ExitCode::FAILURE;
    }
    if cmd == "all" {
        // Only a full run replaces the committed report; a quick or smoke
        // run's goes under target/.
        let default_out = if mode.smoke {
            "target/corio-bench/BENCHMARKS.smoke.md"
        } else if mode.quick {
            "target/corio-bench/BENCHMARKS.quick.md"
        } else {
            "BENCHMARKS.md"
        };
        let out = std::path::Path::new(arg_value(&args, "--out").unwrap_or(default_out));
        let command = format!("cargo run --release -p corio-bench -- {}", args.join(" "));
        let written = match out.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => std::fs::create_dir_all(dir),
            None => Ok(()),
        }
        .and_then(|()| report.write(out, &command));
        if let Err(e) = written {
            eprintln!("corio-bench: writing {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", out.display());
    }
    if mode.smoke {
        println!("smoke: every contender completed its messages with every byte checked");
    }
    ExitCode::SUCCESS
}
