//! asyncio's `TaskGroup`: fetch from several servers at once; when one
//! fails, the others are cancelled, and `join` returns the error after
//! their cleanup has run.
//!
//! ```text
//! cargo run --example task_group
//! ```
//!
//! Four loopback servers answer after different delays; one of them closes
//! the connection without answering. The fetches run as one group: the
//! fast one finishes, the failing one fails, the two slow ones are
//! cancelled — long before they would have answered.

use corio::net::{TcpListener, TcpStream};
use corio::task::TaskGroup;
use corio::time::sleep;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A loopback server that answers each request after `delay` — or, if
/// `fails`, closes the connection without answering.
fn server(delay: Duration, fails: bool) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    corio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            corio::spawn(async move {
                let (res, _) = stream.read(Vec::with_capacity(64)).await;
                if res.is_err() {
                    return;
                }
                sleep(delay).await;
                if !fails {
                    let reply = format!("{} ms of data", delay.as_millis());
                    let _ = stream.write_all(reply.into_bytes()).await;
                }
                // Dropping the stream closes the connection.
            });
        }
    });
    Ok(addr)
}

/// Prints what became of a fetch when it ends: done, or cancelled.
struct Report {
    addr: SocketAddr,
    done: bool,
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.done {
            println!("  {}: cancelled", self.addr);
        }
    }
}

async fn fetch(addr: SocketAddr) -> Result<String, String> {
    let mut report = Report { addr, done: false };
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (res, _) = stream.write_all(b"GET" as &'static [u8]).await;
    res.map_err(|e| e.to_string())?;
    let (res, reply) = stream.read(Vec::with_capacity(256)).await;
    report.done = true;
    match res.map_err(|e| e.to_string())? {
        0 => {
            println!("  {addr}: closed without answering");
            Err(format!("{addr} closed the connection without answering"))
        }
        _ => {
            let reply = String::from_utf8_lossy(&reply).into_owned();
            println!("  {addr}: {reply}");
            Ok(reply)
        }
    }
}

fn main() -> io::Result<()> {
    corio::block_on(async {
        let servers = [
            server(Duration::from_millis(20), false)?,
            server(Duration::from_millis(60), true)?,
            server(Duration::from_millis(2_000), false)?,
            server(Duration::from_millis(3_000), false)?,
        ];
        let start = Instant::now();
        println!("fetching from {} servers as one group:", servers.len());
        let mut group = TaskGroup::new();
        for addr in servers {
            group.spawn(fetch(addr));
        }
        let outcome = group.join().await;
        let took = start.elapsed();
        match &outcome {
            Ok(replies) => println!("all answered: {replies:?}"),
            Err(e) => println!("the group failed after {took:?}: {e}"),
        }
        assert!(outcome.is_err(), "one server fails");
        assert!(
            took < Duration::from_millis(1_500),
            "the slow fetches were cancelled, not waited for"
        );
        Ok(())
    })
}
