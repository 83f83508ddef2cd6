use super::IoBuf;

/// A buffer an operation may write into (for reads and receives).
///
/// A read fills the buffer from its start up to [`bytes_total`], spare
/// capacity included, and then sets its initialised length to what was read:
/// `Vec::with_capacity(n)` reads up to `n` bytes and its `len()` becomes the
/// count.
///
/// # Safety
///
/// As for [`IoBuf`], and `stable_mut_ptr()` must point to `bytes_total()`
/// bytes that may be written, and `set_init(n)` must be sound for any
/// `n <= bytes_total()` once the first `n` bytes have been written.
///
/// [`bytes_total`]: IoBuf::bytes_total
pub unsafe trait IoBufMut: IoBuf {
    /// Mutable pointer to the start of the buffer; stable across moves.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Mark the first `pos` bytes as initialised (a read wrote them).
    ///
    /// # Safety
    ///
    /// The first `pos` bytes must have been written, and `pos` must not
    /// exceed [`bytes_total`](IoBuf::bytes_total).
    unsafe fn set_init(&mut self, pos: usize);

    /// Checked before a read into this buffer starts: the bytes read must
    /// become reachable as part of the buffer's initialised contents. A
    /// [`Slice`](crate::buf::Slice) that starts past its buffer's
    /// initialised length cannot grow it over the gap of never-written
    /// bytes before it, so a read into one is refused with `InvalidInput`
    /// before anything is read or consumed (a stream's rescued bytes stay
    /// for the next read). The default accepts every buffer.
    fn check_read_target(&self) -> std::io::Result<()> {
        Ok(())
    }
}

// SAFETY: see `IoBuf for Vec<u8>`; the whole capacity is writable.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: the caller promises `pos <= capacity` and that the first
        // `pos` bytes were written.
        unsafe { self.set_len(pos) };
    }
}

// SAFETY: see `IoBuf for Box<[u8]>`; every byte is initialised already.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {
        // A boxed slice's length is fixed and all of it is initialised.
    }
}

// SAFETY: see `IoBuf for BytesMut`; the whole capacity is writable.
unsafe impl IoBufMut for bytes::BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: the caller promises `pos <= capacity` and that the first
        // `pos` bytes were written.
        unsafe { self.set_len(pos) };
    }
}
