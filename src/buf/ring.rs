//! `BufRing`: a provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux
//! 5.19) — a pool of equal buffers the kernel picks from when data arrives,
//! so a receive needs no buffer of its own while it waits.
//!
//! Ownership: the ring's memory (the entry array and the buffers) belongs to
//! the `BufRing` and lives until the last handle is gone — the `BufRing`
//! itself, every [`RingBuf`] taken from it, and every receive armed on it
//! (an armed receive may still be handed a buffer, so it holds a handle until
//! its final completion; a receive orphaned at runtime shutdown leaks its
//! handle, and with it the memory). Only then is the ring unregistered and
//! its memory freed.

use crate::driver::{self, DriverCell, Handle};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll, Waker};

/// `struct io_uring_buf` from <linux/io_uring.h>. In entry 0, `resv` is the
/// ring's tail (`struct io_uring_buf_ring` overlays it).
#[repr(C)]
struct Entry {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// Largest ring the kernel accepts.
const MAX_ENTRIES: u16 = 1 << 15;

/// A ring of provided buffers registered with this thread's runtime: `count`
/// buffers of `buf_len` bytes each. Pass it to a multishot receive
/// ([`TcpStream::recv_multishot`](crate::net::TcpStream::recv_multishot));
/// the kernel picks a free buffer for each chunk of data it delivers, and
/// the buffer goes back to the ring when the [`RingBuf`] holding it is
/// dropped.
///
/// One `BufRing` can serve many connections (clone it: clones share the
/// ring). While every buffer is out (held as `RingBuf`s), receives on the ring
/// pause and resume when one is returned; size the ring for the number of
/// chunks in flight, not for the number of connections.
///
/// `!Send`: the ring belongs to the runtime of the thread that created it.
///
/// ```no_run
/// # corio::block_on(async {
/// let bufs = corio::buf::BufRing::new(64, 4096)?;
/// assert_eq!(bufs.buf_len(), 4096);
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Clone)]
pub struct BufRing {
    shared: Rc<Shared>,
}

struct Shared {
    driver: Weak<DriverCell>,
    group: u16,
    /// Entries (a power of two) = buffers.
    count: u16,
    entries: NonNull<Entry>,
    entries_bytes: usize,
    bufs: NonNull<u8>,
    buf_len: usize,
    /// Our copy of the ring's tail: the next entry we fill.
    tail: Cell<u16>,
    /// Buffers the kernel may still pick: we add each one we publish, the
    /// driver subtracts each selection as it reaps the completion (not when
    /// a stream gets to it: a stream that ran dry must not mistake buffers
    /// already handed to another stream for free ones).
    available: Rc<Cell<u32>>,
    /// Receives paused because the ring ran dry.
    waiters: RefCell<Vec<Waker>>,
}

impl BufRing {
    /// Register `count` buffers of `buf_len` bytes with the runtime running
    /// on this thread.
    ///
    /// `count` must be a power of two up to 32768 and `buf_len` between 1 and
    /// `u32::MAX`: otherwise `InvalidInput`. Fails outside a runtime, and on
    /// kernels without provided-buffer rings (before 5.19) with an error
    /// that says so.
    pub fn new(count: u16, buf_len: usize) -> io::Result<BufRing> {
        if count == 0 || !count.is_power_of_two() || count > MAX_ENTRIES {
            return Err(invalid(format!(
                "a buffer ring needs a power-of-two count of buffers up to {MAX_ENTRIES}, not {count}"
            )));
        }
        if buf_len == 0 || u32::try_from(buf_len).is_err() {
            return Err(invalid(format!(
                "a ring buffer must be 1 to {} bytes long, not {buf_len}",
                u32::MAX
            )));
        }
        let total = buf_len
            .checked_mul(usize::from(count))
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or_else(|| invalid("the buffer ring is larger than memory".to_string()))?;
        let driver: Handle =
            crate::runtime::context::driver().ok_or_else(driver::op::no_runtime)?;

        let entries_bytes = usize::from(count) * std::mem::size_of::<Entry>();
        let entries = map_entries(entries_bytes)?;
        // Zeroed so every byte of every buffer is initialised: a `RingBuf`
        // may then expose its bytes as `&[u8]` whatever the kernel wrote.
        let bufs: Box<[u8]> = vec![0u8; total].into_boxed_slice();
        // SAFETY: Box::into_raw never returns null.
        let bufs = unsafe { NonNull::new_unchecked(Box::into_raw(bufs).cast::<u8>()) };
        let mut shared = Shared {
            driver: Rc::downgrade(&driver),
            group: 0,
            count,
            entries,
            entries_bytes,
            bufs,
            buf_len,
            tail: Cell::new(0),
            available: Rc::new(Cell::new(0)),
            waiters: RefCell::new(Vec::new()),
        };
        for bid in 0..count {
            shared.provide(bid);
        }
        let addr = entries.as_ptr() as u64;
        // `Shared::drop` unregisters before unmapping (and leaks the memory
        // if it cannot), and every buffer the entries name lives in `bufs`,
        // freed with them.
        // SAFETY: `entries` maps `count` entries that stay valid until the
        // group is unregistered (see above).
        let available = shared.available.clone();
        let registered = driver.with(|d| unsafe { d.register_buf_ring(addr, count, available) });
        match registered {
            Ok(group) => {
                shared.group = group;
                Ok(BufRing {
                    shared: Rc::new(shared),
                })
            }
            Err(e) => {
                // Not registered: `Shared::drop` would try to unregister
                // group 0; free by hand instead.
                let shared = std::mem::ManuallyDrop::new(shared);
                shared.free();
                Err(e)
            }
        }
    }

