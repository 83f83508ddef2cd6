//! `SharedFd`: a descriptor shared by a resource and its operations in
//! flight, so the number is never closed (and reused) while the kernel may
//! still be handed it.

use super::files::FileTable;
use crate::buf::IoBufMut;
use io_uring::{squeue, types};
use std::cell::{Cell, OnceCell, RefCell};
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A descriptor is installed in the ring's fixed-file table once it has done
/// this many operations: the install and removal cost a system call each,
/// repaid after a few dozen operations; short-lived descriptors skip them.
const INSTALL_AFTER_OPS: u32 = 16;

/// A reference-counted descriptor. The last clone closes it with `close(2)`
/// unless ownership was handed to an io_uring close first.
#[derive(Clone)]
pub(crate) struct SharedFd(Rc<Inner>);

struct Inner {
    fd: RawFd,
    /// Set once a close operation owns the descriptor.
    handed_off: Cell<bool>,
    /// Operations submitted on it, until it is installed in a fixed-file
    /// table.
    ops: Cell<u32>,
    /// The ring table and slot it is installed in.
    fixed: OnceCell<(Rc<FileTable>, u32)>,
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
            ops: Cell::new(0),
            fixed: OnceCell::new(),
            state: RefCell::new(State::default()),
        }))
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.0.fd
    }

    /// Build an operation's entry naming this descriptor: by its slot in
    /// the running ring's fixed-file table when it is installed there (no
    /// `fget`/`fput` per operation), else by number. `build` gets the value
    /// for the entry's fd field.
    pub(crate) fn entry(&self, build: impl FnOnce(types::Fd) -> squeue::Entry) -> squeue::Entry {
        let current = crate::runtime::context::files();
        if let Some((table, slot)) = self.0.fixed.get() {
            if current.as_ref().is_some_and(|t| Rc::ptr_eq(t, table)) {
                return build(types::Fd(*slot as RawFd)).flags(squeue::Flags::FIXED_FILE);
            }
        } else if let Some(table) = current {
            let ops = self.0.ops.get() + 1;
            self.0.ops.set(ops);
            if ops == INSTALL_AFTER_OPS {
                if let Some(slot) = table.install(self.0.fd) {
                    let _ = self.0.fixed.set((table, slot));
                }
            }
        }
        build(types::Fd(self.0.fd))
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
        if let Some((table, slot)) = self.0.fixed.get() {
            table.remove(*slot);
        }
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
            // No operation holds the descriptor any more (each held a
            // reference): empty its fixed slot first, so closing it below
            // really closes the file.
            if let Some((table, slot)) = self.fixed.get() {
                table.remove(*slot);
            }
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
