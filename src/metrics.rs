/// Counters of one runtime, from [`corio::metrics()`](crate::metrics) or
/// [`Runtime::metrics`](crate::Runtime::metrics).
///
/// The operation counters count the operations user code started (reads,
/// writes, accepts, opens, ...); the runtime's own internal entries (the
/// wake-up read it keeps armed while sleeping, cancel requests) are left
/// out, so an idle runtime shows `ops_in_flight == 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Operations submitted to the ring.
    pub ops_submitted: u64,
    /// Operations whose final completion arrived (collected or not).
    pub ops_completed: u64,
    /// Submitted and not yet completed, abandoned ones included.
    pub ops_in_flight: u64,
    /// `io_uring_enter` system calls made.
    pub enter_calls: u64,
    /// Times the kernel reported dropped completions (`io_uring_enter`
    /// failed with EBADR: the completion queue overflowed and the kernel
    /// had no memory to keep the rest). Each time, every operation in
    /// flight is cancelled and fails with an error that names EBADR; one
    /// whose completion was the one lost cannot be told from one the kernel
    /// cannot cancel, so it stays pending (its memory is never released
    /// early).
    pub completions_lost: u64,
    /// Tasks spawned.
    pub tasks_spawned: u64,
    /// Tasks spawned and not yet finished.
    pub tasks_alive: u64,
}
