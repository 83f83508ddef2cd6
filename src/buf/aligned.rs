//! [`AlignedBuf`]: heap memory aligned for direct I/O.

use super::{IoBuf, IoBufMut};
use std::alloc::{self, Layout};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// A byte buffer whose memory starts at a multiple of `align` — what
/// `O_DIRECT` files ask of a buffer's address (see
/// [`OpenOptions::direct`](crate::fs::OpenOptions::direct)). Like a `Vec<u8>`
/// of fixed capacity: reads fill it from the start and set its length,
/// writes send its first [`len`](AlignedBuf::len) bytes. Its memory is
/// zeroed when allocated, so every byte of the capacity is initialised.
///
/// ```no_run
/// use corio::buf::AlignedBuf;
/// # corio::block_on(async {
/// let file = corio::fs::OpenOptions::new().read(true).direct(true).open("data.bin").await?;
/// let (res, buf) = file.read_at(AlignedBuf::with_capacity(4096, 4096), 0).await;
/// println!("{} bytes", res?);
/// # let _ = buf;
/// # std::io::Result::Ok(()) });
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    layout: Layout,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads the bytes, like a Vec<u8>.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// An empty buffer of `capacity` bytes whose start is a multiple of
    /// `align`.
    ///
    /// # Panics
    ///
    /// If `align` is not a power of two, or `capacity` rounded up to
    /// `align` overflows `isize` (as `Vec::with_capacity` does), or the
    /// allocation fails.
    pub fn with_capacity(capacity: usize, align: usize) -> AlignedBuf {
        let layout = match Layout::from_size_align(capacity, align) {
            Ok(layout) => layout,
            Err(_) => panic!(
                "AlignedBuf::with_capacity({capacity}, {align}): the alignment must be a power of \
                 two and the capacity, rounded up to it, at most isize::MAX"
            ),
        };
        let ptr = if capacity == 0 {
            // A dangling pointer with the right alignment: nothing is ever
            // read or written through it.
            NonNull::new(std::ptr::null_mut::<u8>().wrapping_add(align))
                .expect("a power of two is not zero")
        } else {
            // SAFETY: the layout has a non-zero size.
            let raw = unsafe { alloc::alloc_zeroed(layout) };
            NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout))
        };
        AlignedBuf {
            ptr,
            len: 0,
            layout,
        }
    }

    /// Bytes in the buffer (what a read put there, or what was set).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether [`len`](AlignedBuf::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the buffer can hold.
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// The alignment of its start.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// Set the length to `len` bytes (at most the capacity; longer is
    /// clamped). Bytes never written read as zeros.
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.capacity());
    }

    /// Set the length to 0.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Append `bytes` if they fit; returns how many were copied (fewer
    /// than `bytes.len()` when the capacity runs out).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity() - self.len);
        let start = self.len;
        self.len += n;
        self[start..].copy_from_slice(&bytes[..n]);
        n
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `capacity >= len` initialised (zeroed
        // or written) bytes, or dangling and aligned with `len == 0`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `with_capacity` with this very layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) };
        }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("align", &self.align())
            .finish()
    }
}

// SAFETY: the allocation is owned by the value and never moves or is freed
// while it lives; `len <= capacity` bytes are initialised (all are).
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for `IoBuf`; the whole capacity is writable.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        self.set_len(pos);
    }
}