    /// Number of buffers in the ring.
    pub fn count(&self) -> u16 {
        self.shared.count
    }

    /// Size of each buffer: the most one received chunk can hold.
    pub fn buf_len(&self) -> usize {
        self.shared.buf_len
    }

    /// Whether the ring is registered with the runtime running on this
    /// thread (`None`: no runtime is running). A receive on another
    /// runtime's ring would select from a different buffer group.
    pub(crate) fn on_current_runtime(&self) -> Option<bool> {
        let driver = crate::runtime::context::driver()?;
        Some(std::ptr::eq(
            self.shared.driver.as_ptr(),
            Rc::as_ptr(&driver),
        ))
    }

    /// The buffer group id operations name (IOSQE_BUFFER_SELECT).
    pub(crate) fn group(&self) -> u16 {
        self.shared.group
    }

    /// The buffer a completion selected (IORING_CQE_F_BUFFER in `flags`),
    /// holding its first `len` bytes; `None` if it selected none.
    pub(crate) fn selected(&self, flags: u32, len: u32) -> Option<RingBuf> {
        let bid = io_uring::cqueue::buffer_select(flags)?;
        if bid >= self.shared.count {
            debug_assert!(
                false,
                "the kernel selected buffer {bid} of a ring of {}",
                self.shared.count
            );
            return None;
        }
        Some(RingBuf {
            inner: Inner::Ring {
                ring: self.clone(),
                bid,
                len: (len as usize).min(self.shared.buf_len),
            },
        })
    }

