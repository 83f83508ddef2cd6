//! `pool::Builder`: how many cores, on which CPUs, pinned or not.

use super::Pool;
use crate::driver::cpu;
use std::io;

/// Configures and builds a [`Pool`].
///
/// ```no_run
/// let pool = corio::Pool::builder().cores(4).entries(1024).build()?;
/// assert_eq!(pool.cores(), 4);
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    cores: Option<usize>,
    cpus: Option<Vec<usize>>,
    pin: bool,
    runtime: crate::Builder,
}

impl Builder {
    /// One core per CPU this process may run on, each pinned to its CPU,
    /// rings of 256 entries.
    pub fn new() -> Builder {
        Builder {
            cores: None,
            cpus: None,
            pin: true,
            runtime: crate::Builder::new(),
        }
    }

    /// Run `n` cores: on the first `n` CPUs this process may run on.
    pub fn cores(mut self, n: usize) -> Builder {
        self.cores = Some(n);
        self
    }

    /// Run one core on each of these CPUs (by number, as `taskset` and
    /// `/proc/cpuinfo` name them).
    pub fn cpus(mut self, cpus: impl IntoIterator<Item = usize>) -> Builder {
        self.cpus = Some(cpus.into_iter().collect());
        self
    }

    /// Pin each core's thread to its CPU (the default), or let the
    /// scheduler move them: then more cores than CPUs are allowed.
    pub fn pin(mut self, pin: bool) -> Builder {
        self.pin = pin;
        self
    }

    /// Submission queue entries of each core's ring (as
    /// [`corio::Builder::entries`](crate::Builder::entries)).
    pub fn entries(mut self, entries: u32) -> Builder {
        self.runtime = self.runtime.entries(entries);
        self
    }

    /// How a core sleeping in the kernel is woken by another core (as
    /// [`corio::Builder::wake_with_msg_ring`](crate::Builder::wake_with_msg_ring)).
    pub fn wake_with_msg_ring(mut self, enabled: bool) -> Builder {
        self.runtime = self.runtime.wake_with_msg_ring(enabled);
        self
    }

    /// Start the cores: one thread and one runtime each, pinned first so the
    /// ring's memory is allocated near its CPU.
    ///
    /// `InvalidInput` for zero cores, a CPU this process may not run on (the
    /// message names it), a CPU listed twice, or — while pinning — more
    /// cores than allowed CPUs. A core whose ring cannot be set up fails the
    /// whole build with that core's error.
    pub fn build(&self) -> io::Result<Pool> {
        let allowed = cpu::allowed()?;
        // Threads not tied to a core (the blocking pool) run on these.
        cpu::remember_process_cpus(&allowed);
        let placement = self.placement(&allowed)?;
        Pool::start(placement, self.runtime.clone())
    }

    /// Which CPU each core runs on (`None`: unpinned).
    fn placement(&self, allowed: &[usize]) -> io::Result<Vec<Option<usize>>> {
        if let Some(cpus) = &self.cpus {
            if cpus.is_empty() {
                return Err(invalid(
                    "a pool needs at least one core: .cpus([]) lists none".into(),
                ));
            }
            for (i, cpu) in cpus.iter().enumerate() {
                if !allowed.contains(cpu) {
                    return Err(invalid(format!(
                        "CPU {cpu} is not one this process may run on (allowed: {})",
                        list(allowed)
                    )));
                }
                if cpus[..i].contains(cpu) {
                    return Err(invalid(format!("CPU {cpu} is listed twice")));
                }
            }
            if let Some(n) = self.cores {
                if n != cpus.len() {
                    return Err(invalid(format!(
                        ".cores({n}) and .cpus(..) with {} CPUs disagree",
                        cpus.len()
                    )));
                }
            }
            return Ok(cpus.iter().map(|&c| self.pin.then_some(c)).collect());
        }
        let n = self.cores.unwrap_or(allowed.len());
        if n == 0 {
            return Err(invalid("a pool needs at least one core: .cores(0)".into()));
        }
        if !self.pin {
            return Ok(vec![None; n]);
        }
        if n > allowed.len() {
            return Err(invalid(format!(
                "{n} cores pinned one per CPU, but this process may run on only {} CPUs ({}); \
                 ask for fewer, or use .pin(false) to run more cores than CPUs",
                allowed.len(),
                list(allowed)
            )));
        }
        Ok(allowed[..n].iter().map(|&c| Some(c)).collect())
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// "0-3,8" style, as taskset prints CPU lists.
fn list(cpus: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end == start {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}
