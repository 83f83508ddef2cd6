//! Memory the kernel may write is never freed early, whatever runs while
//! the runtime is busy: a waker whose `Drop` drops an in-flight read while
//! the driver is borrowed (item 6), or a panic in user code while a runtime
//! shuts down (item 7). Each test frees nothing the kernel still owns if,
//! once data arrives for the dropped read, canaries allocated afterwards
//! (same size, so the allocator hands back the same memory if it was freed)
//! still hold their pattern.

mod common;

use std::future::Future;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::*;
use corio::net::TcpStream;

const BUF: usize = 512;
const CANARIES: usize = 64;
const PATTERN: u8 = 0xA5;

/// Test-only wrapper: the value is only ever touched on the thread that
/// made it (these tests are single-threaded), so it may sit in a `Waker`.
struct ThreadBound<T>(T);
// SAFETY: every value wrapped here is created, used and dropped on the
// test's one thread; the wrapper only satisfies `Wake`'s bounds.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for ThreadBound<T> {}

type BoxedRead = Pin<Box<dyn Future<Output = (std::io::Result<usize>, Vec<u8>)>>>;

/// A waker that owns an in-flight read and drops it when it is dropped.
struct DropsARead {
    _read: Mutex<Option<ThreadBound<BoxedRead>>>,
}

impl Wake for DropsARead {
    fn wake(self: Arc<Self>) {}
}

/// A waker whose `wake` panics.
struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("a join waker that panics");
    }
}

fn canaries() -> Vec<Vec<u8>> {
    (0..CANARIES).map(|_| vec![PATTERN; BUF]).collect()
}

fn assert_canaries_intact(canaries: &[Vec<u8>]) {
    for (i, c) in canaries.iter().enumerate() {
        assert!(
            c.iter().all(|&b| b == PATTERN),
            "canary {i} was overwritten after the read's buffer was dropped: \
             the kernel wrote into freed memory"
        );
    }
}

/// A read of `stream` into a fresh buffer, armed (polled once).
async fn armed_read(stream: Rc<TcpStream>) -> BoxedRead {
    let mut read: BoxedRead = Box::pin(async move { stream.read(Vec::with_capacity(BUF)).await });
    assert!(poll_once(&mut read).await.is_pending(), "no data yet");
    read
}

#[test]
fn a_waker_dropping_an_in_flight_read_while_the_driver_is_borrowed_frees_nothing() {
    with_time_limit(Duration::from_secs(10), || {
        corio::block_on(async {
            let (x_stream, _x_peer) = std_peer_pair().await;
            let (y_stream, mut y_peer) = std_peer_pair().await;
            let y_stream = Rc::new(y_stream);

            let task = corio::spawn({
                let y_stream = y_stream.clone();
                async move {
                    // Y: an armed read, owned by a waker.
                    let y = armed_read(y_stream).await;
                    let holder = Arc::new(DropsARead {
                        _read: Mutex::new(Some(ThreadBound(y))),
                    });
                    // X: an armed read whose waker is `holder` (held only by
                    // the driver once our handle is gone).
                    let mut x = Box::pin(x_stream.read(Vec::with_capacity(BUF)));
                    {
                        let waker = Waker::from(holder);
                        let mut cx = Context::from_waker(&waker);
                        assert!(x.as_mut().poll(&mut cx).is_pending());
                    }
                    // Polling X with this task's own waker makes the driver
                    // let go of `holder`: its drop drops Y, an operation in
                    // flight, while the driver may be borrowed.
                    assert!(poll_once(&mut x).await.is_pending());
                    drop(x);
                }
            });
            task.await
                .expect("dropping an operation from a waker's drop must not panic");

            let canaries = canaries();
            y_peer.write_all(&[0x5A; BUF]).unwrap();
            // Let the ring run: the kernel completes (or has cancelled) Y.
            corio::time::sleep(Duration::from_millis(100)).await;
            assert_canaries_intact(&canaries);
            // The bytes Y received were not lost either: the next read of
            // the stream returns them (or they are still in the socket).
            let got = read_n(&y_stream, BUF, BUF, Duration::from_secs(5)).await;
            assert_eq!(got, vec![0x5A; BUF]);
        });
    });
}

/// An aligned heap buffer for O_DIRECT reads (corio has no aligned
/// buffer type yet).
struct Aligned {
    ptr: *mut u8,
    len: usize,
}

const DIRECT_LEN: usize = 64 * 1024;

fn direct_layout() -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(DIRECT_LEN, 4096).unwrap()
}

impl Aligned {
    fn new() -> Aligned {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(direct_layout()) };
        assert!(!ptr.is_null());
        Aligned {
            ptr,
            len: DIRECT_LEN,
        }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, direct_layout()) }
    }
}

