//! A UDP echo server: every datagram comes back to its sender.
//!
//! asyncio's `loop.create_datagram_endpoint` with a protocol whose
//! `datagram_received` calls `sendto`; here one loop owns one buffer that
//! moves into `recv_from`, comes back holding the datagram, moves into
//! `send_to` and comes back again. A datagram larger than the buffer is
//! reported (its real length in the error), not silently cut.
//!
//! ```text
//! cargo run --example udp_echo -- 127.0.0.1:9000
//! ```
//!
//! then `nc -u 127.0.0.1 9000` and type (Ctrl-C to stop).

use corio::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    corio::block_on(async {
        let socket = UdpSocket::bind(addr.as_str())?;
        println!("echoing datagrams on {}", socket.local_addr()?);
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let (res, b) = socket.recv_from(buf).await;
            let peer = match res {
                Ok((_, peer)) => peer,
                Err(e) => {
                    eprintln!("receive: {e}");
                    buf = b;
                    continue;
                }
            };
            let (res, b) = socket.send_to(b, peer).await;
            if let Err(e) = res {
                eprintln!("send to {peer}: {e}");
            }
            buf = b;
        }
    })
}
