use crate::BUF_SIZE;

pub fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    corio::block_on(serve_on(corio::net::TcpListener::from_std(listener)))
}

/// Accept and echo on `listener` (on the runtime or pool core this runs
/// on) until an accept fails.
pub async fn serve_on(listener: corio::net::TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        corio::spawn(async move {
            let mut buf = Vec::with_capacity(BUF_SIZE);
            loop {
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
}
