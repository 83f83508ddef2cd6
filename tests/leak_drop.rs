//! Descriptors are released: dropped and closed files and streams, a file
//! outliving its runtime, and a thread's implicit runtime when the thread
//! exits.
//!
//! Its own test binary with a single test, because it counts the process's
//! descriptors and tests in one binary run in parallel.

mod common;

use std::time::Duration;

use common::*;
use corio::fs::File;

#[test]
fn dropped_and_closed_files_streams_and_runtimes_release_descriptors() {
    let before_all = fd_count();
    let (_dir, path) = temp_file(&pattern(4096, 6));

    let p = path.clone();
    with_time_limit(Duration::from_secs(60), move || {
        let path = p;
        corio::block_on(async {
            corio::time::sleep(Duration::from_millis(1)).await;
            let base = fd_count();

            // Dropped files.
            for round in 0..3 {
                let opens = (0..100).map(|_| File::open(&path));
                let files: Vec<File> = join_all(opens)
                    .await
                    .into_iter()
                    .map(|r| r.unwrap())
                    .collect();
                assert!(fd_count() >= base + 100, "round {round}");
                drop(files);
                let back = wait_for_async(Duration::from_secs(5), || fd_count() == base).await;
                assert!(
                    back,
                    "round {round}: {} descriptors, {base} before\n{}",
                    fd_count(),
                    fd_list()
                );
            }

            // close().await closes before it returns.
            let f = File::open(&path).await.unwrap();
            assert_eq!(fd_count(), base + 1);
            f.close().await.expect("close");
            assert_eq!(
                fd_count(),
                base,
                "close().await returned before the descriptor was closed"
            );

            // Streams: dropped and closed.
            let (a, b) = corio_pair().await;
            // (corio_pair's listener was dropped: wait for its close)
            let two = wait_for_async(Duration::from_secs(5), || fd_count() == base + 2).await;
            assert!(
                two,
                "{} descriptors with one stream pair, {base} before",
                fd_count()
            );
            a.close().await.expect("close stream");
            assert_eq!(fd_count(), base + 1);
            drop(b);
            let back = wait_for_async(Duration::from_secs(5), || fd_count() == base).await;
            assert!(
                back,
                "dropped stream: {} descriptors, {base} before",
                fd_count()
            );
            let l = loopback_listener();
            drop(l);
            let back = wait_for_async(Duration::from_secs(5), || fd_count() == base).await;
            assert!(
                back,
                "dropped listener: {} descriptors, {base} before",
                fd_count()
            );
        });
    });
    // The implicit runtime went with its thread.
    let back = wait_for(Duration::from_secs(5), || fd_count() == before_all);
    assert!(
        back,
        "after thread exit: {} descriptors, {before_all} before\n{}",
        fd_count(),
        fd_list()
    );

    // A file dropped after its (explicit) runtime is gone, and one dropped
    // between two block_on calls.
    let p = path.clone();
    with_time_limit(Duration::from_secs(60), move || {
        let base = fd_count();
        let rt = corio::Runtime::new().unwrap();
        let f1 = rt.block_on(File::open(&p)).unwrap();
        let f2 = rt.block_on(File::open(&p)).unwrap();
        drop(f2); // no block_on running
        rt.block_on(corio::time::sleep(Duration::from_millis(5)));
        drop(rt);
        drop(f1); // runtime gone
        let back = wait_for(Duration::from_secs(5), || fd_count() == base);
        assert!(
            back,
            "{} descriptors, {base} before\n{}",
            fd_count(),
            fd_list()
        );
    });

    // Threads that each ran an implicit runtime and exited.
    for t in 0..4 {
        let p = path.clone();
        std::thread::spawn(move || {
            corio::block_on(async move {
                let f = File::open(&p).await.unwrap();
                let (res, _) = f.read_at(Vec::with_capacity(64), 64 * t).await;
                assert_eq!(res.unwrap(), 64);
                // `f` dropped while the runtime runs.
            })
        })
        .join()
        .expect("thread");
    }
    let back = wait_for(Duration::from_secs(5), || fd_count() == before_all);
    assert!(
        back,
        "after 4 runtime threads: {} descriptors, {before_all} before\n{}",
        fd_count(),
        fd_list()
    );
}
