//! Hand-written io_uring file loops with no executor: the reference for
//! what the ring itself costs.

use super::{
    check_block, fill_block, histogram, open_flags, AlignedBuf, ReadResult, ReadSpec, WriteResult,
    WriteSpec,
};
use crate::stats::Rng;
use io_uring::{opcode, types, IoUring};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Instant;

fn ring(entries: u32) -> io::Result<IoUring> {
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(entries)
        .or_else(|_| IoUring::new(entries))
}

fn open(path: &std::path::Path, flags: i32) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: valid NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Submit everything and wait for one completion; reap all into `out`.
fn wait(ring: &mut IoUring, out: &mut Vec<(u64, i32)>) -> io::Result<()> {
    match ring.submit_and_wait(1) {
        Ok(_) => {}
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
        Err(e) => return Err(e),
    }
    out.clear();
    out.extend(ring.completion().map(|c| (c.user_data(), c.result())));
    Ok(())
}

pub fn random_read(spec: &ReadSpec) -> io::Result<ReadResult> {
    let fd = open(&spec.path, libc::O_RDONLY | open_flags(spec.direct))?;
    let mut ring = ring((spec.qd as u32).next_power_of_two().max(8))?;
    let mut bufs: Vec<AlignedBuf> = (0..spec.qd).map(|_| AlignedBuf::new(spec.block)).collect();
    let mut rngs: Vec<Rng> = (0..spec.qd)
        .map(|k| Rng::new(spec.seed + k as u64))
        .collect();
    let mut offsets = vec![0u64; spec.qd];
    let mut started = vec![Instant::now(); spec.qd];
    let mut hist = histogram();
    let start = Instant::now();
    let deadline = start + spec.duration;
    let submit = |ring: &mut IoUring, k: usize, bufs: &mut [AlignedBuf], offset: u64| {
        let e = opcode::Read::new(
            types::Fd(fd.as_raw_fd()),
            bufs[k].as_mut_ptr(),
            spec.block as u32,
        )
        .offset(offset)
        .build()
        .user_data(k as u64);
        // SAFETY: bufs[k] outlives the read: it is only dropped after
        // every submitted read completed (the loop drains in_flight).
        unsafe { ring.submission().push(&e) }.expect("ring has room for qd entries");
    };
    for k in 0..spec.qd {
        offsets[k] = rngs[k].below(spec.blocks) * spec.block as u64;
        started[k] = Instant::now();
        submit(&mut ring, k, &mut bufs, offsets[k]);
    }
    let mut in_flight = spec.qd;
    let mut ops = 0u64;
    let mut cqes = Vec::with_capacity(spec.qd);
    while in_flight > 0 {
        wait(&mut ring, &mut cqes)?;
        for &(k, res) in &cqes {
            let k = k as usize;
            in_flight -= 1;
            if res < 0 {
                // Drain the others before giving up, so no buffer is freed
                // under the kernel.
                let e = io::Error::from_raw_os_error(-res);
                while in_flight > 0 {
                    wait(&mut ring, &mut cqes)?;
                    in_flight -= cqes.len();
                }
                return Err(e);
            }
            let now = Instant::now();
            check_block(
                &bufs[k].as_slice()[..res as usize],
                offsets[k],
                spec.full_check,
            )?;
            let _ = hist.record((now - started[k]).as_nanos().max(1) as u64);
            ops += 1;
            if now < deadline {
                offsets[k] = rngs[k].below(spec.blocks) * spec.block as u64;
                // One clock read per read, as in every runtime's loop.
                started[k] = now;
                submit(&mut ring, k, &mut bufs, offsets[k]);
                in_flight += 1;
            }
        }
    }
    Ok(ReadResult {
        ops,
        elapsed: start.elapsed(),
        hist,
    })
}

pub fn seq_write(spec: &WriteSpec) -> io::Result<WriteResult> {
    let start = Instant::now();
    let fd = open(&spec.path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC)?;
    let mut ring = ring((spec.qd as u32).next_power_of_two().max(8))?;
    let mut bufs: Vec<AlignedBuf> = (0..spec.qd).map(|_| AlignedBuf::new(spec.block)).collect();
    for b in &mut bufs {
        fill_block(b.as_mut_slice(), 0);
    }
    let blocks = spec.total.div_ceil(spec.block as u64);
    let mut next = vec![0u64; spec.qd];
    let mut in_flight = 0;
    let submit = |ring: &mut IoUring, k: usize, j: u64| {
        let e = opcode::Write::new(
            types::Fd(fd.as_raw_fd()),
            bufs[k].as_ptr(),
            spec.block as u32,
        )
        .offset(j * spec.block as u64)
        .build()
        .user_data(k as u64);
        // SAFETY: bufs[k] lives until every write completed.
        unsafe { ring.submission().push(&e) }.expect("ring has room for qd entries");
    };
    for (k, next) in next.iter_mut().enumerate() {
        *next = k as u64;
        if *next < blocks {
            submit(&mut ring, k, *next);
            in_flight += 1;
        }
    }
    let mut cqes = Vec::with_capacity(spec.qd);
    let mut failure = None;
    while in_flight > 0 {
        wait(&mut ring, &mut cqes)?;
        for &(k, res) in &cqes {
            let k = k as usize;
            in_flight -= 1;
            if res as usize != spec.block {
                failure.get_or_insert(io::Error::other(format!("short or failed write: {res}")));
                continue;
            }
            next[k] += spec.qd as u64;
            if next[k] < blocks && failure.is_none() {
                submit(&mut ring, k, next[k]);
                in_flight += 1;
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let e = opcode::Fsync::new(types::Fd(fd.as_raw_fd()))
        .build()
        .user_data(u64::MAX);
    // SAFETY: no pointers.
    unsafe { ring.submission().push(&e) }.expect("room for fsync");
    wait(&mut ring, &mut cqes)?;
    if let Some(&(_, res)) = cqes.first() {
        if res < 0 {
            return Err(io::Error::from_raw_os_error(-res));
        }
    }
    Ok(WriteResult {
        bytes: blocks * spec.block as u64,
        elapsed: start.elapsed(),
    })
}
