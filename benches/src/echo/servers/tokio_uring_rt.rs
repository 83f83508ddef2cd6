//! tokio-uring: `tokio_uring::start` (default ring: 256 entries, the same as
//! corio's default), owned-buffer `read` + `write_all`, one
//! `tokio_uring::spawn`ed task (a `spawn_local` on its `LocalSet`) per
//! connection.

use crate::BUF_SIZE;

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    tokio_uring::start(async move {
        let listener = tokio_uring::net::TcpListener::from_std(listener);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio_uring::spawn(async move {
                let mut buf = Vec::with_capacity(BUF_SIZE);
                loop {
                    // tokio-uring reads into the start of the buffer but
                    // only ever raises a Vec's length (`set_init` is a
                    // high-water mark), so empty it before each read or a
                    // short read would echo stale bytes.
                    buf.clear();
                    let (res, b) = stream.read(buf).await;
                    match res {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let (res, b) = stream.write_all(b).await;
                    if res.is_err() {
                        return;
                    }
                    buf = b;
                }
            });
        }
    })
}
