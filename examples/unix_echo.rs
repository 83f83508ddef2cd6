//! An echo server on a Unix-domain socket: the TCP echo, over a path.
//!
//! asyncio's `asyncio.start_unix_server`; here `UnixListener::incoming`
//! yields every connection from one multishot accept and each gets a task,
//! which echoes with `corio::io::copy` — the generic owned-buffer traits:
//! `&UnixStream` is both an `AsyncRead` and an `AsyncWrite`.
//!
//! ```text
//! cargo run --example unix_echo -- /tmp/corio-echo.sock
//! ```
//!
//! then `nc -U /tmp/corio-echo.sock` and type (Ctrl-C to stop; the socket
//! file is removed at start if it is left from an earlier run).

use corio::net::{UnixListener, UnixStream};
use futures_core::Stream;
use std::future::poll_fn;
use std::pin::Pin;

async fn serve(stream: UnixStream) -> std::io::Result<()> {
    // Read from the stream and write back to it until the client is done.
    let (mut from, mut to) = (&stream, &stream);
    corio::io::copy(&mut from, &mut to).await?;
    stream.close().await
}

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/corio-echo.sock".into());
    corio::block_on(async {
        // A socket file left by an earlier run would make bind fail.
        let _ = corio::fs::remove_file(&path).await;
        let listener = UnixListener::bind(&path)?;
        println!("echoing on {path}");
        let mut incoming = listener.incoming();
        while let Some(conn) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
            match conn {
                Ok(stream) => {
                    corio::spawn(async move {
                        if let Err(e) = serve(stream).await {
                            eprintln!("connection: {e}");
                        }
                    });
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        }
        Ok(())
    })
}
