//! tokio, `current_thread` runtime (`enable_all`), one `tokio::spawn`ed
//! task per connection: what a tokio user writes for a single-threaded
//! server (`#[tokio::main(flavor = "current_thread")]` + `tokio::spawn`; the
//! connection task is `Send`, so no `LocalSet` is needed).

use crate::BUF_SIZE;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    serve_on(&rt, listener)
}

/// Accept and echo on `listener` with runtime `rt` (either flavour).
pub fn serve_on(
    rt: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
) -> std::io::Result<()> {
    rt.block_on(async move {
        // tokio's from_std requires a non-blocking socket.
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                // tokio reads into an initialised slice: BUF_SIZE zeroed
                // bytes, allocated once per connection.
                let mut buf = vec![0u8; BUF_SIZE];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
