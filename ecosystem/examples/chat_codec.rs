//! The line chat of `examples/chat.rs`, written with tokio-util's
//! `LinesCodec` over `corio::io::Compat`: each connection is a
//! `Framed` stream of lines and sink of lines, as in any tokio program —
//! on corio's io_uring sockets.
//!
//! ```text
//! cargo run -p corio-ecosystem --example chat_codec -- 127.0.0.1:8888
//! ```
//!
//! then connect a few `nc 127.0.0.1 8888` and talk.

use corio::io::Compat;
use corio::net::{TcpListener, TcpStream};
use corio::sync::mpsc;
use futures_util::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio_util::codec::{Framed, LinesCodec};

type Clients = Rc<RefCell<HashMap<SocketAddr, mpsc::Sender<String>>>>;

fn broadcast(clients: &Clients, from: SocketAddr, line: &str) {
    for (addr, tx) in clients.borrow().iter() {
        if *addr != from {
            let _ = tx.try_send(line.to_owned());
        }
    }
}

async fn client(stream: TcpStream, peer: SocketAddr, clients: Clients) {
    let (mut lines_out, mut lines_in) = Framed::new(
        Compat::new(stream),
        LinesCodec::new_with_max_length(64 * 1024),
    )
    .split();
    let (tx, mut rx) = mpsc::unbounded();
    clients.borrow_mut().insert(peer, tx);
    broadcast(&clients, peer, &format!("* {peer} joined"));
    let writer = corio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if lines_out.send(line).await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(line)) = lines_in.next().await {
        broadcast(&clients, peer, &format!("{peer}: {line}"));
    }
    clients.borrow_mut().remove(&peer);
    writer.abort();
    broadcast(&clients, peer, &format!("* {peer} left"));
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".into());
    corio::block_on(async {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("chat on {}", listener.local_addr()?);
        let clients: Clients = Rc::default();
        loop {
            let (stream, peer) = listener.accept().await?;
            corio::spawn(client(stream, peer, clients.clone()));
        }
    })
}
