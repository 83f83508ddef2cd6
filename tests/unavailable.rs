//! When io_uring is missing: a child process installs a seccomp filter that
//! makes io_uring_setup fail with EPERM (as Docker's default profile does);
//! Runtime::new() must then return an error that says io_uring is unavailable
//! and why, and block_on must panic with that same message.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use common::*;

const CHILD_ENV: &str = "CORIO_TEST_SECCOMP_CHILD";
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use common::seccomp::{fail_syscall, When, SYS_IO_URING_SETUP};

/// Makes io_uring_setup fail with EPERM for this thread (and threads it
/// creates later); everything else is allowed.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn refuse_io_uring_setup() {
    fail_syscall(SYS_IO_URING_SETUP, When::Always, libc::EPERM);
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
