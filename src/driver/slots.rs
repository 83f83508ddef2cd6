//! The table of operations in flight: what each `user_data` refers to.

use super::{Completion, Parked};
use slab::Slab;
use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Which slot a completion belongs to: the slab index and the generation
/// the slot had when the operation was submitted. Both travel in
/// `user_data`, so a late completion of a cancelled operation can never be
/// delivered to a newer operation that reused the slot (the bug behind
/// tokio-rs/tokio#8112).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    /// 31 bits: the top bit of `user_data` marks a lost-completion probe.
    generation: u32,
}

/// `user_data` of an IORING_OP_ASYNC_CANCEL request: its own completion
/// (0, -ENOENT, -EALREADY) carries nothing we need.
pub(crate) const CANCEL_TAG: u64 = u64::MAX;
/// `user_data` of the eventfd read that wakes a sleeping ring.
pub(crate) const WAKE_TAG: u64 = u64::MAX - 1;
/// Set in the `user_data` of a cancel request sent to find out whether an
/// operation's completion was lost (see [`Slots::probe`]); the rest is the
/// target's `user_data`.
pub(crate) const PROBE_BIT: u64 = 1 << 63;
const GENERATION_MASK: u32 = u32::MAX >> 1;

/// No buffer group: the operation does not select provided buffers.
const NO_GROUP: u16 = u16::MAX;

impl Key {
    pub(crate) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(crate) fn from_user_data(data: u64) -> Key {
        Key {
            index: data as u32,
            generation: (data >> 32) as u32 & GENERATION_MASK,
        }
    }
}

/// Who to wake when an operation completes.
pub(crate) enum Wake {
    /// Not polled yet.
    Nobody,
    /// A task of this runtime, polled with its own waker: woken by id,
    /// without cloning (and later dropping) its `Arc` waker per operation.
    Task(usize),
    /// Any other waker (a combinator's, another executor's).
    Waker(Waker),
}

impl Wake {
    /// Remember who polled: task `current` if `waker` is that task's own
    /// waker (the very `Waker` the run loop polls it with), else a clone.
    /// A waker it replaces goes to `garbage`: dropping a waker runs foreign
    /// code, which must not run while the driver is borrowed.
    pub(crate) fn register(
        &mut self,
        waker: &Waker,
        current: CurrentTask,
        garbage: &mut Vec<Waker>,
    ) {
        let new = if std::ptr::eq(waker, current.waker) {
            Wake::Task(current.id)
        } else {
            match self {
                Wake::Waker(w) if w.will_wake(waker) => return,
                _ => Wake::Waker(waker.clone()),
            }
        };
        if let Wake::Waker(old) = std::mem::replace(self, new) {
            garbage.push(old);
        }
    }

    /// Move a waker this holds to `garbage` (for the same reason).
    fn discard(self, garbage: &mut Vec<Waker>) {
        if let Wake::Waker(w) = self {
            garbage.push(w);
        }
    }
}

/// The task the run loop is polling: its id and the address of the waker
/// it polls it with (compared, never dereferenced).
#[derive(Clone, Copy)]
pub(crate) struct CurrentTask {
    pub(crate) id: usize,
    pub(crate) waker: *const Waker,
}

impl CurrentTask {
    pub(crate) const NONE: CurrentTask = CurrentTask {
        id: usize::MAX,
        waker: std::ptr::null(),
    };
}

/// Where an operation is in its life.
pub(crate) enum Lifecycle {
    /// Submitted; the future waits (with who to wake once polled).
    Pending(Wake),
    /// The final completion arrived; the future has not collected it yet.
    Completed(Completion),
    /// A multishot operation (one entry, many completions): the
    /// completions its stream has not taken yet, in order. The last one
    /// (without IORING_CQE_F_MORE) ends the operation.
    Streaming {
        waker: Wake,
        queue: VecDeque<Completion>,
    },
    /// The future was dropped while the kernel still owned its resources:
    /// they live here until the final completion.
    Abandoned(Parked),
    /// The runtime shut down before the kernel finished with this
    /// operation. Its future must leak its resources rather than free them.
    Orphaned,
}

