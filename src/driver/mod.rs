//! The driver: one io_uring, the operations in flight on it, and the two
//! things the run loop asks of it — "submit what is queued and reap what is
//! done" and "sleep until something completes, a timer is due or another
//! thread wakes us".
//!
//! Every `unsafe` interaction with the kernel lives in this module and in
//! [`crate::buf`].

mod buffers;
mod cell;
mod completion;
pub(crate) mod cpu;
mod enter;
// Under loom the wake protocol uses a model of the eventfd (crate::loom).
mod datagram_read;
#[cfg_attr(all(test, corio_loom), allow(dead_code))]
mod eventfd;
mod fd;
mod files;
pub(crate) mod op;
mod rsrc;
mod setup;
pub(crate) mod signal;
mod slots;
mod stream_read;
mod wake_target;

pub(crate) use buffers::BufferTable;
pub(crate) use completion::Completion;
pub(crate) use datagram_read::read_datagram;
#[cfg(not(all(test, corio_loom)))]
pub(crate) use eventfd::EventFd;
pub(crate) use fd::{Detach, SharedFd};
pub(crate) use files::FileTable;
pub(crate) use op::Parked;
pub(crate) use stream_read::read_stream;
use wake_target::RingWakes;
pub(crate) use wake_target::WakeTarget;

use crate::task::CurrentTask;
pub(crate) use cell::{DriverCell, Handle};
use enter::RingFd;
use io_uring::{opcode, squeue, types, IoUring};
use setup::Mode;
use slots::{Key, Lifecycle, Slots, CANCEL_TAG, MSG_WAKE_TAG, WAKE_TAG};
pub(crate) use slots::{Polled, Ready};
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

// From <linux/io_uring.h> (the io-uring crate keeps its copies private).
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_EXT_ARG: u32 = 1 << 3;

/// How long dropping a runtime waits for the kernel to finish cancelled
/// operations before it orphans them (leaks their memory, closes their
/// descriptors).
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The longest single sleep in `io_uring_enter`. A timer further away is
/// waited for in steps: some kernels add the timeout to the current time
/// without saturating, so a deadline centuries away would overflow into an
/// immediate return — and a loop that never sleeps.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long `turn` may sleep in the kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Park {
    /// Something is runnable: submit and reap, never block.
    No,
    /// Nothing is runnable: block until a completion, a wake-up, or the
    /// given timeout (none: no timer pending).
    Until(Option<Duration>),
}

/// One thread's io_uring and its operations.
pub(crate) struct Driver {
    /// `None` once the runtime has shut down.
    ring: Option<IoUring>,
    /// How `io_uring_enter` names the ring: a registered index when the
    /// kernel allows it.
    ring_fd: RingFd,
    mode: Mode,
    pub(crate) slots: Slots,
    /// The eventfd other threads write to when they wake a task of ours.
    wake_fd: std::os::fd::RawFd,
    /// Target of the eventfd read kept armed while the loop sleeps. Boxed so
    /// its address is stable; leaked at shutdown if the read never ends.
    wake_buf: Box<u64>,
    wake_armed: bool,
    /// `io_uring_enter` calls made so far.
    pub(crate) enter_calls: u64,
    /// The kernel has IORING_OP_MSG_RING (5.18), which lets one ring post
    /// a completion to another — how a core wakes a sleeping one without an
    /// eventfd write.
    msg_ring: bool,
    /// The opcodes the kernel knows, if it could say.
    probe: Option<io_uring::Probe>,
    /// Tells this driver's ring apart in a [`WakeTarget`].
    id: u64,
    /// MSG_RING wakes of other rings in flight.
    ring_wakes: RingWakes,
    /// Times `io_uring_enter` reported EBADR: the kernel dropped
    /// completions (its overflow list could not grow).
    pub(crate) completions_lost: u64,
    /// EBADR was reported: probe the operations in flight for lost
    /// completions at the end of this turn.
    probe_wanted: bool,
    /// Buffer group ids of provided-buffer rings: the next never used, and
    /// those given back.
    next_buf_group: u16,
    free_buf_groups: Vec<u16>,
    /// The task being polled, set by the run loop around each poll.
    pub(crate) current: Rc<Cell<CurrentTask>>,
    /// Registered files (descriptors name their slot in operations).
    pub(crate) files: Rc<FileTable>,
    /// Registered buffers (fixed-buffer pools take slots in it).
    pub(crate) buffers: Rc<BufferTable>,
}

