//! The load generator, written once and shared by every contender: C
//! connections, each a ping-pong of S-byte messages (send S bytes, read S
//! bytes back, check them, record the round trip), driven by one raw
//! io_uring loop on its own CPU.

use hdrhistogram::Histogram;
use io_uring::{opcode, types, IoUring};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// How much of each echoed message is compared with what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every byte (smoke runs).
    Full,
    /// The first and last 8 bytes (measurement runs: checking 16 KiB per
    /// message would make the load generator the bottleneck).
    Ends,
    /// Not an echo: each message is [`HTTP_REQUEST`], answered by an HTTP
    /// response of `response_len` bytes that must be a 200 with the body
    /// [`HTTP_BODY`] (keep-alive, one request in flight per connection).
    Http { response_len: usize },
}

/// The request of [`Check::Http`].
pub const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
/// The body every HTTP server of the benchmark answers with.
pub const HTTP_BODY: &[u8] = b"hello";

/// What one measurement window saw.
#[derive(Debug)]
pub struct Window {
    pub messages: u64,
    pub elapsed: Duration,
    /// Round trips in nanoseconds.
    pub hist: Histogram<u64>,
}

/// A client's socket: a TCP connection, or a UDP socket connected to the
/// server (one datagram per message, SEND/RECV as for TCP).
enum Socket {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Socket {
    fn fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Udp(s) => s.as_raw_fd(),
        }
    }

    /// Make receives in flight complete (so their buffers can be freed).
    fn shutdown(&self) {
        let _ = match self {
            Socket::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            // shutdown(2) of a UDP socket wakes its receives (end of file).
            Socket::Udp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
        };
    }
}

/// The transport a load generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    /// UDP: a lost datagram would stall its client forever, so waits are
    /// bounded (and a stalled client is simply one fewer in the window).
    Udp,
}

struct Conn {
    stream: Socket,
    out: Box<[u8]>,
    inp: Box<[u8]>,
    sent: usize,
    received: usize,
    seq: u64,
    started: Instant,
}

const SEND: u64 = 0;
const RECV: u64 = 1;

fn fill(buf: &mut [u8], conn: usize, seq: u64) {
    let base = (conn as u64)
        .wrapping_mul(31)
        .wrapping_add(seq.wrapping_mul(7));
    for (i, b) in buf.iter_mut().enumerate() {
        *b = base.wrapping_add(i as u64) as u8;
    }
}

/// Drives the connections; `run` may be called for a warm-up and then for
/// the measured window.
pub struct LoadGen {
    ring: IoUring,
    conns: Vec<Conn>,
    size: usize,
    check: Check,
    /// Busy-poll the ring instead of sleeping in `io_uring_enter`.
    spin: bool,
    transport: Transport,
    in_flight: usize,
}

impl Drop for LoadGen {
    /// End every receive (shutdown makes them complete) and reap them all
    /// before the buffers are freed: the kernel must not write into freed
    /// memory.
    fn drop(&mut self) {
        for c in &self.conns {
            c.stream.shutdown();
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.in_flight > 0 && Instant::now() < deadline {
            let _ = self.ring.submit_and_wait(1);
            let n = self.ring.completion().count();
            self.in_flight = self.in_flight.saturating_sub(n);
        }
        if self.in_flight > 0 {
            // Never came back: leak the buffers rather than free them.
            std::mem::forget(std::mem::take(&mut self.conns));
        }
    }
}

impl LoadGen {
    /// Connect `connections` clients to `addr` and prime the first message.
    /// `spin`: busy-poll the ring rather than sleep in the kernel.
    pub fn connect(
        addr: SocketAddr,
        connections: usize,
        size: usize,
        check: Check,
        spin: bool,
    ) -> io::Result<LoadGen> {
        Self::connect_with(Transport::Tcp, addr, connections, size, check, spin)
    }

    /// As [`connect`](LoadGen::connect), over `transport`.
    pub fn connect_with(
        transport: Transport,
        addr: SocketAddr,
        connections: usize,
        size: usize,
        check: Check,
        spin: bool,
    ) -> io::Result<LoadGen> {
        let entries = (connections * 2).next_power_of_two().clamp(64, 16384) as u32;
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize(entries * 2)
            .build(entries)
            .or_else(|_| IoUring::new(entries))?;
        let mut conns = Vec::with_capacity(connections);
        for i in 0..connections {
            let stream = match transport {
                Transport::Tcp => {
                    let stream = connect_retry(addr)?;
                    stream.set_nodelay(true)?;
                    Socket::Tcp(stream)
                }
                Transport::Udp => {
                    let socket = UdpSocket::bind("127.0.0.1:0")?;
                    socket.connect(addr)?;
                    Socket::Udp(socket)
                }
            };
            let (out, in_len) = match check {
                Check::Http { response_len } => (HTTP_REQUEST.into(), response_len),
                _ => {
                    let mut out = vec![0u8; size].into_boxed_slice();
                    fill(&mut out, i, 0);
                    (out, size)
                }
            };
            conns.push(Conn {
                stream,
                out,
                inp: vec![0u8; in_len].into_boxed_slice(),
                sent: 0,
                received: 0,
                seq: 0,
                started: Instant::now(),
            });
        }
        let mut gen = LoadGen {
            ring,
            conns,
            size,
            check,
            spin,
            transport,
            in_flight: 0,
        };
        for i in 0..connections {
            gen.conns[i].started = Instant::now();
            gen.push_send(i);
        }
        Ok(gen)
    }

