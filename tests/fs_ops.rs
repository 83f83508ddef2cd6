mod common;

// File-system operations beyond open/read/write: metadata through statx,
// operations on names, whole-file read and write, set_len and allocate,
// vectored reads and writes — their results against std and the kernel,
// their error kinds, their argument checks, and what dropping them early
// does to the runtime (nothing: it keeps working and leaks no descriptor).
//
// Real files in temporary directories only; every loop is bounded and every
// test body runs under a time limit.

use std::ffi::CString;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::*;
use corio::buf::IoBuf;
use corio::fs::{self, File, OpenOptions};

const LIMIT: Duration = Duration::from_secs(60);

/// Tests that count this process's descriptors run alone (write lock); all
/// others share (read lock), so no other test's files disturb the count.
static FD_LOCK: RwLock<()> = RwLock::new(());

/// Runs `body` on a fresh runtime under the time limit, concurrently with
/// the other shared tests.
fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let _shared = FD_LOCK.read().unwrap_or_else(PoisonError::into_inner);
    with_time_limit(LIMIT, move || corio::block_on(body()));
}

/// As [`run`], with no other test of this file running meanwhile.
fn run_alone<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let _alone = FD_LOCK.write().unwrap_or_else(PoisonError::into_inner);
    with_time_limit(LIMIT, move || corio::block_on(body()));
}

/// The kind of the error `res` must be.
#[track_caller]
fn err_kind<T: std::fmt::Debug>(res: io::Result<T>, what: &str) -> ErrorKind {
    match res {
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
        Err(e) => e.kind(),
    }
}

/// `t` is within two minutes of now (file-system clocks are coarse).
#[track_caller]
fn assert_close_to_now(t: SystemTime, what: &str) {
    let now = SystemTime::now();
    let diff = match now.duration_since(t) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    assert!(
        diff < Duration::from_secs(120),
        "{what} {t:?} is {diff:?} away from now {now:?}"
    );
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
}

/// Lets the runtime reap completions of dropped operations.
async fn settle() {
    for _ in 0..4 {
        corio::nop().await.expect("nop");
    }
    corio::time::sleep(Duration::from_millis(2)).await;
}

/// Waits (on the corio timer) for the descriptor count to come back to
/// `base`, failing with the list of descriptors if it does not.
async fn assert_fds_back_to(base: usize, what: &str) {
    settle().await;
    let back = wait_for_async(Duration::from_secs(5), || fd_count() == base).await;
    assert!(
        back,
        "{what}: {} descriptors, {base} before\n{}",
        fd_count(),
        fd_list()
    );
}

fn capacities(bufs: &[Vec<u8>]) -> Vec<usize> {
    bufs.iter().map(|b| b.capacity()).collect()
}

/// How a read of `n` bytes spreads over buffers of `caps`.
fn spread(n: usize, caps: &[usize]) -> Vec<usize> {
    let mut left = n;
    caps.iter()
        .map(|&c| {
            let got = left.min(c);
            left -= got;
            got
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------

#[test]
fn metadata_of_a_regular_file_matches_std() {
    run(|| async {
        let (_dir, path) = temp_file(&pattern(10_000, 1));
        let md = fs::metadata(&path).await.expect("metadata");
        let std_md = std::fs::metadata(&path).expect("std metadata");
        assert!(md.is_file() && !md.is_dir() && !md.is_symlink());
        assert!(md.file_type().is_file());
        assert_eq!(md.len(), 10_000);
        assert!(!md.is_empty());
        assert_eq!(md.len(), std_md.len());
        assert_eq!(md.mode(), std_md.mode());
        assert_eq!(md.permissions(), std_md.permissions());
        assert_eq!(md.ino(), std_md.ino());
        assert_eq!(md.nlink(), std_md.nlink());
        assert_eq!(md.nlink(), 1);
        assert_eq!(md.uid(), std_md.uid());
        assert_eq!(md.gid(), std_md.gid());
        assert_eq!(md.blocks(), std_md.blocks());
        assert_eq!(md.modified().expect("mtime"), std_md.modified().unwrap());
        assert_eq!(md.accessed().expect("atime"), std_md.accessed().unwrap());
        match (md.created(), std_md.created()) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs),
            (Err(e), _) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}"),
            (Ok(ours), Err(_)) => assert_close_to_now(ours, "birth time"),
        }
        let debug = format!("{md:?}");
        assert!(debug.contains("file"), "{debug}");
        let cloned = md.clone();
        assert_eq!(cloned.ino(), md.ino());
    });
}

#[test]
fn metadata_matches_a_direct_statx_call() {
    run(|| async {
        let (dir, path) = temp_file(b"statx");
        for p in [path.clone(), dir.path().to_path_buf()] {
            let md = fs::metadata(&p).await.expect("metadata");
            let c = CString::new(p.as_os_str().as_bytes()).unwrap();
            // SAFETY: all-zero is a valid statx; statx writes one into it.
            let mut stx: libc::statx = unsafe { std::mem::zeroed() };
            let mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN;
            // SAFETY: valid path and buffer.
            let rc = unsafe { libc::statx(libc::AT_FDCWD, c.as_ptr(), 0, mask, &mut stx) };
            assert_eq!(rc, 0, "statx: {}", io::Error::last_os_error());
            assert_eq!(md.ino(), stx.stx_ino);
            assert_eq!(md.mode(), u32::from(stx.stx_mode));
            assert_eq!(md.len(), stx.stx_size);
            assert_eq!(md.blocks(), stx.stx_blocks);
            assert_eq!(md.nlink(), u64::from(stx.stx_nlink));
            let dio = (stx.stx_mask & libc::STATX_DIOALIGN != 0
                && stx.stx_dio_mem_align != 0
                && stx.stx_dio_offset_align != 0)
                .then_some((stx.stx_dio_mem_align, stx.stx_dio_offset_align));
            assert_eq!(md.direct_io_align(), dio, "{p:?}");
            if let Some((mem, offset)) = md.direct_io_align() {
                assert!(mem.is_power_of_two() && offset.is_power_of_two());
            }
            assert_eq!(
                md.created().is_ok(),
                stx.stx_mask & libc::STATX_BTIME != 0,
                "created() is Ok exactly when statx reports a birth time"
            );
        }
    });
}

#[test]
fn metadata_of_a_directory_reports_a_directory() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let md = fs::metadata(dir.path()).await.expect("metadata");
        assert!(md.is_dir() && !md.is_file() && !md.is_symlink());
        let ft = md.file_type();
        assert!(ft.is_dir());
        assert!(!ft.is_file() && !ft.is_fifo() && !ft.is_socket() && !ft.is_char_device());
        assert_eq!(format!("{ft:?}"), "dir");
        assert_eq!(md.ino(), std::fs::metadata(dir.path()).unwrap().ino());
        assert_eq!(
            md.direct_io_align(),
            None,
            "a directory takes no direct I/O"
        );
    });
}

#[test]
fn metadata_reports_fifo_socket_char_device_and_block_device_types() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let ft = fs::metadata(&fifo).await.expect("fifo").file_type();
        assert!(ft.is_fifo() && !ft.is_file() && !ft.is_socket());
        assert_eq!(format!("{ft:?}"), "fifo");

        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let ft = fs::metadata(&sock).await.expect("socket").file_type();
        assert!(ft.is_socket() && !ft.is_fifo() && !ft.is_file());
        assert_eq!(format!("{ft:?}"), "socket");

        let ft = fs::metadata("/dev/null")
            .await
            .expect("/dev/null")
            .file_type();
        assert!(ft.is_char_device() && !ft.is_block_device() && !ft.is_file());
        assert_eq!(format!("{ft:?}"), "char device");

        // A block device, where this machine exposes one.
        let block = std::fs::read_dir("/dev").ok().and_then(|rd| {
            rd.flatten().take(10_000).map(|e| e.path()).find(|p| {
                std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_block_device())
            })
        });
        if let Some(block) = block {
            let ft = fs::metadata(&block)
                .await
                .expect("block device")
                .file_type();
            assert!(ft.is_block_device() && !ft.is_char_device(), "{block:?}");
            assert_eq!(format!("{ft:?}"), "block device");
        }
    });
}