impl Lifecycle {
    /// The kernel has not posted this operation's final completion.
    fn unfinished(&self) -> bool {
        match self {
            Lifecycle::Pending(_) | Lifecycle::Abandoned(_) => true,
            Lifecycle::Streaming { queue, .. } => queue.back().map_or(true, |c| c.more()),
            Lifecycle::Completed(_) | Lifecycle::Orphaned => false,
        }
    }
}

struct Slot {
    generation: u32,
    state: Lifecycle,
    /// The provided-buffer group its completions select from, or NO_GROUP.
    group: u16,
    /// A lost-completion probe was sent for it.
    probed: bool,
}

/// The slab of operations plus the work their completions produce.
pub(crate) struct Slots {
    slab: Slab<Slot>,
    generation: u32,
    /// Wakers of completed operations, woken by the run loop after it has
    /// released the driver (so no waker runs while the driver is borrowed).
    pub(crate) ready: Vec<Waker>,
    /// Tasks of this runtime to wake, by id (see [`Wake::Task`]).
    pub(crate) ready_tasks: Vec<usize>,
    /// Abandoned operations whose final completion arrived; the run loop
    /// finishes them outside the driver borrow (they may drop descriptors
    /// or hand rescued bytes back to a stream).
    pub(crate) finished: Vec<(Parked, Completion)>,
    /// Wakers replaced or given up while the driver was borrowed: dropped
    /// once it is released.
    pub(crate) garbage: Vec<Waker>,
    /// Operations orphaned at shutdown: released (descriptors closed,
    /// memory leaked) once the driver is released.
    pub(crate) orphans: Vec<Parked>,
    /// Per buffer group: how many of its buffers the kernel may still pick
    /// (published minus selections reaped). Shared with the `BufRing`,
    /// which adds the buffers given back.
    groups: Vec<Option<Rc<Cell<u32>>>>,
    pub(crate) submitted: u64,
    pub(crate) completed: u64,
}

impl Slots {
    pub(crate) fn new() -> Slots {
        Slots {
            slab: Slab::with_capacity(64),
            generation: 0,
            ready: Vec::with_capacity(64),
            ready_tasks: Vec::with_capacity(64),
            finished: Vec::new(),
            garbage: Vec::new(),
            orphans: Vec::new(),
            groups: Vec::new(),
            submitted: 0,
            completed: 0,
        }
    }

    /// A slot for a single-shot operation.
    pub(crate) fn insert(&mut self) -> Key {
        self.insert_state(Lifecycle::Pending(Wake::Nobody), NO_GROUP)
    }

    /// A slot for a multishot operation selecting buffers of `group` (if
    /// any); `queue` (empty) is reused storage for its completions.
    pub(crate) fn insert_streaming(
        &mut self,
        queue: VecDeque<Completion>,
        group: Option<u16>,
    ) -> Key {
        debug_assert!(queue.is_empty());
        let state = Lifecycle::Streaming {
            waker: Wake::Nobody,
            queue,
        };
        self.insert_state(state, group.unwrap_or(NO_GROUP))
    }

    fn insert_state(&mut self, state: Lifecycle, group: u16) -> Key {
        self.generation = self.generation.wrapping_add(1) & GENERATION_MASK;
        let generation = self.generation;
        let index = self.slab.insert(Slot {
            generation,
            state,
            group,
            probed: false,
        });
        debug_assert!(index < u32::MAX as usize - 1);
        Key {
            index: index as u32,
            generation,
        }
    }

    /// Count the buffers of `group` the kernel may pick in `available`.
    pub(crate) fn track_group(&mut self, group: u16, available: Rc<Cell<u32>>) {
        let i = usize::from(group);
        if self.groups.len() <= i {
            self.groups.resize(i + 1, None);
        }
        self.groups[i] = Some(available);
    }

    pub(crate) fn untrack_group(&mut self, group: u16) {
        if let Some(g) = self.groups.get_mut(usize::from(group)) {
            *g = None;
        }
    }

    /// Forget a slot whose entry never reached the submission queue.
    pub(crate) fn remove_unsubmitted(&mut self, key: Key) {
        if self.get(key).is_some() {
            let slot = self.slab.remove(key.index as usize);
            self.discard(slot.state);
        }
    }

