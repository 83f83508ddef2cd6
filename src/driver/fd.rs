//! `SharedFd`: a descriptor shared by a resource and its operations in
//! flight, so the number is never closed (and reused) while the kernel may
//! still be handed it.

use crate::buf::IoBufMut;
use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A reference-counted descriptor. The last clone closes it with `close(2)`
/// unless ownership was handed to an io_uring close first.
#[derive(Clone)]
pub(crate) struct SharedFd(Rc<Inner>);

struct Inner {
    fd: RawFd,
    /// Set once a close operation owns the descriptor.
    handed_off: Cell<bool>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Bytes the kernel delivered to reads whose futures were dropped; the
    /// next read on the stream returns them first ("no data lost").
    rescued: Vec<u8>,
    rescued_pos: usize,
    /// Dropped reads still in flight: a new read waits for them so bytes
    /// come out in the order they arrived.
    abandoned_reads: usize,
    read_waiters: Vec<Waker>,
    /// `close().await` waiting for the operations that still hold clones.
    close_waiter: Option<Waker>,
}

impl SharedFd {
    pub(crate) fn new(fd: OwnedFd) -> SharedFd {
        SharedFd(Rc::new(Inner {
            fd: fd.into_raw_fd(),
            handed_off: Cell::new(false),
            state: RefCell::new(State::default()),
        }))
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.0.fd
    }

    /// A read on this descriptor was dropped while in flight.
    pub(crate) fn read_abandoned(&self) {
        self.0.state.borrow_mut().abandoned_reads += 1;
    }

    /// An abandoned read finished; `bytes` is what the kernel had put in its
    /// buffer (empty if it was cancelled or failed).
    pub(crate) fn read_settled(&self, bytes: &[u8]) {
        self.rescue(bytes);
        let waiters = {
            let mut state = self.0.state.borrow_mut();
            state.abandoned_reads = state.abandoned_reads.saturating_sub(1);
            if state.abandoned_reads > 0 {
                return;
            }
            std::mem::take(&mut state.read_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Keep bytes a dropped read received, for the next read.
    pub(crate) fn rescue(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0.state.borrow_mut().rescued.extend_from_slice(bytes);
        }
    }

    /// One abandoned read is over; the reads waiting for all of them to
    /// settle are added to `wakers` (for code that must not run wakers).
    pub(crate) fn read_settled_deferred(&self, wakers: &mut Vec<Waker>) {
        let mut state = self.0.state.borrow_mut();
        state.abandoned_reads = state.abandoned_reads.saturating_sub(1);
        if state.abandoned_reads == 0 {
            wakers.append(&mut state.read_waiters);
        }
    }

    /// All rescued bytes not yet returned, taken at once.
    pub(crate) fn take_rescued_all(&self) -> Option<Vec<u8>> {
        let mut state = self.0.state.borrow_mut();
        if state.rescued_pos == state.rescued.len() {
            return None;
        }
        let pos = std::mem::take(&mut state.rescued_pos);
        let mut bytes = std::mem::take(&mut state.rescued);
        bytes.drain(..pos);
        Some(bytes)
    }

    /// Ready once no abandoned read of this descriptor is in flight.
    pub(crate) fn poll_reads_settled(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.state.borrow_mut();
        if state.abandoned_reads == 0 {
            return Poll::Ready(());
        }
        if !state.read_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.read_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Copy rescued bytes into `buf` (from its start, up to its capacity);
    /// `None` when there are none.
    pub(crate) fn take_rescued<B: IoBufMut>(&self, buf: &mut B) -> Option<usize> {
        let mut state = self.0.state.borrow_mut();
        let pos = state.rescued_pos;
        let available = &state.rescued[pos..];
        if available.is_empty() {
            return None;
        }
        let n = available.len().min(buf.bytes_total());
        // SAFETY: `buf` has `bytes_total()` writable bytes at its stable
        // pointer (IoBufMut contract); `n` fits in both, and the regions
        // cannot overlap (ours is a private Vec).
        unsafe {
            std::ptr::copy_nonoverlapping(available.as_ptr(), buf.stable_mut_ptr(), n);
            buf.set_init(n);
        }
        state.rescued_pos += n;
        if state.rescued_pos == state.rescued.len() {
            state.rescued.clear();
            state.rescued_pos = 0;
        }
        Some(n)
    }

    /// Ready once this is the only reference (no operation holds the
    /// descriptor), so it can be closed.
    pub(crate) fn poll_sole_owner(&self, cx: &mut Context<'_>) -> Poll<()> {
        if Rc::strong_count(&self.0) == 1 {
            return Poll::Ready(());
        }
        self.0.state.borrow_mut().close_waiter = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Hand the descriptor to a close operation: dropping the last clone no
    /// longer closes it.
    pub(crate) fn hand_off(&self) -> RawFd {
        self.0.handed_off.set(true);
        self.0.fd
    }
}

impl Drop for SharedFd {
    fn drop(&mut self) {
        // After this drop one reference remains: if it is a close waiting
        // for its turn, let it go.
        if Rc::strong_count(&self.0) == 2 {
            if let Ok(mut state) = self.0.state.try_borrow_mut() {
                if let Some(waker) = state.close_waiter.take() {
                    waker.wake();
                }
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.handed_off.get() {
            // close(2) rather than an io_uring close: it is deterministic
            // (the descriptor is gone when the owner is dropped, even with no
            // runtime running) and does not block for sockets without
            // SO_LINGER or local files. `close().await` goes through the ring.
            // SAFETY: we own `fd` and nobody else closes it.
            unsafe { libc::close(self.fd) };
        }
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open while `self` (a strong
        // reference) lives; closing requires dropping every reference or
        // handing it off through `close`, which consumes the owner.
        unsafe { BorrowedFd::borrow_raw(self.0.fd) }
    }
}

impl std::fmt::Debug for SharedFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedFd").field(&self.0.fd).finish()
    }
}