#[test]
fn symlink_metadata_describes_the_link_and_metadata_follows_it() {
    run(|| async {
        let (dir, path) = temp_file(&pattern(1234, 2));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();

        let followed = fs::metadata(&link).await.expect("metadata");
        assert!(followed.is_file() && !followed.is_symlink());
        assert_eq!(followed.len(), 1234);
        assert_eq!(followed.ino(), std::fs::metadata(&path).unwrap().ino());

        let own = fs::symlink_metadata(&link).await.expect("symlink_metadata");
        assert!(own.is_symlink() && !own.is_file() && !own.is_dir());
        assert!(own.file_type().is_symlink());
        assert_eq!(format!("{:?}", own.file_type()), "symlink");
        assert_eq!(
            own.len(),
            path.as_os_str().len() as u64,
            "a link's size is its target's length"
        );
        assert_eq!(own.ino(), std::fs::symlink_metadata(&link).unwrap().ino());

        // On a plain file both forms agree.
        let plain = fs::symlink_metadata(&path)
            .await
            .expect("symlink_metadata of a file");
        assert!(plain.is_file());
        assert_eq!(plain.ino(), followed.ino());
    });
}

#[test]
fn metadata_of_a_dangling_symlink_is_not_found_but_symlink_metadata_succeeds() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        assert_eq!(
            err_kind(fs::metadata(&link).await, "metadata of a dangling link"),
            ErrorKind::NotFound
        );
        let own = fs::symlink_metadata(&link).await.expect("symlink_metadata");
        assert!(own.is_symlink());
    });
}

#[test]
fn metadata_of_a_missing_path_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(
            err_kind(fs::metadata(&missing).await, "metadata"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::symlink_metadata(&missing).await, "symlink_metadata"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::metadata(missing.join("deeper")).await, "metadata"),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn operations_on_an_empty_path_are_not_found_as_in_std() {
    run(|| async {
        assert_eq!(
            err_kind(fs::metadata("").await, "metadata"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::symlink_metadata("").await, "symlink_metadata"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::remove_file("").await, "remove_file"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::remove_dir("").await, "remove_dir"),
            ErrorKind::NotFound
        );
        assert_eq!(
            err_kind(fs::create_dir("").await, "create_dir"),
            ErrorKind::NotFound
        );
        assert_eq!(err_kind(fs::read("").await, "read"), ErrorKind::NotFound);
    });
}

#[test]
fn metadata_through_a_regular_file_is_not_a_directory() {
    run(|| async {
        let (_dir, path) = temp_file(b"x");
        assert_eq!(
            err_kind(fs::metadata(path.join("inside")).await, "metadata"),
            ErrorKind::NotADirectory
        );
    });
}

#[test]
fn metadata_is_empty_and_len_for_empty_and_non_empty_files() {
    run(|| async {
        let (_dir, empty) = temp_file(b"");
        let md = fs::metadata(&empty).await.unwrap();
        assert!(md.is_empty());
        assert_eq!(md.len(), 0);
        let (_dir2, one) = temp_file(b"1");
        let md = fs::metadata(&one).await.unwrap();
        assert!(!md.is_empty());
        assert_eq!(md.len(), 1);
    });
}

#[test]
fn file_metadata_matches_path_metadata_and_follows_writes() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.bin");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let md = f.metadata().await.expect("File::metadata");
        assert!(md.is_file());
        assert_eq!(md.len(), 0);
        assert_eq!(md.ino(), fs::metadata(&path).await.unwrap().ino());

        // Enough operations for the descriptor to move into the ring's
        // fixed-file table: statx must still see the right file.
        for i in 0..40u64 {
            let (res, _) = f.write_at(vec![i as u8; 100], i * 100).await;
            assert_eq!(res.unwrap(), 100);
            let md = f.metadata().await.expect("File::metadata after writes");
            assert_eq!(md.len(), (i + 1) * 100);
        }
        let md = f.metadata().await.unwrap();
        assert_eq!(md.ino(), std::fs::metadata(&path).unwrap().ino());
        f.close().await.unwrap();
    });
}

#[test]
fn file_metadata_of_a_fifo_and_of_a_directory() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .await
            .expect("open fifo read+write");
        assert!(f
            .metadata()
            .await
            .expect("fifo metadata")
            .file_type()
            .is_fifo());
        f.close().await.unwrap();

        let d = File::open(dir.path()).await.expect("open a directory");
        assert!(d.metadata().await.expect("dir metadata").is_dir());
        d.close().await.unwrap();
    });
}

#[test]
fn timestamps_of_a_new_file_are_close_to_now() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        fs::write(&path, b"new" as &'static [u8]).await.unwrap();
        let md = fs::metadata(&path).await.unwrap();
        assert_close_to_now(md.modified().expect("modified"), "modified");
        assert_close_to_now(md.accessed().expect("accessed"), "accessed");
        match md.created() {
            Ok(t) => assert_close_to_now(t, "created"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}"),
        }
    });
}

#[test]
fn timestamps_before_the_epoch_and_with_nanoseconds_match_std() {
    run(|| async {
        let (_dir, path) = temp_file(b"times");
        let before_epoch = UNIX_EPOCH - Duration::from_millis(1500);
        let precise = UNIX_EPOCH + Duration::new(1_234_567_890, 123_456_789);
        {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_times(
                std::fs::FileTimes::new()
                    .set_modified(before_epoch)
                    .set_accessed(precise),
            )
            .unwrap();
        }
        let md = fs::metadata(&path).await.unwrap();
        let std_md = std::fs::metadata(&path).unwrap();
        assert_eq!(md.modified().unwrap(), std_md.modified().unwrap());
        assert_eq!(md.accessed().unwrap(), std_md.accessed().unwrap());
        // Where the file system keeps these times exactly, so must we.
        if std_md.modified().unwrap() == before_epoch {
            assert_eq!(md.modified().unwrap(), before_epoch);
        }
        if std_md.accessed().unwrap() == precise {
            assert_eq!(md.accessed().unwrap(), precise);
        }
    });
}

#[test]
fn permissions_and_mode_reflect_chmod() {
    run(|| async {
        let (_dir, path) = temp_file(b"perm");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let md = fs::metadata(&path).await.unwrap();
        assert_eq!(md.mode() & 0o7777, 0o640);
        assert_eq!(md.mode() & libc::S_IFMT, libc::S_IFREG);
        assert_eq!(md.permissions().mode() & 0o7777, 0o640);
        assert!(!md.permissions().readonly());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let md = fs::metadata(&path).await.unwrap();
        assert_eq!(md.mode() & 0o7777, 0o444);
        assert!(md.permissions().readonly());
    });
}

// ---------------------------------------------------------------------------
// Operations on names
// ---------------------------------------------------------------------------

#[test]
fn remove_file_removes_a_file_and_a_second_removal_is_not_found() {
    run(|| async {
        let (_dir, path) = temp_file(b"bye");
        fs::remove_file(&path).await.expect("remove_file");
        assert!(!path.exists());
        assert_eq!(
            err_kind(fs::remove_file(&path).await, "second remove_file"),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn remove_file_on_a_directory_fails_with_is_a_directory() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(
            err_kind(fs::remove_file(&sub).await, "remove_file of a directory"),
            ErrorKind::IsADirectory
        );
        assert!(sub.is_dir(), "the directory is still there");
    });
}

#[test]
fn remove_file_on_a_symlink_removes_only_the_link() {
    run(|| async {
        let (dir, path) = temp_file(b"target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        fs::remove_file(&link).await.expect("remove the link");
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"target");
    });
}

#[test]
fn remove_dir_removes_an_empty_directory() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("empty");
        std::fs::create_dir(&sub).unwrap();
        fs::remove_dir(&sub).await.expect("remove_dir");
        assert!(!sub.exists());
    });
}

#[test]
fn remove_dir_on_a_non_empty_directory_fails_with_directory_not_empty() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("full");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("f"), b"x").unwrap();
        assert_eq!(
            err_kind(fs::remove_dir(&sub).await, "remove_dir"),
            ErrorKind::DirectoryNotEmpty
        );
        assert!(sub.join("f").exists());
    });
}

