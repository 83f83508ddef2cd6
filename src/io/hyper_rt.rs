//! hyper on corio (feature `hyper`): [`Executor`] and [`Timer`] for hyper's
//! connection builders, and `hyper::rt::{Read, Write}` on
//! [`Compat`](super::Compat).

use super::{Compat, CompatStream};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{ready, Context, Poll};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Spawns hyper's background futures (HTTP/2 streams, connection tasks)
/// with [`corio::spawn`](crate::spawn), on the runtime that runs the
/// connection: no `Send` bound, so `!Send` services work over HTTP/2.
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor(());

impl Executor {
    /// The executor (stateless: every call spawns on the current runtime).
    pub fn new() -> Executor {
        Executor(())
    }
}

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        drop(crate::spawn(fut));
    }
}

/// hyper's timeouts (`header_read_timeout`, HTTP/2 keep-alive, …) on
/// corio's timers.
///
/// hyper asks for `Send + Sync` sleeps, and corio's timers belong to one
/// thread. The sleeps this timer makes hold only their deadline and an id;
/// the corio sleep behind them lives in a table of the thread that created
/// them, and polling one on another thread panics with a message saying so
/// (hyper polls them where the connection runs, so this never happens with
/// a connection served on corio). No `unsafe`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer(());

impl Timer {
    /// The timer (stateless).
    pub fn new() -> Timer {
        Timer(())
    }
}

impl ::hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        let deadline = Instant::now().checked_add(duration);
        Box::pin(HyperSleep::new(deadline))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep::new(Some(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

thread_local! {
    /// The corio sleeps behind this thread's [`HyperSleep`]s, by id.
    static SLEEPS: RefCell<HashMap<u64, crate::time::Sleep>> = RefCell::new(HashMap::new());
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A `Send + Sync` handle on a corio sleep of its owner thread.
struct HyperSleep {
    /// `None`: never (a duration past what `Instant` holds).
    deadline: Option<Instant>,
    owner: ThreadId,
    id: u64,
}

impl HyperSleep {
    fn new(deadline: Option<Instant>) -> HyperSleep {
        HyperSleep {
            deadline,
            owner: std::thread::current().id(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn on_owner(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    fn reset(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        if self.on_owner() {
            let _ = SLEEPS.try_with(|s| {
                if let Some(sleep) = s.borrow_mut().get_mut(&self.id) {
                    sleep.reset(deadline);
                }
            });
        }
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        assert!(
            this.on_owner(),
            "a corio hyper::rt::Sleep was polled on another thread than the one that created \
             it; corio's timers belong to their thread: serve the connection on one runtime"
        );
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        // Taken out of the table while polled: the poll may drop a waker,
        // which is foreign code (it must not find the table borrowed).
        let mut sleep = SLEEPS
            .with(|s| s.borrow_mut().remove(&this.id))
            .unwrap_or_else(|| crate::time::sleep_until(deadline));
        let polled = Pin::new(&mut sleep).poll(cx);
        if polled.is_pending() {
            SLEEPS.with(|s| s.borrow_mut().insert(this.id, sleep));
        }
        polled
    }
}

impl ::hyper::rt::Sleep for HyperSleep {}

impl Drop for HyperSleep {
    fn drop(&mut self) {
        if self.on_owner() {
            let sleep = SLEEPS
                .try_with(|s| s.borrow_mut().remove(&self.id))
                .ok()
                .flatten();
            drop(sleep);
        }
        // Dropped on another thread: its entry (if it was ever polled)
        // stays in the owner's table until that thread exits.
    }
}

impl<S: CompatStream + Unpin> ::hyper::rt::Read for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let available = ready!(Compat::poll_fill_buf(this, cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        Compat::consume(this, n);
        Poll::Ready(Ok(()))
    }
}

impl<S: CompatStream + Unpin> ::hyper::rt::Write for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Compat::poll_write(self.get_mut(), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Compat::poll_flush(self.get_mut(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Compat::poll_shutdown(self.get_mut(), cx)
    }
}
