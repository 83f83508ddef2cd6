//! The I/O examples, run as programs: `cp` copies byte for byte,
//! `serve_file` serves a file byte for byte over HTTP, `udp_echo`,
//! `unix_echo` and `chat` answer as they say.
//!
//! `cargo test` builds the examples before the tests; they are found next
//! to this test's executable (target/<profile>/examples/).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{path:?} not built: run `cargo test` (it builds the examples) or `cargo build --examples`"
    );
    path
}

/// A running example, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `name` with `args`; returns it and its first line of output.
fn start(name: &str, args: &[&str]) -> (Running, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Running(child), line)
}

/// The `host:port` at the end of a banner line (after the last space, an
/// optional scheme removed).
fn addr_in(banner: &str) -> String {
    let last = banner.split_whitespace().last().unwrap();
    last.trim_start_matches("http://").to_string()
}

#[test]
fn cp_copies_a_file_byte_for_byte() {
    let data = pattern(10 * 1024 * 1024 + 12345, 3);
    let (dir, src) = temp_file(&data);
    let dst = dir.path().join("copy.bin");
    let out = Command::new(example("cp"))
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(&dst).unwrap();
    assert_eq!(first_difference(&got, &data), None);
    // An empty file too.
    let (dir2, empty) = temp_file(b"");
    let out = Command::new(example("cp"))
        .arg(&empty)
        .arg(dir2.path().join("e"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(dir2.path().join("e")).unwrap().len(), 0);
}

#[test]
fn serve_file_serves_a_file_byte_for_byte_and_refuses_what_it_should() {
    let data = pattern(3 * 1024 * 1024 + 7, 5);
    let (dir, _) = temp_file(&data);
    let root = dir.path().to_str().unwrap().to_string();
    let (_server, banner) = start("serve_file", &[&root, "127.0.0.1:0"]);
    let addr = addr_in(&banner);
    let get = |request: &str| -> (String, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = all.split_off(split);
        (String::from_utf8(all).unwrap(), body)
    };
    let (head, body) = get("GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {}", data.len())),
        "{head}"
    );
    assert_eq!(first_difference(&body, &data), None);
    let (head, body) = get("HEAD /data.bin HTTP/1.1\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200") && body.is_empty(),
        "{head}"
    );
    let (head, _) = get("GET /missing HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get("GET /../etc/passwd HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get("POST /data.bin HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    // curl, where installed, gets the same bytes.
    if let Ok(out) = Command::new("curl")
        .args(["-sf", &format!("http://{addr}/data.bin")])
        .output()
    {
        if out.status.success() {
            assert_eq!(first_difference(&out.stdout, &data), None);
        }
    }
}

#[test]
fn udp_echo_answers_every_datagram() {
    let (_server, banner) = start("udp_echo", &["127.0.0.1:0"]);
    let addr = addr_in(&banner);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for i in 0..50u32 {
        let msg = format!("datagram {i}");
        socket.send_to(msg.as_bytes(), &addr).unwrap();
        let mut buf = [0u8; 100];
        let (n, _) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], msg.as_bytes());
    }
}

#[test]
fn unix_echo_echoes_over_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let (_server, _banner) = start("unix_echo", &[path.to_str().unwrap()]);
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let data = pattern(200_000, 1);
    let writer = {
        let mut s = s.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || s.write_all(&data).unwrap())
    };
    let mut got = vec![0u8; data.len()];
    s.read_exact(&mut got).unwrap();
    writer.join().unwrap();
    assert_eq!(first_difference(&got, &data), None);
}

#[test]
fn chat_relays_a_line_to_the_other_clients_only() {
    let (_server, banner) = start("chat", &["127.0.0.1:0"]);
    let addr = addr_in(&banner);
    let connect = || {
        let s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        BufReader::new(s)
    };
    let mut alice = connect();
    let mut bob = connect();
    // Alice learns that Bob joined (after her own join).
    let mut line = String::new();
    let start = Instant::now();
    while !line.contains("joined") && start.elapsed() < Duration::from_secs(10) {
        line.clear();
        alice.read_line(&mut line).unwrap();
    }
    bob.get_mut().write_all(b"hello from bob\n").unwrap();
    line.clear();
    alice.read_line(&mut line).unwrap();
    assert!(line.ends_with(": hello from bob\n"), "{line:?}");
    // Bob does not get his own line back: his next line is Alice's.
    alice.get_mut().write_all(b"hi bob\n").unwrap();
    line.clear();
    bob.read_line(&mut line).unwrap();
    assert!(line.ends_with(": hi bob\n"), "{line:?}");
}

#[cfg(feature = "hyper")]
#[test]
fn hyper_hello_answers_http_requests() {
    let (_server, banner) = start("hyper_hello", &["127.0.0.1:0"]);
    let addr = addr_in(&banner);
    for _ in 0..3 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        assert!(all.starts_with("HTTP/1.1 200"), "{all}");
        assert!(all.ends_with("Hello from corio\n"), "{all}");
    }
}
