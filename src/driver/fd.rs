//! `SharedFd`: a descriptor shared by a resource and its operations in
//! flight, so the number is never closed (and reused) while the kernel may
//! still be handed it. It also keeps what a byte stream's reads need to
//! lose nothing: bytes rescued from dropped reads, and whether a read was
//! orphaned at shutdown (its bytes may be gone).

use super::datagram_read::Datagram;
use super::files::FileTable;
use crate::buf::IoBufMut;
use io_uring::{squeue, types};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// A descriptor is installed in the ring's fixed-file table once it has done
/// this many operations: the install and removal cost a system call each,
/// repaid after a few dozen operations; short-lived descriptors skip them.
const INSTALL_AFTER_OPS: u32 = 16;

/// Something holding a clone of the descriptor that `close` must end first:
/// a multishot receive, which would otherwise keep it open (and `close`
/// waiting) for as long as its stream value lives.
pub(crate) trait Detach {
    /// Cancel what is armed and let go of the descriptor.
    fn detach(&self);
}

/// A reference-counted descriptor. The last clone closes it with `close(2)`
/// unless ownership was handed to an io_uring close first.
#[derive(Clone)]
pub(crate) struct SharedFd(Rc<Inner>);

struct Inner {
    fd: RawFd,
    /// Set once a close operation owns the descriptor.
    handed_off: Cell<bool>,
    /// Operations submitted on it, counted up to [`INSTALL_AFTER_OPS`].
    ops: Cell<u32>,
    /// The ring table and slot it is installed in.
    fixed: OnceCell<(Rc<FileTable>, u32)>,
    /// Whether it is a byte stream (pipe, FIFO, socket, character device)
    /// rather than a seekable file: found out on first use.
    stream: OnceCell<bool>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Bytes the kernel delivered to reads whose futures were dropped; the
    /// next read on the stream returns them first ("no data lost").
    rescued: Vec<u8>,
    rescued_pos: usize,
    /// Datagrams the kernel delivered to receives whose futures were
    /// dropped (datagram sockets keep message boundaries, so they are kept
    /// whole, not appended to `rescued`).
    datagrams: VecDeque<Datagram>,
    /// Dropped reads still in flight: a new read waits for them so bytes
    /// come out in the order they arrived.
    abandoned_reads: usize,
    /// A read was orphaned when its runtime shut down: bytes it may have
    /// received are lost, and reads say so rather than return later bytes.
    reads_lost: bool,
    read_waiters: Vec<Waker>,
    /// `close().await` waiting for the operations that still hold clones.
    close_waiter: Option<Waker>,
    /// Multishot receives of this descriptor, for `close` to end.
    streams: Vec<Weak<dyn Detach>>,
}

