//! Ring creation: probe the fastest setup the kernel offers, fall back to
//! older ones, and explain a ring that cannot be had at all.

use io_uring::IoUring;
use std::io;

/// How the ring ended up configured; the driver adapts its loop to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// SINGLE_ISSUER + DEFER_TASKRUN (6.1): completions are only posted when
    /// we enter with GETEVENTS, so the loop must enter before it reaps.
    DeferTaskrun,
    /// COOP_TASKRUN + TASKRUN_FLAG (5.19): no IPI to interrupt us; the
    /// kernel sets IORING_SQ_TASKRUN when work is pending.
    CoopTaskrun,
    /// A plain ring.
    Plain,
}

/// Build a ring with `entries` submission entries and a completion queue
/// four times that size (one submission may post several completions once
/// multishot operations run; a larger CQ also makes overflow rare).
pub(crate) fn build_ring(entries: u32) -> io::Result<(IoUring, Mode)> {
    let cq = entries.saturating_mul(4);
    type Configure = fn(&mut io_uring::Builder);
    let attempts: [(Mode, Configure); 3] = [
        (Mode::DeferTaskrun, |b| {
            b.setup_single_issuer().setup_defer_taskrun();
        }),
        (Mode::CoopTaskrun, |b| {
            b.setup_coop_taskrun().setup_taskrun_flag();
        }),
        (Mode::Plain, |_| {}),
    ];
    let mut last = None;
    for (mode, configure) in attempts {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(cq).setup_submit_all().setup_clamp();
        configure(&mut builder);
        match builder.build(entries) {
            Ok(ring) => return Ok((ring, mode)),
            // EINVAL: this kernel does not know one of the flags; try an
            // older configuration. Anything else will not get better.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(unavailable(e)),
        }
    }
    // Even a plain ring with SUBMIT_ALL/CQSIZE was refused: try the bare
    // minimum so that kernels older than 5.18 still run.
    match IoUring::new(entries) {
        Ok(ring) => Ok((ring, Mode::Plain)),
        Err(e) => Err(unavailable(last.unwrap_or(e))),
    }
}

/// Turn an `io_uring_setup` failure into an error a person can act on.
pub(crate) fn unavailable(err: io::Error) -> io::Error {
    let why = match err.raw_os_error() {
        Some(libc::ENOSYS) => {
            "the kernel has no io_uring support (it needs Linux 5.11 or newer built with \
             CONFIG_IO_URING); upgrade the kernel"
        }
        Some(libc::EPERM) => {
            "io_uring is forbidden here: either the `kernel.io_uring_disabled` sysctl is set \
             (check `sysctl kernel.io_uring_disabled`; 0 allows everyone, 1 only the group in \
             `kernel.io_uring_group`) or a seccomp profile blocks the io_uring syscalls, as \
             Docker's and containerd's default profiles do (run the container with a profile \
             that allows io_uring_setup, io_uring_enter and io_uring_register)"
        }
        Some(libc::ENOMEM) => {
            "the kernel could not allocate the ring's memory; kernels before 5.12 charge it to \
             RLIMIT_MEMLOCK (raise it with `ulimit -l`), or ask for fewer entries"
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            "the process or the system is out of file descriptors (raise `ulimit -n`)"
        }
        Some(libc::EINVAL) => "the kernel rejected the ring parameters; ask for fewer entries",
        _ => "io_uring_setup failed",
    };
    io::Error::new(
        err.kind(),
        format!("io_uring is unavailable: {why} (io_uring_setup: {err})"),
    )
}

/// The opcodes this kernel's io_uring knows (IORING_REGISTER_PROBE, 5.6);
/// `None` if it cannot say.
pub(crate) fn probe(ring: &IoUring) -> Option<io_uring::Probe> {
    let mut probe = io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .is_ok()
        .then_some(probe)
}