    /// Ready when the kernel may have a buffer to pick: a receive that
    /// stopped with ENOBUFS waits here before it is armed again.
    pub(crate) fn poll_available(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.available.get() > 0 {
            return Poll::Ready(());
        }
        let mut waiters = self.shared.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Shared {
    /// Put buffer `bid` back in the ring and publish it to the kernel.
    fn provide(&self, bid: u16) {
        let tail = self.tail.get();
        let slot = usize::from(tail & (self.count - 1));
        let addr = self.bufs.as_ptr() as u64 + (usize::from(bid) * self.buf_len) as u64;
        // The kernel only reads entries between its head and the published
        // tail; at most `count` buffers are ever in the ring and `bid` is not
        // one of them, so this slot is outside that window. Field-by-field
        // writes leave `resv` alone: in entry 0 it is the tail.
        // SAFETY: `slot < count`, inside our mapping, not read by the kernel
        // (see above).
        unsafe {
            let entry = self.entries.as_ptr().add(slot);
            std::ptr::addr_of_mut!((*entry).addr).write(addr);
            std::ptr::addr_of_mut!((*entry).len).write(self.buf_len as u32);
            std::ptr::addr_of_mut!((*entry).bid).write(bid);
        }
        let tail = tail.wrapping_add(1);
        self.tail.set(tail);
        // SAFETY: the tail is entry 0's `resv`, a u16 aligned to 2 in our
        // mapping; the kernel reads it with acquire, and this release store
        // orders the entry writes above before it.
        unsafe {
            let tail_ptr = std::ptr::addr_of_mut!((*self.entries.as_ptr()).resv);
            AtomicU16::from_ptr(tail_ptr).store(tail, Ordering::Release);
        }
        self.available.set(self.available.get() + 1);
    }

    /// Unmap the entries and free the buffers. Only once the kernel can no
    /// longer use them.
    fn free(&self) {
        // SAFETY: `entries` is our mapping of `entries_bytes`; the caller
        // guarantees the kernel no longer uses it.
        unsafe { libc::munmap(self.entries.as_ptr().cast(), self.entries_bytes) };
        let total = self.buf_len * usize::from(self.count);
        // SAFETY: `bufs` came from `Box::into_raw` of a `[u8]` of `total`
        // bytes and is freed once, here.
        drop(unsafe {
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.bufs.as_ptr(),
                total,
            ))
        });
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // No receive is armed on the ring any more (each held a handle), so
        // the kernel will not pick from it; unregister, then free. If the
        // driver cannot be reached to unregister, leak rather than free
        // memory the kernel still has registered.
        let unregistered = match self.driver.upgrade() {
            // The runtime is gone and its ring closed with the registration.
            None => true,
            Some(driver) => driver
                .try_with(|d| d.unregister_buf_ring(self.group).is_ok())
                .unwrap_or(false),
        };
        if unregistered {
            self.free();
        }
    }
}

fn map_entries(bytes: usize) -> io::Result<NonNull<Entry>> {
    // SAFETY: an anonymous private mapping; no existing memory is touched.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // mmap returns page-aligned memory (the kernel requires it) that is
    // never null on success.
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.shared.group)
            .field("count", &self.shared.count)
            .field("buf_len", &self.shared.buf_len)
            .finish()
    }
}

/// A chunk of received bytes in a buffer of a [`BufRing`]; the buffer goes
/// back to the ring when this is dropped. Derefs to the bytes, and is an
/// [`IoBuf`](crate::buf::IoBuf), so it can be written straight back out
/// (an echo without a copy).
pub struct RingBuf {
    inner: Inner,
}

enum Inner {
    Ring {
        ring: BufRing,
        bid: u16,
        len: usize,
    },
    /// Bytes rescued from a receive that was dropped while in flight,
    /// returned before anything newer ("no data lost").
    Rescued(Vec<u8>),
}

impl RingBuf {
    pub(crate) fn rescued(bytes: Vec<u8>) -> RingBuf {
        RingBuf {
            inner: Inner::Rescued(bytes),
        }
    }

    /// Return the buffer to its ring now, leaving the waking of receives
    /// paused on it to the caller (for code that must not run wakers).
    pub(crate) fn recycle_deferred(mut self, wakers: &mut VecDeque<Waker>) {
        if let Inner::Ring { ring, bid, .. } = &self.inner {
            ring.shared.provide(*bid);
            wakers.extend(ring.shared.waiters.borrow_mut().drain(..));
        }
        self.inner = Inner::Rescued(Vec::new());
    }
}

impl Deref for RingBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.inner {
            Inner::Ring { ring, bid, len } => {
                let start = usize::from(*bid) * ring.shared.buf_len;
                // Buffer `bid` is out of the ring while we hold it, so the
                // kernel does not write it.
                // SAFETY: it spans `buf_len >= len` initialised bytes at
                // `start` of `bufs`, kept alive by the ring handle.
                unsafe { std::slice::from_raw_parts(ring.shared.bufs.as_ptr().add(start), *len) }
            }
            Inner::Rescued(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for RingBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        if let Inner::Ring { ring, bid, .. } = &self.inner {
            ring.shared.provide(*bid);
            let waiters = std::mem::take(&mut *ring.shared.waiters.borrow_mut());
            for waker in waiters {
                waker.wake();
            }
        }
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf").field("len", &self.len()).finish()
    }
}

// SAFETY: the bytes live in the ring's buffer memory (or the rescued Vec's
// heap allocation), which neither moves with the value nor is freed while it
// lives (the value holds a ring handle), and all `len` bytes are initialised.
unsafe impl crate::buf::IoBuf for RingBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}