    pub(crate) fn get(&mut self, key: Key) -> Option<&mut Lifecycle> {
        match self.slab.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => Some(&mut slot.state),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<Lifecycle> {
        self.get(key)?;
        Some(self.slab.remove(key.index as usize).state)
    }

    /// An operation's completion if it arrived, else remember who polled.
    pub(crate) fn poll_op(
        &mut self,
        key: Key,
        waker: &Waker,
        current: CurrentTask,
    ) -> Poll<Completion> {
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)
        else {
            debug_assert!(false, "polled an operation that is not in the table");
            return Poll::Pending;
        };
        match &mut slot.state {
            Lifecycle::Completed(completion) => {
                let completion = *completion;
                self.slab.remove(key.index as usize);
                Poll::Ready(completion)
            }
            Lifecycle::Pending(wake) => {
                wake.register(waker, current, &mut self.garbage);
                Poll::Pending
            }
            // Orphaned: the runtime is gone and the kernel may still own the
            // buffer; never complete, so the buffer is never handed back.
            state => {
                debug_assert!(!matches!(state, Lifecycle::Streaming { .. }));
                Poll::Pending
            }
        }
    }

    /// A multishot operation's next completion, else remember who polled.
    /// After the final one the slot is gone and its queue storage is moved
    /// into `spare`. `Ready(None)`: the operation was orphaned (its runtime
    /// shut down before the kernel finished it).
    pub(crate) fn poll_stream(
        &mut self,
        key: Key,
        waker: &Waker,
        current: CurrentTask,
        spare: &mut VecDeque<Completion>,
    ) -> Poll<Option<Completion>> {
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)
        else {
            debug_assert!(false, "polled a stream that is not in the table");
            return Poll::Pending;
        };
        let Lifecycle::Streaming { waker: wake, queue } = &mut slot.state else {
            debug_assert!(matches!(slot.state, Lifecycle::Orphaned));
            return Poll::Ready(None);
        };
        let Some(completion) = queue.pop_front() else {
            wake.register(waker, current, &mut self.garbage);
            return Poll::Pending;
        };
        if !completion.more() {
            let slot = self.slab.remove(key.index as usize);
            if let Lifecycle::Streaming { waker, queue } = slot.state {
                waker.discard(&mut self.garbage);
                *spare = queue;
                spare.clear();
            }
        }
        Poll::Ready(Some(completion))
    }

    /// Give up a lifecycle: wakers to the garbage (never dropped here).
    pub(crate) fn discard(&mut self, state: Lifecycle) {
        match state {
            Lifecycle::Pending(wake) | Lifecycle::Streaming { waker: wake, .. } => {
                wake.discard(&mut self.garbage)
            }
            Lifecycle::Abandoned(data) => self.orphans.push(data),
            Lifecycle::Completed(_) | Lifecycle::Orphaned => {}
        }
    }

    /// Completions were reaped whose wakers, tasks or finished abandoned
    /// operations the run loop has not taken yet.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready_tasks.is_empty() || !self.ready.is_empty() || !self.finished.is_empty()
    }

    /// Operations whose final completion has not arrived.
    pub(crate) fn in_flight(&self) -> u64 {
        self.submitted - self.completed
    }

    /// Route one completion entry to its operation.
    pub(crate) fn complete(&mut self, user_data: u64, mut res: i32, flags: u32) {
        let key = Key::from_user_data(user_data);
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
        else {
            // A stale user_data (its slot was reused): nothing to deliver.
            return;
        };
        if slot.group != NO_GROUP && io_uring::cqueue::buffer_select(flags).is_some() {
            // The kernel took one of the group's buffers: counted when
            // reaped, not when the stream gets to it, so a stream waiting
            // for buffers is not fooled by ones another stream has been
            // handed but not yet taken.
            if let Some(Some(available)) = self.groups.get(usize::from(slot.group)) {
                available.set(available.get().saturating_sub(1));
            }
        }
        if slot.probed && res == -libc::ECANCELED {
            // Cancelled by a lost-completion probe, not by its owner.
            res = -libc::EBADR;
        }
        let state = &mut slot.state;
        let completion = Completion { res, flags };
        match state {
            Lifecycle::Streaming { waker, queue } => {
                queue.push_back(completion);
                match std::mem::replace(waker, Wake::Nobody) {
                    Wake::Nobody => {}
                    Wake::Task(id) => self.ready_tasks.push(id),
                    Wake::Waker(waker) => self.ready.push(waker),
                }
                if completion.more() {
                    return;
                }
            }
            // A dropped multishot operation still producing: its resources
            // (a selected buffer, received bytes) are handled now; the slot
            // stays until the final completion.
            Lifecycle::Abandoned(data) if completion.more() => {
                data.progress(completion, &mut self.ready);
                return;
            }
            _ => match std::mem::replace(state, Lifecycle::Completed(completion)) {
                Lifecycle::Pending(wake) => match wake {
                    Wake::Nobody => {}
                    Wake::Task(id) => self.ready_tasks.push(id),
                    Wake::Waker(waker) => self.ready.push(waker),
                },
                Lifecycle::Abandoned(data) => {
                    self.slab.remove(key.index as usize);
                    self.finished.push((data, completion));
                }
                Lifecycle::Completed(_) | Lifecycle::Orphaned | Lifecycle::Streaming { .. } => {
                    debug_assert!(false, "a second final completion for one operation");
                    return;
                }
            },
        }
        self.completed += 1;
    }

    /// Keys of every operation still waiting for the kernel.
    pub(crate) fn unfinished(&self) -> Vec<Key> {
        self.slab
            .iter()
            .filter(|(_, s)| s.state.unfinished())
            .map(|(i, s)| Key {
                index: i as u32,
                generation: s.generation,
            })
            .collect()
    }

    /// The kernel dropped completions (EBADR): mark every unfinished
    /// operation not probed yet as probed and return their keys, for a
    /// cancel request each. The ones still in the kernel are cancelled (their final
    /// completion then reports the loss, see [`Slots::complete`]); a target
    /// the kernel no longer knows while we still wait for it had its
    /// completion dropped ([`Slots::probe_result`]).
    pub(crate) fn probe(&mut self) -> Vec<Key> {
        let mut keys = Vec::new();
        for (i, slot) in self.slab.iter_mut() {
            if slot.state.unfinished() && !slot.probed {
                slot.probed = true;
                keys.push(Key {
                    index: i as u32,
                    generation: slot.generation,
                });
            }
        }
        keys
    }

    /// The answer to a probe of `target`. Completions are posted in order,
    /// so a target that had completed normally has been reaped before this
    /// answer: if the kernel does not know it (-ENOENT) and it is still
    /// unfinished here, its completion was lost. It is finished with EBADR:
    /// the kernel is done with it, so its resources are released.
    pub(crate) fn probe_result(&mut self, target: u64, res: i32) {
        if res != -libc::ENOENT {
            return;
        }
        let key = Key::from_user_data(target);
        let unfinished = self
            .slab
            .get(key.index as usize)
            .is_some_and(|s| s.generation == key.generation && s.state.unfinished());
        if unfinished {
            self.complete(target, -libc::EBADR, 0);
        }
    }

    /// At shutdown, after the bounded wait: whatever the kernel may still
    /// write is orphaned (queued in `orphans`, to be released outside the
    /// borrow: descriptors closed, memory leaked), never freed. Returns how
    /// many operations were orphaned.
    pub(crate) fn orphan_unfinished(&mut self) -> usize {
        let mut orphaned = 0;
        for (_, slot) in self.slab.iter_mut() {
            if !slot.state.unfinished() {
                continue;
            }
            orphaned += 1;
            match std::mem::replace(&mut slot.state, Lifecycle::Orphaned) {
                Lifecycle::Abandoned(data) => self.orphans.push(data),
                Lifecycle::Pending(wake) | Lifecycle::Streaming { waker: wake, .. } => {
                    wake.discard(&mut self.garbage)
                }
                Lifecycle::Completed(_) | Lifecycle::Orphaned => {}
            }
        }
        orphaned
    }
}
