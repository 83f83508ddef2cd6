//! [`FixedBufPool`] and [`FixedBuf`]: buffers registered with a ring, so
//! reads and writes into them skip the kernel's per-operation page pinning
//! (IORING_OP_READ_FIXED / WRITE_FIXED).

use super::{IoBuf, IoBufMut};
use crate::driver::BufferTable;
use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

/// Buffers are page-aligned (registration pins whole pages anyway).
const PAGE: usize = 4096;

/// Most bytes one registered buffer may hold (the kernel's limit).
const MAX_LEN: usize = 1 << 30;

/// A pool of `count` buffers of `len` bytes each, registered with the ring
/// of the runtime that created it (IORING_REGISTER_BUFFERS2 / _UPDATE,
/// Linux 5.19). Take a [`FixedBuf`] with [`try_take`](FixedBufPool::try_take)
/// or [`take`](FixedBufPool::take) and pass it to any read or write: on
/// that runtime, `File::read_at`/`write_at` (and everything built on them)
/// then use READ_FIXED / WRITE_FIXED; elsewhere it is ordinary memory and
/// the plain operations are used. A `FixedBuf` goes back to its pool when
/// dropped.
///
/// The memory lives — and stays registered — while the pool handle or any
/// of its buffers lives (also a buffer inside an operation the kernel still
/// runs); when the last is gone it is unregistered and freed. Registered
/// memory is locked and counts against `RLIMIT_MEMLOCK` (unless the process
/// has CAP_IPC_LOCK): a limit too low gives an `OutOfMemory` error that
/// says so.
///
/// `!Send`: the pool belongs to its runtime's thread.
///
/// ```no_run
/// use corio::buf::FixedBufPool;
/// # corio::block_on(async {
/// let pool = FixedBufPool::new(16, 64 * 1024)?;
/// let file = corio::fs::File::open("data.bin").await?;
/// let buf = pool.take().await;
/// let (res, buf) = file.read_at(buf, 0).await;
/// println!("{} bytes: {:?}", res?, &buf[..8]);
/// # std::io::Result::Ok(()) });
/// ```
#[derive(Clone)]
pub struct FixedBufPool {
    pool: Rc<Pool>,
}

/// One buffer of a [`FixedBufPool`]: `IoBuf + IoBufMut + Deref<Target =
/// [u8]>` (its first [`len`](FixedBuf::len) bytes); back to the pool when
/// dropped.
pub struct FixedBuf {
    pool: Rc<Pool>,
    index: u16,
    len: usize,
}

struct Pool {
    memory: NonNull<u8>,
    layout: Layout,
    /// Bytes per buffer (a multiple of the page size apart).
    len: usize,
    stride: usize,
    /// The ring's table and each buffer's slot in it.
    table: Weak<BufferTable>,
    slots: Vec<u16>,
    free: RefCell<Vec<u16>>,
    waiters: RefCell<Vec<Waker>>,
}

