//! File workloads: 4 KiB random reads (buffered with a warm page cache, and
//! O_DIRECT) at several queue depths, and sequential 128 KiB writes + fsync.
//! Each contender runs in its own process pinned to CPU 0 (one runtime
//! thread; helper threads such as tokio's blocking pool or io-wq workers
//! share that CPU).

mod fio;
pub mod workers;

use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::sys;
use crate::Mode;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use workers::{fill_block, ReadSpec, WriteSpec};

const BLOCK: usize = 4096;
const WRITE_BLOCK: usize = 128 * 1024;

/// Where the benchmark files live: `$CORIO_BENCH_DIR`, else
/// `target/corio-bench-data` (on disk: /tmp may be tmpfs, without O_DIRECT).
pub fn data_dir() -> PathBuf {
    std::env::var_os("CORIO_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/corio-bench-data"))
}

/// Create (or reuse) the read file: every 4 KiB block holds its own offset
/// and a pattern derived from it, so every contender's reads are checked.
fn prepare(path: &Path, size: u64) -> io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() == size && first_block_ok(path)? {
            return Ok(());
        }
    }
    eprintln!("[file] creating {} ({} MiB)", path.display(), size >> 20);
    let mut file = std::fs::File::create(path)?;
    let mut chunk = vec![0u8; 1 << 20];
    let mut offset = 0;
    while offset < size {
        for (i, block) in chunk.chunks_mut(BLOCK).enumerate() {
            fill_block(block, offset + (i * BLOCK) as u64);
        }
        file.write_all(&chunk)?;
        offset += chunk.len() as u64;
    }
    file.sync_all()
}

fn first_block_ok(path: &Path) -> io::Result<bool> {
    let mut buf = vec![0u8; BLOCK];
    std::fs::File::open(path)?.read_exact(&mut buf)?;
    Ok(workers::check_block(&buf, 0, true).is_ok())
}

/// Read the whole file once so buffered reads hit the page cache.
fn warm(path: &Path) -> io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf)? > 0 {}
    Ok(())
}

/// Whether the file system takes O_DIRECT reads of 4 KiB aligned blocks.
fn direct_supported(path: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    else {
        return false;
    };
    let mut buf = workers::AlignedBuf::new(BLOCK);
    use std::os::unix::fs::FileExt;
    file.read_at(buf.as_mut_slice(), 0).is_ok()
}

/// Child side: run one worker and print its result line.
pub fn worker_child(args: &[String]) -> io::Result<()> {
    if sys::cpus() > 1 {
        sys::pin_to_cpu(0)?;
    }
    let get = |key: &str| -> io::Result<&str> {
        args.iter()
            .find_map(|a| a.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("missing {key}=")))
    };
    let num = |key: &str| -> io::Result<u64> {
        get(key)?
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad {key}")))
    };
    let contender = args.first().map(String::as_str).unwrap_or("");
    match args.get(1).map(String::as_str) {
        Some("randread") => {
            let spec = ReadSpec {
                path: PathBuf::from(get("path")?),
                direct: num("direct")? == 1,
                qd: num("qd")? as usize,
                block: num("block")? as usize,
                blocks: num("blocks")?,
                duration: Duration::from_millis(num("ms")?),
                seed: num("seed")?,
                full_check: num("full")? == 1,
            };
            let before = crate::alloc::allocations();
            let r = workers::random_read(contender, &spec)?;
            // Setup (runtime, tasks, histogram) included: amortised over
            // millions of reads it vanishes unless reads themselves allocate.
            let allocations = crate::alloc::allocations() - before;
            println!(
                "RESULT {} {} {} {} {}",
                r.ops,
                r.elapsed.as_nanos(),
                r.hist.value_at_quantile(0.5),
                r.hist.value_at_quantile(0.99),
                allocations
            );
        }
        Some("seqwrite") => {
            let spec = WriteSpec {
                path: PathBuf::from(get("path")?),
                qd: num("qd")? as usize,
                block: num("block")? as usize,
                total: num("total")?,
            };
            let r = workers::seq_write(contender, &spec)?;
            let _ = std::fs::remove_file(&spec.path);
            println!("RESULT {} {}", r.bytes, r.elapsed.as_nanos());
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unknown worker",
            ))
        }
    }
    Ok(())
}