// SAFETY: the heap allocation does not move with the value; all `len`
// bytes are initialised (zeroed at allocation).
unsafe impl corio::buf::IoBuf for Aligned {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; every byte is initialised, so set_init has nothing to
// record.
unsafe impl corio::buf::IoBufMut for Aligned {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

#[test]
fn a_panic_while_the_runtime_shuts_down_frees_no_buffer_the_kernel_may_write() {
    use std::os::unix::fs::OpenOptionsExt;
    const READS: usize = 24;
    with_time_limit(Duration::from_secs(20), || {
        let (_dir, path) = temp_file(&vec![0x5A; READS * DIRECT_LEN]);
        let std_file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path)
            .expect("O_DIRECT open");
        for round in 0..20 {
            let rt = corio::Runtime::new().unwrap();
            let file = Rc::new(corio::fs::File::from(std_file.try_clone().unwrap()));
            let handles = rt.block_on(async move {
                // Direct reads go to the device: the kernel writes into
                // their buffers whenever the device completes, whatever the
                // ring is doing.
                let mut handles: Vec<_> = (0..READS)
                    .map(|i| {
                        let file = file.clone();
                        corio::spawn(async move {
                            let _ = file.read_at(Aligned::new(), (i * DIRECT_LEN) as u64).await;
                        })
                    })
                    .collect();
                // Each JoinHandle remembers a waker that panics.
                let waker = Waker::from(Arc::new(PanicsOnWake));
                let mut cx = Context::from_waker(&waker);
                for h in &mut handles {
                    assert!(Pin::new(h).poll(&mut cx).is_pending());
                }
                // The reads are submitted at the end of this turn.
                corio::task::yield_now().await;
                handles
            });
            // Dropping the runtime drops the tasks (abandoning their reads)
            // and wakes the join wakers, which panic.
            let dropped = catch_unwind(AssertUnwindSafe(move || drop(rt)));
            assert!(dropped.is_err(), "the join waker's panic propagates");
            drop(handles);

            // SAFETY: same layout as the read buffers, so freed ones come back.
            let canaries: Vec<*mut u8> = (0..READS * 2)
                .map(|_| unsafe { std::alloc::alloc(direct_layout()) })
                .collect();
            for &c in &canaries {
                // SAFETY: each canary is a live allocation of DIRECT_LEN bytes.
                unsafe { std::ptr::write_bytes(c, PATTERN, DIRECT_LEN) };
            }
            std::thread::sleep(Duration::from_millis(50));
            for (i, &c) in canaries.iter().enumerate() {
                // SAFETY: as above.
                let bytes = unsafe { std::slice::from_raw_parts(c, DIRECT_LEN) };
                assert!(
                    bytes.iter().all(|&b| b == PATTERN),
                    "round {round}: canary {i} was overwritten: the kernel wrote into a \
                     buffer freed while its direct read was in flight"
                );
            }
            for c in canaries {
                // SAFETY: allocated above with this layout.
                unsafe { std::alloc::dealloc(c, direct_layout()) };
            }
        }
    });
}

/// A waker whose `clone` submits an operation (foreign code that needs the
/// driver): the driver must clone it outside its borrow.
mod reentrant_clone {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, RawWaker, RawWakerVTable, Waker};

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);

    fn raw() -> RawWaker {
        RawWaker::new(std::ptr::null(), &VTABLE)
    }

    struct Noop;

    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    unsafe fn clone(_: *const ()) -> RawWaker {
        // Submit a NOP through the ring, polling it once with a no-op waker.
        let noop = Waker::from(std::sync::Arc::new(Noop));
        let mut nop = Box::pin(corio::nop());
        let _ = nop.as_mut().poll(&mut Context::from_waker(&noop));
        raw()
    }

    unsafe fn noop(_: *const ()) {}

    pub fn waker() -> Waker {
        // SAFETY: the vtable's functions ignore the (null) data pointer.
        unsafe { Waker::from_raw(raw()) }
    }

    pub fn poll_with<F: Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
        let waker = waker();
        Pin::new(fut).poll(&mut Context::from_waker(&waker))
    }
}

#[test]
fn a_waker_whose_clone_submits_an_operation_is_cloned_outside_the_driver_borrow() {
    with_time_limit(Duration::from_secs(10), || {
        corio::block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            let mut read = Box::pin(stream.read(Vec::with_capacity(16)));
            // First poll: the operation stores a clone of this waker.
            assert!(reentrant_clone::poll_with(&mut read).is_pending());
            assert!(reentrant_clone::poll_with(&mut read).is_pending());
            peer.write_all(b"ok").unwrap();
            let (res, buf) = corio::time::timeout(Duration::from_secs(2), read)
                .await
                .expect("the read completes");
            assert_eq!(res.unwrap(), 2);
            assert_eq!(buf, b"ok");
        });
    });
}
