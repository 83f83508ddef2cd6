//! Helpers shared by the integration tests: temp files with known contents,
//! connected TCP pairs on loopback, descriptor counting, bounded waits, a
//! time limit for whole tests, a `join_all` that polls many futures in one
//! task, and re-running this test binary as a child process.
//!
//! Every loop here is bounded both in iterations and in time.
#![allow(dead_code)]

pub mod matrix;
pub mod seccomp;

use std::any::Any;
use std::future::Future;
use std::io::Read;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};

/// Runs `f` on a fresh thread (so it gets a fresh implicit runtime) and fails
/// the test if it does not finish within `limit`, instead of hanging the
/// whole suite. A panic inside `f` is propagated with its original payload.
pub fn with_time_limit<T, F>(limit: Duration, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    struct Done(mpsc::Sender<()>);
    impl Drop for Done {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (tx, rx) = mpsc::channel();
    let name = thread::current().name().unwrap_or("test").to_string();
    let handle = thread::Builder::new()
        .name(format!("{name}-body"))
        .spawn(move || {
            let _done = Done(tx);
            f()
        })
        .expect("spawn test thread");
    match rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(v) => v,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test body did not finish within {limit:?}: the runtime hangs")
        }
    }
}

/// A deterministic byte pattern in which nearby positions differ and the
/// pattern does not repeat with a small period.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let i = i as u64;
            ((i.wrapping_mul(7) + (i >> 8).wrapping_mul(13) + (i >> 16) * 3 + seed as u64) % 251)
                as u8
        })
        .collect()
}

/// A temporary directory holding one file `data.bin` with `contents`.
pub fn temp_file(contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create temp dir");
    let path = dir.path().join("data.bin");
    std::fs::write(&path, contents).expect("write temp file");
    (dir, path)
}

/// Fixed-size, self-describing 16-byte record number `i`.
pub fn record(i: usize) -> Vec<u8> {
    let r = format!("rec{:012}\n", i).into_bytes();
    assert_eq!(r.len(), 16);
    r
}

/// A temp file made of `n` records from [`record`].
pub fn temp_file_of_records(n: usize) -> (tempfile::TempDir, PathBuf) {
    let mut data = Vec::with_capacity(n * 16);
    for i in 0..n {
        data.extend_from_slice(&record(i));
    }
    temp_file(&data)
}

/// Number of open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// The open descriptors and what they point to, for failure messages.
pub fn fd_list() -> String {
    let mut out = String::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        for e in rd.flatten() {
            let target = std::fs::read_link(e.path())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "?".into());
            out.push_str(&format!(
                "{} -> {}\n",
                e.file_name().to_string_lossy(),
                target
            ));
        }
    }
    out
}

/// Polls `cond` every few milliseconds (blocking the thread) until it holds,
/// for at most `limit` and at most 10,000 times. Returns whether it held.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    for _ in 0..10_000 {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// Like [`wait_for`] but sleeps on the corio timer, so the runtime keeps
/// running (reaping completions, running tasks) while we wait.
pub async fn wait_for_async(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    for _ in 0..10_000 {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            break;
        }
        corio::time::sleep(Duration::from_millis(2)).await;
    }
    cond()
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Polls `fut` exactly once with the current task's waker; gives back the
/// result if it was ready.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

