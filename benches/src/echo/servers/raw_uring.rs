//! A hand-written io_uring loop with no executor: single-shot accept, recv
//! and send, SINGLE_ISSUER + DEFER_TASKRUN, one enter per batch. The
//! physical-limit reference for a completion runtime.

use crate::BUF_SIZE;
use io_uring::{opcode, types, IoUring};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;

struct Conn {
    fd: RawFd,
    buf: Box<[u8]>,
    len: usize,
    sent: usize,
}

fn ud(idx: usize, kind: u64) -> u64 {
    ((idx as u64) << 2) | kind
}

pub fn serve(listener: std::net::TcpListener) -> io::Result<()> {
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(8192)
        .build(1024)
        .or_else(|_| IoUring::new(1024))?;
    let lfd = listener.as_raw_fd();
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut cqes: Vec<(u64, i32)> = Vec::with_capacity(8192);
    let push = |ring: &mut IoUring, e: io_uring::squeue::Entry| {
        // SAFETY: every pointer in `e` points into a boxed buffer owned by
        // a connection that is only dropped after its last completion.
        while unsafe { ring.submission().push(&e) }.is_err() {
            ring.submit().expect("submit");
        }
    };
    push(
        &mut ring,
        opcode::Accept::new(types::Fd(lfd), std::ptr::null_mut(), std::ptr::null_mut())
            .build()
            .user_data(ud(0, ACCEPT)),
    );
    loop {
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => return Err(e),
        }
        cqes.clear();
        cqes.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        for &(data, res) in &cqes {
            let idx = (data >> 2) as usize;
            match data & 3 {
                ACCEPT => {
                    if res >= 0 {
                        let fd = res;
                        let one: libc::c_int = 1;
                        // SAFETY: setsockopt on the accepted socket.
                        unsafe {
                            libc::setsockopt(
                                fd,
                                libc::IPPROTO_TCP,
                                libc::TCP_NODELAY,
                                (&one as *const libc::c_int).cast(),
                                4,
                            )
                        };
                        let conn = Conn {
                            fd,
                            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
                            len: 0,
                            sent: 0,
                        };
                        let i = match free.pop() {
                            Some(i) => {
                                conns[i] = Some(conn);
                                i
                            }
                            None => {
                                conns.push(Some(conn));
                                conns.len() - 1
                            }
                        };
                        let c = conns[i].as_mut().unwrap();
                        let e =
                            opcode::Recv::new(types::Fd(c.fd), c.buf.as_mut_ptr(), BUF_SIZE as u32)
                                .build()
                                .user_data(ud(i, RECV));
                        push(&mut ring, e);
                    }
                    push(
                        &mut ring,
                        opcode::Accept::new(
                            types::Fd(lfd),
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                        )
                        .build()
                        .user_data(ud(0, ACCEPT)),
                    );
                }
                RECV => {
                    let c = conns[idx].as_mut().unwrap();
                    if res <= 0 {
                        // SAFETY: closing the connection's own descriptor.
                        unsafe { libc::close(c.fd) };
                        conns[idx] = None;
                        free.push(idx);
                        continue;
                    }
                    c.len = res as usize;
                    c.sent = 0;
                    let e = opcode::Send::new(types::Fd(c.fd), c.buf.as_ptr(), c.len as u32)
                        .flags(libc::MSG_NOSIGNAL)
                        .build()
                        .user_data(ud(idx, SEND));
                    push(&mut ring, e);
                }
                _ => {
                    let c = conns[idx].as_mut().unwrap();
                    if res < 0 {
                        // SAFETY: closing the connection's own descriptor.
                        unsafe { libc::close(c.fd) };
                        conns[idx] = None;
                        free.push(idx);
                        continue;
                    }
                    c.sent += res as usize;
                    let e = if c.sent < c.len {
                        opcode::Send::new(
                            types::Fd(c.fd),
                            c.buf[c.sent..].as_ptr(),
                            (c.len - c.sent) as u32,
                        )
                        .flags(libc::MSG_NOSIGNAL)
                        .build()
                        .user_data(ud(idx, SEND))
                    } else {
                        opcode::Recv::new(types::Fd(c.fd), c.buf.as_mut_ptr(), BUF_SIZE as u32)
                            .build()
                            .user_data(ud(idx, RECV))
                    };
                    push(&mut ring, e);
                }
            }
        }
    }
}
