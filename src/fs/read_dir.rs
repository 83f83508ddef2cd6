//! Directory listing: [`read_dir`], a stream of [`DirEntry`]s.
//!
//! io_uring has no `getdents`, so the directory is read on the blocking pool
//! ([`spawn_blocking`](crate::task::spawn_blocking)), a batch of entries at
//! a time: a directory of any size streams with at most one batch in
//! memory, and the runtime's thread never blocks on the disk.

use super::{FileType, Metadata};
use crate::task::JoinHandle;
use futures_core::Stream;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Entries read per trip to the blocking pool.
const BATCH: usize = 256;

/// One batch: the directory handle back, its next entries, and whether it
/// is exhausted.
type Batch = (std::fs::ReadDir, VecDeque<io::Result<DirEntry>>, bool);

/// The entries of a directory, as a [`Stream`] of `io::Result<DirEntry>`
/// (asyncio's `async for` over `os.scandir`), in the order the file system
/// gives them, without `.` and `..`. An error reading an entry is yielded
/// and the stream goes on, as with `std::fs::read_dir`.
///
/// Dropping it mid-way is fine: a batch being read finishes on the pool
/// and is discarded.
pub struct ReadDir {
    entries: VecDeque<io::Result<DirEntry>>,
    state: State,
}

enum State {
    /// Waiting for nothing: the next batch starts when needed.
    Idle(std::fs::ReadDir),
    /// A batch is being read on the blocking pool.
    Reading(JoinHandle<Batch>),
    Done,
}

/// An entry of a directory listed by [`read_dir`].
pub struct DirEntry {
    path: PathBuf,
    /// From the directory entry itself (`d_type`), when the file system
    /// records it.
    file_type: Option<FileType>,
}

/// List the directory `path`.
///
/// A missing directory gives `NotFound`, a regular file `NotADirectory`.
///
/// Cancel-safe: dropping the future (or the stream) changes nothing.
///
/// ```no_run
/// use futures_core::Stream;
/// # corio::block_on(async {
/// let mut dir = corio::fs::read_dir(".").await?;
/// while let Some(entry) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut dir).poll_next(cx)).await {
///     println!("{:?}", entry?.file_name());
/// }
/// # std::io::Result::Ok(()) });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let opened = crate::task::spawn_blocking(move || {
        std::fs::read_dir(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("listing directory {path:?}: {e}")))
    })
    .await;
    let dir = joined(opened)??;
    Ok(ReadDir {
        entries: VecDeque::new(),
        state: State::Idle(dir),
    })
}

/// A blocking-pool job's result, or an error saying it never ran.
fn joined<T>(result: Result<T, crate::task::JoinError>) -> io::Result<T> {
    result.map_err(|e| io::Error::other(format!("reading a directory on the blocking pool: {e}")))
}

fn read_batch(mut dir: std::fs::ReadDir) -> Batch {
    let mut entries = VecDeque::with_capacity(BATCH);
    while entries.len() < BATCH {
        let Some(entry) = dir.next() else {
            return (dir, entries, true);
        };
        entries.push_back(entry.map(|e| DirEntry {
            path: e.path(),
            file_type: e.file_type().ok().map(FileType::from_std),
        }));
    }
    (dir, entries, false)
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(entry) = this.entries.pop_front() {
                return Poll::Ready(Some(entry));
            }
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Idle(dir) => {
                    this.state =
                        State::Reading(crate::task::spawn_blocking(move || read_batch(dir)));
                }
                State::Reading(mut job) => match Pin::new(&mut job).poll(cx) {
                    Poll::Pending => {
                        this.state = State::Reading(job);
                        return Poll::Pending;
                    }
                    Poll::Ready(result) => match joined(result) {
                        Ok((dir, entries, done)) => {
                            this.entries = entries;
                            if !done {
                                this.state = State::Idle(dir);
                            }
                        }
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    },
                },
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("buffered", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl DirEntry {
    /// The entry's full path: the listed directory's path joined with
    /// [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.path
            .file_name()
            .map(OsString::from)
            .unwrap_or_default()
    }

    /// The entry's status, not following a symbolic link (as std's
    /// `DirEntry::metadata`), through statx.
    ///
    /// Cancel-safe: nothing changes.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        super::symlink_metadata(&self.path).await
    }

    /// The entry's kind, not following a symbolic link: from the directory
    /// entry itself where the file system records it, else through statx.
    ///
    /// Cancel-safe: nothing changes.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(t) => Ok(t),
            None => self.metadata().await.map(|m| m.file_type()),
        }
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path).finish()
    }
}

impl FileType {
    fn from_std(t: std::fs::FileType) -> FileType {
        let format = if t.is_file() {
            libc::S_IFREG
        } else if t.is_dir() {
            libc::S_IFDIR
        } else if t.is_symlink() {
            libc::S_IFLNK
        } else if t.is_block_device() {
            libc::S_IFBLK
        } else if t.is_char_device() {
            libc::S_IFCHR
        } else if t.is_fifo() {
            libc::S_IFIFO
        } else if t.is_socket() {
            libc::S_IFSOCK
        } else {
            0
        };
        FileType::from_format(format)
    }
}
