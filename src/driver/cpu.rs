//! CPU affinity: which CPUs this process may run on, and pinning a thread
//! to one (`sched_getaffinity` / `sched_setaffinity`).

use std::io;
use std::sync::OnceLock;

/// The CPUs the process may run on, as the thread that built the first
/// pool saw them (before any core was pinned).
static PROCESS_CPUS: OnceLock<Vec<usize>> = OnceLock::new();

/// Remember the process's CPUs (the first call wins).
pub(crate) fn remember_process_cpus(cpus: &[usize]) {
    let _ = PROCESS_CPUS.set(cpus.to_vec());
}

/// The CPUs threads not tied to a core should run on: as remembered by the
/// first pool, else the main thread's (whose id is the process id).
pub(crate) fn process_cpus() -> Option<Vec<usize>> {
    if let Some(cpus) = PROCESS_CPUS.get() {
        return Some(cpus.clone());
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    allowed_of(pid).ok()
}

/// The CPUs the calling thread may run on, in increasing order.
pub(crate) fn allowed() -> io::Result<Vec<usize>> {
    allowed_of(0)
}

/// The CPUs thread `tid` (0: the caller) may run on.
fn allowed_of(tid: libc::pid_t) -> io::Result<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity writes at most `size_of::<cpu_set_t>()`
    // bytes into our local set.
    let res =
        unsafe { libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if res != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's capacity.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Let the calling thread run only on `cpus`.
pub(crate) fn pin(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "CPU {cpu} is beyond the {} CPUs Linux can name",
                    libc::CPU_SETSIZE
                ),
            ));
        }
        // SAFETY: `cpu` is below CPU_SETSIZE (checked above).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: sched_setaffinity reads our local set for the calling thread.
    let res = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if res != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
