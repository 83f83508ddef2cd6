//! `async for`: asyncio's
//!
//! ```python
//! async for item in stream:
//!     ...
//! ```
//!
//! is, in Rust, a `futures_core::Stream` consumed with
//! `while let Some(item) = next(&mut stream).await`. (With the `futures`
//! crate you would write `stream.next().await`; this example defines its own
//! tiny `next` so that it needs nothing beyond `futures-core`.)
//!
//! Three streams: a `corio::time::interval` (a tick every 200 ms), an
//! "async generator" — a hand-written `Stream` that waits on a corio timer
//! between the values it yields, one at a time, like `async def` with
//! `yield` in Python — and a connection's received data as a stream of
//! chunks (`TcpStream::recv_multishot`: one multishot receive, each chunk
//! in a buffer the kernel picked from a `BufRing`).
//!
//! Run it with:
//!
//! ```text
//! cargo run --example async_for
//! ```

use corio::buf::BufRing;
use corio::net::{TcpListener, TcpStream};
use corio::time::{interval, sleep, Sleep};
use futures_core::Stream;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The next item of a stream, or `None` when it ended (what
/// `futures::StreamExt::next` does).
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// The Rust spelling of
///
/// ```python
/// async def countdown(n, delay):
///     while n > 0:
///         await asyncio.sleep(delay)
///         yield n
///         n -= 1
/// ```
///
/// The state a generator keeps between `yield`s lives in the struct: the
/// next value and the timer being awaited.
struct Countdown {
    n: u32,
    delay: Duration,
    sleep: Option<Sleep>, // corio's Sleep is Unpin: no boxing needed
}

fn countdown(n: u32, delay: Duration) -> Countdown {
    Countdown {
        n,
        delay,
        sleep: None,
    }
}

impl Stream for Countdown {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.n == 0 {
            return Poll::Ready(None); // the generator returned
        }
        let delay = self.delay;
        // "await asyncio.sleep(delay)": start the timer once, then poll it
        // until it fires (Pending registers our waker with the runtime).
        let sleep = self.sleep.get_or_insert_with(|| sleep(delay));
        if Pin::new(sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        // "yield n; n -= 1"
        let n = self.n;
        self.n -= 1;
        Poll::Ready(Some(n))
    }
}

fn main() {
    corio::block_on(async {
        let start = Instant::now();

        println!("interval, every 200 ms (the first tick is immediate):");
        let mut ticks = interval(Duration::from_millis(200));
        let mut count = 0;
        while let Some(t) = next(&mut ticks).await {
            count += 1;
            println!(
                "  tick {count} at {:>4} ms",
                t.duration_since(start).as_millis()
            );
            if count == 5 {
                break; // an interval never ends by itself: stop when done
            }
        }

        println!("async generator, counting down every 100 ms:");
        let mut stream = countdown(5, Duration::from_millis(100));
        while let Some(n) = next(&mut stream).await {
            println!("  {n} at {:>4} ms", start.elapsed().as_millis());
        }
        println!("  liftoff: the generator ended (next() gave None)");

        println!("received data, chunk by chunk (multishot receive):");
        if let Err(e) = receive_chunks().await {
            println!("  multishot receive unavailable here: {e}");
        }
    });
}

/// `async for chunk in connection:` — a client sends three messages and
/// closes; the server side iterates over what arrives.
async fn receive_chunks() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let client = corio::spawn(async move {
        let stream = TcpStream::connect(addr).await?;
        for word in ["hello", "multishot", "world"] {
            let (res, _) = stream.write_all(word).await;
            res?;
            sleep(Duration::from_millis(50)).await; // separate chunks
        }
        stream.close().await // end of stream for the receiver
    });
    let (stream, _) = listener.accept().await?;
    // 8 buffers of 1 KiB, shared by every receive that uses this ring.
    let bufs = BufRing::new(8, 1024)?;
    let mut chunks = stream.recv_multishot(&bufs);
    while let Some(chunk) = next(&mut chunks).await {
        let chunk = chunk?; // a RingBuf: its buffer returns to the ring on drop
        println!("  {:?}", String::from_utf8_lossy(&chunk));
    }
    println!("  the peer closed: the stream ended");
    client.await.map_err(std::io::Error::from)?
}
