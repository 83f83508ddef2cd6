//! `TaskGroup`: asyncio's `TaskGroup` / `gather` — tasks that succeed
//! together or fail together.

use super::{JoinError, JoinSet};
use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;

/// A group of tasks that succeed together or fail together (asyncio's
/// `TaskGroup`): [`join`](TaskGroup::join) gives every output, in spawn
/// order, or the first error.
///
/// - The first task to return `Err` aborts the others; `join` returns that
///   error once their destructors have run.
/// - A task that panics aborts the others the same way, and `join` resumes
///   the panic in the task that awaits it.
/// - Dropping the group, or the `join` future before it finished, aborts
///   the tasks.
///
/// The futures need not be `Send`; they run on this thread's runtime.
///
/// ```
/// # corio::block_on(async {
/// let mut group = corio::task::TaskGroup::new();
/// for i in 0..3u32 {
///     group.spawn(async move { if i < 5 { Ok(i * 2) } else { Err("too big") } });
/// }
/// assert_eq!(group.join().await, Ok(vec![0, 2, 4]));
/// # });
/// ```
pub struct TaskGroup<T, E> {
    set: JoinSet<(usize, Result<T, E>)>,
    spawned: usize,
}

impl<T: 'static, E: 'static> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            set: JoinSet::new(),
            spawned: 0,
        }
    }

    /// Spawn `future` as a task of the group, on this thread's runtime.
    ///
    /// # Panics
    ///
    /// If no corio runtime is running on this thread.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let index = self.spawned;
        self.spawned += 1;
        self.set.spawn(async move { (index, future.await) });
    }

    /// Wait for every task: their outputs in spawn order, or the first
    /// error (after the other tasks were aborted and dropped). A task's
    /// panic is resumed here, after the same cleanup.
    pub async fn join(mut self) -> Result<Vec<T>, E> {
        let mut outputs: Vec<Option<T>> = (0..self.spawned).map(|_| None).collect();
        let mut failure: Option<Failure<E>> = None;
        while let Some(joined) = self.set.join_next().await {
            match joined {
                Ok((index, Ok(value))) => outputs[index] = Some(value),
                Ok((_, Err(e))) => {
                    if failure.is_none() {
                        failure = Some(Failure::Error(e));
                        self.set.abort_all();
                    }
                }
                Err(e) => {
                    if failure.is_none() {
                        failure = Some(Failure::from_join_error(e));
                        self.set.abort_all();
                    }
                }
            }
        }
        // Every task has been joined: aborted ones have dropped their
        // futures by now.
        match failure {
            None => Ok(outputs
                .into_iter()
                .map(|o| o.expect("every task of the group returned"))
                .collect()),
            Some(Failure::Error(e)) => Err(e),
            Some(Failure::Panic(payload)) => resume_unwind(payload),
        }
    }
}

enum Failure<E> {
    Error(E),
    Panic(Box<dyn std::any::Any + Send + 'static>),
}

impl<E> Failure<E> {
    fn from_join_error(e: JoinError) -> Failure<E> {
        match e.try_into_panic() {
            Ok(payload) => Failure::Panic(payload),
            // Cancelled from outside the group (its runtime shutting down):
            // there is no error value to give; fail loudly.
            Err(e) => Failure::Panic(Box::new(format!("a task of the group ended: {e}"))),
        }
    }
}

impl<T: 'static, E: 'static> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("spawned", &self.spawned)
            .finish()
    }
}