/// Run a worker in a child process; returns the numbers of its RESULT line.
fn run_child(contender: &str, args: &[String]) -> io::Result<Vec<f64>> {
    let out = Command::new(std::env::current_exe()?)
        .arg("file-worker")
        .arg(contender)
        .args(args)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| {
            io::Error::other(format!(
                "{contender} worker failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })?;
    Ok(line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect())
}

/// One random-read sample: IOPS, p50 µs, p99 µs, heap allocations per read.
type ReadSample = (f64, f64, f64, f64);

fn read_sample(
    contender: &str,
    path: &Path,
    direct: bool,
    qd: usize,
    blocks: u64,
    mode: &Mode,
    seed: u64,
) -> io::Result<ReadSample> {
    if contender == "fio" {
        return fio::random_read(path, direct, qd, mode.measure);
    }
    let args = vec![
        "randread".to_owned(),
        format!("path={}", path.display()),
        format!("direct={}", u8::from(direct)),
        format!("qd={qd}"),
        format!("block={BLOCK}"),
        format!("blocks={blocks}"),
        format!("ms={}", mode.measure.as_millis()),
        format!("seed={seed}"),
        format!("full={}", u8::from(mode.smoke)),
    ];
    let v = run_child(contender, &args)?;
    if v.len() < 5 || v[0] == 0.0 {
        return Err(io::Error::other(format!("{contender}: no read completed")));
    }
    Ok((v[0] / (v[1] / 1e9), v[2] / 1e3, v[3] / 1e3, v[4] / v[0]))
}

pub fn run(mode: &Mode, contenders: &[&str], report: &mut Report) -> io::Result<()> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir)?;
    let size: u64 = if mode.smoke {
        16 << 20
    } else if mode.quick {
        256 << 20
    } else {
        1 << 30
    };
    let path = dir.join("random-read.dat");
    prepare(&path, size)?;
    let blocks = size / BLOCK as u64;
    let direct_ok = direct_supported(&path);
    let mut read_contenders: Vec<&str> = contenders
        .iter()
        .copied()
        .filter(|c| workers::READ_CONTENDERS.contains(c))
        .collect();
    let fio_note = if fio::available() {
        if contenders.contains(&"fio") || contenders.len() > 1 {
            read_contenders.push("fio");
        }
        "fio runs with `--ioengine=io_uring` (its own process, same file, CPU 0)."
    } else {
        "fio is not installed (`apt-get install fio`): its rows are skipped."
    };
    report.section("File random read, 4 KiB");
    report.para(&format!(
        "{} MiB file, 4 KiB reads at uniformly random offsets, one runtime thread pinned to CPU 0; \
         {:.1} s per run, {} round(s), order rotated; every block read is checked. \
         Buffered runs read a warm page cache. *ratio* is corio's IOPS ÷ the contender's. {fio_note}",
        size >> 20,
        mode.measure.as_secs_f64(),
        mode.reps
    ));
    let depths: &[usize] = if mode.smoke { &[1, 32] } else { &[1, 32, 128] };
    for direct in [false, true] {
        if direct && !direct_ok {
            report.para("O_DIRECT: n/a — this file system does not support it.");
            continue;
        }
        if !direct {
            warm(&path)?;
        }
        for &qd in depths {
            let mut samples: Vec<Vec<ReadSample>> = vec![Vec::new(); read_contenders.len()];
            let mut not_applicable = vec![None; read_contenders.len()];
            for rep in 0..mode.reps {
                for k in 0..read_contenders.len() {
                    let i = (k + rep) % read_contenders.len();
                    let name = read_contenders[i];
                    let kind = if direct { "O_DIRECT" } else { "buffered" };
                    eprintln!(
                        "[file] randread {kind} QD={qd} round {}/{}: {name}",
                        rep + 1,
                        mode.reps
                    );
                    match read_sample(name, &path, direct, qd, blocks, mode, 7 + rep as u64) {
                        Ok(s) => samples[i].push(s),
                        // A contender that cannot do this workload at all
                        // (tokio::fs with O_DIRECT) says so with "n/a:".
                        Err(e) if e.to_string().contains("n/a:") => not_applicable[i] = Some("n/a"),
                        Err(e) if mode.smoke && name != "fio" => return Err(e),
                        Err(e) => eprintln!("[file] {name} failed: {e}"),
                    }
                }
            }
            let corio = read_contenders.iter().position(|&c| c == "corio");
            let med = |i: usize, f: fn(&ReadSample) -> f64| {
                Summary::of(&samples[i].iter().map(f).collect::<Vec<_>>())
            };
            let corio_iops = corio.map(|i| med(i, |s| s.0).median);
            let rows: Vec<Vec<String>> = read_contenders
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    if samples[i].is_empty() {
                        let why = not_applicable[i].unwrap_or("failed");
                        return vec![name.to_string(), why.into()];
                    }
                    let iops = med(i, |s| s.0);
                    report.record(
                        if direct {
                            "read-direct"
                        } else {
                            "read-buffered"
                        },
                        &format!("QD={qd}"),
                        name,
                        1e6 / iops.median,
                    );
                    vec![
                        name.to_string(),
                        format!(
                            "{:.0} ({:.0}–{:.0})",
                            iops.median / 1e3,
                            iops.min / 1e3,
                            iops.max / 1e3
                        ),
                        fmt_ratio(corio_iops.map(|c| c / iops.median)),
                        format!("{:.1}", med(i, |s| s.1).median),
                        format!("{:.1}", med(i, |s| s.2).median),
                        match med(i, |s| s.3).median {
                            a if a.is_finite() => format!("{a:.2}"),
                            _ => "–".into(),
                        },
                    ]
                })
                .collect();
            report.table(
                &format!(
                    "{} QD={qd}",
                    if direct {
                        "O_DIRECT"
                    } else {
                        "Buffered (warm cache)"
                    }
                ),
                &[
                    "contender",
                    "k IOPS median (min–max)",
                    "ratio",
                    "p50 µs",
                    "p99 µs",
                    "allocs/read",
                ],
                &rows,
            );
        }
    }
    let _ = std::fs::remove_file(&path);
    seq_write(mode, contenders, &dir, report)
}

