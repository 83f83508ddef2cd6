//! A minimal HTTP/1.1 static file server over `sendfile`.
//!
//! Each request line's path is looked up under a root directory; the file
//! goes to the socket with `corio::io::sendfile` — file to pipe to socket
//! inside the kernel, never through user space. One request per connection
//! (`Connection: close`), `GET` and `HEAD` only, no `..` in paths.
//!
//! ```text
//! cargo run --release --example serve_file -- ROOT 127.0.0.1:8000
//! curl -O http://127.0.0.1:8000/some/file
//! ```

use corio::fs::File;
use corio::net::{TcpListener, TcpStream};
use futures_core::Stream;
use std::future::poll_fn;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;

/// Read until the end of the request head (a blank line), at most 16 KiB.
async fn read_head(stream: &TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let (res, buf) = stream.read(Vec::with_capacity(4096)).await;
        if res? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-request",
            ));
        }
        head.extend_from_slice(&buf);
    }
    String::from_utf8(head).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

/// The file a request path names under `root`, refusing `..` and the like.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let rel = Path::new(target.split('?').next()?.trim_start_matches('/'));
    let mut path = root.to_path_buf();
    for part in rel.components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

async fn respond(stream: &TcpStream, status: &str, len: u64) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n"
    );
    let (res, _) = stream.write_all(head.into_bytes()).await;
    res
}

async fn serve(stream: TcpStream, root: Rc<PathBuf>) -> io::Result<()> {
    let head = read_head(&stream).await?;
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" && method != "HEAD" {
        respond(&stream, "405 Method Not Allowed", 0).await?;
        return stream.close().await;
    }
    let file = match resolve(&root, target) {
        Some(path) => File::open(&path).await.ok(),
        None => None,
    };
    let Some(file) = file else {
        respond(&stream, "404 Not Found", 0).await?;
        return stream.close().await;
    };
    let meta = file.metadata().await?;
    if !meta.is_file() {
        respond(&stream, "404 Not Found", 0).await?;
        return stream.close().await;
    }
    respond(&stream, "200 OK", meta.len()).await?;
    if method == "GET" {
        let sent = corio::io::sendfile(&file, 0, meta.len(), &stream).await?;
        if sent != meta.len() {
            return Err(io::Error::other(format!(
                "sent {sent} of {} bytes",
                meta.len()
            )));
        }
    }
    file.close().await?;
    stream.close().await
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = Rc::new(PathBuf::from(args.next().unwrap_or_else(|| ".".into())));
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8000".into());
    corio::block_on(async {
        let listener = TcpListener::bind(addr.as_str())?;
        println!(
            "serving {} on http://{}",
            root.display(),
            listener.local_addr()?
        );
        let mut incoming = listener.incoming();
        while let Some(conn) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
            match conn {
                Ok(stream) => {
                    let root = root.clone();
                    corio::spawn(async move {
                        if let Err(e) = serve(stream, root).await {
                            eprintln!("request: {e}");
                        }
                    });
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        }
        Ok(())
    })
}
