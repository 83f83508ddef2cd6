//! The table of operations in flight: what each `user_data` refers to.

use super::{Completion, Parked};
use crate::task::CurrentTask;
use slab::Slab;
use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;

/// Which slot a completion belongs to: the slab index and the generation
/// the slot had when the operation was submitted. Both travel in
/// `user_data`, so a late completion of a cancelled operation can never be
/// delivered to a newer operation that reused the slot (the bug behind
/// tokio-rs/tokio#8112).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

/// `user_data` of an IORING_OP_ASYNC_CANCEL request: its own completion
/// (0, -ENOENT, -EALREADY) carries nothing we need.
pub(crate) const CANCEL_TAG: u64 = u64::MAX;
/// `user_data` of the eventfd read that wakes a sleeping ring.
pub(crate) const WAKE_TAG: u64 = u64::MAX - 1;
/// `user_data` of the completion another ring posts to wake this one
/// (IORING_OP_MSG_RING): it carries nothing but the wake-up.
pub(crate) const MSG_WAKE_TAG: u64 = u64::MAX - 2;

/// No buffer group: the operation does not select provided buffers.
const NO_GROUP: u16 = u16::MAX;

impl Key {
    pub(crate) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    fn from_user_data(data: u64) -> Key {
        Key {
            index: data as u32,
            generation: (data >> 32) as u32,
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
    /// waker (the very `Waker` the run loop polls it with), or a waker
    /// already held that wakes the same. False when a clone of `waker` must
    /// be stored: cloning runs foreign code, so the caller clones once the
    /// driver is released and stores it with [`Slots::set_waker`]. A waker
    /// replaced goes to `garbage` (dropping one is foreign code too).
    pub(crate) fn register(
        &mut self,
        waker: &Waker,
        current: CurrentTask,
        garbage: &mut Vec<Waker>,
    ) -> bool {
        if std::ptr::eq(waker, current.waker) {
            self.set(Wake::Task(current.id), garbage);
            return true;
        }
        matches!(self, Wake::Waker(w) if w.will_wake(waker))
    }

    /// Store `new`; a waker it replaces goes to `garbage`.
    fn set(&mut self, new: Wake, garbage: &mut Vec<Waker>) {
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

/// What polling an operation found.
pub(crate) enum Polled {
    Ready(Completion),
    Pending,
    /// Pending, and the poller's waker must be cloned (outside the driver
    /// borrow) and stored with [`Slots::set_waker`].
    NeedWaker,
    /// The runtime shut down before the kernel finished the operation.
    Orphaned,
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

/// Work reaped from the ring, for the run loop to do outside the driver
/// borrow. Kept by the runtime rather than in locals, so that a waker that
/// panics leaves the rest for the next turn instead of dropping it.
#[derive(Default)]
pub(crate) struct Ready {
    pub(crate) tasks: VecDeque<usize>,
    pub(crate) wakers: VecDeque<Waker>,
    pub(crate) finished: VecDeque<(Parked, Completion)>,
}

impl Ready {
    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.wakers.is_empty() && self.finished.is_empty()
    }

    /// Move everything `other` holds to the end of this.
    pub(crate) fn append(&mut self, other: &mut Ready) {
        self.tasks.append(&mut other.tasks);
        self.wakers.append(&mut other.wakers);
        self.finished.append(&mut other.finished);
    }
}

/// The slab of operations plus the work their completions produce.
pub(crate) struct Slots {
    slab: Slab<Slot>,
    generation: u32,
    /// What completions produced: wakers and tasks of this runtime to wake
    /// (tasks polled with their own waker are woken by id, see
    /// [`Wake::Task`]), and abandoned operations whose final completion
    /// arrived. Taken by the run loop and done after it has released the
    /// driver (no waker runs while the driver is borrowed; finishing may
    /// drop descriptors or hand rescued bytes back to a stream).
    pub(crate) ready: Ready,
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
            ready: Ready::default(),
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
        self.generation = self.generation.wrapping_add(1);
        if self.generation == super::wake_target::RING_WAKE_GENERATION {
            // Reserved for MSG_RING wakes.
            self.generation = 0;
        }
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
    pub(crate) fn poll_op(&mut self, key: Key, waker: &Waker, current: CurrentTask) -> Polled {
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)
        else {
            debug_assert!(false, "polled an operation that is not in the table");
            return Polled::Pending;
        };
        match &mut slot.state {
            Lifecycle::Completed(completion) => {
                let completion = *completion;
                self.slab.remove(key.index as usize);
                Polled::Ready(completion)
            }
            Lifecycle::Pending(wake) => {
                if wake.register(waker, current, &mut self.garbage) {
                    Polled::Pending
                } else {
                    Polled::NeedWaker
                }
            }
            Lifecycle::Orphaned => Polled::Orphaned,
            Lifecycle::Streaming { .. } | Lifecycle::Abandoned(_) => {
                debug_assert!(false, "polled an operation in the wrong state");
                Polled::Pending
            }
        }
    }

    /// A multishot operation's next completion, else remember who polled.
    /// After the final one the slot is gone and its queue storage is moved
    /// into `spare`.
    pub(crate) fn poll_stream(
        &mut self,
        key: Key,
        waker: &Waker,
        current: CurrentTask,
        spare: &mut VecDeque<Completion>,
    ) -> Polled {
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)
        else {
            debug_assert!(false, "polled a stream that is not in the table");
            return Polled::Pending;
        };
        let Lifecycle::Streaming { waker: wake, queue } = &mut slot.state else {
            debug_assert!(matches!(slot.state, Lifecycle::Orphaned));
            return Polled::Orphaned;
        };
        let Some(completion) = queue.pop_front() else {
            return if wake.register(waker, current, &mut self.garbage) {
                Polled::Pending
            } else {
                Polled::NeedWaker
            };
        };
        if !completion.more() {
            let slot = self.slab.remove(key.index as usize);
            if let Lifecycle::Streaming { waker, queue } = slot.state {
                waker.discard(&mut self.garbage);
                *spare = queue;
                spare.clear();
            }
        }
        Polled::Ready(completion)
    }

    /// Store a waker cloned after [`Polled::NeedWaker`]. If the operation no
    /// longer waits (a completion arrived meanwhile, or it was orphaned),
    /// the waker is handed back, to be woken at once.
    pub(crate) fn set_waker(&mut self, key: Key, waker: Waker) -> Option<Waker> {
        let slot = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation);
        match slot.map(|s| &mut s.state) {
            Some(Lifecycle::Pending(wake)) => {
                wake.set(Wake::Waker(waker), &mut self.garbage);
                None
            }
            Some(Lifecycle::Streaming { waker: wake, queue }) if queue.is_empty() => {
                wake.set(Wake::Waker(waker), &mut self.garbage);
                None
            }
            _ => Some(waker),
        }
    }

    /// A completion with IORING_CQE_F_MORE of an abandoned multishot
    /// operation: its resources are handled in place, in the table.
    pub(crate) fn progress_abandoned(&mut self, key: Key, completion: Completion) {
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)
        else {
            return;
        };
        if let Lifecycle::Abandoned(data) = &mut slot.state {
            data.progress(completion, &mut self.ready.wakers);
        }
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
        !self.ready.is_empty()
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
                    Wake::Task(id) => self.ready.tasks.push_back(id),
                    Wake::Waker(waker) => self.ready.wakers.push_back(waker),
                }
                if completion.more() {
                    return;
                }
            }
            // A dropped multishot operation still producing: its resources
            // (a selected buffer, received bytes) are handled now; the slot
            // stays until the final completion.
            Lifecycle::Abandoned(data) if completion.more() => {
                data.progress(completion, &mut self.ready.wakers);
                return;
            }
            _ => match std::mem::replace(state, Lifecycle::Completed(completion)) {
                Lifecycle::Pending(wake) => match wake {
                    Wake::Nobody => {}
                    Wake::Task(id) => self.ready.tasks.push_back(id),
                    Wake::Waker(waker) => self.ready.wakers.push_back(waker),
                },
                Lifecycle::Abandoned(data) => {
                    self.slab.remove(key.index as usize);
                    self.ready.finished.push_back((data, completion));
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

    /// The kernel dropped completions (EBADR) without saying whose: mark
    /// every unfinished operation not probed yet and return their keys, for
    /// a cancel request each. Those the kernel still has are cancelled, and
    /// their final completion reports the loss (see [`Slots::complete`]).
    ///
    /// One the kernel does not find (-ENOENT) is left alone: either its
    /// completion is the one lost, or the kernel cannot cancel it (a direct
    /// read the device is still running, a completion still queued as task
    /// work) and will complete it yet. Nothing tells the two apart, and
    /// releasing its memory in the second case would let the kernel write
    /// into freed memory: it stays pending until its future is dropped, and
    /// is orphaned at shutdown.
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

    /// After a loss of completions, the count of a group's buffers the
    /// kernel may pick cannot be trusted (a lost completion took a buffer
    /// with it): start again from zero, so a stream out of buffers waits
    /// for one to be really given back instead of re-arming in a loop.
    pub(crate) fn distrust_groups(&mut self) {
        for available in self.groups.iter().flatten() {
            available.set(0);
        }
    }

    /// At shutdown, after the bounded wait: whatever the kernel may still
    /// write is orphaned (queued in `orphans`, to be released once the ring
    /// is closed: descriptors closed, memory leaked), never freed. A future
    /// still waiting for an orphaned operation is woken (into `ready`) so
    /// that it learns its runtime is gone. Returns how many operations were
    /// orphaned.
    pub(crate) fn orphan_unfinished(&mut self) -> usize {
        let mut orphaned = 0;
        for (_, slot) in self.slab.iter_mut() {
            if !slot.state.unfinished() {
                continue;
            }
            orphaned += 1;
            match std::mem::replace(&mut slot.state, Lifecycle::Orphaned) {
                Lifecycle::Abandoned(data) => self.orphans.push(data),
                Lifecycle::Pending(Wake::Waker(waker))
                | Lifecycle::Streaming {
                    waker: Wake::Waker(waker),
                    ..
                } => self.ready.wakers.push_back(waker),
                _ => {}
            }
        }
        orphaned
    }
}
