//! Between cores: the round trip of a message between two pinned cores
//! that sleep between messages — corio's mpsc and spawn_on, each with both
//! ways of waking a sleeping core (IORING_OP_MSG_RING from the sender's
//! ring, or an eventfd write) — beside the physical floor (the same
//! ping-pong over raw eventfds and over raw MSG_RING between two bare rings)
//! and async-channel between two tokio current_thread runtimes; then
//! throughput one-to-one and all-to-one.

use crate::report::{fmt_ratio, Report};
use crate::stats::Summary;
use crate::sys;
use crate::Mode;
use io_uring::{opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

/// Round trips per measured round.
fn round_trips(mode: &Mode) -> usize {
    if mode.smoke {
        300
    } else if mode.quick {
        3_000
    } else {
        20_000
    }
}

/// Messages per throughput round.
fn messages(mode: &Mode) -> u64 {
    if mode.smoke {
        20_000
    } else if mode.quick {
        200_000
    } else {
        2_000_000
    }
}

/// The two CPUs the round trips run on.
fn two_cpus() -> (usize, usize) {
    let n = sys::cpus();
    (0, 1.min(n - 1))
}

pub const ROUND_TRIP_CONTENDERS: &[&str] = &[
    "raw-eventfd",
    "raw-msg-ring",
    "corio-mpsc (msg-ring)",
    "corio-mpsc (eventfd)",
    "corio-spawn_on (msg-ring)",
    "corio-spawn_on (eventfd)",
    "tokio async-channel",
];

/// Nanoseconds of each round trip.
fn round_trip(contender: &str, n: usize) -> io::Result<Vec<u64>> {
    match contender {
        "raw-eventfd" => raw_eventfd(n),
        "raw-msg-ring" => raw_msg_ring(n),
        "corio-mpsc (msg-ring)" => corio_mpsc(n, true),
        "corio-mpsc (eventfd)" => corio_mpsc(n, false),
        "corio-spawn_on (msg-ring)" => corio_spawn_on(n, true),
        "corio-spawn_on (eventfd)" => corio_spawn_on(n, false),
        "tokio async-channel" => tokio_channel(n),
        other => Err(io::Error::other(format!("no such contender {other}"))),
    }
}

pub fn run(mode: &Mode, report: &mut Report) -> io::Result<()> {
    let (a, b) = two_cpus();
    report.section("Between cores");
    report.para(&format!(
        "Round trip of one message between two pinned cores (CPUs {a} and {b}) that sleep in the \
         kernel between messages: each side waits for the other's message, so every message \
         wakes a sleeping core. {} round trips per round, {} round(s), order rotated; median of \
         the rounds' medians and p99s. *raw-eventfd*: two bare DEFER_TASKRUN rings, each with a \
         read of its eventfd armed, the peer writes it. *raw-msg-ring*: the peer posts a \
         completion with IORING_OP_MSG_RING from its own ring. These two are the floor. \
         *× floor*: the contender's median over the faster raw one's.",
        round_trips(mode),
        mode.reps
    ));
    let mut samples: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ROUND_TRIP_CONTENDERS.len()];
    for rep in 0..mode.reps {
        for k in 0..ROUND_TRIP_CONTENDERS.len() {
            let i = (k + rep) % ROUND_TRIP_CONTENDERS.len();
            let name = ROUND_TRIP_CONTENDERS[i];
            eprintln!("cross-core round trip: {name} (round {})", rep + 1);
            let mut rtts = round_trip(name, round_trips(mode))?;
            rtts.sort_unstable();
            let median = rtts[rtts.len() / 2] as f64 / 1000.0;
            let p99 = rtts[rtts.len() * 99 / 100] as f64 / 1000.0;
            samples[i].push((median, p99));
        }
    }
    let medians: Vec<Summary> = samples
        .iter()
        .map(|s| Summary::of(&s.iter().map(|x| x.0).collect::<Vec<_>>()))
        .collect();
    let p99s: Vec<Summary> = samples
        .iter()
        .map(|s| Summary::of(&s.iter().map(|x| x.1).collect::<Vec<_>>()))
        .collect();
    let floor = medians[0].median.min(medians[1].median);
    let rows: Vec<Vec<String>> = ROUND_TRIP_CONTENDERS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            vec![
                name.to_string(),
                format!(
                    "{:.1} ({:.1}–{:.1})",
                    medians[i].median, medians[i].min, medians[i].max
                ),
                format!("{:.1}", p99s[i].median),
                fmt_ratio(Some(medians[i].median / floor)),
            ]
        })
        .collect();
    report.table(
        "Round trip between two sleeping cores",
        &["contender", "median µs (min–max)", "p99 µs", "× floor"],
        &rows,
    );
    throughput(mode, report)
}