#[test]
fn remove_dir_on_a_regular_file_fails_with_not_a_directory() {
    run(|| async {
        let (_dir, path) = temp_file(b"x");
        assert_eq!(
            err_kind(fs::remove_dir(&path).await, "remove_dir of a file"),
            ErrorKind::NotADirectory
        );
        assert!(path.exists());
    });
}

#[test]
fn remove_dir_on_a_missing_path_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            err_kind(fs::remove_dir(dir.path().join("nope")).await, "remove_dir"),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn rename_moves_a_file_and_keeps_its_contents_and_inode() {
    run(|| async {
        let data = pattern(5000, 9);
        let (dir, from) = temp_file(&data);
        let ino = std::fs::metadata(&from).unwrap().ino();
        let to = dir.path().join("renamed.bin");
        fs::rename(&from, &to).await.expect("rename");
        assert!(!from.exists());
        assert_eq!(std::fs::read(&to).unwrap(), data);
        assert_eq!(fs::metadata(&to).await.unwrap().ino(), ino);
    });
}

#[test]
fn rename_replaces_an_existing_destination_file() {
    run(|| async {
        let (dir, from) = temp_file(b"new contents");
        let to = dir.path().join("old");
        std::fs::write(&to, b"old contents that are longer").unwrap();
        fs::rename(&from, &to).await.expect("rename over a file");
        assert_eq!(std::fs::read(&to).unwrap(), b"new contents");
        assert!(!from.exists());
    });
}

#[test]
fn rename_moves_a_directory_with_its_entries() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir_all(a.join("inner")).unwrap();
        std::fs::write(a.join("inner/f"), b"f").unwrap();
        let b = dir.path().join("b");
        fs::rename(&a, &b).await.expect("rename a directory");
        assert!(!a.exists());
        assert_eq!(std::fs::read(b.join("inner/f")).unwrap(), b"f");
    });
}

#[test]
fn rename_of_a_missing_source_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let res = fs::rename(dir.path().join("nope"), dir.path().join("to")).await;
        assert_eq!(err_kind(res, "rename"), ErrorKind::NotFound);
        assert!(!dir.path().join("to").exists());
    });
}

#[test]
fn rename_into_a_missing_directory_is_not_found() {
    run(|| async {
        let (dir, from) = temp_file(b"x");
        let res = fs::rename(&from, dir.path().join("missing/to")).await;
        assert_eq!(err_kind(res, "rename"), ErrorKind::NotFound);
        assert!(from.exists());
    });
}

#[test]
fn rename_a_file_over_a_directory_fails_with_is_a_directory() {
    run(|| async {
        let (dir, from) = temp_file(b"x");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(
            err_kind(fs::rename(&from, &sub).await, "rename file over dir"),
            ErrorKind::IsADirectory
        );
        assert!(from.exists() && sub.is_dir());
    });
}

#[test]
fn rename_a_directory_over_a_non_empty_directory_fails_with_directory_not_empty() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("f"), b"x").unwrap();
        let kind = err_kind(fs::rename(&a, &b).await, "rename dir over non-empty dir");
        assert!(
            kind == ErrorKind::DirectoryNotEmpty || kind == ErrorKind::AlreadyExists,
            "{kind:?}"
        );
        assert!(a.is_dir() && b.join("f").exists());
    });
}

#[test]
fn rename_a_directory_over_an_empty_directory_replaces_it() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join("f"), b"x").unwrap();
        std::fs::create_dir(&b).unwrap();
        fs::rename(&a, &b).await.expect("rename over an empty dir");
        assert!(!a.exists() && b.join("f").exists());
    });
}

#[test]
fn rename_a_directory_over_a_regular_file_fails_with_not_a_directory() {
    run(|| async {
        let (dir, file) = temp_file(b"x");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(
            err_kind(fs::rename(&sub, &file).await, "rename dir over file"),
            ErrorKind::NotADirectory
        );
        assert!(sub.is_dir() && file.is_file());
    });
}

#[test]
fn create_dir_creates_a_directory_and_a_second_call_is_already_exists() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("new");
        fs::create_dir(&sub).await.expect("create_dir");
        assert!(fs::metadata(&sub).await.unwrap().is_dir());
        assert_eq!(
            err_kind(fs::create_dir(&sub).await, "second create_dir"),
            ErrorKind::AlreadyExists
        );
        let (_d2, file) = temp_file(b"x");
        assert_eq!(
            err_kind(fs::create_dir(&file).await, "create_dir over a file"),
            ErrorKind::AlreadyExists
        );
    });
}

#[test]
fn create_dir_with_a_missing_parent_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("missing/child");
        assert_eq!(
            err_kind(fs::create_dir(&deep).await, "create_dir"),
            ErrorKind::NotFound
        );
        assert!(!dir.path().join("missing").exists());
    });
}

#[test]
fn create_dir_under_a_regular_file_fails_with_not_a_directory() {
    run(|| async {
        let (_dir, file) = temp_file(b"x");
        assert_eq!(
            err_kind(fs::create_dir(file.join("sub")).await, "create_dir"),
            ErrorKind::NotADirectory
        );
    });
}

#[test]
fn create_dir_all_creates_deep_paths() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c/d/e/f/g/h");
        fs::create_dir_all(&deep).await.expect("create_dir_all");
        assert!(deep.is_dir());
        let mut at = deep.as_path();
        while at != dir.path() {
            assert!(fs::metadata(at).await.unwrap().is_dir(), "{at:?}");
            at = at.parent().unwrap();
        }
    });
}

#[test]
fn create_dir_all_on_an_existing_directory_succeeds() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path()).await.expect("existing dir");
        let sub = dir.path().join("x/y");
        fs::create_dir_all(&sub).await.expect("first");
        std::fs::write(sub.join("keep"), b"k").unwrap();
        fs::create_dir_all(&sub)
            .await
            .expect("second, on an existing dir");
        fs::create_dir_all(dir.path().join("x"))
            .await
            .expect("an existing parent");
        assert_eq!(
            std::fs::read(sub.join("keep")).unwrap(),
            b"k",
            "nothing replaced"
        );
        fs::create_dir_all("/").await.expect("the root");
    });
}

#[test]
fn create_dir_all_over_a_regular_file_fails_with_already_exists_or_not_a_directory() {
    run(|| async {
        let (_dir, file) = temp_file(b"in the way");
        let kind = err_kind(
            fs::create_dir_all(&file).await,
            "create_dir_all over a file",
        );
        assert!(
            kind == ErrorKind::AlreadyExists || kind == ErrorKind::NotADirectory,
            "{kind:?}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"in the way");
    });
}

#[test]
fn create_dir_all_through_a_regular_file_fails_with_already_exists_or_not_a_directory() {
    run(|| async {
        let (_dir, file) = temp_file(b"in the way");
        let kind = err_kind(
            fs::create_dir_all(file.join("a/b")).await,
            "create_dir_all through a file",
        );
        assert!(
            kind == ErrorKind::AlreadyExists || kind == ErrorKind::NotADirectory,
            "{kind:?}"
        );
        assert!(file.is_file());
    });
}

#[test]
fn create_dir_all_through_a_dangling_symlink_fails() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let ours = fs::create_dir_all(link.join("sub")).await;
        let theirs = std::fs::create_dir_all(link.join("sub"));
        assert_eq!(
            err_kind(ours, "create_dir_all through a dangling link"),
            err_kind(theirs, "std create_dir_all")
        );
    });
}

#[test]
fn create_dir_all_with_an_empty_path_succeeds() {
    run(|| async {
        fs::create_dir_all("").await.expect("empty path, as std");
    });
}

#[test]
fn create_dir_all_accepts_trailing_slashes_and_dot_components() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap().to_string();
        fs::create_dir_all(format!("{base}/one/two/"))
            .await
            .expect("trailing slash");
        assert!(dir.path().join("one/two").is_dir());
        fs::create_dir_all(format!("{base}/one/./three/../four"))
            .await
            .expect("dot components");
        assert!(dir.path().join("one/four").is_dir());
        assert!(dir.path().join("one/three").is_dir());
    });
}

