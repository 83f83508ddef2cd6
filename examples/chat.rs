//! A line chat server: every line a client sends goes to all the others.
//!
//! The asyncio classic — `start_server`, a set of writers, `async for line
//! in reader` — done the corio way: `while let Some(conn) = incoming.next()`
//! over one multishot accept, one task per client reading lines, and for
//! each client an mpsc channel its writer task drains, so a slow client
//! never blocks the others.
//!
//! ```text
//! cargo run --example chat -- 127.0.0.1:8888
//! ```
//!
//! then connect a few `nc 127.0.0.1 8888` and talk (Ctrl-C to stop).

use bytes::Bytes;
use corio::net::{TcpListener, TcpStream};
use corio::sync::mpsc;
use futures_core::Stream;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

/// Each client's outgoing queue, by address.
/// (A `Bytes` line is shared by every queue it goes to, not copied.)
type Clients = Rc<RefCell<HashMap<SocketAddr, mpsc::Sender<Bytes>>>>;

/// Send `line` to everyone but `from`.
fn broadcast(clients: &Clients, from: SocketAddr, line: Vec<u8>) {
    let line = Bytes::from(line);
    for (addr, tx) in clients.borrow().iter() {
        if *addr != from {
            let _ = tx.try_send(line.clone());
        }
    }
}

async fn client(stream: Rc<TcpStream>, peer: SocketAddr, clients: Clients) {
    let (tx, mut rx) = mpsc::unbounded();
    clients.borrow_mut().insert(peer, tx);
    broadcast(&clients, peer, format!("* {peer} joined\n").into_bytes());
    // The writer: drains this client's queue.
    let writer = corio::spawn({
        let stream = stream.clone();
        async move {
            while let Some(line) = rx.recv().await {
                let (res, _) = stream.write_all(line).await;
                if res.is_err() {
                    return;
                }
            }
        }
    });
    // The reader: splits what arrives into lines.
    let mut pending = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (res, b) = stream.read(buf).await;
        match res {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        pending.extend_from_slice(&b);
        while let Some(end) = pending.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let mut out = format!("{peer}: ").into_bytes();
            out.extend_from_slice(&line);
            broadcast(&clients, peer, out);
        }
        buf = b;
    }
    clients.borrow_mut().remove(&peer);
    writer.abort();
    broadcast(&clients, peer, format!("* {peer} left\n").into_bytes());
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".into());
    corio::block_on(async {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("chat on {}", listener.local_addr()?);
        let clients: Clients = Rc::default();
        let mut incoming = listener.incoming();
        while let Some(conn) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
            let stream = match conn {
                Ok(stream) => stream,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let peer = stream.peer_addr()?;
            corio::spawn(client(Rc::new(stream), peer, clients.clone()));
        }
        Ok(())
    })
}
