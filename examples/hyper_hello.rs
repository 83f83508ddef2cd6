//! A hyper HTTP/1.1 server on corio (feature `hyper`): every connection is
//! a corio task, its socket wrapped in `corio::io::Compat` for hyper's
//! `rt::Read`/`rt::Write`, its timeouts on corio's timers.
//!
//! ```text
//! cargo run --release --features hyper --example hyper_hello
//! curl http://127.0.0.1:3000/
//! ```

use bytes::Bytes;
use corio::io::{hyper::Timer, Compat};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use std::convert::Infallible;
use std::time::Duration;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello from corio\n",
    ))))
}

fn main() -> std::io::Result<()> {
    corio::block_on(async {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let listener = corio::net::TcpListener::bind(addr.as_str())?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            corio::spawn(async move {
                let served = http1::Builder::new()
                    .timer(Timer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(Compat::new(stream), service_fn(hello))
                    .await;
                if let Err(e) = served {
                    eprintln!("connection: {e}");
                }
            });
        }
    })
}
