//! # corio
//!
//! A completion-based async runtime for Linux io_uring: thread-per-core,
//! owned-buffer I/O, modelled on Python's asyncio and done the Rust way.
//!
//! ```no_run
//! use corio::net::TcpListener;
//!
//! fn main() -> std::io::Result<()> {
//!     corio::block_on(async {
//!         let listener = TcpListener::bind("127.0.0.1:8080")?;
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             corio::spawn(async move {
//!                 let mut buf = Vec::with_capacity(4096);
//!                 loop {
//!                     let (res, b) = stream.read(buf).await;
//!                     match res {
//!                         Ok(0) | Err(_) => return,
//!                         Ok(_) => {}
//!                     }
//!                     let (res, b) = stream.write_all(b).await;
//!                     if res.is_err() {
//!                         return;
//!                     }
//!                     buf = b;
//!                 }
//!             });
//!         }
//!     })
//! }
//! ```
//!
//! ## asyncio → corio
//!
//! | asyncio | corio |
//! |---|---|
//! | event loop, `run_until_complete` | [`block_on`], [`Runtime::block_on`] |
//! | `async def` / `await` | `async fn` / `.await` |
//! | `create_task` → `Task` | [`spawn`] → [`task::JoinHandle`] |
//! | `Task.cancel()` / `done()` / `result()` | `abort()` / `is_finished()` / `.await` |
//! | `Future` + `set_result` / `cancel` | [`sync::oneshot`]: `Sender::send` / drop the sender |
//! | `asyncio.sleep`, `wait_for` | [`time::sleep`], [`time::timeout`] |
//! | `async with` | `File`/`TcpStream` with `close().await`, and a `Drop` that never leaks |
//! | `async for` | `futures_core::Stream`s: [`time::Interval`], [`net::RecvMultishot`] (a connection's data, from [`net::TcpStream::recv_multishot`]), [`net::Incoming`] (connections), [`fs::ReadDir`] |
//! | `start_unix_server`, `create_datagram_endpoint`, `loop.sendfile` | [`net::UnixListener`], [`net::UdpSocket`], [`io::sendfile`] |
//! | `StreamReader` / `StreamWriter` | [`io::AsyncReadExt`], [`io::AsyncWriteExt`], [`io::copy`] |
//!
//! ## The ownership model
//!
//! io_uring works on memory *after* the call that started an operation has
//! returned, and may keep doing so after the future is dropped. A borrowed
//! buffer (`&mut [u8]`) cannot express that, so corio operations take their
//! buffer **by value** and hand it back with the result as a
//! [`buf::BufResult`] `(io::Result<T>, B)`:
//!
//! ```no_run
//! # corio::block_on(async {
//! let file = corio::fs::File::open("Cargo.toml").await?;
//! let (res, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
//! println!("read {} bytes: {:?}", res?, &buf[..]);
//! # std::io::Result::Ok(()) });
//! ```
//!
//! From submission until its completion arrives, the kernel owns the
//! buffer. Dropping an operation's future never frees, moves or reuses that
//! memory — whoever drops it, a waker's destructor included: the buffer
//! moves into the runtime, a cancel request is submitted, and the buffer is
//! released only when the kernel's final completion arrives. Dropping the
//! runtime cancels everything in flight and waits a bounded time (see
//! [`Runtime::shutdown_timeout`]); memory the kernel never gave back is
//! leaked, not freed, and descriptors are closed — also when user code
//! panics during the shutdown.
//!
//! A read into a [`buf::Slice`] that starts past its buffer's initialised
//! length is refused with `InvalidInput` (the bytes would be unreachable).
//!
//! A [`buf::BufRing`] is the other way round: a pool of buffers the kernel
//! picks from when data arrives, for [`net::TcpStream::recv_multishot`]
//! (one receive armed for a connection's lifetime, yielding
//! [`buf::RingBuf`]s). A `RingBuf` goes back to the ring when dropped; the
//! ring's memory lives until the ring, every `RingBuf` and every armed
//! receive are gone.
//!
//! ## Cancel-safety
//!
//! | operation | if its future is dropped |
//! |---|---|
//! | `TcpStream::read` | safe: bytes already received are returned by the next read |
//! | `TcpStream::recv_multishot` (the stream) | safe: delivered chunks are returned first by the next read or stream; `TcpStream::close` ends the stream |
//! | `TcpStream::write`, `write_all` | some bytes may have been sent |
//! | `File::read_at`, `read_exact_at` | safe: a regular file is unchanged, read again; a byte stream (FIFO, device) returns a dropped read's bytes next |
//! | `File::write_at`, `write_all_at` | some bytes may have been written |
//! | `TcpListener::accept`, `TcpStream::connect`, `File::open` | safe: a connection or file opened anyway is closed |
//! | `UdpSocket::recv`, `recv_from` (and Unix datagrams) | safe: a datagram delivered to a dropped receive is returned by the next one |
//! | `TcpListener::incoming` (the stream) | safe: connections accepted for it after it is dropped are closed |
//! | `io::splice` | not cancel-safe: bytes in its internal pipe are lost |
//! | `sleep`, `timeout`, `Interval::tick` | safe |
//!
//! Every operation, its io_uring opcode and its cancel-safety: the README's
//! "I/O operations" table.
//!
//! ## Threads
//!
//! A runtime and everything it owns (tasks, files, sockets) stay on the
//! thread that created them: tasks need not be `Send`. Run one runtime per
//! core and exchange messages; [`sync::oneshot`] and any `Waker` work
//! across threads and wake a runtime sleeping in the kernel promptly.
//!
//! ## Kernel requirements
//!
//! Linux 5.11 or newer (IORING_FEAT_EXT_ARG). corio uses
//! SINGLE_ISSUER + DEFER_TASKRUN (6.1) or COOP_TASKRUN (5.19) when present.
//! If io_uring is disabled (the `kernel.io_uring_disabled` sysctl, a
//! container's seccomp profile) [`Runtime::new`] says so.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod buf;
mod driver;
pub mod fs;
pub mod io;
mod loom;
mod metrics;
pub mod net;
pub mod pool;
mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;
mod trace;

#[cfg(feature = "macros")]
pub use corio_macros::{main, test};
pub use metrics::Metrics;
pub use pool::Pool;
pub use runtime::{block_on, metrics, Builder, Runtime};
pub use task::spawn;

/// Submit a no-op through the ring and wait for its completion: the
/// round-trip floor of every operation (submit, complete, wake, poll).
/// Useful for measuring the runtime itself.
///
/// Cancel-safe (there is nothing to lose).
pub async fn nop() -> std::io::Result<()> {
    driver::op::Nop::submit().await
}
