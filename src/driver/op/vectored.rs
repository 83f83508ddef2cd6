//! IORING_OP_READV / IORING_OP_WRITEV at an offset: `preadv`/`pwritev`
//! over an owned vector of buffers. The iovec array lives in the operation,
//! on the heap, so the kernel reads it wherever the op moves.

use super::{checks, Op, OpCode};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::SharedFd;
use io_uring::{opcode, squeue};
use std::io;

/// The most buffers one vectored operation takes (`IOV_MAX`).
const IOV_MAX: usize = 1024;

fn count(n: usize) -> io::Result<u32> {
    if n > IOV_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{n} buffers: one vectored operation takes at most {IOV_MAX} (IOV_MAX)"),
        ));
    }
    Ok(n as u32)
}

/// A vectored read at an offset.
pub(crate) struct ReadvAt<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBufMut> ReadvAt<B> {
    pub(crate) fn submit(fd: &SharedFd, mut bufs: Vec<B>, offset: u64) -> Op<ReadvAt<B>> {
        let checked = checks::offset(offset)
            .and_then(|_| count(bufs.len()))
            .and_then(|_| bufs.iter().try_for_each(|b| b.check_read_target()));
        let iovecs = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.stable_mut_ptr().cast(),
                iov_len: b.bytes_total(),
            })
            .collect();
        let op = ReadvAt {
            fd: fd.clone(),
            bufs,
            iovecs,
            offset,
        };
        match checked {
            Ok(()) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry points at `iovecs`, owned by `self`, whose entries
// point at the writable memory of `bufs` (IoBufMut contract: stable across
// moves), `bytes_total` bytes each, also owned by `self`.
unsafe impl<B: IoBufMut> OpCode for ReadvAt<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn entry(&mut self) -> squeue::Entry {
        let (iov, n) = (self.iovecs.as_ptr(), self.iovecs.len() as u32);
        self.fd
            .entry(|fd| opcode::Readv::new(fd, iov, n).offset(self.offset).build())
    }

    fn complete(mut self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, Vec<B>> {
        if let Ok(n) = result {
            // The kernel filled the buffers in order: each is initialised up
            // to what it received (0 for those past the end).
            let mut left = n as usize;
            for buf in &mut self.bufs {
                let got = left.min(buf.bytes_total());
                // SAFETY: the kernel wrote `got` bytes at this buffer's start.
                unsafe { buf.set_init(got) };
                left -= got;
            }
        }
        (result.map(|n| n as usize), self.bufs)
    }

    fn orphan(self) {
        // The kernel may still write the buffers; the file is released.
        std::mem::forget(self.bufs);
        std::mem::forget(self.iovecs);
        drop(self.fd);
    }
}

/// A vectored write at an offset.
pub(crate) struct WritevAt<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBuf> WritevAt<B> {
    pub(crate) fn submit(fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Op<WritevAt<B>> {
        let checked = checks::offset(offset).and_then(|_| count(bufs.len()));
        let iovecs = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.stable_ptr().cast_mut().cast(),
                iov_len: b.bytes_init(),
            })
            .collect();
        let op = WritevAt {
            fd: fd.clone(),
            bufs,
            iovecs,
            offset,
        };
        match checked {
            Ok(_) => Op::submit(op),
            Err(e) => Op::fail(op, e),
        }
    }
}

// SAFETY: the entry points at `iovecs`, owned by `self`, whose entries
// point at the initialised bytes of `bufs` (IoBuf contract), also owned by
// `self`; the kernel only reads them.
unsafe impl<B: IoBuf> OpCode for WritevAt<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn entry(&mut self) -> squeue::Entry {
        let (iov, n) = (self.iovecs.as_ptr(), self.iovecs.len() as u32);
        self.fd
            .entry(|fd| opcode::Writev::new(fd, iov, n).offset(self.offset).build())
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> BufResult<usize, Vec<B>> {
        (result.map(|n| n as usize), self.bufs)
    }

    fn orphan(self) {
        // The kernel may still read the buffers; the file is released.
        std::mem::forget(self.bufs);
        std::mem::forget(self.iovecs);
        drop(self.fd);
    }
}
