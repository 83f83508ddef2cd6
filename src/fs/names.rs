//! Operations on names in the file system — remove, rename, link, create
//! directories — each one io_uring operation relative to the current
//! directory. Errors carry std's kinds (`NotFound`, `AlreadyExists`,
//! `PermissionDenied`, `DirectoryNotEmpty`, `NotADirectory`,
//! `IsADirectory`, …) and the path they concern.
//!
//! Cancel-safety, for all of them: dropping the future does not undo the
//! change if the kernel already made it (the name may or may not be gone,
//! renamed or created): check before retrying.

use crate::driver::op::{PathOp, PathOpKind};
use std::io;
use std::path::{Path, PathBuf};

/// Run `kind` on `first` (and `second`), naming the path(s) in an error.
async fn run(kind: PathOpKind, first: &Path, second: Option<&Path>) -> io::Result<()> {
    PathOp::submit(kind, first, second).await.map_err(|e| {
        let what = match kind {
            PathOpKind::RemoveFile => "removing file",
            PathOpKind::RemoveDir => "removing directory",
            PathOpKind::CreateDir(_) => "creating directory",
            PathOpKind::Rename => "renaming",
            PathOpKind::HardLink => "hard-linking",
            PathOpKind::Symlink => "creating symbolic link to",
        };
        let paths = match second {
            Some(second) => format!("{first:?} as {second:?}"),
            None => format!("{first:?}"),
        };
        io::Error::new(e.kind(), format!("{what} {paths}: {e}"))
    })
}

/// Remove the file (or symbolic link) `path` (`unlink`). A directory gives
/// `IsADirectory`; use [`remove_dir`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::RemoveFile, path.as_ref(), None).await
}

/// Remove the empty directory `path` (`rmdir`); one with entries gives
/// `DirectoryNotEmpty`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::RemoveDir, path.as_ref(), None).await
}

/// Rename `from` to `to`, replacing `to` if it exists (`rename`); both on
/// one file system, else `CrossesDevices`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::Rename, from.as_ref(), Some(to.as_ref())).await
}

/// Create the directory `path` (mode 0o777 before the umask); an existing
/// one gives `AlreadyExists`, a missing parent `NotFound`.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::CreateDir(0o777), path.as_ref(), None).await
}

/// Create `path` and every missing parent. An existing directory is
/// success, as in std; an existing file in the way gives `AlreadyExists`
/// (or `NotADirectory` for a file in the middle of the path). Directories
/// created by another process meanwhile are accepted.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    // Walk up to the deepest ancestor that exists, then create downwards:
    // no recursion (an async fn cannot recurse without boxing) and one
    // mkdir per missing level.
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = Some(path);
    while let Some(dir) = at.filter(|d| !d.as_os_str().is_empty()) {
        match PathOp::submit(PathOpKind::CreateDir(0o777), dir, None).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(dir.to_path_buf());
                at = dir.parent();
            }
            Err(_) if is_dir(dir).await => break,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating directory {dir:?}: {e}"),
                ))
            }
        }
    }
    for dir in missing.iter().rev() {
        match PathOp::submit(PathOpKind::CreateDir(0o777), dir, None).await {
            Ok(()) => {}
            Err(_) if is_dir(dir).await => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating directory {dir:?}: {e}"),
                ))
            }
        }
    }
    Ok(())
}

async fn is_dir(path: &Path) -> bool {
    super::metadata(path).await.is_ok_and(|m| m.is_dir())
}

/// Make `dst` a new name (a hard link) of the file `src`.
pub async fn hard_link(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::HardLink, src.as_ref(), Some(dst.as_ref())).await
}

/// Create the symbolic link `dst` pointing to `src` (which need not exist;
/// a relative `src` is resolved from `dst`'s directory when followed).
pub async fn symlink(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> io::Result<()> {
    run(PathOpKind::Symlink, src.as_ref(), Some(dst.as_ref())).await
}
