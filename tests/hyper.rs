//! hyper on corio through `io::Compat`, `io::hyper::Executor` and
//! `io::hyper::Timer`: an HTTP/1.1 server answering a hyper client (and
//! curl, where installed) with `header_read_timeout` enforced by corio's
//! timers, and an HTTP/2 (h2c) server whose service is `!Send`.

#![cfg(feature = "hyper")]

mod common;

use bytes::Bytes;
use common::*;
use corio::io::hyper::{Executor, Timer};
use corio::io::Compat;
use corio::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// An HTTP/1.1 server on corio, serving `connections` then stopping.
fn http1_server(listener: TcpListener, connections: usize) -> corio::task::JoinHandle<()> {
    corio::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.unwrap();
            corio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer::new())
                    .header_read_timeout(Duration::from_millis(300))
                    .serve_connection(Compat::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(Compat::new(stream))
        .await
        .unwrap();
    corio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn an_http1_server_answers_a_hyper_client_and_curl() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = http1_server(listener, 21);
            for i in 0..20 {
                let (status, body) = get(addr, &format!("/n{i}")).await;
                assert_eq!(
                    (status, body.as_str()),
                    (200, format!("hello /n{i}").as_str())
                );
            }
            // curl, where installed, from a thread (it blocks).
            let curl = std::thread::spawn(move || {
                std::process::Command::new("curl")
                    .args(["-sf", "--max-time", "10", &format!("http://{addr}/curl")])
                    .output()
            });
            let out = loop {
                if curl.is_finished() {
                    break curl.join().unwrap();
                }
                corio::time::sleep(Duration::from_millis(5)).await;
            };
            match out {
                Ok(out) if out.status.success() => {
                    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello /curl")
                }
                // No curl here: the server still expects one more connection.
                _ => drop(get(addr, "/").await),
            }
            server.await.unwrap();
        })
    });
}

#[test]
fn header_read_timeout_closes_a_silent_connection_on_corios_timer() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = http1_server(listener, 1);
            let silent = TcpStream::connect(addr).await.unwrap();
            let start = Instant::now();
            // Send half a request line, then nothing.
            let (res, _) = silent.write_all(b"GET / HT".to_vec()).await;
            res.unwrap();
            let (res, _) = silent.read(Vec::with_capacity(1024)).await;
            let elapsed = start.elapsed();
            // hyper answers 408 or just closes; either way the read ends.
            let _ = res;
            assert!(
                elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(10),
                "closed after {elapsed:?}, expected about 300 ms"
            );
            server.await.unwrap();
        })
    });
}

#[test]
fn an_h2c_server_runs_a_not_send_service() {
    with_time_limit(LIMIT, || {
        corio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // The service shares an Rc: !Send, fine on corio's executor.
            let hits = Rc::new(Cell::new(0u32));
            let server = corio::spawn({
                let hits = hits.clone();
                async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let service = service_fn(move |_req: Request<Incoming>| {
                        let hits = hits.clone();
                        async move {
                            hits.set(hits.get() + 1);
                            let body = format!("hit {}", hits.get());
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    hyper::server::conn::http2::Builder::new(Executor::new())
                        .timer(Timer::new())
                        .serve_connection(Compat::new(stream), service)
                        .await
                        .unwrap();
                }
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (sender, conn) =
                hyper::client::conn::http2::handshake(Executor::new(), Compat::new(stream))
                    .await
                    .unwrap();
            let conn = corio::spawn(async move {
                let _ = conn.await;
            });
            // Concurrent streams on one connection.
            let mut requests = Vec::new();
            for _ in 0..10 {
                let mut sender = sender.clone();
                requests.push(corio::spawn(async move {
                    let req = Request::get("http://localhost/")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let res = sender.send_request(req).await.unwrap();
                    assert_eq!(res.status().as_u16(), 200);
                    let body = res.into_body().collect().await.unwrap().to_bytes();
                    String::from_utf8(body.to_vec()).unwrap()
                }));
            }
            let mut bodies = Vec::new();
            for r in requests {
                bodies.push(r.await.unwrap());
            }
            bodies.sort();
            assert_eq!(bodies.len(), 10);
            assert!(bodies.iter().all(|b| b.starts_with("hit ")));
            assert_eq!(hits.get(), 10);
            drop(sender);
            conn.abort();
            server.abort();
        })
    });
}

#[test]
fn the_timer_is_send_and_sync_without_unsafe_and_refuses_foreign_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let timer = Timer::new();
    let sleep = hyper::rt::Timer::sleep(&timer, Duration::from_millis(10));
    send_sync(&sleep);
    // Polled on its own thread's runtime it completes.
    corio::block_on(async {
        let start = Instant::now();
        hyper::rt::Timer::sleep(&timer, Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
    // Moved to another thread and polled there: a clear panic, not UB.
    let moved = std::thread::spawn(move || {
        corio::block_on(sleep);
    })
    .join();
    let payload = moved.unwrap_err();
    assert!(
        panic_message(&*payload).contains("another thread"),
        "{}",
        panic_message(&*payload)
    );
}
