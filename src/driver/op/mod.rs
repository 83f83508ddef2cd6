//! `Op<T>`: the one future every io_uring operation is.
//!
//! An operation is a small type implementing [`OpCode`]: what it owns, how it
//! builds its submission entry, how it turns its completion into a result.
//! `Op<T>` does the rest — submission, waking, completion and, when the future
//! is dropped early, cancellation without freeing anything the kernel may
//! still touch.

mod accept;
mod accept_multi;
mod checks;
mod close;
mod connect;
mod fsync;
mod nop;
mod open_at;
mod path;
mod path_op;
mod read_at;
mod recv;
mod recv_msg;
mod recv_multi;
mod resize;
mod send;
mod send_msg;
mod send_zc;
mod splice;
mod statx;
mod stream;
mod vectored;
mod write_at;

pub(crate) use accept::Accept;
pub(crate) use accept_multi::AcceptMulti;
pub(crate) use close::close;
pub(crate) use connect::Connect;
pub(crate) use fsync::Fsync;
pub(crate) use nop::Nop;
pub(crate) use open_at::OpenAt;
pub(crate) use path_op::{PathOp, PathOpKind};
pub(crate) use read_at::ReadAt;
pub(crate) use recv::Recv;
pub(crate) use recv_msg::RecvMsg;
pub(crate) use recv_multi::RecvMulti;
pub(crate) use resize::{Resize, ResizeKind};
pub(crate) use send::Send;
pub(crate) use send_msg::SendMsg;
pub(crate) use send_zc::send_zc;
pub(crate) use splice::{pipe, Splice};
pub(crate) use statx::Statx;
pub(crate) use stream::{Multishot, OpStream};
pub(crate) use vectored::{ReadvAt, WritevAt};
pub(crate) use write_at::WriteAt;

use super::{Completion, Handle, Key};
use io_uring::squeue;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// One kind of io_uring operation.
///
/// # Safety
///
/// Every pointer that [`entry`](OpCode::entry) puts in the submission entry
/// must point into memory owned by `self` that does not move when `self` is
/// moved (heap memory: an owned buffer, a `Box`) and stays valid while `self`
/// is alive. `Op` keeps `self` alive until the operation's final completion.
pub(crate) unsafe trait OpCode: Unpin + 'static {
    /// What awaiting the operation gives.
    type Output;

    /// Build the submission entry (its `user_data` is set by the driver).
    fn entry(&mut self) -> squeue::Entry;

    /// Turn the kernel's result (or an error raised before submission) into
    /// the output, handing owned resources back.
    fn complete(self, result: io::Result<u32>, flags: u32) -> Self::Output;

    /// The future was dropped before it collected its result. Called at
    /// drop time, before cancellation is requested.
    fn abandon(&mut self) {}

    /// The operation never reached the kernel (refused before submission,
    /// or the queue could not take it): the output for `err`. The default is
    /// `complete(Err(err), 0)`; an operation that took ownership of
    /// something the kernel was to release (a descriptor to close) releases
    /// it here.
    fn fail(self, err: io::Error) -> Self::Output
    where
        Self: Sized,
    {
        self.complete(Err(err), 0)
    }

    /// The final completion of an operation whose future was dropped: the
    /// kernel is done with `self`. The default releases the resources; a read
    /// on a stream hands the bytes it received to the stream instead.
    fn complete_abandoned(self, _completion: Completion)
    where
        Self: Sized,
    {
    }

    /// The runtime shut down before the kernel finished with `self`: the
    /// kernel may still read or write its memory, so that is leaked, never
    /// freed. The default leaks everything; an operation holding a
    /// descriptor leaks its memory but releases the descriptor (the kernel
    /// holds its own reference to the file, so closing ours is safe), and a
    /// read on a stream records that its bytes may be lost.
    fn orphan(self)
    where
        Self: Sized,
    {
        std::mem::forget(self);
    }
}

/// An abandoned operation parked in the driver, type-erased.
pub(crate) trait Abandoned {
    /// A completion with IORING_CQE_F_MORE of a dropped multishot
    /// operation. Runs while the driver is borrowed: it must not touch the
    /// driver nor run wakers (it adds them to `wakers` instead).
    fn progress(&mut self, completion: Completion, wakers: &mut VecDeque<Waker>);

    /// The kernel is done with it.
    fn finish(self: Box<Self>, completion: Completion);

    /// The runtime shut down before the kernel finished with it (see
    /// [`OpCode::orphan`]). Runs outside the driver borrow.
    fn orphan(self: Box<Self>);
}

/// A dropped operation's resources, parked until the kernel is done with
/// them. Only the kernel's final completion ([`finish`](Parked::finish)) or
/// a closed ring ([`orphan`](Parked::orphan)) lets them go. Dropping a
/// `Parked` any other way — a panic unwinding through a queue of them, a
/// table dropped early — leaks everything, descriptors included: while the
/// ring lives, its entry may not even be submitted yet, and a closed
/// descriptor's number could be reused by the time it is.
pub(crate) struct Parked(Option<Box<dyn Abandoned>>);