/// Throughput: one sender core to one receiver core, and every other core
/// to core 0; corio's mpsc (both wake-ups) beside tokio + async-channel.
fn throughput(mode: &Mode, report: &mut Report) -> io::Result<()> {
    let m = messages(mode);
    let cores = sys::cpus().max(2);
    let mut rows = Vec::new();
    type Case = Box<dyn Fn() -> io::Result<f64>>;
    let cases: [(&str, Case); 5] = [
        (
            "corio-mpsc one-to-one (msg-ring)",
            Box::new(move || corio_flood(2, m, true)),
        ),
        (
            "corio-mpsc one-to-one (eventfd)",
            Box::new(move || corio_flood(2, m, false)),
        ),
        (
            "tokio async-channel one-to-one",
            Box::new(move || tokio_flood(m)),
        ),
        (
            "corio-mpsc all-to-one (msg-ring)",
            Box::new(move || corio_flood(cores, m, true)),
        ),
        (
            "corio-mpsc all-to-one (eventfd)",
            Box::new(move || corio_flood(cores, m, false)),
        ),
    ];
    for (name, case) in &cases {
        let mut rates = Vec::new();
        for rep in 0..mode.reps {
            eprintln!("cross-core throughput: {name} (round {})", rep + 1);
            rates.push(case()? / 1e6);
        }
        let s = Summary::of(&rates);
        rows.push(vec![
            name.to_string(),
            format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
        ]);
    }
    report.table(
        &format!(
            "Messages between cores ({m} u64 per round; all-to-one: {} senders to core 0)",
            cores - 1
        ),
        &["case", "million msgs/s (min–max)"],
        &rows,
    );
    Ok(())
}

/// A bare ring as corio sets one up (created on the calling thread).
fn bare_ring() -> io::Result<IoUring> {
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(64)
        .or_else(|_| IoUring::new(64))
}

fn eventfd() -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: plain syscall; checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

fn write_eventfd(fd: i32) {
    let one = 1u64;
    // SAFETY: 8 bytes from a local.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Arm a read of `fd` into `buf` on `ring`.
fn arm_read(ring: &mut IoUring, fd: i32, buf: &mut u64) {
    let e = opcode::Read::new(types::Fd(fd), (buf as *mut u64).cast(), 8)
        .build()
        .user_data(1);
    // SAFETY: `buf` outlives the read (the loops below wait for it).
    unsafe { ring.submission().push(&e).expect("room in the SQ") };
}

fn wait_one(ring: &mut IoUring) -> io::Result<()> {
    loop {
        ring.submit_and_wait(1)?;
        if ring.completion().next().is_some() {
            return Ok(());
        }
    }
}

fn raw_eventfd(n: usize) -> io::Result<Vec<u64>> {
    let (cpu_a, cpu_b) = two_cpus();
    let efd_a = eventfd()?;
    let efd_b = eventfd()?;
    let (a, b) = (efd_a.as_raw_fd(), efd_b.as_raw_fd());
    let barrier = Arc::new(Barrier::new(2));
    let bb = barrier.clone();
    let peer = std::thread::spawn(move || -> io::Result<()> {
        sys::pin_to_cpu(cpu_b)?;
        let mut ring = bare_ring()?;
        let mut buf = 0u64;
        arm_read(&mut ring, b, &mut buf);
        ring.submit()?;
        bb.wait();
        for _ in 0..n {
            wait_one(&mut ring)?;
            arm_read(&mut ring, b, &mut buf);
            write_eventfd(a);
        }
        Ok(())
    });
    sys::pin_to_cpu(cpu_a)?;
    let mut ring = bare_ring()?;
    let mut buf = 0u64;
    arm_read(&mut ring, a, &mut buf);
    ring.submit()?;
    barrier.wait();
    let mut rtts = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        write_eventfd(b);
        wait_one(&mut ring)?;
        rtts.push(t.elapsed().as_nanos() as u64);
        arm_read(&mut ring, a, &mut buf);
    }
    peer.join().expect("peer thread")?;
    drop((efd_a, efd_b));
    unpin()?;
    Ok(rtts)
}

