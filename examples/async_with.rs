//! `async with`: asyncio's
//!
//! ```python
//! async with aiofiles.open(path, "w+") as f:
//!     ...
//! ```
//!
//! becomes a `corio::fs::File` that is used, then closed with
//! `file.close().await` (which reports close errors, like the `__aexit__`
//! of `async with`). If you forget — an early `return`, a `?`, a panic — the
//! file's `Drop` closes the descriptor for you: without blocking, and never
//! while the kernel is still using it for an operation whose future was
//! dropped (the close waits for that operation's final completion).
//!
//! I/O is positioned (`write_all_at`, `read_at`) and buffers are passed by
//! value: the kernel owns a buffer from submission to completion, and the
//! operation hands it back with the result, `(io::Result<T>, buffer)`.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example async_with
//! ```

use corio::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;

fn temp_path() -> PathBuf {
    let unique = format!(
        "corio-async-with-{}-{}.txt",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    std::env::temp_dir().join(unique)
}

async fn demo(path: &PathBuf) -> io::Result<()> {
    // "async with open(path, 'w+') as f:"
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .await?;
    println!("opened {}", path.display());

    // The buffer moves into the operation and comes back with the result.
    let text = b"hello from io_uring\nsecond line\n".to_vec();
    let (res, text) = file.write_all_at(text, 0).await;
    res?;
    println!("wrote {} bytes at offset 0", text.len());

    // Write more at an offset, from a 'static slice this time.
    let (res, _) = file
        .write_all_at(b"third line\n" as &'static [u8], text.len() as u64)
        .await;
    res?;

    // Flush to the device (fsync through the ring).
    file.sync_all().await?;

    // Read it back: the read fills the buffer up to its capacity and sets
    // its length to the number of bytes read.
    let (res, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
    let n = res?;
    println!("read {n} bytes back:");
    print!("{}", String::from_utf8_lossy(&buf));

    // Reuse the same buffer (clear keeps its capacity) for a read at an
    // offset.
    let mut buf = buf;
    buf.clear();
    let (res, buf) = file.read_at(buf, 6).await;
    res?;
    println!(
        "read_at(6) gave {:?}",
        String::from_utf8_lossy(&buf).lines().next().unwrap_or("")
    );

    // The end of "async with": close through the ring and learn about
    // errors (close(2) can report them, e.g. on network file systems).
    file.close().await?;
    println!("closed with close().await");

    // The other way out: just drop the file. Drop closes the descriptor too,
    // but any error is lost — prefer close().await when you care.
    let again = File::open(path).await?;
    let (res, buf) = again.read_at(Vec::with_capacity(5), 0).await;
    res?;
    println!("reopened, first bytes {:?}", String::from_utf8_lossy(&buf));
    drop(again);
    println!("dropped the second handle: Drop closed its descriptor");
    Ok(())
}

fn main() {
    let path = temp_path();
    let result = corio::block_on(demo(&path));
    // Clean up whatever happened.
    let _ = std::fs::remove_file(&path);
    if let Err(e) = result {
        eprintln!("async_with: {e}");
        std::process::exit(1);
    }
    println!("removed {}", path.display());
}
