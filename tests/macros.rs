//! `#[corio::main]` and `#[corio::test]`, and their compile errors.

#![cfg(feature = "macros")]

use std::sync::atomic::{AtomicUsize, Ordering};

#[corio::test]
async fn a_test_runs_on_corio() {
    corio::nop().await.unwrap();
    corio::time::sleep(std::time::Duration::from_millis(1)).await;
}

#[corio::test(entries = 64)]
async fn a_test_takes_entries() {
    let tasks: Vec<_> = (0..200).map(|i| corio::spawn(async move { i })).collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    assert_eq!(sum, 199 * 200 / 2);
}

#[corio::test]
async fn a_test_may_return_a_result() -> std::io::Result<()> {
    corio::nop().await
}

/// Not the program's entry point: any argument-less async fn.
#[corio::main]
async fn compute() -> u32 {
    corio::spawn(async { 40 }).await.unwrap() + 2
}

#[corio::main(entries = 32)]
async fn compute_with_entries() -> String {
    corio::nop().await.unwrap();
    "ok".to_owned()
}

static RAN_ON: AtomicUsize = AtomicUsize::new(0);

#[corio::main(cores = 2)]
async fn on_every_core() {
    assert!(corio::pool::current().is_some());
    RAN_ON.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn main_keeps_the_return_type_and_runs_the_body() {
    assert_eq!(compute(), 42);
    assert_eq!(compute_with_entries(), "ok");
}

#[test]
fn main_with_cores_runs_the_body_on_every_core() {
    on_every_core();
    assert_eq!(RAN_ON.load(Ordering::SeqCst), 2);
}

#[test]
fn misuse_fails_to_compile_with_a_clear_message() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
