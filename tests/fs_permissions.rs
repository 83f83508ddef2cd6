//! PermissionDenied from the kernel, through corio's file and socket
//! operations. Run as root (as CI usually is), the checks run in a child
//! process of this test that first drops to the unprivileged user 65534:
//! root would bypass every permission bit.

mod common;

use common::*;
use corio::fs;
use corio::net::UnixStream;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CHILD: &str = "CORIO_FS_PERMISSIONS_CHILD";
const TEST: &str = "operations_the_permission_bits_forbid_fail_with_permission_denied";

/// The directory of this run: `locked/` (0700, holding `secret` and a
/// socket), `readonly/` (0555, holding `file`), both owned by the parent.
fn layout(base: &Path) -> (PathBuf, PathBuf) {
    (base.join("locked"), base.join("readonly"))
}

fn prepare(base: &Path) -> std::os::unix::net::UnixListener {
    let (locked, readonly) = layout(base);
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::create_dir_all(&readonly).unwrap();
    std::fs::write(locked.join("secret"), b"no").unwrap();
    std::fs::write(readonly.join("file"), b"stay").unwrap();
    let listener = std::os::unix::net::UnixListener::bind(locked.join("sock")).unwrap();
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
    listener
}

fn checks(base: &Path) {
    let (locked, readonly) = layout(base);
    corio::block_on(async move {
        let denied = |what: &str, e: std::io::Error| {
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{what}: {e}");
        };
        denied(
            "metadata",
            fs::metadata(locked.join("secret")).await.unwrap_err(),
        );
        denied(
            "open",
            fs::File::open(locked.join("secret")).await.unwrap_err(),
        );
        denied("read", fs::read(locked.join("secret")).await.unwrap_err());
        denied("read_dir", fs::read_dir(&locked).await.unwrap_err());
        denied(
            "create_dir",
            fs::create_dir(readonly.join("new")).await.unwrap_err(),
        );
        denied(
            "create_dir_all",
            fs::create_dir_all(readonly.join("a/b")).await.unwrap_err(),
        );
        denied(
            "write",
            fs::write(readonly.join("new.txt"), b"x".to_vec())
                .await
                .unwrap_err(),
        );
        denied(
            "remove_file",
            fs::remove_file(readonly.join("file")).await.unwrap_err(),
        );
        denied(
            "rename",
            fs::rename(readonly.join("file"), readonly.join("moved"))
                .await
                .unwrap_err(),
        );
        denied(
            "hard_link",
            fs::hard_link(readonly.join("file"), readonly.join("link"))
                .await
                .unwrap_err(),
        );
        denied(
            "symlink",
            fs::symlink("file", readonly.join("sym")).await.unwrap_err(),
        );
        denied(
            "connect",
            UnixStream::connect(locked.join("sock")).await.unwrap_err(),
        );
        // Nothing changed.
        assert!(fs::metadata(readonly.join("file")).await.unwrap().is_file());
        assert!(fs::metadata(readonly.join("new")).await.is_err());
    });
}

#[test]
fn operations_the_permission_bits_forbid_fail_with_permission_denied() {
    // SAFETY: plain queries of this process's ids.
    let (euid, ppid) = (
        unsafe { libc::geteuid() },
        std::os::unix::process::parent_id(),
    );
    if std::env::var_os(CHILD).is_some() {
        // The child: become an unprivileged user, then check.
        // SAFETY: setgroups/setgid/setuid on this single-threaded child's
        // credentials (the test harness runs one test thread here).
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0
        };
        assert!(
            dropped,
            "could not drop privileges: {}",
            std::io::Error::last_os_error()
        );
        checks(&std::env::temp_dir().join(format!("corio-permissions-{ppid}")));
        println!("permission-checks-done");
        return;
    }
    with_time_limit(Duration::from_secs(60), move || {
        if euid != 0 {
            // Not root: the bits apply to this process itself.
            let dir = tempfile::tempdir().unwrap();
            let _listener = prepare(dir.path());
            checks(dir.path());
            let (locked, readonly) = layout(dir.path());
            for d in [locked, readonly] {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            return;
        }
        let base = std::env::temp_dir().join(format!("corio-permissions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let _listener = prepare(&base);
        let out = run_self_as_child(TEST, CHILD, Duration::from_secs(50));
        let _ = std::fs::remove_dir_all(&base);
        assert_child_passed(&out, "permission-checks-done");
    });
}
