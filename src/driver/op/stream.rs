//! `OpStream<T>`: a multishot operation — one submission entry, many
//! completions (IORING_CQE_F_MORE) — as a stream of items.
//!
//! Same lifecycle as [`Op`](super::Op): the resources live in the operation
//! value, the driver's slab routes completions to it, and dropping the stream
//! parks the resources in the driver and cancels; they are released at the
//! final completion (the one without F_MORE), never before.

use super::Abandoned;
use crate::driver::{Completion, Handle, Key};
use io_uring::squeue;
use std::collections::VecDeque;
use std::io;
use std::task::{Context, Poll, Waker};

/// One kind of multishot io_uring operation.
///
/// # Safety
///
/// As for [`OpCode`](super::OpCode): every pointer the entry holds points
/// into memory owned by `self` that stays valid and in place while `self`
/// lives; `OpStream` keeps `self` alive until the final completion.
pub(crate) unsafe trait Multishot: Unpin + 'static {
    /// What each completion gives.
    type Item;

    /// Build the submission entry (its `user_data` is set by the driver).
    fn entry(&mut self) -> squeue::Entry;

    /// The provided-buffer group its completions select from, if any (the
    /// driver counts the group's buffers the kernel may still pick).
    fn buffer_group(&self) -> Option<u16> {
        None
    }

    /// Turn one completion (or an error raised before submission) into an
    /// item. `flags` has IORING_CQE_F_MORE unless this is the last one.
    fn next(&mut self, result: io::Result<u32>, flags: u32) -> Self::Item;

    /// The stream was dropped while the operation was armed. Called at drop
    /// time, before cancellation is requested.
    fn abandon(&mut self) {}

    /// A completion that arrived for a dropped stream (the final one
    /// included): release what it carries (a selected buffer, bytes). May
    /// run while the driver is borrowed: must not touch the driver nor run
    /// wakers (it adds them to `wakers`).
    fn abandoned(&mut self, _completion: Completion, _wakers: &mut VecDeque<Waker>) {}

    /// The runtime shut down with the operation armed: as
    /// [`OpCode::orphan`](super::OpCode::orphan), leak what the kernel may
    /// still touch, release the rest.
    fn orphan(self)
    where
        Self: Sized,
    {
        std::mem::forget(self);
    }
}

/// A dropped multishot operation parked in the driver.
struct Dropped<T>(T);

impl<T: Multishot> Abandoned for Dropped<T> {
    fn progress(&mut self, completion: Completion, wakers: &mut VecDeque<Waker>) {
        self.0.abandoned(completion, wakers);
    }

    fn finish(mut self: Box<Self>, completion: Completion) {
        // Outside the driver borrow: wakers may run now.
        let mut wakers = VecDeque::new();
        self.0.abandoned(completion, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    fn orphan(self: Box<Self>) {
        self.0.orphan()
    }
}

enum State {
    /// Built, not submitted (or ended and ready to be armed again).
    Idle,
    Armed {
        driver: Handle,
        key: Key,
    },
    /// Could not be submitted: the next poll yields this error, last.
    Failed(io::Error),
    /// The runtime shut down before the kernel finished the operation: the
    /// kernel may still use the data, which is leaked when the stream goes.
    /// The poll that found out yielded an error; it never completes again.
    Orphaned,
}

/// A multishot operation that can be armed, yields items until its final
/// completion, and can be armed again (the kernel ends multishot requests
/// on its own, e.g. when a buffer ring runs dry).
pub(crate) struct OpStream<T: Multishot> {
    data: Option<T>,
    state: State,
    /// Completion storage, moved into the driver's slot while armed and back
    /// here at the end: re-arming does not allocate.
    spare: VecDeque<Completion>,
}

impl<T: Multishot> OpStream<T> {
    /// A stream for `data`, not yet armed.
    pub(crate) fn new(data: T) -> OpStream<T> {
        OpStream {
            data: Some(data),
            state: State::Idle,
            spare: VecDeque::new(),
        }
    }

    /// Whether the operation is armed (its final completion not yet taken).
    pub(crate) fn is_armed(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// Submit the entry to this thread's ring. Only when not armed.
    pub(crate) fn arm(&mut self) {
        debug_assert!(!self.is_armed());
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let Some(driver) = crate::runtime::context::driver() else {
            self.state = State::Failed(super::no_runtime());
            return;
        };
        let entry = data.entry();
        let queue = std::mem::take(&mut self.spare);
        let group = data.buffer_group();
        // SAFETY: `Multishot`'s contract: the entry points only into `data`'s
        // stable memory, and `data` stays alive (here, or parked in the
        // driver once the stream is dropped) until the final completion.
        let submitted = driver.with(|d| unsafe { d.submit_streaming(entry, queue, group) });
        self.state = match submitted {
            Ok(key) => State::Armed { driver, key },
            Err(e) => State::Failed(e),
        };
    }

    /// The next item, with whether more will follow from this arming.
    /// `Ready(None)` only when not armed. If its runtime shut down before
    /// the kernel finished the operation, one last item carries the error
    /// (without "more"), and the stream never completes again.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(T::Item, bool)>> {
        let (result, flags) = match &self.state {
            State::Idle => return Poll::Ready(None),
            State::Armed { driver, key } => {
                let (key, spare) = (*key, &mut self.spare);
                let polled = driver.poll_op(key, cx, |d, waker| d.poll_stream(key, waker, spare));
                match std::task::ready!(polled) {
                    Some(completion) => {
                        if !completion.more() {
                            self.state = State::Idle;
                        }
                        (completion.result(), completion.flags)
                    }
                    None => {
                        self.state = State::Orphaned;
                        (Err(super::super::shut_down()), 0)
                    }
                }
            }
            State::Orphaned => return Poll::Pending,
            State::Failed(_) => {
                let State::Failed(err) = std::mem::replace(&mut self.state, State::Idle) else {
                    unreachable!()
                };
                (Err(err), 0)
            }
        };
        let more = io_uring::cqueue::more(flags);
        let data = self.data.as_mut().expect("stream data present while alive");
        Poll::Ready(Some((data.next(result, flags), more)))
    }

    /// The operation's data back, once it is not armed (the kernel is done
    /// with it); `None` while armed.
    pub(crate) fn into_data(mut self) -> Option<T> {
        if self.is_armed() {
            return None;
        }
        self.data.take()
    }

    /// The operation's data (e.g. to read its configuration).
    pub(crate) fn data(&self) -> &T {
        self.data.as_ref().expect("stream data present while alive")
    }
}

impl<T: Multishot> Drop for OpStream<T> {
    fn drop(&mut self) {
        if matches!(self.state, State::Orphaned) {
            if let Some(data) = self.data.take() {
                data.orphan();
            }
            return;
        }
        let State::Armed { driver, key } = &self.state else {
            return;
        };
        let Some(mut data) = self.data.take() else {
            return;
        };
        data.abandon();
        driver.park(*key, super::Parked::new(Box::new(Dropped(data))));
    }
}
