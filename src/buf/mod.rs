//! Owned buffers: the types an operation takes by value and gives back.
//!
//! io_uring reads and writes memory *after* the call that started them has
//! returned, so an operation cannot borrow its buffer: the kernel may still be
//! writing into it when the future is dropped. corio's operations therefore
//! take the buffer by value and return it with the result, as a
//! [`BufResult`]. While an operation is in flight the runtime owns the buffer;
//! if the future is dropped early, the buffer is parked inside the runtime
//! until the kernel's final completion arrives, and only then released.
//!
//! [`IoBuf`] is a buffer an operation may *read from* (a write or send);
//! [`IoBufMut`] is one it may *write into* (a read or receive). Both are
//! `unsafe` traits: an implementation promises that the memory stays put when
//! the value is moved, which is what lets the runtime move an operation
//! around while the kernel holds a pointer into its buffer.

mod aligned;
mod fixed;
mod io_buf;
mod io_buf_mut;
mod ring;
mod slice;
mod write_all;

pub use aligned::AlignedBuf;
pub use fixed::{FixedBuf, FixedBufPool};
pub use io_buf::IoBuf;
pub use io_buf_mut::IoBufMut;
pub use ring::{BufRing, RingBuf};
pub use slice::Slice;
pub(crate) use write_all::write_all;

/// The most bytes Linux moves in one read or write call (`MAX_RW_COUNT`):
/// loops over large buffers hand each operation at most this much (below
/// the `u32::MAX` an operation's length takes).
pub(crate) const MAX_RW_COUNT: usize = 0x7fff_f000;

/// The result of an operation that owned a buffer: the outcome, and the
/// buffer handed back whatever the outcome was.
///
/// ```no_run
/// # corio::block_on(async {
/// let file = corio::fs::File::open("Cargo.toml").await?;
/// let (res, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
/// let n = res?;
/// assert_eq!(buf.len(), n);
/// # std::io::Result::Ok(()) });
/// ```
pub type BufResult<T, B> = (std::io::Result<T>, B);

/// Clamp a `RangeBounds` to `0..=total`, for [`IoBuf::slice`].
pub(crate) fn range_to_bounds(
    range: impl std::ops::RangeBounds<usize>,
    total: usize,
) -> (usize, usize) {
    use std::ops::Bound;
    let begin = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&n) => n.saturating_add(1),
        Bound::Excluded(&n) => n,
        Bound::Unbounded => total,
    };
    (begin, end)
}
