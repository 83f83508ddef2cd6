//! `DriverCell`: a runtime's driver as its operations and its loop share
//! it, with the two rules that keep memory the kernel owns safe:
//!
//! - nothing foreign runs while the driver is borrowed: what a call
//!   displaces (a waker it replaced, an operation it orphaned) is disposed
//!   of only after the borrow ends ([`DriverCell::with`]);
//! - an operation dropped while the driver is borrowed anyway (a waker's
//!   `drop` dropping it, from code we do not control) is parked on a side
//!   queue the loop drains, never freed ([`DriverCell::park`]).

use super::{Completion, Driver, Key, Parked, Polled};
use std::cell::{Ref, RefCell};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Shared handle to a thread's driver. `!Send`: the ring belongs to the
/// thread that created it (IORING_SETUP_SINGLE_ISSUER).
pub(crate) type Handle = Rc<DriverCell>;

pub(crate) struct DriverCell {
    driver: RefCell<Driver>,
    /// Operations dropped while the driver was borrowed: they wait here,
    /// alive, until the loop hands them to the driver.
    deferred: RefCell<Vec<(Key, Parked)>>,
}

impl DriverCell {
    pub(crate) fn new(driver: Driver) -> DriverCell {
        DriverCell {
            driver: RefCell::new(driver),
            deferred: RefCell::new(Vec::new()),
        }
    }

    /// Run `f` with the driver borrowed; dispose of what it displaced once
    /// the borrow has ended.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        let (out, garbage) = {
            let mut driver = self.driver.borrow_mut();
            let out = f(&mut driver);
            (out, driver.take_garbage())
        };
        if let Some(garbage) = garbage {
            garbage.dispose();
        }
        out
    }

    /// Poll operation `key` with `poll`: its completion (`Some`), or `None`
    /// if its runtime shut down before the kernel finished it. A waker that
    /// must be stored is cloned between two borrows: cloning one is foreign
    /// code too.
    pub(crate) fn poll_op(
        &self,
        key: Key,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Driver, &Waker) -> Polled,
    ) -> Poll<Option<Completion>> {
        match self.with(|driver| poll(driver, cx.waker())) {
            Polled::Ready(completion) => Poll::Ready(Some(completion)),
            Polled::Orphaned => Poll::Ready(None),
            Polled::Pending => Poll::Pending,
            Polled::NeedWaker => {
                let waker = cx.waker().clone();
                if let Some(waker) = self.with(|driver| driver.set_waker(key, waker)) {
                    waker.wake();
                }
                Poll::Pending
            }
        }
    }

    /// As [`with`](DriverCell::with), or `None` if the driver is borrowed.
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
        let (out, garbage) = {
            let mut driver = self.driver.try_borrow_mut().ok()?;
            let out = f(&mut driver);
            (out, driver.take_garbage())
        };
        if let Some(garbage) = garbage {
            garbage.dispose();
        }
        Some(out)
    }

    /// Read-only access (counters).
    pub(crate) fn borrow(&self) -> Ref<'_, Driver> {
        self.driver.borrow()
    }

    /// Hand a dropped operation's resources to the driver until its final
    /// completion. If that completion already arrived, finish it now that
    /// the driver is no longer borrowed (finishing may drop a descriptor or
    /// recycle a buffer). If the driver is borrowed (the drop came from
    /// foreign code running under a borrow), park it on the side queue: it
    /// must not be freed, and must not wait for the borrow.
    pub(crate) fn park(&self, key: Key, data: Parked) {
        let Ok(mut driver) = self.driver.try_borrow_mut() else {
            self.deferred.borrow_mut().push((key, data));
            return;
        };
        let done = driver.abandon(key, data);
        let garbage = driver.take_garbage();
        drop(driver);
        if let Some(garbage) = garbage {
            garbage.dispose();
        }
        if let Some((data, completion)) = done {
            data.finish(completion);
        }
    }

    /// Hand the operations parked on the side queue to the driver.
    pub(crate) fn drain_deferred(&self) {
        if self.deferred.borrow().is_empty() {
            return;
        }
        /// If finishing one panics, the rest go back on the side queue.
        struct Requeue<'a> {
            cell: &'a DriverCell,
            rest: std::vec::IntoIter<(Key, Parked)>,
        }
        impl Drop for Requeue<'_> {
            fn drop(&mut self) {
                if let Ok(mut deferred) = self.cell.deferred.try_borrow_mut() {
                    deferred.extend(self.rest.by_ref());
                }
            }
        }
        let parked = std::mem::take(&mut *self.deferred.borrow_mut());
        let mut requeue = Requeue {
            cell: self,
            rest: parked.into_iter(),
        };
        for (key, data) in requeue.rest.by_ref() {
            self.park(key, data);
        }
    }
}

impl Drop for DriverCell {
    fn drop(&mut self) {
        // Nothing is borrowed any more: the parked operations reach the
        // driver, whose own drop shuts the ring down and orphans what the
        // kernel did not finish.
        self.drain_deferred();
    }
}

#[cfg(test)]
mod tests {
    use crate::driver::op::ReadAt;
    use crate::driver::SharedFd;
    use std::io::Write;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::time::Duration;

    /// An operation dropped while the driver is borrowed is neither freed
    /// nor does it panic: it waits on the side queue, and the loop hands it
    /// to the driver (cancelled, its buffer kept until the final
    /// completion).
    #[test]
    fn an_operation_dropped_while_the_driver_is_borrowed_is_parked_on_the_side_queue() {
        crate::block_on(async {
            let mut fds = [0; 2];
            // SAFETY: pipe2 writes two descriptors into `fds`.
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
            // SAFETY: both descriptors are fresh and owned by nobody else.
            let (reader, writer) = unsafe {
                (
                    OwnedFd::from_raw_fd(fds[0]),
                    std::fs::File::from(OwnedFd::from_raw_fd(fds[1])),
                )
            };
            let fd = SharedFd::new(reader);
            let driver = crate::runtime::context::driver().unwrap();
            let read = ReadAt::submit_stream(&fd, Vec::with_capacity(64));
            driver.with(|_| drop(read));
            assert_eq!(
                driver.deferred.borrow().len(),
                1,
                "parked on the side queue"
            );
            // The loop drains the side queue on its next turn.
            crate::time::sleep(Duration::from_millis(20)).await;
            assert!(driver.deferred.borrow().is_empty());
            let mut writer = writer;
            writer.write_all(b"late").unwrap();
            crate::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(crate::metrics().ops_in_flight, 0, "the read was settled");
            // Its bytes (if the cancel lost the race) went to the stream.
            let (res, buf) = crate::time::timeout(
                Duration::from_secs(2),
                crate::driver::read_stream(&fd, Vec::with_capacity(64), ReadAt::submit_stream),
            )
            .await
            .expect("the bytes are there");
            assert_eq!(res.unwrap(), 4);
            assert_eq!(buf, b"late");
        });
    }
}