impl SharedFd {
    pub(crate) fn new(fd: OwnedFd) -> SharedFd {
        SharedFd(Rc::new(Inner {
            fd: fd.into_raw_fd(),
            handed_off: Cell::new(false),
            ops: Cell::new(0),
            fixed: OnceCell::new(),
            stream: OnceCell::new(),
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
            // Counted only up to the threshold: a descriptor that cannot be
            // installed (no table, or the table is full) does billions of
            // operations without the counter overflowing.
            let ops = self.0.ops.get();
            if ops < INSTALL_AFTER_OPS {
                self.0.ops.set(ops + 1);
                if ops + 1 == INSTALL_AFTER_OPS {
                    if let Some(slot) = table.install(self.0.fd) {
                        let _ = self.0.fixed.set((table, slot));
                    }
                }
            }
        }
        build(types::Fd(self.0.fd))
    }

    /// Whether the descriptor is a byte stream (a pipe, a FIFO, a socket, a
    /// character device): reads consume what they return, so a dropped read
    /// must hand its bytes on. Asked of the kernel once (`fstat`).
    pub(crate) fn is_stream(&self) -> bool {
        *self.0.stream.get_or_init(|| {
            // SAFETY: an all-zero `stat` is a valid value to be overwritten.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: fstat writes one `stat` into our local; the descriptor
            // is open while `self` lives.
            if unsafe { libc::fstat(self.0.fd, &mut st) } != 0 {
                return false;
            }
            matches!(
                st.st_mode & libc::S_IFMT,
                libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFCHR
            )
        })
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

    /// An abandoned read was orphaned: its runtime shut down before the
    /// kernel finished it, so whatever it received is lost. Reads from now
    /// on fail instead of returning bytes that came after a gap.
    pub(crate) fn read_orphaned(&self) {
        self.0.state.borrow_mut().reads_lost = true;
        self.read_settled(&[]);
    }

    /// `Err` once a read of this descriptor was orphaned (see
    /// [`read_orphaned`](SharedFd::read_orphaned)).
    pub(crate) fn check_reads_intact(&self) -> io::Result<()> {
        if self.0.state.borrow().reads_lost {
            return Err(io::Error::other(
                "a read of this stream was still in flight when its corio runtime shut down \
                 without waiting for it: bytes it may have received are lost, so the stream \
                 cannot be read in order any more",
            ));
        }
        Ok(())
    }

    /// Keep bytes a dropped read received, for the next read.
    pub(crate) fn rescue(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0.state.borrow_mut().rescued.extend_from_slice(bytes);
        }
    }

    /// One abandoned read is over; the reads waiting for all of them to
    /// settle are added to `wakers` (for code that must not run wakers).
    pub(crate) fn read_settled_deferred(&self, wakers: &mut VecDeque<Waker>) {
        let mut state = self.0.state.borrow_mut();
        state.abandoned_reads = state.abandoned_reads.saturating_sub(1);
        if state.abandoned_reads == 0 {
            wakers.extend(state.read_waiters.drain(..));
        }
    }

    /// Keep a datagram a dropped receive got, for the next receive.
    pub(crate) fn rescue_datagram(&self, datagram: Datagram) {
        self.0.state.borrow_mut().datagrams.push_back(datagram);
    }

    /// The oldest datagram rescued from a dropped receive.
    pub(crate) fn take_datagram(&self) -> Option<Datagram> {
        self.0.state.borrow_mut().datagrams.pop_front()
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

    /// Remember a multishot receive of this descriptor, for `close` to end.
    pub(crate) fn register_stream(&self, stream: Weak<dyn Detach>) {
        let mut state = self.0.state.borrow_mut();
        state.streams.retain(|s| s.strong_count() > 0);
        state.streams.push(stream);
    }

    /// End every multishot receive of this descriptor (`close` is about to
    /// wait for the last clone to go).
    pub(crate) fn detach_streams(&self) {
        let streams = std::mem::take(&mut self.0.state.borrow_mut().streams);
        for stream in streams.iter().filter_map(Weak::upgrade) {
            stream.detach();
        }
    }

    /// Ready once this is the only reference (no operation holds the
    /// descriptor), so it can be closed.
    pub(crate) fn poll_sole_owner(&self, cx: &mut Context<'_>) -> Poll<()> {
        if Rc::strong_count(&self.0) == 1 {
            return Poll::Ready(());
        }
        let replaced = self
            .0
            .state
            .borrow_mut()
            .close_waiter
            .replace(cx.waker().clone());
        // Dropped outside the borrow: a waker's drop is foreign code.
        drop(replaced);
        Poll::Pending
    }

    /// Hand the descriptor to a close operation: dropping the last clone no
    /// longer closes it.
    pub(crate) fn hand_off(&self) -> RawFd {
        self.0.handed_off.set(true);
        self.0.leave_table();
        self.0.fd
    }
}

impl Inner {
    /// Empty its fixed slot, so closing the descriptor really closes the
    /// file. If the table cannot let go, a socket is shut down instead:
    /// its peer sees the end (and a listener stops accepting) now, not when
    /// the ring is torn down.
    fn leave_table(&self) {
        if let Some((table, slot)) = self.fixed.get() {
            if !table.remove(*slot) {
                // SAFETY: shutdown(2) on a descriptor we own; ENOTSOCK for
                // a file is fine (nothing waits on a file's peer).
                unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
            }
        }
    }
}

impl Drop for SharedFd {
    fn drop(&mut self) {
        // After this drop one reference remains: if it is a close waiting
        // for its turn, let it go.
        if Rc::strong_count(&self.0) == 2 {
            let waiter = self
                .0
                .state
                .try_borrow_mut()
                .ok()
                .and_then(|mut state| state.close_waiter.take());
            if let Some(waker) = waiter {
                waker.wake();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.handed_off.get() {
            // No operation holds the descriptor any more (each held a
            // reference): leave the fixed table first.
            self.leave_table();
            // A read of it was orphaned at a runtime's shutdown: the
            // kernel may still hold the file (the request is cancelled when
            // the ring is torn down, asynchronously), which would keep a
            // socket open — and its peer waiting — after close(2). Shut it
            // down first so the peer sees the end now (ENOTSOCK for a file
            // is harmless).
            let orphaned = self.state.try_borrow().map_or(true, |s| s.reads_lost);
            if orphaned {
                // SAFETY: shutdown(2) on our own descriptor, still open.
                unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-descriptor operation counter stops at the install
    /// threshold: it cannot overflow however many operations a descriptor
    /// does that is never installed (before, 2^32 operations made debug
    /// builds panic).
    #[test]
    fn the_operation_counter_never_overflows() {
        crate::block_on(async {
            let fd = SharedFd::new(OwnedFd::from(std::fs::File::open("/dev/null").unwrap()));
            fd.0.ops.set(u32::MAX);
            for _ in 0..3 {
                let _ = fd.entry(|fd| io_uring::opcode::Fsync::new(fd).build());
            }
            assert!(fd.0.fixed.get().is_none());
        });
    }
}
