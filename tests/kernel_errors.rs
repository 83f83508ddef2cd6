//! What the kernel can answer that must not become a panic or a busy loop:
//! EBADR from `io_uring_enter` (completions dropped because the overflow
//! list could not grow), and a timer so far away that the wait's deadline
//! would overflow the kernel's arithmetic.

mod common;

use std::time::Duration;

use common::*;
use corio::sync::oneshot;
use corio::time::sleep;

const EBADR_CHILD: &str = "CORIO_TEST_EBADR_CHILD";

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn ebadr_child() {
    use common::seccomp::{fail_syscall, When, SYS_IO_URING_ENTER};
    let rt = corio::Runtime::new().unwrap();
    let (reader, _peer) = rt.block_on(async {
        let (stream, peer) = std_peer_pair().await;
        let reader = corio::spawn(async move { stream.read(Vec::with_capacity(64)).await.0 });
        corio::task::yield_now().await;
        corio::task::yield_now().await;
        (reader, peer)
    });
    // From now on every wait for a completion fails with EBADR, as when
    // the kernel dropped completions.
    fail_syscall(SYS_IO_URING_ENTER, When::ArgNe(2, 0), libc::EBADR);
    let res = rt.block_on(async {
        sleep(Duration::from_millis(30)).await;
        corio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("the read in flight ends")
            .expect("reader task")
    });
    let err = res.expect_err("the read may have lost its completion: it must say so");
    println!("read in flight when EBADR came: {err}");
    assert!(
        err.to_string().contains("EBADR"),
        "the error names the cause: {err}"
    );
    let lost = rt.metrics().completions_lost;
    println!("completions_lost = {lost}");
    assert!(lost >= 1, "EBADR is counted in the metrics");
    // The runtime still runs tasks and drops cleanly.
    assert_eq!(
        rt.block_on(async { corio::spawn(async { 3 }).await.unwrap() }),
        3
    );
    drop(rt);
    println!("EBADR-CHILD-OK");
}

#[test]
fn ebadr_from_io_uring_enter_is_counted_and_fails_the_operations_in_flight_without_a_panic() {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        println!("skipped: the seccomp filter is written for x86_64 and aarch64");
        return;
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        if std::env::var_os(EBADR_CHILD).is_some() {
            with_time_limit(Duration::from_secs(30), ebadr_child);
            return;
        }
        let out = run_self_as_child(
            "ebadr_from_io_uring_enter_is_counted_and_fails_the_operations_in_flight_without_a_panic",
            EBADR_CHILD,
            Duration::from_secs(60),
        );
        println!("child stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        assert_child_passed(&out, "EBADR-CHILD-OK");
    }
}

#[test]
fn a_timer_centuries_away_does_not_make_the_loop_spin() {
    with_time_limit(Duration::from_secs(10), || {
        corio::block_on(async {
            let far = corio::spawn(sleep(Duration::from_secs(1 << 34)));
            corio::task::yield_now().await;
            let (tx, rx) = oneshot::channel();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                tx.send(()).unwrap();
            });
            let before = corio::metrics().enter_calls;
            rx.await.unwrap();
            let enters = corio::metrics().enter_calls - before;
            println!("io_uring_enter calls in 300 ms with a timer 2^34 s away: {enters}");
            assert!(enters < 50, "the loop spun: {enters} enters in 300 ms");
            t.join().unwrap();
            far.abort();
        });
    });
}
