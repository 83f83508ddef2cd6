//! When io_uring is missing: a child process installs a seccomp filter that
//! makes io_uring_setup fail with EPERM (as Docker's default profile does);
//! Runtime::new() must then return an error that says io_uring is unavailable
//! and why, and block_on must panic with that same message.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use common::*;

const CHILD_ENV: &str = "CORIO_TEST_SECCOMP_CHILD";
const SYS_IO_URING_SETUP: u32 = 425; // same number on x86_64 and aarch64

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

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0x00) | BPF_W (0x00) | BPF_ABS (0x20)
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP (0x05) | BPF_JEQ (0x10) | BPF_K (0x00)
const BPF_RET_K: u16 = 0x06; // BPF_RET (0x06) | BPF_K (0x00)
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_DATA_NR: u32 = 0; // offsetof(struct seccomp_data, nr)
const SECCOMP_DATA_ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)

/// Makes io_uring_setup fail with EPERM for this thread (and threads it
/// creates later); everything else is allowed.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn refuse_io_uring_setup() {
    let prog = [
        SockFilter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: SECCOMP_DATA_ARCH,
        },
        SockFilter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: 3,
            k: AUDIT_ARCH,
        },
        SockFilter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: SECCOMP_DATA_NR,
        },
        SockFilter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: 1,
            k: SYS_IO_URING_SETUP,
        },
        SockFilter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        SockFilter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ];
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: plain prctl calls with valid arguments; the filter program
    // outlives the call (the kernel copies it).
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

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn child() {
    refuse_io_uring_setup();

    // The filter works: the raw syscall fails with EPERM.
    let mut params = [0u8; 120]; // struct io_uring_params
                                 // SAFETY: io_uring_setup with a valid, zeroed params buffer.
    let r = unsafe {
        libc::syscall(
            SYS_IO_URING_SETUP as libc::c_long,
            4u32,
            params.as_mut_ptr(),
        )
    };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert_eq!(r, -1, "io_uring_setup still works under the filter");
    assert_eq!(errno, Some(libc::EPERM));

    let err = corio::Runtime::new().expect_err("Runtime::new must fail without io_uring");
    let msg = err.to_string();
    println!("Runtime::new() error: {msg}");
    let lower = msg.to_lowercase();
    assert!(
        lower.contains("io_uring"),
        "the message must name io_uring: {msg:?}"
    );
    assert!(
        lower.contains("unavailable") || lower.contains("seccomp") || lower.contains("eperm"),
        "the message must say io_uring is unavailable and why: {msg:?}"
    );

    let err2 = corio::Builder::new()
        .entries(8)
        .build()
        .expect_err("Builder::build must fail too");
    assert!(err2.to_string().to_lowercase().contains("io_uring"));

    let payload = catch_unwind(AssertUnwindSafe(|| corio::block_on(async { 1 })))
        .expect_err("block_on must panic without io_uring");
    let pmsg = panic_message(&*payload);
    println!("block_on panic: {pmsg}");
    assert!(
        pmsg.contains(&msg),
        "block_on must panic with the same message as Runtime::new: {pmsg:?}"
    );
    println!("SECCOMP-CHILD-OK");
}

#[test]
fn without_io_uring_runtime_new_errs_and_block_on_panics_with_the_reason() {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        println!("skipped: the seccomp filter is written for x86_64 and aarch64");
        return;
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        if std::env::var_os(CHILD_ENV).is_some() {
            with_time_limit(Duration::from_secs(30), child);
            return;
        }
        let out = run_self_as_child(
            "without_io_uring_runtime_new_errs_and_block_on_panics_with_the_reason",
            CHILD_ENV,
            Duration::from_secs(60),
        );
        println!("child stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        assert_child_passed(&out, "SECCOMP-CHILD-OK");
    }
}
