//! `fio --ioengine=io_uring` as the device-limit reference, when installed.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub fn available() -> bool {
    Command::new("fio")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// IOPS, p50 µs, p99 µs of a 4 KiB random read at depth `qd` (and NaN for
/// allocations: fio's are not ours to count).
pub fn random_read(
    path: &Path,
    direct: bool,
    qd: usize,
    secs: Duration,
) -> io::Result<(f64, f64, f64, f64)> {
    let out = Command::new("fio")
        .args([
            "--name=randread",
            "--rw=randread",
            "--bs=4k",
            "--ioengine=io_uring",
            "--numjobs=1",
            "--time_based",
            "--cpus_allowed=0",
            "--output-format=json",
            // Keep the warm page cache: fio drops the file's cached pages
            // before a job by default, which would cold-start whoever runs next.
            "--invalidate=0",
        ])
        .arg(format!("--filename={}", path.display()))
        .arg(format!("--iodepth={qd}"))
        .arg(format!("--direct={}", u8::from(direct)))
        .arg(format!("--runtime={}ms", secs.as_millis().max(100)))
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    // The first job's "read" object holds iops and clat_ns percentiles.
    let read = json
        .split("\"read\"")
        .nth(1)
        .ok_or_else(|| io::Error::other("no read section in fio output"))?;
    let iops =
        number_after(read, "\"iops\"").ok_or_else(|| io::Error::other("no iops in fio output"))?;
    let clat = read.split("\"clat_ns\"").nth(1).unwrap_or("");
    let p50 = number_after(clat, "\"50.000000\"").unwrap_or(f64::NAN) / 1e3;
    let p99 = number_after(clat, "\"99.000000\"").unwrap_or(f64::NAN) / 1e3;
    Ok((iops, p50, p99, f64::NAN))
}

/// The number following `key :` in a JSON text.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let rest = text.split(key).nth(1)?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == '+'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
