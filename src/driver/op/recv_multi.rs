use super::{Multishot, OpStream};
use crate::buf::{BufRing, RingBuf};
use crate::driver::{Completion, SharedFd};
use io_uring::{opcode, squeue};
use std::collections::VecDeque;
use std::io;
use std::task::Waker;

/// Multishot IORING_OP_RECV with buffer selection (Linux 6.0): armed once,
/// it completes every time data arrives, each time into a buffer the kernel
/// picks from `bufs`. If the stream is dropped while armed, the bytes of
/// every completion still to come are handed to the descriptor, so the next
/// read returns them first.
pub(crate) struct RecvMulti {
    fd: SharedFd,
    bufs: BufRing,
}

impl RecvMulti {
    pub(crate) fn stream(fd: &SharedFd, bufs: &BufRing) -> OpStream<RecvMulti> {
        OpStream::new(RecvMulti {
            fd: fd.clone(),
            bufs: bufs.clone(),
        })
    }

    /// The ring the kernel picks buffers from.
    pub(crate) fn buffers(&self) -> &BufRing {
        &self.bufs
    }
}

// SAFETY: the entry holds no pointer: the kernel writes into buffers of the
// ring `bufs`, which this value keeps registered and alive.
unsafe impl Multishot for RecvMulti {
    /// A chunk, or `None` at end of stream (the peer closed its side).
    type Item = io::Result<Option<RingBuf>>;

    fn entry(&mut self) -> squeue::Entry {
        self.fd
            .entry(|fd| opcode::RecvMulti::new(fd, self.bufs.group()).build())
    }

    fn buffer_group(&self) -> Option<u16> {
        Some(self.bufs.group())
    }

    fn next(&mut self, result: io::Result<u32>, flags: u32) -> Self::Item {
        let n = *result.as_ref().unwrap_or(&0);
        // Whatever the result, a selected buffer must go back to the ring
        // (dropping the RingBuf does that).
        let buf = self.bufs.selected(flags, n);
        let result = result.map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "multishot receive refused with EINVAL: it needs Linux 6.0 or newer",
            ),
            _ => e,
        });
        match result? {
            0 => Ok(None),
            _ => buf
                .map(Some)
                .ok_or_else(|| io::Error::other("a multishot receive completed without a buffer")),
        }
    }

    fn abandon(&mut self) {
        self.fd.read_abandoned();
    }

    fn abandoned(&mut self, completion: Completion, wakers: &mut VecDeque<Waker>) {
        let n = completion.res.max(0) as u32;
        if let Some(buf) = self.bufs.selected(completion.flags, n) {
            self.fd.rescue(&buf);
            buf.recycle_deferred(wakers);
        }
        if !completion.more() {
            self.fd.read_settled_deferred(wakers);
        }
    }

    fn orphan(self) {
        self.fd.read_orphaned();
        // The kernel may still pick buffers of the ring: its memory must
        // live (leaked with this handle).
        std::mem::forget(self.bufs);
    }
}