fn raw_msg_ring(n: usize) -> io::Result<Vec<u64>> {
    let (cpu_a, cpu_b) = two_cpus();
    let fds: Arc<Mutex<(i32, i32)>> = Arc::new(Mutex::new((-1, -1)));
    let barrier = Arc::new(Barrier::new(2));
    let (f2, bb) = (fds.clone(), barrier.clone());
    let peer = std::thread::spawn(move || -> io::Result<()> {
        sys::pin_to_cpu(cpu_b)?;
        let mut ring = bare_ring()?;
        f2.lock().unwrap().1 = ring.as_raw_fd();
        bb.wait();
        bb.wait();
        let a = f2.lock().unwrap().0;
        for i in 0..n {
            wait_one(&mut ring)?;
            let reply = opcode::MsgRingData::new(types::Fd(a), 0, i as u64, None)
                .build()
                .flags(squeue::Flags::SKIP_SUCCESS);
            // SAFETY: no pointers.
            unsafe { ring.submission().push(&reply).expect("room") };
            if i + 1 == n {
                ring.submit()?;
            }
        }
        Ok(())
    });
    sys::pin_to_cpu(cpu_a)?;
    let mut ring = bare_ring()?;
    fds.lock().unwrap().0 = ring.as_raw_fd();
    barrier.wait();
    barrier.wait();
    let b = fds.lock().unwrap().1;
    let mut rtts = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let msg = opcode::MsgRingData::new(types::Fd(b), 0, i as u64, None)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS);
        // SAFETY: no pointers.
        unsafe { ring.submission().push(&msg).expect("room") };
        wait_one(&mut ring)?;
        rtts.push(t.elapsed().as_nanos() as u64);
    }
    peer.join().expect("peer thread")?;
    unpin()?;
    Ok(rtts)
}

