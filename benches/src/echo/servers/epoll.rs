//! A hand-written level-triggered epoll loop: the readiness-model reference.

use crate::BUF_SIZE;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf[..len]` not yet written back (`pos..len`).
    pos: usize,
    len: usize,
}

fn ctl(epfd: RawFd, op: i32, fd: RawFd, events: u32) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events,
        u64: fd as u64,
    };
    // SAFETY: epoll_ctl with a valid event struct.
    if unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn serve(listener: std::net::TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: plain syscall, checked.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(io::Error::last_os_error());
    }
    let lfd = listener.as_raw_fd();
    ctl(epfd, libc::EPOLL_CTL_ADD, lfd, libc::EPOLLIN as u32)?;
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    loop {
        // SAFETY: `events` has room for its length.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in &events[..n as usize] {
            let fd = ev.u64 as RawFd;
            if fd == lfd {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    let cfd = stream.as_raw_fd();
                    ctl(epfd, libc::EPOLL_CTL_ADD, cfd, libc::EPOLLIN as u32)?;
                    conns.insert(
                        cfd,
                        Conn {
                            stream,
                            buf: vec![0; BUF_SIZE],
                            pos: 0,
                            len: 0,
                        },
                    );
                }
                continue;
            }
            let Some(conn) = conns.get_mut(&fd) else {
                continue;
            };
            let close = match step(conn) {
                Ok(Step::Wait(events)) => {
                    ctl(epfd, libc::EPOLL_CTL_MOD, fd, events)?;
                    false
                }
                Ok(Step::Again) => false,
                Ok(Step::Close) | Err(_) => true,
            };
            if close {
                let _ = ctl(epfd, libc::EPOLL_CTL_DEL, fd, 0);
                conns.remove(&fd);
            }
        }
    }
}

enum Step {
    /// Change the interest set.
    Wait(u32),
    /// Interest unchanged.
    Again,
    Close,
}

fn step(conn: &mut Conn) -> io::Result<Step> {
    let was_writing = conn.pos < conn.len;
    if !was_writing {
        match conn.stream.read(&mut conn.buf) {
            Ok(0) => return Ok(Step::Close),
            Ok(n) => {
                conn.pos = 0;
                conn.len = n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Again),
            Err(e) => return Err(e),
        }
    }
    while conn.pos < conn.len {
        match conn.stream.write(&conn.buf[conn.pos..conn.len]) {
            Ok(n) => conn.pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(if was_writing {
                    Step::Again
                } else {
                    Step::Wait(libc::EPOLLOUT as u32)
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if was_writing {
        Step::Wait(libc::EPOLLIN as u32)
    } else {
        Step::Again
    })
}