impl FixedBufPool {
    /// Allocate `count` buffers of `len` bytes (zeroed, page-aligned) and
    /// register them with the ring of the runtime running on this thread.
    ///
    /// Outside a runtime, a `count` or `len` of 0, or `len` over 1 GiB give
    /// `InvalidInput`; a kernel older than 5.19 `Unsupported`; a memlock
    /// limit too low `OutOfMemory`.
    pub fn new(count: u16, len: usize) -> io::Result<FixedBufPool> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        if count == 0 || len == 0 || len > MAX_LEN {
            return Err(invalid(format!(
                "FixedBufPool::new({count}, {len}): need at least one buffer of 1 byte to 1 GiB"
            )));
        }
        let Some(table) = crate::runtime::context::buffers() else {
            return Err(invalid(
                "FixedBufPool::new must be called inside a corio runtime: the buffers are \
                 registered with its ring"
                    .into(),
            ));
        };
        let stride = len.div_ceil(PAGE) * PAGE;
        let size = stride
            .checked_mul(usize::from(count))
            .ok_or_else(|| invalid(format!("{count} buffers of {len} bytes overflow")))?;
        let layout = Layout::from_size_align(size, PAGE)
            .map_err(|_| invalid(format!("{count} buffers of {len} bytes are too large")))?;
        // SAFETY: the layout has a non-zero size (count, len >= 1).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let memory = NonNull::new(raw).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("no memory for {count} buffers of {len} bytes"),
            )
        })?;
        let buffers: Vec<(*mut u8, usize)> = (0..usize::from(count))
            .map(|i| (memory.as_ptr().wrapping_add(i * stride), len))
            .collect();
        // SAFETY: the memory stays allocated and in place until `Pool`'s
        // drop unregisters it (or leaks it when that fails).
        let slots = match unsafe { table.register(&buffers) } {
            Ok(slots) => slots,
            Err(e) => {
                // SAFETY: allocated above with this layout, never registered.
                unsafe { alloc::dealloc(memory.as_ptr(), layout) };
                return Err(e);
            }
        };
        Ok(FixedBufPool {
            pool: Rc::new(Pool {
                memory,
                layout,
                len,
                stride,
                table: Rc::downgrade(&table),
                slots,
                free: RefCell::new((0..count).rev().collect()),
                waiters: RefCell::new(Vec::new()),
            }),
        })
    }

    /// A free buffer, if any (its length 0, capacity the pool's `len`).
    pub fn try_take(&self) -> Option<FixedBuf> {
        let index = self.pool.free.borrow_mut().pop()?;
        Some(FixedBuf {
            pool: self.pool.clone(),
            index,
            len: 0,
        })
    }

    /// A buffer, waiting until one is given back if all are taken.
    ///
    /// Cancel-safe: a dropped wait takes nothing.
    pub async fn take(&self) -> FixedBuf {
        poll_fn(|cx| match self.try_take() {
            Some(buf) => Poll::Ready(buf),
            None => {
                let mut waiters = self.pool.waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }

    /// Buffers in the pool, taken or not.
    pub fn count(&self) -> usize {
        self.pool.slots.len()
    }

    /// Bytes each buffer holds.
    pub fn buf_len(&self) -> usize {
        self.pool.len
    }

    /// Buffers free right now.
    pub fn available(&self) -> usize {
        self.pool.free.borrow().len()
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("count", &self.count())
            .field("buf_len", &self.buf_len())
            .field("available", &self.available())
            .finish()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // No buffer is held or in flight: each holds the pool alive.
        let emptied = match self.table.upgrade() {
            Some(table) => table.unregister(&self.slots),
            // The runtime is gone, and its ring's table with it.
            None => true,
        };
        if emptied {
            // SAFETY: allocated in `FixedBufPool::new` with this layout;
            // no registration names it any more.
            unsafe { alloc::dealloc(self.memory.as_ptr(), self.layout) };
        }
        // Otherwise a slot still names the memory: leaked, never freed.
    }
}

impl FixedBuf {
    /// Bytes in the buffer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether [`len`](FixedBuf::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes it can hold (the pool's buffer length).
    pub fn capacity(&self) -> usize {
        self.pool.len
    }

    /// Set the length (at most the capacity; longer is clamped). Bytes
    /// never written read as zeros or as an earlier user's data.
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.capacity());
    }

    /// Append `bytes` if they fit; returns how many were copied.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity() - self.len);
        let start = self.len;
        self.len += n;
        self[start..].copy_from_slice(&bytes[..n]);
        n
    }

    /// Its slot in the registered-buffer table of the runtime running on
    /// this thread, if the pool is registered with that runtime's ring.
    pub(crate) fn slot_here(&self) -> Option<u16> {
        let here = crate::runtime::context::buffers()?;
        let table = self.pool.table.upgrade()?;
        Rc::ptr_eq(&here, &table).then(|| self.pool.slots[usize::from(self.index)])
    }

    fn ptr(&self) -> *mut u8 {
        self.pool
            .memory
            .as_ptr()
            .wrapping_add(usize::from(self.index) * self.pool.stride)
    }
}

impl Deref for FixedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer's `capacity >= len` bytes are allocated and
        // initialised (zeroed at allocation, or written since) and belong
        // to this FixedBuf alone while it is taken.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

impl DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.len) }
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        self.pool.free.borrow_mut().push(self.index);
        let waiters = std::mem::take(&mut *self.pool.waiters.borrow_mut());
        // Every waiter: one whose future was dropped must not swallow the
        // wake-up the others need.
        waiters.into_iter().for_each(Waker::wake);
    }
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish()
    }
}

// SAFETY: the memory is owned by the pool, which this buffer keeps alive;
// it never moves; `len <= capacity` bytes are initialised (all are).
unsafe impl IoBuf for FixedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    fn fixed_buffer(&self) -> Option<&FixedBuf> {
        Some(self)
    }
}

// SAFETY: as for `IoBuf`; the whole capacity is writable.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        self.set_len(pos);
    }
}
