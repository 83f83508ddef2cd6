//! `fs::read_dir`: a stream of entries read on the blocking pool in
//! batches, over real directories.

mod common;

use common::*;
use corio::fs;
use futures_core::Stream;
use std::collections::BTreeSet;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

async fn next(dir: &mut fs::ReadDir) -> Option<io::Result<fs::DirEntry>> {
    poll_fn(|cx| Pin::new(&mut *dir).poll_next(cx)).await
}

#[test]
fn a_directory_of_10000_files_streams_every_entry_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..10_000 {
        std::fs::write(dir.path().join(format!("f{i:05}")), b"").unwrap();
    }
    let path = dir.path().to_path_buf();
    let names = with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let mut list = fs::read_dir(&path).await.unwrap();
            let mut names = BTreeSet::new();
            while let Some(entry) = next(&mut list).await {
                let entry = entry.unwrap();
                assert_eq!(entry.path(), path.join(entry.file_name()));
                assert!(names.insert(entry.file_name()), "{entry:?} came twice");
            }
            // The end is sticky.
            assert!(next(&mut list).await.is_none());
            names
        })
    });
    assert_eq!(names.len(), 10_000);
    assert!(names
        .iter()
        .all(|n| n.to_str().is_some_and(|s| s.starts_with('f'))));
}

#[test]
fn entries_report_their_kind_without_following_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"abc").unwrap();
    std::fs::create_dir(dir.path().join("dir")).unwrap();
    std::os::unix::fs::symlink("dir", dir.path().join("link")).unwrap();
    let path = dir.path().to_path_buf();
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let mut list = fs::read_dir(&path).await.unwrap();
            let mut seen = Vec::new();
            while let Some(entry) = next(&mut list).await {
                let entry = entry.unwrap();
                let kind = entry.file_type().await.unwrap();
                let meta = entry.metadata().await.unwrap();
                assert_eq!(kind, meta.file_type());
                let name = entry.file_name().into_string().unwrap();
                match name.as_str() {
                    "file" => assert!(kind.is_file() && meta.len() == 3),
                    "dir" => assert!(kind.is_dir()),
                    "link" => assert!(kind.is_symlink() && meta.is_symlink()),
                    other => panic!("unexpected entry {other}"),
                }
                seen.push(name);
            }
            seen.sort();
            assert_eq!(seen, ["dir", "file", "link"]);
        })
    });
}

#[test]
fn an_empty_directory_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let mut list = fs::read_dir(&path).await.unwrap();
            assert!(next(&mut list).await.is_none());
        })
    });
}

#[test]
fn listing_a_missing_path_or_a_file_fails_with_std_kinds() {
    let (dir, file) = temp_file(b"x");
    let missing = dir.path().join("missing");
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let e = fs::read_dir(&missing).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotFound);
            assert!(e.to_string().contains("missing"), "{e}");
            let e = fs::read_dir(&file).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotADirectory);
        })
    });
}

#[test]
fn dropping_a_listing_mid_batch_leaves_the_runtime_working() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1000 {
        std::fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
    }
    let path = dir.path().to_path_buf();
    with_time_limit(LIMIT, move || {
        corio::block_on(async move {
            let before = fd_count();
            for round in 0..50 {
                let mut list = fs::read_dir(&path).await.unwrap();
                // Take a few entries (the first batch), then start the
                // second and drop the stream while it is being read.
                for _ in 0..(round % 300) {
                    next(&mut list).await.unwrap().unwrap();
                }
                drop(list);
                corio::nop().await.unwrap();
            }
            // The batches finish on the pool and close their directories.
            assert!(
                wait_for(Duration::from_secs(10), || fd_count() <= before),
                "directory descriptors left open: {} > {before}",
                fd_count()
            );
        })
    });
}

#[test]
fn a_listing_runs_from_a_spawned_task_and_from_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        std::fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
    }
    let count = |path: std::path::PathBuf| async move {
        let mut list = fs::read_dir(&path).await.unwrap();
        let mut n = 0;
        while let Some(e) = next(&mut list).await {
            e.unwrap();
            n += 1;
        }
        n
    };
    let path = dir.path().to_path_buf();
    let other = path.clone();
    let n = with_time_limit(LIMIT, move || {
        corio::block_on(async move { corio::spawn(count(path)).await.unwrap() })
    });
    assert_eq!(n, 300);
    let n = std::thread::spawn(move || corio::block_on(count(other)))
        .join()
        .unwrap();
    assert_eq!(n, 300);
}
