//! compio with its io_uring driver (default ring: 1024 entries), owned-buffer
//! `read` + `write_all`, one `compio::runtime::spawn`ed, detached task per
//! connection.

use crate::BUF_SIZE;
use compio::io::{AsyncRead, AsyncWriteExt};
use compio::BufResult;

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let rt = compio::runtime::Runtime::new()?;
    rt.block_on(async move {
        // Must run inside the runtime (it attaches the socket to the driver).
        let listener = compio::net::TcpListener::from_std(listener)?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            compio::runtime::spawn(async move {
                let mut buf = Vec::with_capacity(BUF_SIZE);
                loop {
                    // compio reads into the start of the buffer but only
                    // ever raises its length (`advance_to`), so empty it
                    // before each read or a short read would echo stale
                    // bytes.
                    buf.clear();
                    let BufResult(res, b) = stream.read(buf).await;
                    match res {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let BufResult(res, b) = stream.write_all(b).await;
                    if res.is_err() {
                        return;
                    }
                    buf = b;
                }
            })
            .detach();
        }
    })
}
