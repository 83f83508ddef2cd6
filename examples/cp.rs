//! Copy a file with a bounded number of reads and writes in flight.
//!
//! Python would call `shutil.copyfile`; asyncio has no file I/O at all.
//! Here the file is cut into 256 KiB chunks and up to 8 run at once, each
//! a read followed by a write at the same offset, in its own task of a
//! `TaskGroup`-like loop: the kernel sees 8 operations in flight, the
//! memory used stays at 8 buffers whatever the file's size.
//!
//! ```text
//! cargo run --release --example cp -- SOURCE DEST
//! ```

use corio::fs::{File, OpenOptions};
use std::io;
use std::rc::Rc;

const CHUNK: u64 = 256 * 1024;
const IN_FLIGHT: usize = 8;

/// Copy `len` bytes at `pos` from `src` to `dst`.
async fn copy_chunk(src: Rc<File>, dst: Rc<File>, pos: u64, len: usize) -> io::Result<()> {
    let (res, buf) = src.read_exact_at(Vec::with_capacity(len), pos).await;
    res?;
    let (res, _) = dst.write_all_at(buf, pos).await;
    res
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(from), Some(to)) = (args.next(), args.next()) else {
        eprintln!("usage: cp SOURCE DEST");
        std::process::exit(2);
    };
    corio::block_on(async {
        let src = Rc::new(File::open(&from).await?);
        let len = src.metadata().await?.len();
        let dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&to)
            .await?;
        // Reserve the space up front: the writes cannot fail for lack of it
        // half-way (where the file system supports it).
        if len > 0 && dst.allocate(0, len).await.is_err() {
            dst.set_len(len).await?;
        }
        let dst = Rc::new(dst);
        let mut running = Vec::new();
        let mut pos = 0;
        while pos < len {
            let n = (len - pos).min(CHUNK) as usize;
            if running.len() == IN_FLIGHT {
                // Wait for the oldest before starting another.
                let first: corio::task::JoinHandle<io::Result<()>> = running.remove(0);
                first.await.map_err(io::Error::other)??;
            }
            running.push(corio::spawn(copy_chunk(src.clone(), dst.clone(), pos, n)));
            pos += n as u64;
        }
        for task in running {
            task.await.map_err(io::Error::other)??;
        }
        dst.sync_all().await?;
        println!("copied {len} bytes from {from} to {to}");
        Ok(())
    })
}