    fn push(&mut self, e: io_uring::squeue::Entry) {
        // SAFETY: entries point into the boxed buffers of `self.conns`,
        // which live as long as the ring (dropped together, ring first:
        // field order) and are not touched while an op is in flight.
        while unsafe { self.ring.submission().push(&e) }.is_err() {
            self.ring.submit().expect("submit");
        }
        self.in_flight += 1;
    }

    fn push_send(&mut self, i: usize) {
        let c = &self.conns[i];
        let e = opcode::Send::new(
            types::Fd(c.stream.fd()),
            c.out[c.sent..].as_ptr(),
            (c.out.len() - c.sent) as u32,
        )
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(((i as u64) << 1) | SEND);
        self.push(e);
    }

    fn push_recv(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let e = opcode::Recv::new(
            types::Fd(c.stream.fd()),
            c.inp[c.received..].as_mut_ptr(),
            (c.inp.len() - c.received) as u32,
        )
        .build()
        .user_data(((i as u64) << 1) | RECV);
        self.push(e);
    }

    /// Run for `duration`; counts messages whose round trip ended inside it.
    pub fn run(&mut self, duration: Duration) -> io::Result<Window> {
        let mut hist =
            Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds");
        let start = Instant::now();
        let end = start + duration;
        let mut messages = 0u64;
        let mut cqes: Vec<(u64, i32)> = Vec::with_capacity(self.conns.len() * 2);
        while Instant::now() < end {
            let entered = if self.spin {
                self.poll_once()
            } else if self.transport == Transport::Udp {
                let ts = types::Timespec::new().nsec(10_000_000);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            } else {
                self.ring.submit_and_wait(1)
            };
            match entered {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EINTR | libc::EBUSY | libc::ETIME)
                    ) => {}
                Err(e) => return Err(e),
            }
            cqes.clear();
            cqes.extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            self.in_flight -= cqes.len();
            for &(data, res) in &cqes {
                let i = (data >> 1) as usize;
                if res < 0 {
                    return Err(io::Error::from_raw_os_error(-res));
                }
                if data & 1 == SEND {
                    self.conns[i].sent += res as usize;
                    if self.conns[i].sent < self.conns[i].out.len() {
                        self.push_send(i);
                    } else {
                        self.push_recv(i);
                    }
                    continue;
                }
                if res == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed a connection",
                    ));
                }
                let c = &mut self.conns[i];
                c.received += res as usize;
                if c.received < c.inp.len() {
                    self.push_recv(i);
                    continue;
                }
                let ok = match self.check {
                    Check::Http { .. } => {
                        c.inp.starts_with(b"HTTP/1.1 200") && c.inp.ends_with(HTTP_BODY)
                    }
                    Check::Full => c.inp == c.out,
                    Check::Ends => {
                        let k = self.size.min(8);
                        c.inp[..k] == c.out[..k] && c.inp[self.size - k..] == c.out[self.size - k..]
                    }
                };
                if !ok {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "connection {i}: the answer is not the one expected (message {})",
                            c.seq
                        ),
                    ));
                }
                let now = Instant::now();
                let _ = hist.record(now.duration_since(c.started).as_nanos().max(1) as u64);
                messages += 1;
                c.seq += 1;
                c.sent = 0;
                c.received = 0;
                if !matches!(self.check, Check::Http { .. }) {
                    fill(&mut c.out, i, c.seq);
                }
                c.started = now;
                self.push_send(i);
            }
        }
        Ok(Window {
            messages,
            elapsed: start.elapsed(),
            hist,
        })
    }
}

impl LoadGen {
    /// Submit, and collect what completed, without waiting (with
    /// DEFER_TASKRUN completions are only posted by an enter with
    /// GETEVENTS, which `submit` alone does not ask for).
    fn poll_once(&mut self) -> io::Result<usize> {
        const IORING_ENTER_GETEVENTS: u32 = 1;
        let to_submit = self.ring.submission().len() as u32;
        // SAFETY: no argument is passed; the entries queued point into
        // buffers of `self.conns` (see `push`).
        unsafe {
            self.ring.submitter().enter::<libc::sigset_t>(
                to_submit,
                0,
                IORING_ENTER_GETEVENTS,
                None,
            )
        }
    }
}

fn connect_retry(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut last = None;
    for _ in 0..50 {
        match TcpStream::connect(addr) {
            Ok(s) => return Ok(s),
            Err(e) => {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let _ = io::stderr().flush();
    Err(last.unwrap())
}
