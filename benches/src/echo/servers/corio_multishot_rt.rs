//! corio's second variant: one multishot receive per connection, armed
//! once, chunks land in buffers of a shared provided-buffer ring and are
//! written straight back from there (no per-message receive submission, no
//! buffer per waiting connection). Same protocol as every server: write back
//! every byte received; chunks are at most `BUF_SIZE` bytes.

use crate::BUF_SIZE;
use futures_core::Stream;
use std::future::poll_fn;
use std::pin::Pin;

/// Buffers in the ring: at least one per chunk in flight. In ping-pong
/// echo a connection holds one buffer only while writing it back.
const RING_BUFFERS: u16 = 1024;

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    corio::block_on(async move {
        let listener = corio::net::TcpListener::from_std(listener);
        let bufs = corio::buf::BufRing::new(RING_BUFFERS, BUF_SIZE)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let bufs = bufs.clone();
            corio::spawn(async move {
                let mut chunks = stream.recv_multishot(&bufs);
                while let Some(Ok(chunk)) = poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)).await
                {
                    let (res, _chunk) = stream.write_all(chunk).await;
                    if res.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
