//! The UDP echo servers: each gets a bound std socket and echoes every
//! datagram to its sender, 32 receives in flight.

use crate::sys;
use std::io;
use std::net::UdpSocket;
use std::rc::Rc;

/// Receives in flight per server.
const CONCURRENCY: usize = 32;
/// Largest datagram echoed.
const BUF: usize = 64 * 1024;

/// The child side: pin, bind, announce the port, serve.
pub fn serve_child(contender: &str) -> io::Result<()> {
    if sys::cpus() > 1 {
        sys::pin_to_cpu(0)?;
    }
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    // Room for every client's datagram (the default can be short of 64).
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
    crate::echo::announce(socket.local_addr()?.port())?;
    match contender {
        "corio" => corio_serve(socket),
        "tokio" => tokio_serve(socket),
        "raw-uring" => raw_serve(socket),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown UDP contender {other:?}"),
        )),
    }
}

fn corio_serve(socket: UdpSocket) -> io::Result<()> {
    corio::block_on(async {
        let socket = Rc::new(corio::net::UdpSocket::from_std(socket));
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let socket = socket.clone();
            tasks.push(corio::spawn(async move {
                let mut buf = Vec::with_capacity(BUF);
                loop {
                    let (res, b) = socket.recv_from(buf).await;
                    let (_, peer) = res?;
                    let (res, b) = socket.send_to(b, peer).await;
                    res?;
                    buf = b;
                }
            }));
        }
        for t in tasks {
            let r: io::Result<()> = t.await.map_err(io::Error::other)?;
            r?;
        }
        Ok(())
    })
}

fn tokio_serve(socket: UdpSocket) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        socket.set_nonblocking(true)?;
        let socket = Rc::new(tokio::net::UdpSocket::from_std(socket)?);
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                let mut tasks = Vec::new();
                for _ in 0..CONCURRENCY {
                    let socket = socket.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        let mut buf = vec![0u8; BUF];
                        loop {
                            let (n, peer) = socket.recv_from(&mut buf).await?;
                            socket.send_to(&buf[..n], peer).await?;
                        }
                        #[allow(unreachable_code)]
                        io::Result::Ok(())
                    }));
                }
                for t in tasks {
                    t.await.map_err(io::Error::other)??;
                }
                Ok(())
            })
            .await
    })
}

/// A raw io_uring loop: `CONCURRENCY` RECVMSGs in flight; each completion
/// becomes a SENDMSG to the sender, whose completion re-arms the receive.
fn raw_serve(socket: UdpSocket) -> io::Result<()> {
    use io_uring::{opcode, types, IoUring};
    use std::os::fd::AsRawFd;

    struct Slot {
        buf: Box<[u8]>,
        addr: Box<libc::sockaddr_storage>,
        iov: Box<libc::iovec>,
        msg: Box<libc::msghdr>,
    }
    let fd = types::Fd(socket.as_raw_fd());
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(256)
        .or_else(|_| IoUring::new(256))?;
    let mut slots: Vec<Slot> = (0..CONCURRENCY)
        .map(|_| Slot {
            buf: vec![0u8; BUF].into_boxed_slice(),
            // SAFETY: all-zero sockaddr_storage, iovec and msghdr are valid
            // values (zero lengths, null pointers).
            addr: Box::new(unsafe { std::mem::zeroed() }),
            // SAFETY: as above.
            iov: Box::new(unsafe { std::mem::zeroed() }),
            // SAFETY: as above.
            msg: Box::new(unsafe { std::mem::zeroed() }),
        })
        .collect();
    const RECV: u64 = 0;
    const SEND: u64 = 1;
    let recv_entry = |s: &mut Slot, i: usize| {
        *s.iov = libc::iovec {
            iov_base: s.buf.as_mut_ptr().cast(),
            iov_len: s.buf.len(),
        };
        s.msg.msg_name = (&mut *s.addr as *mut libc::sockaddr_storage).cast();
        s.msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        s.msg.msg_iov = &mut *s.iov;
        s.msg.msg_iovlen = 1;
        opcode::RecvMsg::new(fd, &mut *s.msg)
            .build()
            .user_data(((i as u64) << 1) | RECV)
    };
    for (i, s) in slots.iter_mut().enumerate() {
        let e = recv_entry(s, i);
        // SAFETY: the entry points into this slot's boxes, which live until
        // the process exits (the server never returns normally).
        unsafe { ring.submission().push(&e) }.map_err(io::Error::other)?;
    }
    let mut cqes = Vec::with_capacity(CONCURRENCY * 2);
    loop {
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
        cqes.clear();
        cqes.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        for &(data, res) in &cqes {
            let i = (data >> 1) as usize;
            let s = &mut slots[i];
            let e = if data & 1 == RECV && res >= 0 {
                // Echo to the sender: the same msghdr, its iovec cut to
                // the datagram's length.
                s.iov.iov_len = res as usize;
                opcode::SendMsg::new(fd, &*s.msg)
                    .build()
                    .user_data(((i as u64) << 1) | SEND)
            } else {
                recv_entry(s, i)
            };
            // SAFETY: as above.
            while unsafe { ring.submission().push(&e) }.is_err() {
                ring.submit()?;
            }
        }
    }
}
