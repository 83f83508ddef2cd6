use super::Slice;
use std::ops::RangeBounds;

/// A buffer an operation may read from (for writes and sends), owned by the
/// operation while the kernel uses it.
///
/// # Safety
///
/// An implementation promises that `stable_ptr()` points to `bytes_init()`
/// initialised bytes and `bytes_total()` bytes of allocated memory, and that
/// this memory neither moves nor is freed while the value is alive — moving
/// the value itself (into a future, into the runtime's slab) must not move the
/// bytes. Heap buffers and `'static` data qualify; an inline array does not.
pub unsafe trait IoBuf: Unpin + 'static {
    /// Pointer to the start of the buffer; stable across moves of `self`.
    fn stable_ptr(&self) -> *const u8;

    /// Number of initialised bytes: what a write sends.
    fn bytes_init(&self) -> usize;

    /// Total capacity: what a read may fill.
    fn bytes_total(&self) -> usize;

    /// The registered buffer this is, or lies in: operations use the
    /// fixed-buffer opcodes for it. Only [`FixedBuf`](super::FixedBuf) (and
    /// a [`Slice`] of one) says yes; other implementations keep the
    /// default.
    #[doc(hidden)]
    fn fixed_buffer(&self) -> Option<&super::FixedBuf> {
        None
    }

    /// A view of `range` of this buffer that can be passed to an operation
    /// in place of the whole buffer; [`Slice::into_inner`] gives the buffer
    /// back. An unbounded end means the buffer's capacity
    /// ([`bytes_total`](IoBuf::bytes_total)), so a read into `buf.slice(n..)`
    /// fills the spare capacity after `n`.
    ///
    /// A range that does not fit is clamped to the buffer's capacity (and an
    /// inverted range becomes empty) rather than panicking; an operation on an
    /// empty slice transfers zero bytes.
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let (begin, end) = super::range_to_bounds(range, self.bytes_total());
        Slice::new(self, begin, end)
    }
}

// SAFETY: a Vec's heap allocation does not move when the Vec value moves; it
// is only reallocated through `&mut Vec`, which the runtime never hands out
// while an operation is in flight.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: a boxed slice's allocation is fixed for its whole life.
unsafe impl IoBuf for Box<[u8]> {
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

// SAFETY: `Bytes` is an immutable view of a shared allocation (or static
// data) that lives at least as long as this handle.
unsafe impl IoBuf for bytes::Bytes {
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

// SAFETY: `BytesMut`'s storage only moves through `&mut` methods (reserve),
// never by moving the handle.
unsafe impl IoBuf for bytes::BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: 'static data lives for the whole program and never moves.
unsafe impl IoBuf for &'static [u8] {
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

// SAFETY: as for `&'static [u8]`.
unsafe impl IoBuf for &'static str {
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
