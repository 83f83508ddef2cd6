//! Registering a ring's resource tables (files, buffers) as sparse tables:
//! the one `io_uring_register` call both [`FileTable`](super::FileTable)
//! and [`BufferTable`](super::BufferTable) start with.

use std::io;
use std::os::fd::RawFd;

const IORING_RSRC_REGISTER_SPARSE: u32 = 1 << 0;

/// `struct io_uring_rsrc_register` from <linux/io_uring.h>.
#[repr(C)]
struct RsrcRegister {
    nr: u32,
    flags: u32,
    resv2: u64,
    data: u64,
    tags: u64,
}

/// Register an empty table of `slots` entries on `ring` with `opcode`
/// (IORING_REGISTER_FILES2 or IORING_REGISTER_BUFFERS2, Linux 5.19).
pub(super) fn register_sparse(ring: RawFd, opcode: libc::c_uint, slots: u32) -> io::Result<()> {
    let arg = RsrcRegister {
        nr: slots,
        flags: IORING_RSRC_REGISTER_SPARSE,
        resv2: 0,
        data: 0,
        tags: 0,
    };
    // SAFETY: io_uring_register with a live io_uring_rsrc_register whose
    // size is passed as the argument count (the *2 opcodes' convention); no
    // data or tags pointers (a sparse table).
    let res = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            ring,
            opcode,
            &arg as *const RsrcRegister,
            std::mem::size_of::<RsrcRegister>() as libc::c_uint,
        )
    };
    if res == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
