//! `JoinSet`: a set of tasks joined in the order they finish.

use super::{JoinError, JoinHandle};
use slab::Slab;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// Tasks spawned on this runtime, joined in the order they finish
/// (asyncio's `asyncio.as_completed` over tasks). The futures need not be
/// `Send`; they run on the runtime of the thread that spawned them.
///
/// Dropping the set aborts every task still in it.
///
/// ```
/// corio::block_on(async {
///     let mut set = corio::task::JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             corio::time::sleep(std::time::Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(done) = set.join_next().await {
///         order.push(done.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    tasks: Slab<Entry<T>>,
    /// Which tasks may have finished: pushed by their handles' wakers.
    ready: Arc<Ready>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    /// The waker this task's handle is polled with: it reports the task.
    waker: Waker,
    /// Its result, once taken from the handle.
    finished: Option<Result<T, JoinError>>,
}

impl<T> Entry<T> {
    /// The task's result if it has finished (its waker is registered
    /// otherwise).
    fn poll(&mut self) -> Poll<Result<T, JoinError>> {
        if let Some(result) = self.finished.take() {
            return Poll::Ready(result);
        }
        let mut task_cx = Context::from_waker(&self.waker);
        Pin::new(&mut self.handle).poll(&mut task_cx)
    }
}

struct Ready {
    inner: Mutex<ReadyInner>,
}

struct ReadyInner {
    /// Tasks that reported themselves finished, in the order they did.
    indices: Vec<usize>,
    /// Who waits in `join_next`.
    parent: Option<Waker>,
}

impl Ready {
    fn lock(&self) -> MutexGuard<'_, ReadyInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The waker of one task's handle: marks it ready, wakes `join_next`.
struct EntryWaker {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let parent = {
            let mut ready = self.ready.lock();
            ready.indices.push(self.index);
            ready.parent.take()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: Slab::new(),
            ready: Arc::new(Ready {
                inner: Mutex::new(ReadyInner {
                    indices: Vec::new(),
                    parent: None,
                }),
            }),
        }
    }

    /// Spawn `future` as a task of the running runtime and add it to the
    /// set.
    ///
    /// # Panics
    ///
    /// If no corio runtime is running on this thread.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        let handle = crate::spawn(future);
        let entry = self.tasks.vacant_entry();
        let index = entry.key();
        let entry = entry.insert(Entry {
            handle,
            waker: Waker::from(Arc::new(EntryWaker {
                index,
                ready: self.ready.clone(),
            })),
            finished: None,
        });
        // Polled once now, which registers the entry's waker: the task
        // reports itself the moment it finishes, so tasks that finish before
        // anyone calls `join_next` still come out in the order they finished.
        if let Poll::Ready(result) = entry.poll() {
            // (A task cannot finish before it first runs; kept all the same.)
            entry.finished = Some(result);
            self.ready.lock().indices.push(index);
        }
    }

    /// The next task to finish: its result, or `None` when the set is
    /// empty. Tasks come out in the order they finished.
    ///
    /// Cancel-safe: dropping the future loses no task (a finished one
    /// stays for the next call).
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.tasks.is_empty() {
            return Poll::Ready(None);
        }
        loop {
            if let Some(result) = self.take_finished() {
                return Poll::Ready(Some(result));
            }
            let mut ready = self.ready.lock();
            if ready.indices.is_empty() {
                let replaced = ready.parent.replace(cx.waker().clone());
                drop(ready);
                // Dropped outside the lock: a waker's drop is foreign code.
                drop(replaced);
                return Poll::Pending;
            }
            // A task reported in between: look again.
        }
    }

    /// A task that has already finished, without waiting: `None` if none
    /// has (or the set is empty). Lets a long-lived set (the connections of
    /// a server) shed its finished tasks as it goes.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.take_finished()
    }

    /// Poll the tasks reported since the last look; the first finished one.
    fn take_finished(&mut self) -> Option<Result<T, JoinError>> {
        let indices = std::mem::take(&mut self.ready.lock().indices);
        let mut found = None;
        let mut rest = indices.into_iter();
        for index in rest.by_ref() {
            let Some(entry) = self.tasks.get_mut(index) else {
                continue;
            };
            if let Poll::Ready(result) = entry.poll() {
                self.tasks.remove(index);
                found = Some(result);
                break;
            }
        }
        // Indices not looked at yet go back for the next call, ahead of
        // those reported meanwhile: they finished first.
        let mut rest: Vec<usize> = rest.collect();
        if !rest.is_empty() {
            let mut ready = self.ready.lock();
            rest.append(&mut ready.indices);
            ready.indices = rest;
        }
        found
    }

    /// Abort every task in the set. They stay in it: `join_next` returns
    /// them, cancelled (or with their result if they finished first).
    pub fn abort_all(&mut self) {
        for (_, entry) in self.tasks.iter() {
            entry.handle.abort();
        }
    }

    /// Tasks in the set (not yet returned by `join_next`).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, entry) in self.tasks.iter() {
            entry.handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}
