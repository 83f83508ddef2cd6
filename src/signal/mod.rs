//! Signals: [`ctrl_c`], and any Unix signal with [`unix::signal`]
//! (asyncio's `loop.add_signal_handler`).
//!
//! Every listener gets every signal: each runtime, each core of a
//! [`Pool`](crate::Pool) that waits for Ctrl-C sees it. The signal handler
//! only counts the signal and writes to the listeners' eventfds; a
//! listener waits for its eventfd through its runtime's ring, so a core
//! asleep in the kernel wakes for it and nothing polls.
//!
//! Listening for a signal replaces its default action for the rest of the
//! process's life (as with any handler): after the first `ctrl_c()`,
//! Ctrl-C no longer ends the process by itself.

pub mod unix;

use std::future::Future;
use std::io;

/// Resolves at the next Ctrl-C (SIGINT) after this call.
///
/// The listener is registered by the call itself, not at the first poll,
/// so a Ctrl-C between the call and the first `.await` is not missed.
/// Errors if the handler cannot be installed.
///
/// ```no_run
/// corio::block_on(async {
///     println!("press Ctrl-C");
///     corio::signal::ctrl_c().await?;
///     println!("bye");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> {
    let listener = unix::signal(unix::SignalKind::interrupt());
    async move {
        let mut signal = listener?;
        signal
            .recv()
            .await
            .ok_or_else(|| io::Error::other("no corio runtime is running to wait for the signal"))
    }
}
