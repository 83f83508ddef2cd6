//! Generic owned-buffer I/O: traits that every transport implements, so
//! code is written once ([`AsyncRead`], [`AsyncWrite`], their extensions,
//! [`AsyncReadAt`] and [`AsyncWriteAt`] for files), [`copy`] between any
//! two, and in-kernel copies that never pass through user space
//! ([`sendfile`], [`splice`]), and [`Compat`]: a corio stream behind the
//! poll-based traits of tokio, futures and hyper (cargo features
//! `tokio-io`, `futures-io`, `hyper`).
//!
//! The traits take buffers by value and hand them back, as every corio
//! operation does (see [`BufResult`](crate::buf::BufResult)); their futures
//! have the cancel-safety of the operations behind them.

mod compat;
mod copy;
#[cfg(feature = "hyper")]
mod hyper_rt;
mod splice;
mod traits;

pub use compat::{Compat, CompatStream};
pub use copy::copy;

/// hyper on corio (feature `hyper`): its executor and timer; `Compat`
/// implements `hyper::rt::{Read, Write}`.
#[cfg(feature = "hyper")]
pub mod hyper {
    pub use super::hyper_rt::{Executor, Timer};
}
pub use splice::{sendfile, splice};
pub use traits::{AsyncRead, AsyncReadAt, AsyncReadExt, AsyncWrite, AsyncWriteAt, AsyncWriteExt};
