//! `cat`: print files through io_uring.
//!
//! Each file is opened with an io_uring `openat`, read with io_uring reads
//! of up to 64 KiB at increasing offsets into one buffer reused for every
//! chunk and every file, and closed through the ring. The bytes go to
//! standard output with std's (blocking) `write_all`. A file that cannot be
//! read gets an error message on stderr; the others are still printed, and
//! the exit status is 1 if any failed.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example cat -- Cargo.toml README.md
//! ```

use corio::fs::File;
use std::io::{self, Write};

const CHUNK: usize = 64 * 1024;

/// Copy `path` to `out`; gives the buffer back for the next file.
async fn cat(path: &str, mut buf: Vec<u8>, out: &mut impl Write) -> (io::Result<()>, Vec<u8>) {
    let file = match File::open(path).await {
        Ok(file) => file,
        Err(e) => return (Err(e), buf),
    };
    let mut pos = 0u64;
    loop {
        buf.clear(); // reads fill from the start up to the capacity
        let (res, b) = file.read_at(buf, pos).await;
        buf = b;
        match res {
            Ok(0) => break, // end of file
            Ok(n) => {
                pos += n as u64;
                if let Err(e) = out.write_all(&buf) {
                    return (Err(e), buf);
                }
            }
            Err(e) => return (Err(e), buf),
        }
    }
    (file.close().await, buf)
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: cargo run --example cat -- FILE...");
        std::process::exit(2);
    }
    let failed = corio::block_on(async {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let mut buf = Vec::with_capacity(CHUNK);
        let mut failed = false;
        for path in &paths {
            let (res, b) = cat(path, buf, &mut out).await;
            buf = b;
            if let Err(e) = res {
                let _ = out.flush(); // keep stdout and stderr in order
                eprintln!("cat: {path}: {e}");
                failed = true;
            }
        }
        if let Err(e) = out.flush() {
            eprintln!("cat: stdout: {e}");
            failed = true;
        }
        failed
    });
    if failed {
        std::process::exit(1);
    }
}