impl Parked {
    pub(crate) fn new(op: Box<dyn Abandoned>) -> Parked {
        Parked(Some(op))
    }

    /// See [`Abandoned::progress`].
    pub(crate) fn progress(&mut self, completion: Completion, wakers: &mut VecDeque<Waker>) {
        if let Some(op) = self.0.as_mut() {
            op.progress(completion, wakers);
        }
    }

    /// The final completion arrived: release the resources.
    pub(crate) fn finish(mut self, completion: Completion) {
        if let Some(op) = self.0.take() {
            op.finish(completion);
        }
    }

    /// The ring is closed and the kernel may never be done: leak the
    /// memory, release descriptors.
    pub(crate) fn orphan(mut self) {
        if let Some(op) = self.0.take() {
            op.orphan();
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        std::mem::forget(self.0.take());
    }
}

impl<T: OpCode> Abandoned for T {
    fn progress(&mut self, _completion: Completion, _wakers: &mut VecDeque<Waker>) {
        debug_assert!(false, "a single-shot operation posted IORING_CQE_F_MORE");
    }

    fn finish(self: Box<Self>, completion: Completion) {
        (*self).complete_abandoned(completion)
    }

    fn orphan(self: Box<Self>) {
        (*self).orphan()
    }
}

enum State {
    InFlight {
        driver: Handle,
        key: Key,
    },
    /// Could not be submitted; completes at first poll with this error.
    Failed(io::Error),
    Done,
}

/// A submitted operation: a future of `T::Output`.
pub(crate) struct Op<T: OpCode> {
    data: Option<T>,
    state: State,
}

impl<T: OpCode> Op<T> {
    /// Submit `data` to the ring of the runtime running on this thread.
    pub(crate) fn submit(mut data: T) -> Op<T> {
        let Some(driver) = crate::runtime::context::driver() else {
            return Op::fail(data, no_runtime());
        };
        let entry = data.entry();
        // SAFETY: `OpCode`'s contract: the entry points only into `data`'s
        // stable memory, and `Op` keeps `data` alive (in itself, or parked
        // in the driver once abandoned) until the final completion.
        let submitted = driver.with(|d| unsafe { d.submit(entry) });
        match submitted {
            Ok(key) => Op {
                data: Some(data),
                state: State::InFlight { driver, key },
            },
            Err(e) => Op::fail(data, e),
        }
    }

    /// An operation that fails with `err` without reaching the kernel.
    pub(crate) fn fail(data: T, err: io::Error) -> Op<T> {
        Op {
            data: Some(data),
            state: State::Failed(err),
        }
    }
}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        match std::task::ready!(self.get_mut().poll_or_orphaned(cx)) {
            Some(output) => Poll::Ready(output),
            // Orphaned: the kernel may still own the buffer, so it is never
            // handed back; this future never completes (dropping it leaks
            // the buffer, closes the descriptor).
            None => Poll::Pending,
        }
    }
}

impl<T: OpCode> Op<T> {
    /// As `poll`, but `Ready(None)` (forever) once the operation was
    /// orphaned: its runtime shut down without waiting for it.
    pub(crate) fn poll_or_orphaned(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Output>> {
        let this = self;
        let result = match &this.state {
            State::InFlight { driver, key } => {
                let key = *key;
                let polled = driver.poll_op(key, cx, |d, waker| d.poll_op(key, waker));
                match std::task::ready!(polled) {
                    Some(completion) => (completion.result(), completion.flags),
                    None => return Poll::Ready(None),
                }
            }
            State::Failed(_) => {
                let State::Failed(err) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!()
                };
                let data = this
                    .data
                    .take()
                    .expect("operation data present until completion");
                return Poll::Ready(Some(data.fail(err)));
            }
            State::Done => panic!("corio: an operation was polled after it completed"),
        };
        this.state = State::Done;
        let data = this
            .data
            .take()
            .expect("operation data present until completion");
        Poll::Ready(Some(data.complete(result.0, result.1)))
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        match &self.state {
            State::InFlight { driver, key } => {
                let Some(mut data) = self.data.take() else {
                    return;
                };
                data.abandon();
                // Never freed here: parked in the driver until the kernel's
                // final completion (or on its side queue if it is borrowed).
                driver.park(*key, Parked::new(Box::new(data)));
            }
            State::Failed(_) => {
                // Never submitted: give the operation its chance to release
                // what it owns (a descriptor to close) as for a failure.
                if let (Some(data), State::Failed(err)) = (
                    self.data.take(),
                    std::mem::replace(&mut self.state, State::Done),
                ) {
                    drop(data.fail(err));
                }
            }
            State::Done => {}
        }
    }
}

/// Whether the ring of the runtime running on this thread knows opcode
/// `code` (false outside a runtime).
pub(crate) fn supported(code: u8) -> bool {
    crate::runtime::context::driver().is_some_and(|d| d.with(|d| d.supports(code)))
}

pub(crate) fn no_runtime() -> io::Error {
    io::Error::other(
        "no corio runtime is running on this thread: \
         call this inside corio::block_on or Runtime::block_on",
    )
}