#[test]
fn concurrent_create_dir_all_of_overlapping_paths_all_succeed() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..24)
            .map(|i| dir.path().join(format!("p/q/r{}/s/t{}", i % 3, i % 5)))
            .collect();
        let results = join_all(paths.iter().map(fs::create_dir_all)).await;
        for (p, r) in paths.iter().zip(results) {
            r.unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert!(p.is_dir());
        }
    });
}

#[test]
fn hard_link_gives_the_file_a_second_name() {
    run(|| async {
        let (dir, path) = temp_file(b"linked");
        let second = dir.path().join("second");
        fs::hard_link(&path, &second).await.expect("hard_link");
        let a = fs::metadata(&path).await.unwrap();
        let b = fs::metadata(&second).await.unwrap();
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.nlink(), 2);
        assert_eq!(b.nlink(), 2);
        assert_eq!(std::fs::read(&second).unwrap(), b"linked");
        fs::remove_file(&path).await.unwrap();
        assert_eq!(fs::metadata(&second).await.unwrap().nlink(), 1);
        assert_eq!(std::fs::read(&second).unwrap(), b"linked");
    });
}

#[test]
fn hard_link_onto_an_existing_name_fails_with_already_exists() {
    run(|| async {
        let (dir, path) = temp_file(b"a");
        let other = dir.path().join("other");
        std::fs::write(&other, b"b").unwrap();
        assert_eq!(
            err_kind(fs::hard_link(&path, &other).await, "hard_link"),
            ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&other).unwrap(), b"b");
    });
}

#[test]
fn hard_link_of_a_missing_source_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let res = fs::hard_link(dir.path().join("nope"), dir.path().join("link")).await;
        assert_eq!(err_kind(res, "hard_link"), ErrorKind::NotFound);
    });
}

#[test]
fn hard_link_of_a_directory_fails() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let res = fs::hard_link(&sub, dir.path().join("link")).await;
        let _ = err_kind(res, "hard_link of a directory");
        assert!(!dir.path().join("link").exists());
    });
}

#[test]
fn symlink_creates_a_link_to_its_target() {
    run(|| async {
        let (dir, path) = temp_file(b"pointed at");
        let link = dir.path().join("link");
        // A relative target is resolved from the link's directory.
        fs::symlink("data.bin", &link).await.expect("symlink");
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("data.bin"));
        let own = fs::symlink_metadata(&link).await.unwrap();
        assert!(own.is_symlink());
        assert_eq!(own.len(), "data.bin".len() as u64);
        let followed = fs::metadata(&link).await.unwrap();
        assert_eq!(followed.ino(), std::fs::metadata(&path).unwrap().ino());
        assert_eq!(fs::read(&link).await.unwrap(), b"pointed at");
    });
}

#[test]
fn symlink_to_a_missing_target_is_created_dangling() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        fs::symlink(dir.path().join("later"), &link)
            .await
            .expect("dangling symlink");
        assert!(fs::symlink_metadata(&link).await.unwrap().is_symlink());
        assert_eq!(
            err_kind(fs::metadata(&link).await, "metadata"),
            ErrorKind::NotFound
        );
        std::fs::write(dir.path().join("later"), b"now").unwrap();
        assert!(fs::metadata(&link).await.unwrap().is_file());
    });
}

#[test]
fn symlink_onto_an_existing_name_fails_with_already_exists() {
    run(|| async {
        let (dir, path) = temp_file(b"x");
        let res = fs::symlink(dir.path().join("whatever"), &path).await;
        assert_eq!(err_kind(res, "symlink"), ErrorKind::AlreadyExists);
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    });
}

#[test]
fn errors_of_name_operations_name_the_paths() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-name-xyz");
        let to = dir.path().join("target-name-abc");
        let msg = fs::remove_file(&missing).await.unwrap_err().to_string();
        assert!(msg.contains("missing-name-xyz"), "{msg}");
        let msg = fs::rename(&missing, &to).await.unwrap_err().to_string();
        assert!(
            msg.contains("missing-name-xyz") && msg.contains("target-name-abc"),
            "{msg}"
        );
        let msg = fs::create_dir(missing.join("child-qq"))
            .await
            .unwrap_err()
            .to_string();
        assert!(msg.contains("child-qq"), "{msg}");
        let msg = fs::read(&missing).await.unwrap_err().to_string();
        assert!(msg.contains("missing-name-xyz"), "{msg}");
    });
}

#[test]
fn paths_with_an_interior_nul_are_invalid_input() {
    run(|| async {
        let (dir, good) = temp_file(b"good");
        let bad = dir.path().join("a\0b");
        assert_eq!(
            err_kind(fs::metadata(&bad).await, "metadata"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::symlink_metadata(&bad).await, "symlink_metadata"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::remove_file(&bad).await, "remove_file"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::remove_dir(&bad).await, "remove_dir"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::rename(&bad, dir.path().join("c")).await, "rename from"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::rename(&good, &bad).await, "rename to"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::create_dir(&bad).await, "create_dir"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::create_dir_all(bad.join("x")).await, "create_dir_all"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::hard_link(&good, &bad).await, "hard_link"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::symlink(&bad, dir.path().join("l")).await, "symlink"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::read(&bad).await, "read"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            err_kind(fs::write(&bad, b"x" as &'static [u8]).await, "write"),
            ErrorKind::InvalidInput
        );
        // Nothing was created under the prefix before the NUL, and the good
        // file is untouched.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("data.bin")]);
        assert_eq!(std::fs::read(&good).unwrap(), b"good");
    });
}

// ---------------------------------------------------------------------------
// Whole-file read and write
// ---------------------------------------------------------------------------

#[test]
fn read_returns_a_large_file_whole() {
    run(|| async {
        let data = pattern(5 * 1024 * 1024 + 123, 4);
        let (_dir, path) = temp_file(&data);
        let got = fs::read(&path).await.expect("read");
        assert_eq!(got.len(), data.len());
        assert_eq!(first_difference(&got, &data), None);
    });
}

#[test]
fn read_returns_files_around_the_first_read_size_whole() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [1usize, 8191, 8192, 8193, 16384, 65537]
            .into_iter()
            .enumerate()
        {
            let data = pattern(len, i as u8);
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(fs::read(&path).await.expect("read"), data, "len {len}");
        }
    });
}

#[test]
fn read_of_an_empty_file_is_empty() {
    run(|| async {
        let (_dir, path) = temp_file(b"");
        assert_eq!(fs::read(&path).await.expect("read"), Vec::<u8>::new());
    });
}

#[test]
fn read_of_a_missing_file_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            err_kind(fs::read(dir.path().join("missing")).await, "read"),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn read_of_proc_self_status_reads_past_the_reported_size_zero() {
    run(|| async {
        let md = fs::metadata("/proc/self/status").await.unwrap();
        assert_eq!(md.len(), 0, "procfs reports size 0");
        let ours = fs::read("/proc/self/status")
            .await
            .expect("read /proc/self/status");
        let theirs = std::fs::read("/proc/self/status").unwrap();
        assert!(!ours.is_empty());
        let keys = |b: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(b)
                .lines()
                .map(|l| l.split(':').next().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(keys(&ours), keys(&theirs), "same lines, in the same order");
        assert!(ours.starts_with(b"Name:"));
        assert!(ours.ends_with(b"\n"));
    });
}

#[test]
fn read_of_a_directory_fails_like_std() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let ours = err_kind(fs::read(dir.path()).await, "read of a directory");
        let theirs = err_kind(std::fs::read(dir.path()), "std read of a directory");
        assert_eq!(ours, theirs);
    });
}

#[test]
fn write_accepts_vec_static_slice_and_bytes() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("vec");
        let b = dir.path().join("static");
        let c = dir.path().join("bytes");
        fs::write(&a, b"from a vec".to_vec())
            .await
            .expect("write Vec");
        fs::write(&b, b"from a static slice" as &'static [u8])
            .await
            .expect("write &'static [u8]");
        fs::write(&c, Bytes::from_static(b"from bytes"))
            .await
            .expect("write Bytes");
        assert_eq!(std::fs::read(&a).unwrap(), b"from a vec");
        assert_eq!(std::fs::read(&b).unwrap(), b"from a static slice");
        assert_eq!(std::fs::read(&c).unwrap(), b"from bytes");
        assert!(fs::metadata(&a).await.unwrap().is_file());
    });
}

