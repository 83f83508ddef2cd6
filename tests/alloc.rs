//! The hot path allocates nothing once warm: a steady-state socket read /
//! write and a file read make zero heap allocations on the runtime thread.
//!
//! A counting global allocator counts only while this thread asks it to, so
//! the test harness's own threads do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards to the system allocator; counting does not touch memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract.
        unsafe { System.realloc(ptr, layout, size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations made by this thread while running `f`.
async fn allocations<F: std::future::Future>(f: F) -> (u64, F::Output) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f.await;
    COUNTING.with(|on| on.set(false));
    (COUNT.with(Cell::get), out)
}

#[test]
fn the_counter_counts() {
    corio::block_on(async {
        let (n, v) = allocations(async { Vec::<u8>::with_capacity(10) }).await;
        assert_eq!(v.capacity(), 10);
        assert_eq!(n, 1);
        let (n, _) = allocations(async { corio::spawn(async { 1 }).await }).await;
        assert!(n >= 1, "spawning a task allocates its cell");
    });
}

#[test]
fn steady_state_echo_round_trips_do_not_allocate() {
    corio::block_on(async {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = std::net::TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::with_capacity(4096);
        // One message each way per round; the first rounds warm the slab,
        // the run queue and the waker.
        let mut round = |buf: Vec<u8>, i: u8| {
            peer.write_all(&[i; 64]).unwrap();
            let stream = &stream;
            async move {
                let (res, buf) = stream.read(buf).await;
                assert_eq!(res.unwrap(), 64);
                assert!(buf.iter().all(|&b| b == i));
                let (res, buf) = stream.write_all(buf).await;
                res.unwrap();
                buf
            }
        };
        for i in 0..50 {
            buf = round(buf, i).await;
        }
        let mut total = 0;
        for i in 0..200u8 {
            let fut = round(buf, i);
            let (n, b) = allocations(fut).await;
            buf = b;
            total += n;
        }
        println!("allocations in 200 steady-state echo round trips: {total}");
        assert_eq!(total, 0, "the steady-state read/write path allocated");
    });
}

#[test]
fn steady_state_file_reads_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
    corio::block_on(async {
        let file = corio::fs::File::open(&path).await.unwrap();
        let mut buf = Vec::with_capacity(4096);
        for i in 0..50u64 {
            let (res, b) = file.read_at(buf, i * 4096).await;
            assert_eq!(res.unwrap(), 4096);
            buf = b;
        }
        let (n, buf) = allocations(async {
            let mut buf = buf;
            for i in 0..256u64 {
                let (res, b) = file.read_at(buf, (i % 256) * 4096).await;
                assert_eq!(res.unwrap(), 4096);
                buf = b;
            }
            buf
        })
        .await;
        assert_eq!(buf.len(), 4096);
        println!("allocations in 256 steady-state file reads: {n}");
        assert_eq!(n, 0, "the steady-state file read path allocated");
    });
}

#[test]
fn steady_state_multishot_echo_does_not_allocate() {
    use futures_core::Stream;
    use std::pin::Pin;

    async fn round(
        peer: &mut std::net::TcpStream,
        stream: &corio::net::TcpStream,
        chunks: &mut corio::net::RecvMultishot,
        i: u8,
    ) {
        peer.write_all(&[i; 64]).unwrap();
        let chunk = std::future::poll_fn(|cx| Pin::new(&mut *chunks).poll_next(cx))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(chunk.len(), 64);
        assert!(chunk.iter().all(|&b| b == i));
        // Echoed straight from its ring buffer, which returns to the ring
        // when the write hands it back and it is dropped.
        let (res, _chunk) = stream.write_all(chunk).await;
        res.unwrap();
    }

    corio::block_on(async {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = std::net::TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let bufs = corio::buf::BufRing::new(8, 4096).unwrap();
        let mut chunks = stream.recv_multishot(&bufs);
        for i in 0..50 {
            round(&mut peer, &stream, &mut chunks, i).await;
        }
        let mut total = 0;
        for i in 0..200u8 {
            let (n, ()) = allocations(round(&mut peer, &stream, &mut chunks, i)).await;
            total += n;
        }
        println!("allocations in 200 steady-state multishot echo round trips: {total}");
        assert_eq!(
            total, 0,
            "the steady-state multishot receive path allocated"
        );
    });
}
