use super::{IoBuf, IoBufMut};

/// A range of an owned buffer, usable wherever the whole buffer is.
///
/// Made by [`IoBuf::slice`]. Writing from a slice sends its initialised part
/// (`begin .. min(end, buf.bytes_init())`); reading into a slice fills
/// `begin .. end` and extends the buffer's initialised length to cover what
/// was read. A read into a slice that starts past the buffer's initialised
/// length is refused with `InvalidInput` (the bytes read could never become
/// part of the buffer). [`into_inner`](Slice::into_inner) gives the buffer
/// back.
#[derive(Debug)]
pub struct Slice<B> {
    buf: B,
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    /// `begin..end`, clamped to the buffer's capacity.
    pub(crate) fn new(buf: B, begin: usize, end: usize) -> Self {
        let total = buf.bytes_total();
        let end = end.min(total);
        let begin = begin.min(end);
        Slice { buf, begin, end }
    }
}

impl<B> Slice<B> {
    /// Offset of the slice's start in the underlying buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Offset one past the slice's end in the underlying buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The underlying buffer.
    pub fn get_ref(&self) -> &B {
        &self.buf
    }

    /// The underlying buffer, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.buf
    }

    /// Give the whole buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

// SAFETY: the slice's memory is a sub-range of `B`'s, which is stable by
// `B: IoBuf`; `new` clamps the range to `B`'s capacity so the pointer stays
// inside the allocation.
unsafe impl<B: IoBuf> IoBuf for Slice<B> {
    fn stable_ptr(&self) -> *const u8 {
        self.buf.stable_ptr().wrapping_add(self.begin)
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }
    fn fixed_buffer(&self) -> Option<&super::FixedBuf> {
        self.buf.fixed_buffer()
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: as for `IoBuf`; `set_init` only ever grows the buffer's
// initialised length to cover bytes that were written inside the slice.
unsafe impl<B: IoBufMut> IoBufMut for Slice<B> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.stable_mut_ptr().wrapping_add(self.begin)
    }
    unsafe fn set_init(&mut self, pos: usize) {
        let new_init = self.begin + pos;
        // Only grow, and only when the slice starts inside the initialised
        // prefix: extending over a gap of never-written bytes would be
        // unsound (reads refuse such a slice, see `check_read_target`).
        let init = self.buf.bytes_init();
        if new_init > init && self.begin <= init {
            // SAFETY: the caller promises bytes `begin..begin+pos` were
            // written; bytes before `begin` were initialised already.
            unsafe { self.buf.set_init(new_init) };
        }
    }

    fn check_read_target(&self) -> std::io::Result<()> {
        let init = self.buf.bytes_init();
        if self.begin > init {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "cannot read into a slice starting at byte {} of a buffer with {init} \
                     initialised bytes: the bytes read would follow a gap of uninitialised \
                     memory and stay unreachable; start the slice at {init} or before",
                    self.begin
                ),
            ));
        }
        self.buf.check_read_target()
    }
}
