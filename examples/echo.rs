//! A TCP echo server: every byte a client sends comes back to it.
//!
//! The asyncio version is `asyncio.start_server(handle, host, port)` with
//! one coroutine per connection; here the accept loop spawns one corio task
//! per connection. Each connection reuses one buffer for its whole life:
//! the buffer moves into `read`, comes back filled, moves into `write_all`,
//! comes back, and is cleared for the next read — no copy, no allocation
//! per message.
//!
//! Run it with (the address is optional, default 127.0.0.1:8080):
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:8080
//! ```
//!
//! then, in another terminal, `nc 127.0.0.1 8080` and type. Stop the server
//! with Ctrl-C.

use corio::net::{TcpListener, TcpStream};
use std::io;
use std::net::SocketAddr;

async fn serve(stream: TcpStream, peer: SocketAddr) {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut total = 0u64;
    let outcome: io::Result<()> = async {
        loop {
            // read fills the buffer from its start up to its capacity and
            // sets its length to what arrived; 0 means the client closed.
            let (res, b) = stream.read(buf).await;
            buf = b;
            let n = res?;
            if n == 0 {
                return Ok(());
            }
            total += n as u64;
            let (res, b) = stream.write_all(buf).await;
            buf = b;
            res?;
            buf.clear(); // keep the capacity, drop the contents
        }
    }
    .await;
    match outcome {
        Ok(()) => println!("{peer}: closed after {total} bytes"),
        Err(e) => println!("{peer}: error after {total} bytes: {e}"),
    }
    // Close through the ring; dropping `stream` would close it too.
    if let Err(e) = stream.close().await {
        println!("{peer}: close: {e}");
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let result: io::Result<()> = corio::block_on(async {
        let listener = TcpListener::bind(&addr)?;
        println!("echo server listening on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    println!("{peer}: connected");
                    let _ = stream.set_nodelay(true);
                    // Detached task: the JoinHandle is dropped, the task runs on.
                    drop(corio::spawn(serve(stream, peer)));
                }
                // Out of descriptors and the like: report and keep serving.
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    });
    if let Err(e) = result {
        eprintln!("echo: {addr}: {e}");
        std::process::exit(1);
    }
}
