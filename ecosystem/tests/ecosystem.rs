//! The crates users already run, on corio: tokio-util's `LinesCodec`, an
//! axum `Router`, a TLS echo through tokio-rustls — all over
//! `corio::io::Compat`, on loopback, each bounded in time.

use corio::io::Compat;
use corio::net::{TcpListener, TcpStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;
use tokio_util::codec::{Framed, LinesCodec};

/// Run `f` on a fresh thread; fail instead of hanging after `limit`.
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within {limit:?}"),
    }
}

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = corio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (connect.await.unwrap(), server)
}

#[test]
fn lines_codec_frames_a_thousand_lines_each_way() {
    bounded(Duration::from_secs(60), || {
        corio::block_on(async {
            let (a, b) = pair().await;
            let mut left = Framed::new(Compat::new(a), LinesCodec::new());
            let mut right = Framed::new(Compat::new(b), LinesCodec::new());
            let sender = corio::spawn(async move {
                for i in 0..1000 {
                    left.send(format!("line {i} {}", "x".repeat(i % 300)))
                        .await
                        .unwrap();
                }
                SinkExt::<String>::close(&mut left).await.unwrap();
                left
            });
            for i in 0..1000 {
                let line = right.next().await.unwrap().unwrap();
                assert_eq!(line, format!("line {i} {}", "x".repeat(i % 300)));
            }
            assert!(
                right.next().await.is_none(),
                "end of stream after the last line"
            );
            drop(sender.await.unwrap());
        })
    });
}

#[test]
fn an_axum_router_answers_through_hyper_on_corio() {
    use axum::extract::Path;
    use axum::routing::get;
    use hyper_util::service::TowerToHyperService;
    use std::io::{Read, Write};

    bounded(Duration::from_secs(60), || {
        let (addr_tx, addr_rx) = mpsc::channel();
        // The server on its own thread and runtime; requests from std.
        thread::spawn(move || {
            corio::block_on(async move {
                let app = axum::Router::new()
                    .route("/", get(|| async { "root" }))
                    .route(
                        "/hello/{name}",
                        get(|Path(name): Path<String>| async move { format!("hello {name}") }),
                    );
                let service = TowerToHyperService::new(app);
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let service = service.clone();
                    corio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(Compat::new(stream), service)
                            .await;
                    });
                }
            })
        });
        let addr = addr_rx.recv().unwrap();
        let get = |path: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut all = String::new();
            s.read_to_string(&mut all).unwrap();
            all
        };
        let root = get("/");
        assert!(
            root.starts_with("HTTP/1.1 200") && root.ends_with("root"),
            "{root}"
        );
        let hello = get("/hello/corio");
        assert!(hello.ends_with("hello corio"), "{hello}");
        let missing = get("/nope");
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    });
}

#[test]
fn a_tls_echo_runs_over_tokio_rustls_on_corio() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    bounded(Duration::from_secs(60), || {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_der = CertificateDer::from(cert.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        let client_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
        corio::block_on(async move {
            let (client, server) = pair().await;
            let echo = corio::spawn(async move {
                let mut tls = acceptor.accept(Compat::new(server)).await.unwrap();
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = tls.read(&mut buf).await.unwrap();
                    if n == 0 {
                        tls.shutdown().await.unwrap();
                        return;
                    }
                    tls.write_all(&buf[..n]).await.unwrap();
                }
            });
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, Compat::new(client)).await.unwrap();
            let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
            let (mut rd, mut wr) = tokio::io::split(&mut tls);
            let write = async {
                wr.write_all(&data).await.unwrap();
                wr.shutdown().await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                rd.read_to_end(&mut got).await.unwrap();
                got
            };
            let (_, got) = futures_util::future::join(write, read).await;
            assert_eq!(got.len(), data.len());
            assert!(got == data, "the TLS echo came back different");
            echo.await.unwrap();
        })
    });
}
