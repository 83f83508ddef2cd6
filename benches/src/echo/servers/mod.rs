//! One TCP echo server per contender. Each gets an already-listening std
//! listener on 127.0.0.1 and serves until killed: per connection, read up
//! to `BUF_SIZE` bytes into one reused buffer and write them all back.
//! Same buffer size, same one-read-one-write protocol for everybody.
//! corio also runs as `corio-multishot`: multishot receive into a
//! provided-buffer ring, the variant the kernel makes possible.

pub mod compio_rt;
mod corio_multishot_rt;
pub mod corio_rt;
mod epoll;
pub mod monoio_rt;
mod raw_uring;
pub mod tokio_rt;
mod tokio_uring_rt;

/// Every echo contender, in report order (corio first).
pub const CONTENDERS: &[&str] = &[
    "corio",
    "corio-multishot",
    "tokio",
    "tokio-uring",
    "monoio",
    "compio",
    "raw-uring",
    "epoll",
];

/// Run contender `name`'s server on `listener`; returns only on error.
pub fn serve(name: &str, listener: std::net::TcpListener) -> std::io::Result<()> {
    match name {
        "corio" => corio_rt::serve(listener),
        "corio-multishot" => corio_multishot_rt::serve(listener),
        "tokio" => tokio_rt::serve(listener),
        "tokio-uring" => tokio_uring_rt::serve(listener),
        "monoio" => monoio_rt::serve(listener),
        "compio" => compio_rt::serve(listener),
        "raw-uring" => raw_uring::serve(listener),
        "epoll" => epoll::serve(listener),
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("unknown echo contender {other:?}"),
        )),
    }
}
