//! The runtime's timers: an ordered map from (deadline, sequence) to the
//! sleeper's waker. The ring never holds a timeout per sleep: the loop
//! passes the earliest deadline to its one `io_uring_enter` as the wait
//! timeout (IORING_ENTER_EXT_ARG), so 100,000 sleeps cost 100,000 map
//! entries and not a single extra submission.
//!
//! Ties on the deadline fire in the order the timers were created.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

pub(crate) type TimersHandle = Rc<RefCell<Timers>>;

/// Identifies one registered timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    seq: u64,
}

#[derive(Debug)]
pub(crate) struct Timers {
    map: BTreeMap<TimerKey, Option<Waker>>,
    seq: u64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            map: BTreeMap::new(),
            seq: 0,
        }
    }

    pub(crate) fn insert(&mut self, deadline: Instant, waker: &Waker) -> TimerKey {
        self.seq += 1;
        let key = TimerKey {
            deadline,
            seq: self.seq,
        };
        self.map.insert(key, Some(waker.clone()));
        key
    }

    /// Refresh the waker of a pending timer: `(false, _)` if it already
    /// fired. The waker it replaces is returned, for the caller to drop once
    /// the timers are no longer borrowed (a waker's drop is foreign code).
    pub(crate) fn update(&mut self, key: TimerKey, waker: &Waker) -> (bool, Option<Waker>) {
        match self.map.get_mut(&key) {
            Some(slot) if slot.as_ref().is_some_and(|w| w.will_wake(waker)) => (true, None),
            Some(slot) => (true, slot.replace(waker.clone())),
            None => (false, None),
        }
    }

    /// Remove a timer; its waker is returned (to drop outside the borrow).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.map.remove(&key).flatten()
    }

    /// Move the wakers of every timer due at `now` into `out`, earliest
    /// first; returns the next deadline still pending.
    pub(crate) fn fire(&mut self, now: Instant, out: &mut VecDeque<Waker>) -> Option<Instant> {
        while let Some(entry) = self.map.first_entry() {
            if entry.key().deadline > now {
                return Some(entry.key().deadline);
            }
            if let Some(waker) = entry.remove() {
                out.push_back(waker);
            }
        }
        None
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Take every timer out (to drop their wakers outside the borrow).
    pub(crate) fn take_all(&mut self) -> BTreeMap<TimerKey, Option<Waker>> {
        std::mem::take(&mut self.map)
    }
}
