//! The table of operations in flight: what each `user_data` refers to.

use super::{Abandoned, Completion};
use slab::Slab;
use std::collections::VecDeque;
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
    /// waker (the very `Waker` the run loop polls it with), else a clone.
    pub(crate) fn register(&mut self, waker: &Waker, current: CurrentTask) {
        if std::ptr::eq(waker, current.waker) {
            *self = Wake::Task(current.id);
            return;
        }
        match self {
            Wake::Waker(w) if w.will_wake(waker) => {}
            _ => *self = Wake::Waker(waker.clone()),
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
    Abandoned(Box<dyn Abandoned>),
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
    pub(crate) finished: Vec<(Box<dyn Abandoned>, Completion)>,
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
            submitted: 0,
            completed: 0,
        }
    }

    /// A slot for a single-shot operation.
    pub(crate) fn insert(&mut self) -> Key {
        self.insert_state(Lifecycle::Pending(Wake::Nobody))
    }

    /// A slot for a multishot operation; `queue` (empty) is reused storage
    /// for its completions.
    pub(crate) fn insert_streaming(&mut self, queue: VecDeque<Completion>) -> Key {
        debug_assert!(queue.is_empty());
        self.insert_state(Lifecycle::Streaming {
            waker: Wake::Nobody,
            queue,
        })
    }

    fn insert_state(&mut self, state: Lifecycle) -> Key {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let index = self.slab.insert(Slot { generation, state });
        debug_assert!(index < u32::MAX as usize - 1);
        Key {
            index: index as u32,
            generation,
        }
    }

    /// Forget a slot whose entry never reached the submission queue.
    pub(crate) fn remove_unsubmitted(&mut self, key: Key) {
        if self.get(key).is_some() {
            self.slab.remove(key.index as usize);
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
    pub(crate) fn complete(&mut self, user_data: u64, res: i32, flags: u32) {
        let key = Key::from_user_data(user_data);
        let Some(slot) = self
            .slab
            .get_mut(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
        else {
            // A stale user_data (its slot was reused): nothing to deliver.
            return;
        };
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

    /// At shutdown, after the bounded wait: whatever the kernel may still
    /// write is leaked, never freed.
    pub(crate) fn orphan_unfinished(&mut self) {
        for (_, slot) in self.slab.iter_mut() {
            if !slot.state.unfinished() {
                continue;
            }
            if let Lifecycle::Abandoned(data) =
                std::mem::replace(&mut slot.state, Lifecycle::Orphaned)
            {
                std::mem::forget(data);
            }
        }
    }
}
