//! An axum `Router` served on corio: hyper's HTTP/1.1 connection over
//! `corio::io::Compat`, the router adapted with
//! `hyper_util::service::TowerToHyperService`, one corio task per
//! connection.
//!
//! ```text
//! cargo run -p corio-ecosystem --example axum_hello -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/hello/corio
//! ```

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use corio::io::{hyper::Timer, Compat};
use hyper_util::service::TowerToHyperService;

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on corio\n" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move { format!("Hello, {name}!\n") }),
        )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    corio::block_on(async {
        let listener = corio::net::TcpListener::bind(addr.as_str())?;
        println!("listening on http://{}", listener.local_addr()?);
        let service = TowerToHyperService::new(app());
        loop {
            let (stream, _) = listener.accept().await?;
            let service = service.clone();
            corio::spawn(async move {
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(Timer::new())
                    .serve_connection(Compat::new(stream), service)
                    .await;
                if let Err(e) = served {
                    eprintln!("connection: {e}");
                }
            });
        }
    })
}