/// Let the calling thread run anywhere again.
fn unpin() -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET indexes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..sys::cpus() {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn pool_of_two(msg_ring: bool) -> io::Result<corio::Pool> {
    let (a, b) = two_cpus();
    corio::Pool::builder()
        .cpus([a, b])
        .wake_with_msg_ring(msg_ring)
        .build()
}

fn corio_mpsc(n: usize, msg_ring: bool) -> io::Result<Vec<u64>> {
    let pool = pool_of_two(msg_ring)?;
    let (ping_tx, ping_rx) = corio::sync::mpsc::channel::<u64>(1);
    let (pong_tx, pong_rx) = corio::sync::mpsc::channel::<u64>(1);
    // Each core takes its own ends.
    let pinger = Arc::new(Mutex::new(Some((ping_tx, pong_rx))));
    let ponger = Arc::new(Mutex::new(Some((ping_rx, pong_tx))));
    let out = pool.run(move |core| {
        let (pinger, ponger) = (pinger.clone(), ponger.clone());
        async move {
            if core.index() == 0 {
                let (ping, mut pong) = pinger.lock().unwrap().take().expect("core 0's ends");
                let mut rtts = Vec::with_capacity(n);
                for i in 0..n as u64 {
                    let t = Instant::now();
                    ping.send(i).await.expect("peer alive");
                    pong.recv().await.expect("reply");
                    rtts.push(t.elapsed().as_nanos() as u64);
                }
                rtts
            } else {
                let (mut ping, pong) = ponger.lock().unwrap().take().expect("core 1's ends");
                while let Some(i) = ping.recv().await {
                    if pong.send(i).await.is_err() {
                        break;
                    }
                }
                Vec::new()
            }
        }
    });
    Ok(out.into_iter().next().expect("core 0"))
}

fn corio_spawn_on(n: usize, msg_ring: bool) -> io::Result<Vec<u64>> {
    let pool = pool_of_two(msg_ring)?;
    let out = pool.run(move |core| async move {
        if core.index() != 0 {
            return Vec::new();
        }
        let other = corio::pool::cores()[1];
        let mut rtts = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let t = Instant::now();
            let back = corio::pool::spawn_on(other, move || async move { i })
                .await
                .expect("remote task");
            assert_eq!(back, i);
            rtts.push(t.elapsed().as_nanos() as u64);
        }
        rtts
    });
    Ok(out.into_iter().next().expect("core 0"))
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn tokio_channel(n: usize) -> io::Result<Vec<u64>> {
    let (cpu_a, cpu_b) = two_cpus();
    let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
    let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
    let peer = std::thread::spawn(move || -> io::Result<()> {
        sys::pin_to_cpu(cpu_b)?;
        tokio_rt().block_on(async move {
            while let Ok(i) = ping_rx.recv().await {
                if pong_tx.send(i).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    });
    sys::pin_to_cpu(cpu_a)?;
    let rtts = tokio_rt().block_on(async move {
        let mut rtts = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let t = Instant::now();
            ping_tx.send(i).await.expect("peer");
            pong_rx.recv().await.expect("reply");
            rtts.push(t.elapsed().as_nanos() as u64);
        }
        rtts
    });
    peer.join().expect("peer thread")?;
    unpin()?;
    Ok(rtts)
}

/// `m` messages from cores 1.. to core 0 of a pool of `cores` (pinned if
/// the machine has that many CPUs); messages per second.
fn corio_flood(cores: usize, m: u64, msg_ring: bool) -> io::Result<f64> {
    let pinned = cores <= sys::cpus();
    let pool = corio::Pool::builder()
        .cores(cores)
        .pin(pinned)
        .wake_with_msg_ring(msg_ring)
        .build()?;
    let (tx, rx) = corio::sync::mpsc::channel::<u64>(1024);
    let rx = Arc::new(Mutex::new(Some(rx)));
    let senders = (cores - 1) as u64;
    let per = m / senders;
    let out = pool.run(move |core| {
        let (tx, rx) = (tx.clone(), rx.clone());
        async move {
            if core.index() == 0 {
                drop(tx);
                let mut rx = rx.lock().unwrap().take().expect("one receiver");
                // Counted, not read to the end: the closure `run` keeps
                // holds a sender until every core has returned.
                let start = Instant::now();
                for _ in 0..per * senders {
                    rx.recv().await.expect("every message arrives");
                }
                (per * senders) as f64 / start.elapsed().as_secs_f64()
            } else {
                for i in 0..per {
                    tx.send(i).await.expect("receiver alive");
                }
                0.0
            }
        }
    });
    Ok(out[0])
}

fn tokio_flood(m: u64) -> io::Result<f64> {
    let (cpu_a, cpu_b) = two_cpus();
    let (tx, rx) = async_channel::bounded::<u64>(1024);
    let sender = std::thread::spawn(move || -> io::Result<()> {
        sys::pin_to_cpu(cpu_b)?;
        tokio_rt().block_on(async move {
            for i in 0..m {
                tx.send(i).await.expect("receiver alive");
            }
        });
        Ok(())
    });
    sys::pin_to_cpu(cpu_a)?;
    let rate = tokio_rt().block_on(async move {
        let start = Instant::now();
        let mut got = 0u64;
        while rx.recv().await.is_ok() {
            got += 1;
        }
        assert_eq!(got, m);
        got as f64 / start.elapsed().as_secs_f64()
    });
    sender.join().expect("sender")?;
    unpin()?;
    Ok(rate)
}
