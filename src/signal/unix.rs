//! Unix signals as async streams of deliveries.

use crate::driver::op::ReadAt;
use crate::driver::signal::{self, Listener};
use crate::driver::SharedFd;
use std::fmt;
use std::io;

/// Which signal to listen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// A signal by number (`libc::SIGUSR1`, ...).
    pub const fn from_raw(signal: i32) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// SIGINT: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: the polite request to stop (`kill`, systemd, Kubernetes).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away; by convention, "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT: Ctrl-\ in a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGWINCH: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// SIGPIPE (corio's sockets never raise it: they send with
    /// MSG_NOSIGNAL).
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGALRM.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
}

/// Listen for `kind`: from this call on, every delivery of the signal is
/// seen by this listener (and by every other one).
///
/// `InvalidInput` for a number that is not a signal, or for one that cannot
/// be handled (SIGKILL, SIGSTOP, and SIGILL, SIGFPE, SIGSEGV, SIGBUS).
///
/// ```no_run
/// use corio::signal::unix::{signal, SignalKind};
/// corio::block_on(async {
///     let mut reload = signal(SignalKind::hangup())?;
///     while reload.recv().await.is_some() {
///         println!("reloading the configuration");
///     }
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let listener = signal::listen(kind.0)?;
    let fd = SharedFd::new(listener.eventfd()?);
    // After the listener is registered: a delivery counted before this is
    // not this listener's; one after it wakes the eventfd.
    let seen = signal::count(kind.0);
    Ok(Signal { listener, fd, seen })
}

/// A listener for one signal (made by [`signal`]).
pub struct Signal {
    listener: Listener,
    /// A duplicate of the listener's eventfd, read through the ring.
    fd: SharedFd,
    /// Deliveries already returned.
    seen: u64,
}

impl Signal {
    /// Wait for the next delivery of the signal. Deliveries that arrived
    /// since the last `recv` are returned at once, several of them as one
    /// (the kernel coalesces pending signals too). `None` if it cannot wait:
    /// no corio runtime runs on this thread, or the ring failed.
    ///
    /// Cancel-safe: a delivery is never lost by dropping the future.
    pub async fn recv(&mut self) -> Option<()> {
        loop {
            let now = signal::count(self.listener.signal());
            if now != self.seen {
                self.seen = now;
                return Some(());
            }
            // Completes when the handler writes the eventfd (or already
            // did: the count is checked again either way). A plain read: a
            // cancelled one's bytes (the eventfd's counter) are not data to
            // keep, the counts are what matters.
            let (res, _) = ReadAt::submit(&self.fd, Vec::with_capacity(8), 0).await;
            res.ok()?;
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("signal", &self.listener.signal())
            .finish()
    }
}
