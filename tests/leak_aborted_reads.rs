//! 300 reads blocked on idle loopback sockets, all aborted: every JoinHandle
//! gives a cancelled JoinError, ops_in_flight returns to 0, the sockets are
//! really closed (peers see EOF) and /proc/self/fd returns to its count.
//!
//! Its own test binary with a single test, because it counts the process's
//! descriptors and tests in one binary run in parallel.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;
use corio::net::TcpListener;

const READS: usize = 300;

#[test]
fn three_hundred_aborted_reads_leave_no_ops_and_no_descriptors() {
    let before_runtime = fd_count();
    with_time_limit(Duration::from_secs(60), || {
        corio::block_on(async {
            corio::time::sleep(Duration::from_millis(1)).await; // the runtime is up
            let baseline = fd_count();
            let m0 = corio::metrics();
            assert_eq!(m0.ops_in_flight, 0);

            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().unwrap();
            let mut peers = Vec::with_capacity(READS);
            let mut handles = Vec::with_capacity(READS);
            for _ in 0..READS {
                // One std connect then one accept: never depends on the backlog.
                let peer = std::net::TcpStream::connect(addr).expect("std connect");
                let (s, _) = listener.accept().await.expect("accept");
                peers.push(peer);
                handles.push(corio::spawn(async move {
                    let (res, buf) = s.read(Vec::with_capacity(64)).await;
                    (res.map_err(|e| e.kind()), buf.len())
                    // `s` is dropped with the task
                }));
            }
            let all_in_flight = wait_for_async(Duration::from_secs(5), || {
                corio::metrics().ops_in_flight >= READS as u64
            })
            .await;
            assert!(
                all_in_flight,
                "the {READS} reads did not all reach the kernel: ops_in_flight = {}",
                corio::metrics().ops_in_flight
            );
            assert!(fd_count() > baseline + 2 * READS); // streams, peers and the listener

            for h in &handles {
                h.abort();
            }
            for (i, h) in handles.into_iter().enumerate() {
                match h.await {
                    Err(e) => assert!(e.is_cancelled(), "task {i}: not cancelled: {e}"),
                    Ok(v) => panic!("task {i}: a read on an idle socket completed: {v:?}"),
                }
            }
            let drained = wait_for_async(Duration::from_secs(5), || {
                corio::metrics().ops_in_flight == 0
            })
            .await;
            assert!(
                drained,
                "ops_in_flight = {} after aborting",
                corio::metrics().ops_in_flight
            );
            println!("after aborting {READS} reads: {:?}", {
                let m = corio::metrics();
                (m.ops_submitted, m.ops_completed, m.ops_in_flight)
            });

            drop(listener);
            // Only the std peers remain.
            let closed =
                wait_for_async(Duration::from_secs(5), || fd_count() == baseline + READS).await;
            assert!(
                closed,
                "descriptors: {} now, expected {} (baseline {baseline} + {READS} peers)\n{}",
                fd_count(),
                baseline + READS,
                fd_list()
            );
            // The corio side really closed: every peer reads EOF.
            for (i, p) in peers.iter_mut().enumerate() {
                p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut b = [0u8; 8];
                let n = p
                    .read(&mut b)
                    .unwrap_or_else(|e| panic!("peer {i}: no EOF: {e}"));
                assert_eq!(n, 0, "peer {i}");
            }
            drop(peers);
            let back = wait_for_async(Duration::from_secs(5), || fd_count() == baseline).await;
            assert!(
                back,
                "descriptors: {} now, {baseline} before\n{}",
                fd_count(),
                fd_list()
            );
            assert_eq!(corio::metrics().ops_in_flight, 0);
        });
    });
    // The thread that ran the implicit runtime has exited: its ring and
    // descriptors are released too.
    let released = wait_for(Duration::from_secs(5), || fd_count() == before_runtime);
    assert!(
        released,
        "after the runtime's thread exited: {} descriptors, {before_runtime} before\n{}",
        fd_count(),
        fd_list()
    );
}