#[test]
fn write_truncates_a_longer_existing_file() {
    run(|| async {
        let (_dir, path) = temp_file(&pattern(100_000, 5));
        let ino = std::fs::metadata(&path).unwrap().ino();
        fs::write(&path, b"short".to_vec()).await.expect("write");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            ino,
            "same file, truncated"
        );
    });
}

#[test]
fn write_of_empty_data_leaves_an_empty_file() {
    run(|| async {
        let (_dir, path) = temp_file(b"something");
        fs::write(&path, Vec::new()).await.expect("write empty");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh");
        fs::write(&fresh, b"" as &'static [u8])
            .await
            .expect("write empty, new");
        assert!(fresh.is_file());
        assert_eq!(std::fs::metadata(&fresh).unwrap().len(), 0);
    });
}

#[test]
fn write_then_read_round_trips_a_large_buffer() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data = pattern(3 * 1024 * 1024 + 7, 6);
        fs::write(&path, Bytes::from(data.clone()))
            .await
            .expect("write");
        let back = fs::read(&path).await.expect("read");
        assert_eq!(first_difference(&back, &data), None);
        assert_eq!(back.len(), data.len());
    });
}

#[test]
fn write_into_a_missing_directory_is_not_found() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let res = fs::write(dir.path().join("missing/f"), b"x".to_vec()).await;
        assert_eq!(err_kind(res, "write"), ErrorKind::NotFound);
    });
}

#[test]
fn write_to_a_directory_path_fails_with_is_a_directory() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let res = fs::write(dir.path(), b"x".to_vec()).await;
        assert_eq!(err_kind(res, "write to a dir"), ErrorKind::IsADirectory);
    });
}

#[test]
#[ignore = "needs 4 GiB of memory: run with --include-ignored (regression test: fs::read of files over u32::MAX bytes)"]
fn read_of_a_sparse_file_of_more_than_4_gib_returns_it_whole() {
    run_alone(|| async {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        let len = (1u64 << 32) + 4099;
        {
            let f = std::fs::File::create(&path).unwrap();
            f.set_len(len).unwrap();
            f.write_all_at(b"tail", len - 4).unwrap();
        }
        let got = fs::read(&path).await.expect("read of a file over 4 GiB");
        assert_eq!(got.len() as u64, len);
        assert_eq!(&got[got.len() - 4..], b"tail");
        assert_eq!(got[0], 0);
        assert_eq!(got[1 << 32], 0);
    });
}

#[test]
#[ignore = "needs 4 GiB of address space: run with --include-ignored (regression test: writes over u32::MAX bytes)"]
fn write_of_more_than_4_gib_writes_it_all() {
    run_alone(|| async {
        // /dev/null takes any amount at once: nothing reaches a disk.
        let data = vec![0u8; (1usize << 32) + 1];
        fs::write("/dev/null", data)
            .await
            .expect("write of more than u32::MAX bytes");
    });
}

const HUGE_READ_CHILD: &str = "CORIO_FS_OPS_HUGE_READ_CHILD";
const HUGE_READ_TEST: &str =
    "read_of_a_huge_sparse_file_fails_with_out_of_memory_instead_of_aborting";

#[test]
fn read_of_a_huge_sparse_file_fails_with_out_of_memory_instead_of_aborting() {
    if std::env::var_os(HUGE_READ_CHILD).is_some() {
        // The child: an abort here kills only this process.
        with_time_limit(LIMIT, || {
            corio::block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("huge");
                std::fs::File::create(&path)
                    .unwrap()
                    .set_len(1 << 43)
                    .unwrap();
                let res = fs::read(&path).await;
                assert_eq!(err_kind(res, "read of 8 TiB"), ErrorKind::OutOfMemory);
            })
        });
        println!("huge-read-child-done");
        return;
    }
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    if overcommit.trim() == "1" {
        eprintln!("overcommit_memory=1: an 8 TiB allocation would succeed; skipped");
        return;
    }
    let _alone = FD_LOCK.write().unwrap_or_else(PoisonError::into_inner);
    let out = run_ignored_self_as_child(HUGE_READ_TEST, HUGE_READ_CHILD, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("huge-read-child-done"),
        "child {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
}

