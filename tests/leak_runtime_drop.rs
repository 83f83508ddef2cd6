//! A runtime dropped while its tasks have reads and accepts in flight: no
//! panic, no hang, every socket and listener closed, no descriptor leaked.
//!
//! Its own test binary with a single test, because it counts the process's
//! descriptors and tests in one binary run in parallel.

mod common;

use std::io::{ErrorKind, Read};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::*;
use corio::net::TcpListener;

const READS: usize = 50;
const ACCEPTS_SHARED: usize = 5;
const LISTENERS: usize = 5;

#[test]
fn dropping_a_runtime_with_reads_and_accepts_in_flight() {
    with_time_limit(Duration::from_secs(60), || {
        let baseline = fd_count();
        let (_dir, path) = temp_file(&pattern(1 << 16, 1));
        let rt = corio::Runtime::new().expect("Runtime::new");
        let (mut peers, shared_addr, other_addrs) = rt.block_on(async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").expect("bind"));
            let addr = listener.local_addr().unwrap();
            let mut peers = Vec::new();
            for _ in 0..READS {
                let peer = std::net::TcpStream::connect(addr).expect("std connect");
                let (s, _) = listener.accept().await.expect("accept");
                peers.push(peer);
                let _detached = corio::spawn(async move {
                    let _ = s.read(Vec::with_capacity(64)).await;
                    unreachable!("the peer never writes and the runtime is dropped");
                });
            }
            for _ in 0..ACCEPTS_SHARED {
                let l = listener.clone();
                let _detached = corio::spawn(async move {
                    let _ = l.accept().await;
                });
            }
            let mut other_addrs = Vec::new();
            for _ in 0..LISTENERS {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind");
                other_addrs.push(l.local_addr().unwrap());
                let _detached = corio::spawn(async move {
                    let _ = l.accept().await;
                });
            }
            // A file and a timer held by pending tasks, too.
            let f = corio::fs::File::open(&path).await.expect("open");
            let _detached = corio::spawn(async move {
                let _f = f;
                corio::time::sleep(Duration::from_secs(3600)).await;
            });
            let expected = (READS + ACCEPTS_SHARED + LISTENERS) as u64;
            let submitted = wait_for_async(Duration::from_secs(5), || {
                corio::metrics().ops_in_flight >= expected
            })
            .await;
            assert!(
                submitted,
                "expected {expected} ops in flight, have {}",
                corio::metrics().ops_in_flight
            );
            drop(listener); // the accept tasks still hold it
            (peers, addr, other_addrs)
        });
        // block_on returned with all those tasks pending.
        assert!(fd_count() > baseline + 2 * READS);

        let t = Instant::now();
        drop(rt);
        let el = t.elapsed();
        println!(
            "runtime with {READS} reads and {} accepts in flight dropped in {el:?}",
            ACCEPTS_SHARED + LISTENERS
        );
        assert!(
            el < Duration::from_secs(10),
            "dropping the runtime took {el:?}"
        );

        // Every accepted socket was closed: the peers read EOF.
        for (i, p) in peers.iter_mut().enumerate() {
            p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 8];
            let n = p
                .read(&mut b)
                .unwrap_or_else(|e| panic!("peer {i}: no EOF after runtime drop: {e}"));
            assert_eq!(n, 0, "peer {i}");
        }
        // Every listener was closed: connecting is refused.
        for a in other_addrs.iter().chain(std::iter::once(&shared_addr)) {
            let err = std::net::TcpStream::connect_timeout(a, Duration::from_secs(5))
                .err()
                .unwrap_or_else(|| panic!("listener {a} still accepts after runtime drop"));
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{a}: {err}");
        }
        drop(peers);
        let back = wait_for(Duration::from_secs(5), || fd_count() == baseline);
        assert!(
            back,
            "descriptors: {} now, {baseline} before the runtime\n{}",
            fd_count(),
            fd_list()
        );
    });
}
