//! One file worker per contender, all to the same contract:
//!
//! - `random_read`: `qd` concurrent reads of one `block` at uniformly random
//!   block-aligned offsets (each of the `qd` loops with its own
//!   `Rng::new(seed + k)`), one runtime thread, until `duration` passed;
//!   every block read is checked with [`check_block`] and its latency
//!   recorded in nanoseconds. The buffer is an [`AlignedBuf`] (O_DIRECT
//!   needs 4096-byte alignment) reused by its loop.
//! - `seq_write`: `total` bytes in `block`-sized writes, `qd` in flight
//!   (loop k writes blocks k, k+qd, k+2qd, ...) from one [`AlignedBuf`] per
//!   loop filled once with `fill_block(buf, 0)`, then one fsync
//!   (`sync_all`); the time includes opening the file and the fsync.

mod aligned;
mod compio_rt;
mod corio_rt;
mod monoio_rt;
mod raw_uring;
mod tokio_rt;
mod tokio_uring_rt;

pub use aligned::AlignedBuf;

use hdrhistogram::Histogram;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// File contenders for the random-read workload, corio first. `fio` is run
/// separately (an external program).
pub const READ_CONTENDERS: &[&str] = &[
    "corio",
    "corio-fixed",
    "tokio-fs",
    "tokio-pread",
    "tokio-uring",
    "monoio",
    "compio",
    "raw-uring",
];

/// Contenders for sequential write + fsync.
pub const WRITE_CONTENDERS: &[&str] = &[
    "corio",
    "tokio-fs",
    "tokio-uring",
    "monoio",
    "compio",
    "raw-uring",
];

#[derive(Debug, Clone)]
pub struct ReadSpec {
    pub path: PathBuf,
    pub direct: bool,
    pub qd: usize,
    pub block: usize,
    /// File size in blocks: offsets are `rng.below(blocks) * block`.
    pub blocks: u64,
    pub duration: Duration,
    pub seed: u64,
    /// Check every byte (smoke) rather than the 8-byte header.
    pub full_check: bool,
}

#[derive(Debug)]
pub struct ReadResult {
    pub ops: u64,
    pub elapsed: Duration,
    /// Per-read latency in nanoseconds.
    pub hist: Histogram<u64>,
}

#[derive(Debug, Clone)]
pub struct WriteSpec {
    pub path: PathBuf,
    pub qd: usize,
    pub block: usize,
    pub total: u64,
}

#[derive(Debug)]
pub struct WriteResult {
    pub bytes: u64,
    pub elapsed: Duration,
}

/// A latency histogram: 1 ns .. 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

/// The content of the block at `offset` in the benchmark file: its offset
/// as 8 little-endian bytes, then a byte pattern derived from it.
pub fn fill_block(buf: &mut [u8], offset: u64) {
    let n = buf.len().min(8);
    buf[..n].copy_from_slice(&offset.to_le_bytes()[..n]);
    let seed = (offset / 4096) as u8;
    for (i, b) in buf.iter_mut().enumerate().skip(8) {
        *b = seed.wrapping_add(i as u8);
    }
}

/// Check a block read at `offset` (header only, or every byte).
pub fn check_block(buf: &[u8], offset: u64, full: bool) -> io::Result<()> {
    let ok = buf.len() >= 8
        && buf[..8] == offset.to_le_bytes()
        && (!full || {
            let seed = (offset / 4096) as u8;
            buf.iter()
                .enumerate()
                .skip(8)
                .all(|(i, &b)| b == seed.wrapping_add(i as u8))
        });
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "block at offset {offset} has the wrong content ({} bytes read)",
                buf.len()
            ),
        ))
    }
}

/// Run `contender`'s random-read worker.
pub fn random_read(contender: &str, spec: &ReadSpec) -> io::Result<ReadResult> {
    match contender {
        "corio" => corio_rt::random_read(spec),
        "corio-fixed" => corio_rt::random_read_fixed(spec),
        "tokio-fs" => tokio_rt::random_read_fs(spec),
        "tokio-pread" => tokio_rt::random_read_pread(spec),
        "tokio-uring" => tokio_uring_rt::random_read(spec),
        "monoio" => monoio_rt::random_read(spec),
        "compio" => compio_rt::random_read(spec),
        "raw-uring" => raw_uring::random_read(spec),
        other => Err(unknown(other)),
    }
}

/// Run `contender`'s sequential-write worker.
pub fn seq_write(contender: &str, spec: &WriteSpec) -> io::Result<WriteResult> {
    match contender {
        "corio" => corio_rt::seq_write(spec),
        "tokio-fs" => tokio_rt::seq_write(spec),
        "tokio-uring" => tokio_uring_rt::seq_write(spec),
        "monoio" => monoio_rt::seq_write(spec),
        "compio" => compio_rt::seq_write(spec),
        "raw-uring" => raw_uring::seq_write(spec),
        other => Err(unknown(other)),
    }
}

fn unknown(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("unknown file contender {name:?}"),
    )
}

/// `O_DIRECT` when asked for.
pub fn open_flags(direct: bool) -> i32 {
    if direct {
        libc::O_DIRECT
    } else {
        0
    }
}