/// As `common::run_self_as_child`, for a test that is `#[ignore]`d (the
/// child must be told to run it).
fn run_ignored_self_as_child(test: &str, env_key: &str, limit: Duration) -> std::process::Output {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([
            test,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(env_key, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let start = std::time::Instant::now();
    for _ in 0..100_000 {
        if child.try_wait().expect("try_wait").is_some() || start.elapsed() > limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if child.try_wait().expect("try_wait").is_none() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("child output")
}

// ---------------------------------------------------------------------------
// set_len and allocate
// ---------------------------------------------------------------------------

async fn open_rw(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .await
        .expect("open read+write")
}

#[test]
fn set_len_grows_a_file_with_zeros() {
    run(|| async {
        let (_dir, path) = temp_file(b"abc");
        let f = open_rw(&path).await;
        f.set_len(10).await.expect("set_len grow");
        assert_eq!(f.metadata().await.unwrap().len(), 10);
        let mut expected = b"abc".to_vec();
        expected.resize(10, 0);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        f.set_len(1 << 20).await.expect("set_len to 1 MiB");
        let all = fs::read(&path).await.unwrap();
        assert_eq!(all.len(), 1 << 20);
        assert!(all[3..].iter().all(|&b| b == 0));
        f.close().await.unwrap();
    });
}

#[test]
fn set_len_shrinks_a_file() {
    run(|| async {
        let data = pattern(10_000, 7);
        let (_dir, path) = temp_file(&data);
        let f = open_rw(&path).await;
        f.set_len(1).await.expect("shrink");
        assert_eq!(std::fs::read(&path).unwrap(), &data[..1]);
        f.set_len(0).await.expect("to zero");
        assert!(f.metadata().await.unwrap().is_empty());
        f.close().await.unwrap();
    });
}

#[test]
fn set_len_on_a_read_only_file_fails_without_panicking() {
    run(|| async {
        let (_dir, path) = temp_file(b"hello");
        let f = File::open(&path).await.unwrap();
        let res = f.set_len(1).await;
        assert!(res.is_err(), "set_len on a read-only file: {res:?}");
        let res = f.set_len(100).await;
        assert!(res.is_err(), "set_len on a read-only file: {res:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        // The file and the runtime still work.
        let (res, buf) = f.read_at(Vec::with_capacity(16), 0).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(buf, b"hello");
        f.close().await.unwrap();
    });
}

#[test]
fn set_len_past_i64_max_is_invalid_input() {
    run(|| async {
        let (_dir, path) = temp_file(b"keep");
        let f = open_rw(&path).await;
        for size in [i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(
                err_kind(f.set_len(size).await, "set_len past i64::MAX"),
                ErrorKind::InvalidInput,
                "{size}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        f.close().await.unwrap();
    });
}

#[test]
fn allocate_grows_a_file_to_cover_the_range() {
    run(|| async {
        let (_dir, path) = temp_file(b"0123456789");
        let f = open_rw(&path).await;
        match f.allocate(0, 4096).await {
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                eprintln!("allocate unsupported here: {e}");
                return;
            }
            res => res.expect("allocate"),
        }
        let md = f.metadata().await.unwrap();
        assert_eq!(md.len(), 4096);
        assert!(
            md.blocks() >= 8,
            "4096 bytes are allocated: {} blocks",
            md.blocks()
        );
        f.allocate(8192, 100).await.expect("allocate past the end");
        assert_eq!(f.metadata().await.unwrap().len(), 8292);
        let all = std::fs::read(&path).unwrap();
        assert_eq!(&all[..10], b"0123456789");
        assert!(all[10..].iter().all(|&b| b == 0));
        f.close().await.unwrap();
    });
}

#[test]
fn allocate_inside_the_file_keeps_its_length_and_contents() {
    run(|| async {
        let data = pattern(20_000, 8);
        let (_dir, path) = temp_file(&data);
        let f = open_rw(&path).await;
        match f.allocate(100, 1000).await {
            Err(e) if e.kind() == ErrorKind::Unsupported => return,
            res => res.expect("allocate"),
        }
        assert_eq!(f.metadata().await.unwrap().len(), 20_000);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        f.close().await.unwrap();
    });
}

#[test]
fn allocate_ending_past_i64_max_is_invalid_input() {
    run(|| async {
        let (_dir, path) = temp_file(b"keep");
        let f = open_rw(&path).await;
        let max = i64::MAX as u64;
        for (offset, len) in [
            (max, 1),
            (1, max),
            (max / 2 + 1, max / 2 + 1),
            (u64::MAX, 1),
            (1, u64::MAX),
            (u64::MAX, u64::MAX),
        ] {
            assert_eq!(
                err_kind(f.allocate(offset, len).await, "allocate past i64::MAX"),
                ErrorKind::InvalidInput,
                "allocate({offset}, {len})"
            );
        }
        assert_eq!(f.metadata().await.unwrap().len(), 4);
        f.close().await.unwrap();
    });
}

#[test]
fn allocate_on_a_read_only_file_fails_without_panicking() {
    run(|| async {
        let (_dir, path) = temp_file(b"ro");
        let f = File::open(&path).await.unwrap();
        let res = f.allocate(0, 4096).await;
        assert!(res.is_err(), "allocate on a read-only file: {res:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"ro");
        f.close().await.unwrap();
    });
}

// ---------------------------------------------------------------------------
// readv_at / writev_at
// ---------------------------------------------------------------------------

#[test]
fn writev_then_readv_round_trips_buffers_of_different_sizes() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vec.bin");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let parts = vec![
            b"ab".to_vec(),
            b"cdef".to_vec(),
            Vec::new(),
            b"ghi".to_vec(),
        ];
        let (res, back) = f.writev_at(parts.clone(), 3).await;
        assert_eq!(res.expect("writev_at"), 9);
        assert_eq!(back, parts, "the buffers come back unchanged");
        assert_eq!(std::fs::read(&path).unwrap(), b"\0\0\0abcdefghi");

        let bufs = vec![
            Vec::with_capacity(1),
            Vec::with_capacity(4),
            Vec::with_capacity(2),
            Vec::with_capacity(10),
        ];
        let caps = capacities(&bufs);
        let (res, bufs) = f.readv_at(bufs, 0).await;
        let n = res.expect("readv_at");
        assert_eq!(n, 12);
        let lens: Vec<usize> = bufs.iter().map(Vec::len).collect();
        assert_eq!(lens, spread(12, &caps));
        assert_eq!(bufs.concat(), b"\0\0\0abcdefghi");

        // Large buffers of odd sizes, read back into differently cut ones.
        let data = pattern(300_001, 11);
        let parts: Vec<Vec<u8>> = [0..1, 1..70_000, 70_000..70_000, 70_000..300_001]
            .into_iter()
            .map(|r| data[r].to_vec())
            .collect();
        let (res, _) = f.writev_at(parts, 1000).await;
        assert_eq!(res.expect("large writev_at"), data.len());
        let bufs: Vec<Vec<u8>> = [4096usize, 100_000, 3, 250_000]
            .into_iter()
            .map(Vec::with_capacity)
            .collect();
        let caps = capacities(&bufs);
        let (res, bufs) = f.readv_at(bufs, 1000).await;
        let n = res.expect("large readv_at");
        assert_eq!(n, data.len().min(caps.iter().sum()));
        let lens: Vec<usize> = bufs.iter().map(Vec::len).collect();
        assert_eq!(lens, spread(n, &caps));
        assert_eq!(first_difference(&bufs.concat(), &data[..n]), None);
        f.close().await.unwrap();
    });
}

#[test]
fn writev_accepts_bytes_and_static_slices() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        let f = File::create(&path).await.unwrap();
        let (res, _) = f
            .writev_at(
                vec![Bytes::from_static(b"one "), Bytes::from(b"two ".to_vec())],
                0,
            )
            .await;
        assert_eq!(res.unwrap(), 8);
        let statics: Vec<&'static [u8]> = vec![b"three ", b"four"];
        let (res, back) = f.writev_at(statics, 8).await;
        assert_eq!(res.unwrap(), 10);
        assert_eq!(back, vec![b"three " as &[u8], b"four"]);
        f.close().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one two three four");
    });
}

#[test]
fn readv_at_end_of_file_returns_zero_and_empties_every_buffer() {
    run(|| async {
        let (_dir, path) = temp_file(b"12345");
        let f = File::open(&path).await.unwrap();
        for pos in [5u64, 6, 1 << 40] {
            let bufs = vec![vec![9u8; 4], Vec::with_capacity(8), vec![7u8; 1]];
            let (res, bufs) = f.readv_at(bufs, pos).await;
            assert_eq!(res.expect("readv_at at EOF"), 0, "pos {pos}");
            assert_eq!(bufs.len(), 3);
            for b in &bufs {
                assert!(b.is_empty(), "pos {pos}: a buffer kept {} bytes", b.len());
            }
        }
        f.close().await.unwrap();
    });
}

#[test]
fn readv_past_partial_data_leaves_later_buffers_empty() {
    run(|| async {
        let (_dir, path) = temp_file(b"hello");
        let f = File::open(&path).await.unwrap();
        let bufs = vec![vec![0xAAu8; 3], vec![0xBB; 4], vec![0xCC; 8]];
        let (res, bufs) = f.readv_at(bufs, 0).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(bufs[0], b"hel");
        assert_eq!(bufs[1], b"lo");
        assert!(bufs[2].is_empty());

        let bufs = vec![Vec::with_capacity(2), Vec::with_capacity(2)];
        let (res, bufs) = f.readv_at(bufs, 4).await;
        assert_eq!(res.unwrap(), 1);
        assert_eq!(bufs[0], b"o");
        assert!(bufs[1].is_empty());
        f.close().await.unwrap();
    });
}

#[test]
fn readv_into_slices_appends_after_existing_bytes() {
    run(|| async {
        let (_dir, path) = temp_file(b"abcdefgh");
        let f = File::open(&path).await.unwrap();
        let mut first = b"xy".to_vec();
        first.reserve_exact(3);
        let first_cap = first.capacity();
        let bufs = vec![first.slice(2..), Vec::with_capacity(100).slice(..)];
        let (res, bufs) = f.readv_at(bufs, 0).await;
        assert_eq!(res.unwrap(), 8);
        let bufs: Vec<Vec<u8>> = bufs.into_iter().map(|s| s.into_inner()).collect();
        let head = first_cap - 2;
        assert_eq!(bufs[0][..2], *b"xy");
        assert_eq!(bufs[0][2..], b"abcdefgh"[..head]);
        assert_eq!(bufs[1], b"abcdefgh"[head..]);
        f.close().await.unwrap();
    });
}

#[test]
fn readv_into_a_slice_starting_past_initialised_bytes_is_invalid_input() {
    run(|| async {
        let (_dir, path) = temp_file(b"abcdefgh");
        let f = File::open(&path).await.unwrap();
        let bufs = vec![
            Vec::with_capacity(4).slice(..),
            Vec::with_capacity(10).slice(5..),
        ];
        let (res, bufs) = f.readv_at(bufs, 0).await;
        assert_eq!(
            err_kind(res, "readv_at into a gap"),
            ErrorKind::InvalidInput
        );
        assert_eq!(bufs.len(), 2);
        assert!(
            bufs.iter().all(|s| s.get_ref().is_empty()),
            "nothing was read"
        );
        f.close().await.unwrap();
    });
}

#[test]
fn readv_and_writev_of_no_buffers_transfer_nothing() {
    run(|| async {
        let (_dir, path) = temp_file(b"abc");
        let f = open_rw(&path).await;
        let (res, bufs) = f.readv_at(Vec::<Vec<u8>>::new(), 0).await;
        assert_eq!(res.expect("empty readv"), 0);
        assert!(bufs.is_empty());
        let (res, _) = f.writev_at(Vec::<Vec<u8>>::new(), 0).await;
        assert_eq!(res.expect("empty writev"), 0);
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        f.close().await.unwrap();
    });
}