impl Driver {
    /// Create a ring with `entries` submission entries.
    /// `wake_fd` is the eventfd other threads write to wake the ring;
    /// `current` is the executor's task being polled (see [`CurrentTask`]).
    pub(crate) fn new(
        entries: u32,
        wake_fd: std::os::fd::RawFd,
        current: Rc<Cell<CurrentTask>>,
    ) -> io::Result<Driver> {
        let (ring, mode) = setup::build_ring(entries)?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring is too old: corio needs IORING_FEAT_EXT_ARG (Linux 5.11 or newer)",
            ));
        }
        let files = Rc::new(FileTable::new(ring.as_raw_fd()));
        let buffers = Rc::new(BufferTable::new(ring.as_raw_fd()));
        let probe = setup::probe(&ring);
        let msg_ring = probe
            .as_ref()
            .is_some_and(|p| p.is_supported(opcode::MsgRingData::CODE));
        Ok(Driver {
            ring_fd: RingFd::new(ring.as_raw_fd()),
            ring: Some(ring),
            mode,
            slots: Slots::new(),
            wake_fd,
            wake_buf: Box::new(0),
            wake_armed: false,
            enter_calls: 0,
            msg_ring,
            probe,
            id: wake_target::next_driver_id(),
            ring_wakes: RingWakes::default(),
            completions_lost: 0,
            probe_wanted: false,
            next_buf_group: 0,
            free_buf_groups: Vec::new(),
            current,
            files,
            buffers,
        })
    }

    /// Whether the kernel knows opcode `code` (false if it could not say).
    pub(crate) fn supports(&self, code: u8) -> bool {
        self.probe.as_ref().is_some_and(|p| p.is_supported(code))
    }

    /// Queue an operation's entry; returns the key its completion will carry.
    ///
    /// # Safety
    ///
    /// Every pointer in `entry` must stay valid until the operation's final
    /// completion has been reaped (the [`OpCode`] contract).
    pub(crate) unsafe fn submit(&mut self, entry: squeue::Entry) -> io::Result<Key> {
        if self.ring.is_none() {
            return Err(shut_down());
        }
        let key = self.slots.insert();
        // SAFETY: forwarded from our caller.
        unsafe { self.submit_keyed(key, entry) }
    }

    /// Queue a multishot operation's entry: its completions collect in
    /// `queue` (empty, reused storage) until its stream takes them. `group`:
    /// the provided-buffer group it selects from, if any.
    ///
    /// # Safety
    ///
    /// As for [`Driver::submit`]: every pointer in `entry` stays valid until
    /// the operation's final completion (the one without F_MORE).
    pub(crate) unsafe fn submit_streaming(
        &mut self,
        entry: squeue::Entry,
        queue: VecDeque<Completion>,
        group: Option<u16>,
    ) -> io::Result<Key> {
        if self.ring.is_none() {
            return Err(shut_down());
        }
        let key = self.slots.insert_streaming(queue, group);
        // SAFETY: forwarded from our caller.
        unsafe { self.submit_keyed(key, entry) }
    }

    /// # Safety
    ///
    /// As for [`Driver::submit`].
    unsafe fn submit_keyed(&mut self, key: Key, entry: squeue::Entry) -> io::Result<Key> {
        crate::trace::trace_event!(op = key.user_data(), opcode = entry.get_opcode(), "submit");
        // SAFETY: forwarded from our caller.
        match unsafe { self.push(entry.user_data(key.user_data())) } {
            Ok(()) => {
                self.slots.submitted += 1;
                Ok(key)
            }
            Err(e) => {
                // The entry never reached the queue, so the kernel has no
                // pointer into the operation: its resources are ours again.
                self.slots.remove_unsubmitted(key);
                Err(e)
            }
        }
    }

    /// How other corio rings wake this one while it sleeps: with
    /// [`Driver::wake_ring`], or through `eventfd` (this ring's wake-up
    /// eventfd). `None` if the kernel lacks IORING_OP_MSG_RING.
    pub(crate) fn wake_target(
        &self,
        eventfd: std::os::fd::RawFd,
    ) -> io::Result<Option<std::sync::Arc<WakeTarget>>> {
        let Some(ring) = self.ring.as_ref().filter(|_| self.msg_ring) else {
            return Ok(None);
        };
        let target = WakeTarget::new(self.id, ring.as_raw_fd(), eventfd)?;
        Ok(Some(std::sync::Arc::new(target)))
    }

    /// Wake the runtime of `target` (asleep in `io_uring_enter`) by posting
    /// a completion to its ring from this one (IORING_OP_MSG_RING).
    ///
    /// The request is submitted before this returns, with a system call of
    /// its own: the caller may block right after waking (joining a thread,
    /// waiting on a std channel), and the runtime it woke may be what it
    /// waits for. If the kernel reports the message undelivered, the
    /// target's eventfd is written instead (see [`wake_target::RingWakes`]).
    ///
    /// False if this ring could not send it (no MSG_RING, shut down,
    /// `target` is this ring, or the kernel did not take the request yet):
    /// the caller then wakes the target through its eventfd.
    pub(crate) fn wake_ring(&mut self, target: &std::sync::Arc<WakeTarget>) -> bool {
        if !self.msg_ring || self.ring.is_none() || target.driver == self.id {
            return false;
        }
        let user_data = self.ring_wakes.insert(target.clone());
        let entry =
            opcode::MsgRingData::new(types::Fd(target.ring.as_raw_fd()), 0, MSG_WAKE_TAG, None)
                .build()
                .user_data(user_data);
        // SAFETY: a MSG_RING request carries no pointers; the descriptor it
        // names is kept open by the `WakeTarget` `ring_wakes` holds.
        if unsafe { self.push(entry) }.is_err() {
            self.ring_wakes.complete(user_data, 0);
            return false;
        }
        let sent = self.enter(0, None).is_ok();
        // The request normally completes during the enter: reaping it now
        // releases the target, and a failure reported inline falls back to
        // the eventfd before we return.
        self.reap();
        sent && self
            .ring
            .as_mut()
            .is_some_and(|r| r.submission().is_empty())
    }

    /// Register a provided-buffer ring of `entries` entries at `addr`; returns
    /// the buffer group id operations select from.
    ///
    /// # Safety
    ///
    /// `addr` must be a page-aligned mapping of `entries` `io_uring_buf`
    /// entries naming valid buffers, all valid until
    /// [`Driver::unregister_buf_ring`] succeeds or the ring is closed.
    ///
    /// `available` counts the buffers the kernel may pick: the ring adds the
    /// ones it publishes, the driver subtracts each selection it reaps.
    pub(crate) unsafe fn register_buf_ring(
        &mut self,
        addr: u64,
        entries: u16,
        available: Rc<Cell<u32>>,
    ) -> io::Result<u16> {
        let ring = self.ring.as_ref().ok_or_else(shut_down)?;
        let group = match self.free_buf_groups.pop() {
            Some(group) => group,
            None => {
                let group = self.next_buf_group;
                self.next_buf_group = group.checked_add(1).ok_or_else(|| {
                    io::Error::other("too many buffer rings on one runtime (65,535 at most)")
                })?;
                group
            }
        };
        // SAFETY: forwarded from our caller.
        let res = unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(addr, entries, group, 0)
        };
        match res {
            Ok(()) => {
                self.slots.track_group(group, available);
                Ok(group)
            }
            Err(e) => {
                self.free_buf_groups.push(group);
                let hint = match e.raw_os_error() {
                    Some(libc::EINVAL) => "provided-buffer rings need Linux 5.19 or newer",
                    Some(libc::ENOMEM) => "not enough locked memory (RLIMIT_MEMLOCK)",
                    _ => "registering a provided-buffer ring failed",
                };
                Err(io::Error::new(e.kind(), format!("{hint}: {e}")))
            }
        }
    }

    /// Unregister a buffer ring: afterwards the kernel no longer touches its
    /// memory. Succeeds trivially once the ring is closed (the registration
    /// went with it).
    pub(crate) fn unregister_buf_ring(&mut self, group: u16) -> io::Result<()> {
        let Some(ring) = self.ring.as_ref() else {
            return Ok(());
        };
        ring.submitter().unregister_buf_ring(group)?;
        self.slots.untrack_group(group);
        self.free_buf_groups.push(group);
        Ok(())
    }

    /// Poll an operation: its completion if it arrived, else remember who
    /// polled (see [`Polled::NeedWaker`]).
    pub(crate) fn poll_op(&mut self, key: Key, waker: &Waker) -> Polled {
        self.slots.poll_op(key, waker, self.current.get())
    }

    /// Poll a multishot operation for its next completion. After the final
    /// one (without F_MORE) the slot is gone and its queue storage is moved
    /// into `spare`, for the next submission to reuse.
    pub(crate) fn poll_stream(
        &mut self,
        key: Key,
        waker: &Waker,
        spare: &mut VecDeque<Completion>,
    ) -> Polled {
        self.slots
            .poll_stream(key, waker, self.current.get(), spare)
    }

    /// Store a waker cloned after [`Polled::NeedWaker`]; `Some` if it must be
    /// woken at once instead.
    pub(crate) fn set_waker(&mut self, key: Key, waker: Waker) -> Option<Waker> {
        self.slots.set_waker(key, waker)
    }

    /// The future of an operation was dropped. If its completion already
    /// arrived, it is returned so the caller can finish the operation (outside
    /// this borrow). Otherwise the resources move into the table and the
    /// kernel is asked to cancel; they are released at the final completion.
    pub(crate) fn abandon(&mut self, key: Key, data: Parked) -> Option<(Parked, Completion)> {
        let Some(state) = self.slots.get(key) else {
            // Not in the table: nobody can tell whether the kernel is done
            // with the resources, so they are leaked (dropping a `Parked`).
            debug_assert!(false, "abandoned an operation that is not in the table");
            return None;
        };
        match std::mem::replace(state, Lifecycle::Orphaned) {
            Lifecycle::Completed(completion) => {
                self.slots.remove(key);
                Some((data, completion))
            }
            Lifecycle::Pending(wake) => {
                *state = Lifecycle::Abandoned(data);
                self.slots.discard(Lifecycle::Pending(wake));
                self.cancel(key);
                None
            }
            Lifecycle::Streaming { waker, queue } => {
                // The resources go into the table first, then the
                // completions the stream never took are handled in place
                // (a selected buffer recycled, received bytes rescued).
                *state = Lifecycle::Abandoned(data);
                self.slots.discard(Lifecycle::Pending(waker));
                for completion in queue {
                    if !completion.more() {
                        return match self.slots.remove(key) {
                            Some(Lifecycle::Abandoned(data)) => Some((data, completion)),
                            _ => None,
                        };
                    }
                    self.slots.progress_abandoned(key, completion);
                }
                self.cancel(key);
                None
            }
            Lifecycle::Orphaned => {
                // The runtime shut down: the kernel may still write into
                // these resources.
                self.slots.orphans.push(data);
                None
            }
            Lifecycle::Abandoned(earlier) => {
                debug_assert!(false, "an operation abandoned twice");
                *state = Lifecycle::Abandoned(earlier);
                // Leaked (dropping a `Parked`): the kernel may use it.
                drop(data);
                None
            }
        }
    }

    /// Ask the kernel to cancel `key`. The target still posts exactly one
    /// final completion (-ECANCELED, or its real result if it won the race).
    fn cancel(&mut self, key: Key) {
        crate::trace::trace_event!(op = key.user_data(), "cancel");
        let entry = opcode::AsyncCancel::new(key.user_data())
            .build()
            .user_data(CANCEL_TAG);
        // SAFETY: a cancel request carries no pointers.
        let _ = unsafe { self.push(entry) };
    }

    /// Put an entry in the submission queue. A full queue is drained by
    /// submitting (never by dropping the entry); a kernel that refuses to take
    /// more because the completion queue overflowed is answered by reaping.
    ///
    /// # Safety
    ///
    /// As for [`Driver::submit`].
    unsafe fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        loop {
            let ring = self.ring.as_mut().ok_or_else(shut_down)?;
            // SAFETY: our caller guarantees the entry's pointers outlive the
            // operation; the queue only copies the entry.
            if unsafe { ring.submission().push(&entry) }.is_ok() {
                return Ok(());
            }
            self.enter(0, None)?;
            self.reap();
        }
    }

    /// One `io_uring_enter`: submit everything queued, run deferred
    /// completion work, and wait for `min_complete` completions (bounded by
    /// `timeout`). EINTR, ETIME and EBUSY/EAGAIN are not failures here: the
    /// caller reaps and goes round its loop again; entries the kernel did not
    /// consume stay queued (and owned by their slots) for the next enter.
    fn enter(&mut self, min_complete: u32, timeout: Option<Duration>) -> io::Result<()> {
        let ring = self.ring.as_mut().ok_or_else(shut_down)?;
        let to_submit = ring.submission().len() as u32;
        let flags = IORING_ENTER_GETEVENTS;
        self.enter_calls += 1;
        let res = if let Some(timeout) = timeout {
            let ts = types::Timespec::from(timeout);
            let args = types::SubmitArgs::new().timespec(&ts);
            // SAFETY: `args` is the crate's layout of io_uring_getevents_arg,
            // live for the call; EXT_ARG tells the kernel to read it as such.
            unsafe {
                self.ring_fd.enter(
                    to_submit,
                    min_complete,
                    flags | IORING_ENTER_EXT_ARG,
                    (&args as *const types::SubmitArgs).cast(),
                    std::mem::size_of::<types::SubmitArgs>(),
                )
            }
        } else {
            // SAFETY: no argument (a null sigmask).
            unsafe {
                self.ring_fd
                    .enter(to_submit, min_complete, flags, std::ptr::null(), 0)
            }
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN) => Ok(()),
                Some(libc::EBADR) => {
                    // The kernel dropped completions: its overflow list could
                    // not grow (out of memory). It reports this once; which
                    // operations lost theirs is found by probing them.
                    self.completions_lost += 1;
                    self.probe_wanted = true;
                    Ok(())
                }
                _ => Err(e),
            },
        }
    }

    /// Move every available completion into the table.
    fn reap(&mut self) {
        let Some(ring) = self.ring.as_mut() else {
            return;
        };
        #[cfg(feature = "tracing")]
        let mut reaped = 0u32;
        for cqe in ring.completion() {
            #[cfg(feature = "tracing")]
            {
                reaped += 1;
            }
            match cqe.user_data() {
                CANCEL_TAG | MSG_WAKE_TAG => {}
                WAKE_TAG => self.wake_armed = false,
                data if RingWakes::owns(data) => self.ring_wakes.complete(data, cqe.result()),
                data => {
                    crate::trace::trace_event!(
                        op = data,
                        result = cqe.result(),
                        flags = cqe.flags(),
                        "complete"
                    );
                    self.slots.complete(data, cqe.result(), cqe.flags())
                }
            }
        }
        crate::trace::trace_event!(enter_calls = self.enter_calls, reaped, "turn");
    }

    /// One turn of the loop's I/O half: submit, maybe sleep, reap.
    pub(crate) fn turn(&mut self, park: Park) -> io::Result<()> {
        let Some(ring) = self.ring.as_mut() else {
            return Ok(());
        };
        match park {
            Park::No => {
                let queued = !ring.submission().is_empty();
                // With DEFER_TASKRUN nothing is posted until we enter with
                // GETEVENTS; otherwise only enter when there is something to
                // submit or the kernel flagged pending work/overflow.
                let must_enter = queued
                    || ring.submission().taskrun()
                    || ring.submission().cq_overflow()
                    || (self.mode == Mode::DeferTaskrun && self.slots.in_flight() > 0);
                if must_enter {
                    self.enter(0, None)?;
                }
            }
            Park::Until(timeout) => {
                self.arm_wake_read()?;
                // Arming may have found the queue full, submitted it and
                // reaped: the tasks those completions woke (and anything a
                // push reaped while tasks were polled) must run before we
                // sleep, or they wait for an unrelated completion.
                if self.slots.has_ready() || self.ring_has_completions() {
                    self.enter(0, None)?;
                } else {
                    // No timer: no timeout at all (a timed wait arms a kernel
                    // timer, measurable on a NOP round trip).
                    self.enter(1, timeout.map(|t| t.min(MAX_WAIT)))?;
                }
            }
        }
        self.reap();
        // A completion queue that overflowed keeps the rest on the kernel's
        // list; an enter with GETEVENTS flushes it (tokio-rs/tokio PR #8277).
        while self
            .ring
            .as_mut()
            .is_some_and(|r| r.submission().cq_overflow())
        {
            self.enter(0, None)?;
            self.reap();
        }
        if std::mem::take(&mut self.probe_wanted) {
            self.probe_lost_completions();
        }
        Ok(())
    }

    /// After EBADR: cancel every operation in flight (see [`Slots::probe`]):
    /// the kernel says completions were lost, not whose, so each one it
    /// still has fails with an error naming the loss rather than risk
    /// waiting for a completion that will never come.
    fn probe_lost_completions(&mut self) {
        self.slots.distrust_groups();
        for key in self.slots.probe() {
            self.cancel(key);
        }
    }

    fn ring_has_completions(&mut self) -> bool {
        self.ring
            .as_mut()
            .is_some_and(|r| !r.completion().is_empty())
    }

    /// Keep one read of the eventfd armed while we sleep, so a write from
    /// another thread completes it and ends the wait.
    fn arm_wake_read(&mut self) -> io::Result<()> {
        if self.wake_armed {
            return Ok(());
        }
        let ptr: *mut u64 = &mut *self.wake_buf;
        let entry = opcode::Read::new(types::Fd(self.wake_fd), ptr.cast(), 8)
            .build()
            .user_data(WAKE_TAG);
        // SAFETY: `wake_buf` is boxed (stable address) and owned by the
        // driver, which leaks it at shutdown if this read is still armed.
        unsafe { self.push(entry)? };
        self.wake_armed = true;
        Ok(())
    }

    /// Move the work completions produced — tasks and wakers to wake,
    /// abandoned operations to finish — into `ready`, for the run loop to
    /// process outside the driver borrow.
    pub(crate) fn take_ready(&mut self, ready: &mut Ready) {
        if self.slots.ready.is_empty() {
            return;
        }
        if ready.is_empty() {
            // The common case: hand the whole batch over, no copying.
            std::mem::swap(ready, &mut self.slots.ready);
        } else {
            ready.append(&mut self.slots.ready);
        }
    }

    /// Submit what is queued and reap what is done, without waiting: before
    /// a shutdown that will not wait, so that what user code queued (a
    /// close) still reaches the kernel.
    pub(crate) fn flush(&mut self) {
        if self.ring.is_some() && self.enter(0, None).is_ok() {
            self.reap();
        }
    }

    /// Take what was displaced while the driver was borrowed, to dispose of
    /// once it is released (`None`, the common case: nothing was).
    pub(crate) fn take_garbage(&mut self) -> Option<Garbage> {
        if self.slots.garbage.is_empty() && self.slots.orphans.is_empty() {
            return None;
        }
        Some(Garbage {
            wakers: std::mem::take(&mut self.slots.garbage),
            orphans: std::mem::take(&mut self.slots.orphans),
        })
    }

    /// Cancel everything in flight, reap for at most `grace`, then close the
    /// ring. What the kernel has not finished with is orphaned (see
    /// [`Slots::orphan_unfinished`]): its memory leaked, never freed. With a
    /// zero `grace` nothing is waited for: everything in flight is orphaned.
    pub(crate) fn shutdown(&mut self, grace: Duration) {
        if self.ring.is_none() {
            return;
        }
        if !grace.is_zero() {
            for key in self.slots.unfinished() {
                self.cancel(key);
            }
            if self.wake_armed {
                let entry = opcode::AsyncCancel::new(WAKE_TAG)
                    .build()
                    .user_data(CANCEL_TAG);
                // SAFETY: a cancel request carries no pointers.
                let _ = unsafe { self.push(entry) };
            }
            // A grace too long for `Instant` waits for as long as it takes.
            let deadline = Instant::now().checked_add(grace);
            while self.slots.in_flight() > 0 || self.wake_armed {
                let left = match deadline {
                    Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                    None => MAX_WAIT,
                };
                if left.is_zero() || self.enter(1, Some(left.min(MAX_WAIT))).is_err() {
                    break;
                }
                self.reap();
            }
        }
        let orphaned = self.slots.orphan_unfinished();
        self.ring_wakes.orphan_all();
        if self.wake_armed {
            // The kernel may still write 8 bytes here.
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
        self.ring_fd.unregister();
        self.buffers.close();
        if orphaned > 0 {
            // Unregistering the file table can wait for the requests that
            // still use it (on some kernels): the orphaned ones may never
            // end. Leave the table to the ring's teardown instead.
            self.files.abandon();
        } else {
            self.files.close();
        }
        // Closing the ring fd: the kernel cancels and reaps whatever is left.
        self.ring = None;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Normally the runtime shut the driver down already. If it did not
        // (a panic in user code during shutdown), do it now, before the
        // ring and the table of operations go: closing the ring does not
        // stop the kernel writing into buffers of operations in flight.
        self.shutdown(SHUTDOWN_GRACE);
        let ready = std::mem::take(&mut self.slots.ready);
        if let Some(garbage) = self.take_garbage() {
            garbage.dispose();
        }
        for (op, completion) in ready.finished {
            op.finish(completion);
        }
        // Futures of other executors still waiting learn the runtime is
        // gone; their panics are not ours to propagate from a drop.
        for waker in ready.wakers {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
        }
    }
}

/// What the driver displaced while it was borrowed: released only after the
/// borrow ends, because releasing runs foreign code (a waker's `drop`, a
/// descriptor's close waking a waiting `close()`).
#[must_use]
pub(crate) struct Garbage {
    wakers: Vec<Waker>,
    orphans: Vec<Parked>,
}

impl Garbage {
    pub(crate) fn dispose(self) {
        drop(self.wakers);
        for op in self.orphans {
            op.orphan();
        }
    }
}

pub(crate) fn shut_down() -> io::Error {
    io::Error::other("the corio runtime that owned this operation has shut down")
}