struct JoinShared {
    woken: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

struct JoinChildWaker {
    idx: usize,
    shared: Arc<JoinShared>,
}

impl Wake for JoinChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.lock().unwrap().push(self.idx);
        if let Some(w) = self.shared.parent.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// Runs all `futs` concurrently inside the calling task (no `spawn`): the
/// first poll polls every one of them, so all their operations are queued
/// together; later polls only poll the ones that were woken.
pub async fn join_all<F: Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futs: Vec<Option<Pin<Box<F>>>> = futs.into_iter().map(|f| Some(Box::pin(f))).collect();
    let n = futs.len();
    let shared = Arc::new(JoinShared {
        woken: Mutex::new((0..n).collect()),
        parent: Mutex::new(None),
    });
    let wakers: Vec<Waker> = (0..n)
        .map(|idx| {
            Waker::from(Arc::new(JoinChildWaker {
                idx,
                shared: shared.clone(),
            }))
        })
        .collect();
    let mut out: Vec<Option<F::Output>> = (0..n).map(|_| None).collect();
    let mut remaining = n;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        *shared.parent.lock().unwrap() = Some(cx.waker().clone());
        let batch = std::mem::take(&mut *shared.woken.lock().unwrap());
        for idx in batch {
            if let Some(f) = futs[idx].as_mut() {
                let mut child_cx = Context::from_waker(&wakers[idx]);
                if let Poll::Ready(v) = f.as_mut().poll(&mut child_cx) {
                    out[idx] = Some(v);
                    futs[idx] = None;
                    remaining -= 1;
                }
            }
        }
        if remaining == 0 {
            Poll::Ready(out.iter_mut().map(|o| o.take().expect("output")).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// A corio listener on an ephemeral loopback port.
pub fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// Two connected corio streams: (client, server).
pub async fn corio_pair() -> (TcpStream, TcpStream) {
    let listener = loopback_listener();
    let addr = listener.local_addr().expect("listener local_addr");
    // The kernel completes the handshake into the accept queue, so connecting
    // first and accepting second cannot deadlock.
    let client = TcpStream::connect(addr).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

/// A corio stream connected to a plain std stream (the peer), which the test
/// may drive from another thread.
pub async fn std_peer_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("std bind");
    let addr = listener.local_addr().expect("std local_addr");
    let stream = TcpStream::connect(addr).await.expect("corio connect");
    let (peer, _) = listener.accept().expect("std accept");
    (stream, peer)
}

/// Reads from `s` until `n` bytes arrived (or EOF), in reads of at most
/// `chunk` bytes; bounded in reads and time.
pub async fn read_n(s: &TcpStream, n: usize, chunk: usize, limit: Duration) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::with_capacity(n);
    let mut reads = 0usize;
    while got.len() < n {
        reads += 1;
        assert!(reads <= 10_000_000, "too many reads");
        assert!(
            start.elapsed() < limit,
            "read_n: only {} of {} bytes after {:?}",
            got.len(),
            n,
            limit
        );
        let want = chunk.min(n - got.len());
        let (res, buf) = s.read(Vec::with_capacity(want)).await;
        let k = res.expect("read");
        if k == 0 {
            break;
        }
        assert_eq!(
            buf.len(),
            k,
            "read sets the buffer's length to what was read"
        );
        got.extend_from_slice(&buf[..k]);
    }
    got
}

/// Reads until EOF; bounded.
pub async fn read_to_eof(s: &TcpStream, limit: Duration, max: usize) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::new();
    for _ in 0..10_000_000 {
        assert!(
            start.elapsed() < limit,
            "read_to_eof: no EOF after {limit:?}"
        );
        let (res, buf) = s.read(Vec::with_capacity(64 * 1024)).await;
        let k = res.expect("read");
        if k == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..k]);
        assert!(got.len() <= max, "more bytes than expected");
    }
    panic!("read_to_eof: too many reads");
}

/// Index of the first difference, for readable assertion messages.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b.iter())
        .position(|(x, y)| x != y)
        .or(if a.len() != b.len() {
            Some(a.len().min(b.len()))
        } else {
            None
        })
}

/// Re-runs this test binary with only the test `test_name`, with `env_key=1`
/// in its environment, and returns its output; kills it after `limit`.
pub fn run_self_as_child(test_name: &str, env_key: &str, limit: Duration) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env_key, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test process");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let st = child.wait().expect("wait");
            let stdout = out_t.join().unwrap();
            let stderr = err_t.join().unwrap();
            panic!(
                "child test {test_name} did not finish within {limit:?} (killed, {st:?})\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// Asserts the child run by [`run_self_as_child`] passed its one test.
pub fn assert_child_passed(out: &Output, marker: &str) {
    use std::os::unix::process::ExitStatusExt;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: status {:?} (signal {:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status,
        out.status.signal()
    );
    assert!(
        stdout.contains("1 passed"),
        "child did not run exactly one test\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(marker),
        "child did not reach its end marker {marker:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