fn seq_write(mode: &Mode, contenders: &[&str], dir: &Path, report: &mut Report) -> io::Result<()> {
    let total: u64 = if mode.smoke {
        8 << 20
    } else if mode.quick {
        256 << 20
    } else {
        1 << 30
    };
    let names: Vec<&str> = contenders
        .iter()
        .copied()
        .filter(|c| workers::WRITE_CONTENDERS.contains(c))
        .collect();
    report.section("File sequential write + fsync, 128 KiB blocks");
    report.para(&format!(
        "{} MiB written in 128 KiB blocks with QD writes in flight, then one fsync; \
         MB/s over the whole (open + writes + fsync), {} round(s).",
        total >> 20,
        mode.reps
    ));
    for qd in [1usize, 8] {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for rep in 0..mode.reps {
            for k in 0..names.len() {
                let i = (k + rep) % names.len();
                let name = names[i];
                eprintln!(
                    "[file] seqwrite QD={qd} round {}/{}: {name}",
                    rep + 1,
                    mode.reps
                );
                let path = dir.join(format!("seq-write-{name}.dat"));
                let args = vec![
                    "seqwrite".to_owned(),
                    format!("path={}", path.display()),
                    format!("qd={qd}"),
                    format!("block={WRITE_BLOCK}"),
                    format!("total={total}"),
                ];
                let result = run_child(name, &args);
                let _ = std::fs::remove_file(&path);
                match result {
                    Ok(v) if v.len() >= 2 && v[1] > 0.0 => {
                        samples[i].push(v[0] / (v[1] / 1e9) / 1e6)
                    }
                    Ok(_) => eprintln!("[file] {name}: bad result"),
                    Err(e) if mode.smoke => return Err(e),
                    Err(e) => eprintln!("[file] {name} failed: {e}"),
                }
            }
        }
        let corio = names.iter().position(|&c| c == "corio");
        let corio_mbs = corio.map(|i| Summary::of(&samples[i]).median);
        let rows: Vec<Vec<String>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if samples[i].is_empty() {
                    return vec![name.to_string(), "failed".into()];
                }
                let s = Summary::of(&samples[i]);
                vec![
                    name.to_string(),
                    format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max),
                    fmt_ratio(corio_mbs.map(|c| c / s.median)),
                ]
            })
            .collect();
        report.table(
            &format!("QD={qd}"),
            &["contender", "MB/s median (min–max)", "ratio"],
            &rows,
        );
    }
    Ok(())
}