#[test]
fn readv_and_writev_of_exactly_1024_buffers_succeed() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iov");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let data = pattern(2048, 12);
        let parts: Vec<Vec<u8>> = data.chunks(2).map(<[u8]>::to_vec).collect();
        assert_eq!(parts.len(), 1024);
        let (res, _) = f.writev_at(parts, 0).await;
        assert_eq!(res.expect("writev of 1024 buffers"), 2048);
        let bufs: Vec<Vec<u8>> = (0..1024).map(|_| Vec::with_capacity(2)).collect();
        let (res, bufs) = f.readv_at(bufs, 0).await;
        assert_eq!(res.expect("readv of 1024 buffers"), 2048);
        assert_eq!(bufs.concat(), data);
        f.close().await.unwrap();
    });
}

#[test]
fn readv_and_writev_of_more_than_1024_buffers_are_invalid_input_and_return_the_buffers() {
    run(|| async {
        let (_dir, path) = temp_file(&pattern(4096, 13));
        let f = open_rw(&path).await;
        let bufs: Vec<Vec<u8>> = (0..1025).map(|i| vec![i as u8; 1]).collect();
        let (res, back) = f.readv_at(bufs.clone(), 0).await;
        assert_eq!(err_kind(res, "readv of 1025"), ErrorKind::InvalidInput);
        assert_eq!(back, bufs, "the buffers come back untouched");

        let (res, back) = f.writev_at(bufs.clone(), 0).await;
        assert_eq!(err_kind(res, "writev of 1025"), ErrorKind::InvalidInput);
        assert_eq!(back, bufs);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            pattern(4096, 13),
            "nothing written"
        );

        let many: Vec<Vec<u8>> = (0..5000).map(|_| Vec::with_capacity(1)).collect();
        let (res, back) = f.readv_at(many, 0).await;
        assert_eq!(err_kind(res, "readv of 5000"), ErrorKind::InvalidInput);
        assert_eq!(back.len(), 5000);
        f.close().await.unwrap();
    });
}

#[test]
fn readv_and_writev_past_i64_max_are_invalid_input() {
    run(|| async {
        let (_dir, path) = temp_file(b"keep");
        let f = open_rw(&path).await;
        for pos in [i64::MAX as u64 + 1, u64::MAX] {
            let (res, back) = f.readv_at(vec![Vec::with_capacity(4)], pos).await;
            assert_eq!(
                err_kind(res, "readv past i64::MAX"),
                ErrorKind::InvalidInput
            );
            assert_eq!(back.len(), 1);
            let (res, back) = f.writev_at(vec![b"zz".to_vec()], pos).await;
            assert_eq!(
                err_kind(res, "writev past i64::MAX"),
                ErrorKind::InvalidInput
            );
            assert_eq!(back, vec![b"zz".to_vec()]);
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        f.close().await.unwrap();
    });
}

#[test]
fn readv_on_a_fifo_is_invalid_input() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .await
            .expect("open fifo read+write");
        let (res, back) = f
            .readv_at(vec![Vec::with_capacity(8), Vec::with_capacity(8)], 0)
            .await;
        assert_eq!(err_kind(res, "readv on a fifo"), ErrorKind::InvalidInput);
        assert_eq!(back.len(), 2);
        // The FIFO still works with read_at, and nothing was consumed.
        let (res, _) = f.write_at(b"ping".to_vec(), 0).await;
        assert_eq!(res.unwrap(), 4);
        let (res, back) = f.readv_at(vec![Vec::with_capacity(8)], 0).await;
        assert_eq!(
            err_kind(res, "readv on a fifo with data"),
            ErrorKind::InvalidInput
        );
        assert!(back[0].is_empty());
        let (res, buf) = f.read_at(Vec::with_capacity(8), 0).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(buf, b"ping");
        f.close().await.unwrap();
    });
}

// ---------------------------------------------------------------------------
// Dropping operations early
// ---------------------------------------------------------------------------

#[test]
fn dropping_metadata_readv_and_read_after_one_poll_keeps_the_runtime_working() {
    run_alone(|| async {
        let data = pattern(64 * 1024, 14);
        let (dir, path) = temp_file(&data);
        settle().await;
        let base = fd_count();
        let file = File::open(&path).await.unwrap();
        let mut dropped_pending = 0usize;
        for i in 0..200usize {
            let ready = match i % 4 {
                0 => {
                    let mut fut = Box::pin(fs::metadata(&path));
                    let polled = poll_once(&mut fut).await;
                    if let Poll::Ready(res) = &polled {
                        let md = res.as_ref().expect("metadata");
                        assert_eq!(md.len(), data.len() as u64);
                    }
                    polled.is_ready()
                }
                1 => {
                    let pos = (i * 97) % data.len();
                    let bufs = vec![Vec::with_capacity(1 + i), Vec::with_capacity(4096)];
                    let mut fut = Box::pin(file.readv_at(bufs, pos as u64));
                    let polled = poll_once(&mut fut).await;
                    if let Poll::Ready((res, bufs)) = &polled {
                        let n = *res.as_ref().expect("readv_at");
                        assert_eq!(bufs.concat(), data[pos..pos + n]);
                    }
                    polled.is_ready()
                }
                2 => {
                    let mut fut = Box::pin(fs::read(&path));
                    let polled = poll_once(&mut fut).await;
                    if let Poll::Ready(res) = &polled {
                        assert_eq!(res.as_ref().expect("read"), &data);
                    }
                    polled.is_ready()
                }
                _ => {
                    let mut fut = Box::pin(file.metadata());
                    let polled = poll_once(&mut fut).await;
                    if let Poll::Ready(res) = &polled {
                        assert!(res.as_ref().expect("File::metadata").is_file());
                    }
                    polled.is_ready()
                }
            };
            if !ready {
                dropped_pending += 1;
            }
            if i % 16 == 0 {
                corio::nop().await.expect("nop between drops");
            }
        }
        assert!(
            dropped_pending > 100,
            "only {dropped_pending} of 200 operations were dropped while in flight"
        );
        // Everything still works, and gives the right answers.
        corio::nop().await.expect("nop");
        assert_eq!(fs::metadata(&path).await.unwrap().len(), data.len() as u64);
        let (res, bufs) = file
            .readv_at(vec![Vec::with_capacity(10), Vec::with_capacity(20)], 100)
            .await;
        assert_eq!(res.unwrap(), 30);
        assert_eq!(bufs.concat(), data[100..130]);
        assert_eq!(fs::read(&path).await.unwrap(), data);
        file.close().await.expect("close after dropped operations");
        assert_fds_back_to(base, "after 200 dropped operations").await;
        drop(dir);
    });
}

#[test]
fn timeouts_of_varying_length_on_fs_ops_leak_no_descriptors() {
    run_alone(|| async {
        let data = pattern(256 * 1024, 15);
        let (dir, path) = temp_file(&data);
        settle().await;
        let base = fd_count();
        let file = File::open(&path).await.unwrap();
        let mut completed = 0usize;
        for i in 0..200usize {
            let limit = if i % 5 == 0 {
                Duration::ZERO
            } else {
                Duration::from_micros(((i * 37) % 400) as u64 + 1)
            };
            match i % 3 {
                0 => {
                    if let Ok(res) = corio::time::timeout(limit, fs::metadata(&path)).await {
                        assert!(res.expect("metadata").is_file());
                        completed += 1;
                    }
                }
                1 => {
                    let pos = (i * 1013) % data.len();
                    let bufs = vec![Vec::with_capacity(3), Vec::with_capacity(64 * 1024)];
                    let fut = file.readv_at(bufs, pos as u64);
                    if let Ok((res, bufs)) = corio::time::timeout(limit, fut).await {
                        let n = res.expect("readv_at");
                        assert_eq!(bufs.concat(), data[pos..pos + n]);
                        completed += 1;
                    }
                }
                _ => {
                    if let Ok(res) = corio::time::timeout(limit, fs::read(&path)).await {
                        assert_eq!(first_difference(&res.expect("read"), &data), None);
                        completed += 1;
                    }
                }
            }
        }
        eprintln!("{completed} of 200 operations finished within their timeout");
        settle().await;
        assert_eq!(fs::read(&path).await.unwrap(), data);
        let (res, bufs) = file.readv_at(vec![Vec::with_capacity(5)], 7).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(bufs[0], data[7..12]);
        drop(file);
        assert_fds_back_to(base, "after 200 timed-out operations").await;
        drop(dir);
    });
}

