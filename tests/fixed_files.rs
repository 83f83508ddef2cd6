//! Descriptors that did enough operations are installed in the ring's
//! fixed-file table. These check it is invisible: a busy socket is really
//! closed when dropped or closed (the peer sees EOF at once, not when the
//! ring is torn down), a busy file keeps working in a second runtime on the
//! same thread (whose ring has its own table), and descriptors come back.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use corio::fs::File;

const LIMIT: Duration = Duration::from_secs(60);

/// Echo `rounds` small messages over `stream` with a std peer, enough
/// operations to get it installed in the fixed-file table.
async fn busy(stream: &corio::net::TcpStream, peer: &mut std::net::TcpStream, rounds: usize) {
    for i in 0..rounds {
        peer.write_all(&[i as u8; 8]).expect("peer write");
        let (res, buf) = stream.read(Vec::with_capacity(8)).await;
        assert_eq!(res.expect("read"), 8);
        assert!(buf.iter().all(|&b| b == i as u8));
        let (res, _) = stream.write_all(buf).await;
        res.expect("write");
        let mut back = [0u8; 8];
        peer.read_exact(&mut back).expect("peer read");
    }
}

fn assert_eof_soon(peer: &mut std::net::TcpStream, what: &str) {
    peer.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut b = [0u8; 8];
    match peer.read(&mut b) {
        Ok(0) => {}
        other => panic!("{what}: the peer saw {other:?} instead of EOF"),
    }
}

#[test]
fn a_busy_stream_is_really_closed_when_dropped() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let before = fd_count();
            for _ in 0..20 {
                let (stream, mut peer) = std_peer_pair().await;
                busy(&stream, &mut peer, 40).await;
                drop(stream);
                // The runtime is still running; the descriptor must not be
                // kept alive by the ring's table.
                assert_eof_soon(&mut peer, "drop");
            }
            assert!(wait_for(Duration::from_secs(5), || fd_count() <= before));
        })
    });
}

#[test]
fn a_busy_stream_is_really_closed_by_close() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            for _ in 0..20 {
                let (stream, mut peer) = std_peer_pair().await;
                busy(&stream, &mut peer, 40).await;
                stream.close().await.expect("close");
                assert_eof_soon(&mut peer, "close");
            }
        })
    });
}

#[test]
fn a_busy_stream_dropped_outside_block_on_is_closed() {
    with_time_limit(LIMIT, || {
        let rt = corio::Runtime::new().expect("runtime");
        let (stream, mut peer) = rt.block_on(async {
            let (stream, mut peer) = std_peer_pair().await;
            busy(&stream, &mut peer, 40).await;
            (stream, peer)
        });
        // The runtime is idle (not in block_on) but alive.
        drop(stream);
        assert_eof_soon(&mut peer, "drop outside block_on");
        drop(rt);
    });
}

#[test]
fn a_busy_file_works_in_a_second_runtime_on_the_same_thread() {
    with_time_limit(LIMIT, || {
        let data = pattern(64 * 1024, 4);
        let (_dir, path) = temp_file(&data);
        let a = corio::Runtime::new().expect("runtime a");
        let b = corio::Runtime::new().expect("runtime b");
        let file = a.block_on(async {
            let file = File::open(&path).await.expect("open");
            for i in 0..64u64 {
                let (res, buf) = file.read_at(Vec::with_capacity(1024), i * 1024).await;
                assert_eq!(res.expect("read"), 1024);
                assert_eq!(&buf[..], &data[i as usize * 1024..][..1024]);
            }
            file
        });
        // Installed in a's table; b's table does not have it, so b must
        // name it by descriptor.
        b.block_on(async {
            for i in 0..64u64 {
                let (res, buf) = file.read_at(Vec::with_capacity(1024), i * 1024).await;
                assert_eq!(res.expect("read in runtime b"), 1024);
                assert_eq!(&buf[..], &data[i as usize * 1024..][..1024]);
            }
        });
        a.block_on(async {
            let (res, _) = file.read_at(Vec::with_capacity(16), 0).await;
            assert_eq!(res.expect("read back in runtime a"), 16);
            file.close().await.expect("close");
        });
    });
}

#[test]
fn many_busy_descriptors_come_and_go() {
    with_time_limit(LIMIT, || {
        let data = pattern(4096, 8);
        let (_dir, path) = temp_file(&data);
        corio::block_on(async {
            let before = fd_count();
            // Slots are reused: far more installs than a small table.
            for _ in 0..50 {
                let mut files = Vec::new();
                for _ in 0..40 {
                    files.push(File::open(&path).await.expect("open"));
                }
                for file in &files {
                    for _ in 0..20 {
                        let (res, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
                        assert_eq!(res.expect("read"), 4096);
                        assert_eq!(buf, data);
                    }
                }
            }
            assert!(wait_for(Duration::from_secs(5), || fd_count() <= before));
        })
    });
}

const REMOVAL_CHILD: &str = "CORIO_TEST_FIXED_REMOVAL_CHILD";

/// IORING_REGISTER_FILES_UPDATE, the call that empties a fixed slot.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const IORING_REGISTER_FILES_UPDATE: u32 = 6;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn removal_child() {
    use common::seccomp::{fail_syscall, When, SYS_IO_URING_REGISTER};
    corio::block_on(async {
        let (stream, mut peer) = std_peer_pair().await;
        let listener = loopback_listener();
        let addr = listener.local_addr().unwrap();
        // Installed in the table (more than 16 operations each).
        busy(&stream, &mut peer, 40).await;
        for _ in 0..20 {
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (accepted, _) = listener.accept().await.expect("accept");
            drop((client, accepted));
        }
        // From now on the kernel refuses to update the table: the slots
        // cannot be emptied.
        fail_syscall(
            SYS_IO_URING_REGISTER,
            When::ArgEq(1, IORING_REGISTER_FILES_UPDATE),
            libc::ENOMEM,
        );
        drop(stream);
        assert_eof_soon(&mut peer, "drop with a slot that cannot be emptied");
        drop(listener);
        let refused = std::net::TcpStream::connect(addr);
        assert!(
            refused.is_err(),
            "a dropped listener whose slot cannot be emptied still accepts"
        );
    });
    println!("REMOVAL-CHILD-OK");
}

#[test]
fn a_socket_whose_fixed_slot_cannot_be_emptied_is_still_closed_when_dropped() {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        println!("skipped: the seccomp filter is written for x86_64 and aarch64");
        return;
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        if std::env::var_os(REMOVAL_CHILD).is_some() {
            with_time_limit(Duration::from_secs(30), removal_child);
            return;
        }
        let out = run_self_as_child(
            "a_socket_whose_fixed_slot_cannot_be_emptied_is_still_closed_when_dropped",
            REMOVAL_CHILD,
            Duration::from_secs(60),
        );
        assert_child_passed(&out, "REMOVAL-CHILD-OK");
    }
}
