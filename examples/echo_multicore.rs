//! A thread-per-core echo server: one runtime per CPU, one listener per
//! core on the same port (SO_REUSEPORT — the kernel spreads connections),
//! every core serving its own connections. Ctrl-C stops accepting on every
//! core, lets the open connections finish within a deadline, and exits.
//!
//! ```text
//! cargo run --release --example echo_multicore              # 127.0.0.1:8080
//! cargo run --release --example echo_multicore -- 0.0.0.0:9000
//! cargo run --example echo_multicore -- --self-test         # clients, Ctrl-C, checks
//! ```
//!
//! `--self-test` serves a free loopback port and runs clients against it
//! on a plain thread: connections echo bytes (all checked), then the
//! process sends itself SIGINT while some connections are still talking;
//! those finish their conversation, new connections are refused, and the
//! server exits well before its deadline.

use corio::net::{TcpListener, TcpStream};
use corio::pool::CoreId;
use corio::task::JoinSet;
use corio::Pool;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

/// How long open connections may go on after Ctrl-C.
const DEADLINE: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let self_test = args.iter().any(|a| a == "--self-test");
    let addr: SocketAddr = match (self_test, args.first()) {
        (true, _) => free_loopback_port()?,
        (false, Some(a)) => a
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{a}: {e}")))?,
        (false, None) => "127.0.0.1:8080".parse().expect("a valid address"),
    };
    let pool = Pool::new()?;
    println!(
        "echo on {addr} with {} cores; Ctrl-C stops it",
        pool.cores()
    );
    let clients = self_test.then(|| std::thread::spawn(move || self_test_clients(addr)));
    let started = Instant::now();
    let served = pool.run(move |core| serve(core, addr));
    let mut total = 0;
    for (core, result) in served.into_iter().enumerate() {
        let n = result?;
        println!("core {core}: served {n} connections");
        total += n;
    }
    println!("stopped after {:?}: {total} connections", started.elapsed());
    if let Some(clients) = clients {
        let report = clients.join().expect("the self-test clients panicked")?;
        println!("self-test: {report}");
        assert!(total >= 12, "every test connection was served");
    }
    Ok(())
}

/// One core: accept on its own listener until Ctrl-C, then let its
/// connections finish within the deadline. Returns how many it served.
async fn serve(core: CoreId, addr: SocketAddr) -> io::Result<usize> {
    let listener = TcpListener::bind_reuseport(addr)?;
    // Every core listens for Ctrl-C and gets it.
    let mut ctrl_c = pin!(corio::signal::ctrl_c());
    let mut connections = JoinSet::new();
    let mut served = 0;
    loop {
        let accepted = first(listener.accept(), ctrl_c.as_mut()).await;
        match accepted {
            Either::Left(Ok((stream, _peer))) => {
                served += 1;
                connections.spawn(echo(stream));
                // Shed the connections that ended meanwhile.
                while connections.try_join_next().is_some() {}
            }
            Either::Left(Err(e)) => eprintln!("core {}: accept: {e}", core.index()),
            Either::Right(signal) => {
                signal?;
                break;
            }
        }
    }
    // Stop accepting: new connections to this core are refused.
    drop(listener);
    let open = connections.len();
    let drained = corio::time::timeout(DEADLINE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => println!(
            "core {}: Ctrl-C; {open} open connections finished",
            core.index()
        ),
        Err(_) => {
            println!(
                "core {}: {} connections still open at the deadline: closed",
                core.index(),
                connections.len()
            );
            // Dropping the set aborts them.
        }
    }
    Ok(served)
}

/// Echo everything back until the client closes.
async fn echo(stream: TcpStream) {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let (res, b) = stream.read(buf).await;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, b) = stream.write_all(b).await;
        if res.is_err() {
            return;
        }
        buf = b;
    }
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Whichever of two futures finishes first (the other is dropped, or
/// left where it is when borrowed).
async fn first<A: Future, B: Future + Unpin>(a: A, mut b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = std::pin::Pin::new(&mut b).poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

/// A loopback port nobody listens on (found by binding port 0).
fn free_loopback_port() -> io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    probe.local_addr()
}

/// The self-test's clients, on a plain thread (std sockets).
fn self_test_clients(addr: SocketAddr) -> io::Result<String> {
    let connect = || -> io::Result<std::net::TcpStream> {
        let start = Instant::now();
        loop {
            match std::net::TcpStream::connect(addr) {
                Ok(s) => return Ok(s),
                Err(e) if start.elapsed() > Duration::from_secs(10) => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    };
    let round_trip = |s: &mut std::net::TcpStream, seed: usize| -> io::Result<usize> {
        let msg: Vec<u8> = (0..1 + seed % 4000)
            .map(|i| (i * 31 + seed) as u8)
            .collect();
        s.write_all(&msg)?;
        let mut back = vec![0; msg.len()];
        s.read_exact(&mut back)?;
        assert_eq!(back, msg, "the echo differs");
        Ok(msg.len())
    };
    let mut bytes = 0;
    // Eight connections that talk and leave.
    for c in 0..8 {
        let mut s = connect()?;
        for i in 0..50 {
            bytes += round_trip(&mut s, c * 1000 + i)?;
        }
    }
    // Four that are mid-conversation when Ctrl-C comes.
    let mut open: Vec<_> = (0..4).map(|_| connect()).collect::<io::Result<_>>()?;
    for (c, s) in open.iter_mut().enumerate() {
        bytes += round_trip(s, c)?;
    }
    // SAFETY: kill(2) on our own process: the server's Ctrl-C.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    // They are still served after Ctrl-C...
    for (c, s) in open.iter_mut().enumerate() {
        for i in 0..20 {
            bytes += round_trip(s, 7000 + c * 100 + i)?;
        }
    }
    // ...but nobody accepts new connections any more.
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err();
    drop(open);
    assert!(refused, "a connection after Ctrl-C was accepted");
    Ok(format!(
        "12 connections, {bytes} bytes echoed and checked; open ones finished after Ctrl-C, new ones refused"
    ))
}
