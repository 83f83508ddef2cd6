//! File to socket: a 256 MiB file sent over loopback TCP to a sink that
//! reads and discards, by corio's `io::sendfile` (in the kernel, through a
//! pipe), corio `read_at` + `write_all`, and tokio (`tokio::fs::File` read +
//! `write_all`); GB/s, median of the rounds.

use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::{sys, Mode};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const CONTENDERS: &[&str] = &["corio-sendfile", "corio-read-write", "tokio"];

/// Buffer of the read + write contenders.
const CHUNK: usize = 256 * 1024;

/// Create the file if it is not there with the right size.
fn prepare(path: &Path, len: u64) -> io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == len) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut f = std::fs::File::create(path)?;
    for _ in 0..len >> 20 {
        io::Write::write_all(&mut f, &block)?;
    }
    Ok(())
}

/// A sink on its own thread (on CPU 1 when there is one): accepts one
/// connection and reads it to the end; returns the byte count.
fn sink() -> io::Result<(SocketAddr, std::thread::JoinHandle<io::Result<u64>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let handle = std::thread::spawn(move || {
        if sys::cpus() > 1 {
            sys::pin_to_cpu(1)?;
        }
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    });
    Ok((addr, handle))
}

/// Send `len` bytes of `path` to `addr` with `contender`.
fn send(contender: &str, path: &Path, len: u64, addr: SocketAddr) -> io::Result<()> {
    match contender {
        "corio-sendfile" | "corio-read-write" => corio::block_on(async {
            let file = corio::fs::File::open(path).await?;
            let stream = corio::net::TcpStream::connect(addr).await?;
            if contender == "corio-sendfile" {
                let sent = corio::io::sendfile(&file, 0, len, &stream).await?;
                if sent != len {
                    return Err(io::Error::other(format!("sent {sent} of {len}")));
                }
            } else {
                let mut buf = Vec::with_capacity(CHUNK);
                let mut pos = 0;
                while pos < len {
                    let (res, b) = file.read_at(buf, pos).await;
                    let n = res?;
                    if n == 0 {
                        break;
                    }
                    let (res, b) = stream.write_all(b).await;
                    res?;
                    pos += n as u64;
                    buf = b;
                }
            }
            stream.close().await
        }),
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut file = tokio::fs::File::open(path).await?;
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = file.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    stream.write_all(&buf[..n]).await?;
                }
                stream.shutdown().await
            })
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown sendfile contender {other:?}"),
        )),
    }
}

/// GB/s of one run.
fn measure(contender: &str, path: &Path, len: u64) -> io::Result<f64> {
    let (addr, sink) = sink()?;
    let start = Instant::now();
    // The sender on its own thread, on CPU 0 (this thread keeps its mask).
    let (name, file) = (contender.to_owned(), path.to_path_buf());
    std::thread::spawn(move || {
        if sys::cpus() > 1 {
            sys::pin_to_cpu(0)?;
        }
        send(&name, &file, len, addr)
    })
    .join()
    .map_err(|_| io::Error::other("sender panicked"))??;
    let got = sink
        .join()
        .map_err(|_| io::Error::other("sink panicked"))??;
    let secs = start.elapsed().as_secs_f64();
    if got != len {
        return Err(io::Error::other(format!(
            "{contender}: the sink got {got} of {len} bytes"
        )));
    }
    Ok(len as f64 / secs / 1e9)
}

pub fn run(mode: &Mode, report: &mut Report) -> io::Result<()> {
    let len: u64 = if mode.smoke { 16 << 20 } else { 256 << 20 };
    let path: PathBuf = crate::file::data_dir().join("sendfile.bin");
    prepare(&path, len)?;
    report.section("File to socket");
    report.para(&format!(
        "A {} MiB file (page cache warm after the first round) sent over loopback TCP to a \
         sink that reads and discards on CPU 1; the sender on CPU 0. `corio-sendfile`: \
         `corio::io::sendfile` (file → pipe → socket with IORING_OP_SPLICE, no user-space \
         copy); `corio-read-write`: `read_at` + `write_all` with one {} KiB buffer; `tokio`: \
         `tokio::fs::File::read` (blocking pool) + `write_all`, same buffer. GB/s, {} round(s).",
        len >> 20,
        CHUNK >> 10,
        mode.reps
    ));
    let results = crate::echo::rounds(mode, CONTENDERS, "sendfile", |name| {
        measure(name, &path, len)
    })?;
    let corio = Summary::of(&results[0]).median;
    let rows: Vec<Vec<String>> = CONTENDERS
        .iter()
        .zip(&results)
        .map(|(name, r)| {
            if r.is_empty() {
                return vec![name.to_string(), "failed".into()];
            }
            let s = Summary::of(r);
            vec![
                name.to_string(),
                format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
                fmt_ratio(Some(corio / s.median)),
            ]
        })
        .collect();
    report.table(
        &format!("{} MiB file → loopback TCP", len >> 20),
        &[
            "contender",
            "GB/s median (min–max)",
            "ratio (corio-sendfile ÷)",
        ],
        &rows,
    );
    let _ = std::fs::remove_file(&path);
    Ok(())
}
