//! Making one system call fail with a chosen errno, for this thread and the
//! threads it creates afterwards: a seccomp filter, as container runtimes
//! install. Run it in a child process ([`super::run_self_as_child`]): it
//! cannot be removed.
//!
//! The kernel really runs everything else; the filter only answers the
//! matching calls with an error, as the kernel itself can (a ring whose
//! overflow list could not grow answers `io_uring_enter` with EBADR; a
//! fixed-file update can fail with ENOMEM).

#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

/// Same numbers on x86_64 and aarch64 (the io_uring calls are new enough
/// to share the generic table).
pub const SYS_IO_URING_SETUP: u32 = 425;
pub const SYS_IO_URING_ENTER: u32 = 426;
pub const SYS_IO_URING_REGISTER: u32 = 427;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

#[repr(C)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const DATA_NR: u32 = 0; // offsetof(struct seccomp_data, nr)
const DATA_ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)

/// Offset of the low 32 bits of argument `i` in `struct seccomp_data`
/// (little-endian targets).
fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}

/// Which calls of the system call fail.
#[derive(Debug, Clone, Copy)]
pub enum When {
    Always,
    /// Argument `.0` (its low 32 bits) equals `.1`.
    ArgEq(u32, u32),
    /// Argument `.0` (its low 32 bits) differs from `.1`.
    ArgNe(u32, u32),
}

/// Make `syscall` fail with `errno` when `when` holds.
pub fn fail_syscall(syscall: u32, when: When, errno: i32) {
    let stmt = |code, k| SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k, jt, jf| SockFilter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    };
    let ret_errno = stmt(BPF_RET_K, SECCOMP_RET_ERRNO | errno as u32);
    let allow = stmt(BPF_RET_K, SECCOMP_RET_ALLOW);
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        // Another architecture's calls: allow (jump to the last `allow`).
        jump(AUDIT_ARCH, 0, 0),
        stmt(BPF_LD_W_ABS, DATA_NR),
        jump(syscall, 0, 0),
    ];
    match when {
        When::Always => prog.push(ret_errno),
        When::ArgEq(i, v) => {
            prog.push(stmt(BPF_LD_W_ABS, arg_low(i)));
            prog.push(jump(v, 0, 1));
            prog.push(ret_errno);
        }
        When::ArgNe(i, v) => {
            prog.push(stmt(BPF_LD_W_ABS, arg_low(i)));
            prog.push(jump(v, 1, 0));
            prog.push(ret_errno);
        }
    }
    prog.push(allow);
    // Patch the two "no" branches to land on the final `allow`.
    let last = prog.len() - 1;
    prog[1].jf = (last - 2) as u8;
    prog[3].jf = (last - 4) as u8;
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: plain prctl calls with valid arguments; the program outlives
    // the call (the kernel copies it).
    unsafe {
        assert_eq!(
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            0,
            "PR_SET_NO_NEW_PRIVS"
        );
        let r = libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const SockFprog,
            0,
            0,
        );
        assert_eq!(r, 0, "PR_SET_SECCOMP: {}", std::io::Error::last_os_error());
    }
}