#[test]
fn dropping_a_file_while_its_readv_and_metadata_are_in_flight_releases_the_descriptor() {
    run_alone(|| async {
        let data = pattern(128 * 1024, 16);
        let (dir, path) = temp_file(&data);
        settle().await;
        let base = fd_count();
        for i in 0..50usize {
            let file = File::open(&path).await.unwrap();
            {
                let mut readv = Box::pin(file.readv_at(
                    vec![Vec::with_capacity(100), Vec::with_capacity(100 * 1024)],
                    (i * 11) as u64,
                ));
                let mut md = Box::pin(file.metadata());
                let _ = poll_once(&mut readv).await;
                let _ = poll_once(&mut md).await;
            }
            if i % 2 == 0 {
                drop(file);
            } else {
                // close waits until the kernel is done with the dropped ops.
                file.close().await.expect("close after dropped ops");
            }
        }
        assert_fds_back_to(base, "files dropped with operations in flight").await;
        assert_eq!(fs::read(&path).await.unwrap(), data);
        drop(dir);
    });
}

#[test]
fn dropping_name_operations_after_one_poll_leaves_a_usable_tree() {
    run_alone(|| async {
        let dir = tempfile::tempdir().unwrap();
        settle().await;
        let base = fd_count();
        for i in 0..100usize {
            let sub = dir.path().join(format!("d{i}"));
            {
                let mut fut = Box::pin(fs::create_dir_all(sub.join("x/y")));
                let _ = poll_once(&mut fut).await;
            }
            settle().await;
            // Whatever got created, the tree is consistent and can be
            // completed and removed.
            fs::create_dir_all(sub.join("x/y"))
                .await
                .expect("finish create_dir_all");
            {
                let mut fut = Box::pin(fs::remove_dir(sub.join("x/y")));
                let _ = poll_once(&mut fut).await;
            }
            settle().await;
            match fs::remove_dir(sub.join("x/y")).await {
                Ok(()) => {}
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{e}"),
            }
            fs::remove_dir(sub.join("x")).await.expect("remove x");
            fs::remove_dir(&sub).await.expect("remove sub");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_fds_back_to(base, "dropped name operations").await;
    });
}

// ---------------------------------------------------------------------------
// Other tasks, other threads, no runtime
// ---------------------------------------------------------------------------

/// A round of operations on `root`, checked as it goes.
async fn exercise(root: PathBuf, seed: u8) {
    let data = pattern(70_000 + seed as usize, seed);
    let sub = root.join(format!("t{seed}/a/b"));
    fs::create_dir_all(&sub).await.expect("create_dir_all");
    let path = sub.join("f");
    fs::write(&path, data.clone()).await.expect("write");
    assert_eq!(fs::read(&path).await.expect("read"), data);
    let md = fs::metadata(&path).await.expect("metadata");
    assert_eq!(md.len(), data.len() as u64);

    let f = open_rw(&path).await;
    let (res, _) = f.writev_at(vec![b"AB".to_vec(), b"CD".to_vec()], 10).await;
    assert_eq!(res.expect("writev_at"), 4);
    let (res, bufs) = f
        .readv_at(vec![Vec::with_capacity(2), Vec::with_capacity(2)], 10)
        .await;
    assert_eq!(res.expect("readv_at"), 4);
    assert_eq!(bufs.concat(), b"ABCD");
    f.set_len(100).await.expect("set_len");
    assert_eq!(f.metadata().await.expect("File::metadata").len(), 100);
    f.close().await.expect("close");

    let moved = sub.join("g");
    fs::rename(&path, &moved).await.expect("rename");
    fs::hard_link(&moved, sub.join("h"))
        .await
        .expect("hard_link");
    fs::symlink("g", sub.join("s")).await.expect("symlink");
    assert!(fs::symlink_metadata(sub.join("s"))
        .await
        .unwrap()
        .is_symlink());
    for name in ["g", "h", "s"] {
        fs::remove_file(sub.join(name)).await.expect("remove_file");
    }
    fs::remove_dir(&sub).await.expect("remove_dir");
}

#[test]
fn fs_ops_work_from_spawned_tasks() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let handles: Vec<_> = (0..8u8)
            .map(|seed| corio::spawn(exercise(dir.path().to_path_buf(), seed)))
            .collect();
        for h in handles {
            h.await.expect("task");
        }
        // A task may own a File opened by its parent (no Send needed).
        let (_d, path) = temp_file(b"owned by a task");
        let f = File::open(&path).await.unwrap();
        let got = corio::spawn(async move {
            let (res, bufs) = f
                .readv_at(vec![Vec::with_capacity(5), Vec::with_capacity(50)], 0)
                .await;
            res.expect("readv_at in a task");
            let md = f.metadata().await.expect("metadata in a task");
            f.close().await.unwrap();
            (bufs.concat(), md.len())
        })
        .await
        .expect("task");
        assert_eq!(got.0, b"owned by a task");
        assert_eq!(got.1, 15);
    });
}

#[test]
fn fs_ops_work_from_other_threads_with_their_own_runtimes() {
    run(|| async {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let threads: Vec<_> = (0..4u8)
            .map(|seed| {
                let root = root.clone();
                std::thread::spawn(move || {
                    corio::block_on(exercise(root.clone(), seed));
                    // Metadata is Send: take one back to the test thread.
                    corio::block_on(fs::metadata(root))
                })
            })
            .collect();
        // This runtime keeps working meanwhile.
        for _ in 0..20 {
            corio::nop().await.unwrap();
            assert!(fs::metadata(dir.path()).await.unwrap().is_dir());
        }
        let ino = std::fs::metadata(dir.path()).unwrap().ino();
        for t in threads {
            let md = t.join().expect("thread").expect("metadata from a thread");
            assert_eq!(md.ino(), ino);
        }
    });
}

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once outside any runtime.
fn poll_without_runtime<F: Future>(fut: F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut fut = Box::pin(fut);
    Pin::new(&mut fut).poll(&mut cx)
}

#[test]
fn fs_ops_polled_outside_a_runtime_fail_without_panicking() {
    let _shared = FD_LOCK.read().unwrap_or_else(PoisonError::into_inner);
    with_time_limit(LIMIT, || {
        let (dir, path) = temp_file(b"no runtime");
        match poll_without_runtime(fs::metadata(&path)) {
            Poll::Ready(Err(_)) => {}
            other => panic!("metadata without a runtime: {other:?}"),
        }
        match poll_without_runtime(fs::create_dir_all(dir.path().join("a/b"))) {
            Poll::Ready(Err(_)) => {}
            other => panic!("create_dir_all without a runtime: {other:?}"),
        }
        match poll_without_runtime(fs::remove_file(&path)) {
            Poll::Ready(Err(_)) => {}
            other => panic!("remove_file without a runtime: {other:?}"),
        }
        match poll_without_runtime(fs::read(&path)) {
            Poll::Ready(Err(_)) => {}
            other => panic!("read without a runtime: {other:?}"),
        }
        let file = File::from(std::fs::File::open(&path).unwrap());
        match poll_without_runtime(file.readv_at(vec![Vec::with_capacity(4)], 0)) {
            Poll::Ready((Err(_), bufs)) => assert_eq!(bufs.len(), 1),
            other => panic!("readv_at without a runtime: {other:?}"),
        }
        match poll_without_runtime(file.metadata()) {
            Poll::Ready(Err(_)) => {}
            other => panic!("File::metadata without a runtime: {other:?}"),
        }
        drop(file);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"no runtime",
            "nothing changed"
        );
        assert!(!dir.path().join("a").exists());
    });
}
