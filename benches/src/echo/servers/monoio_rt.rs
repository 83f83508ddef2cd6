//! monoio with its io_uring driver (default ring: 1024 entries) and the
//! timer enabled (tokio runs with `enable_all`, corio always has timers),
//! owned-buffer `read` + `write_all`, one `monoio::spawn`ed task per
//! connection.

use crate::BUF_SIZE;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .enable_timer()
        .build()?;
    rt.block_on(async move {
        let listener = monoio::net::TcpListener::from_std(listener)?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            monoio::spawn(async move {
                let mut buf = Vec::with_capacity(BUF_SIZE);
                loop {
                    // The read sets the Vec's length to the bytes read.
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
