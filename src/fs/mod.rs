//! Files: [`File`] and [`OpenOptions`], every call through io_uring.

mod file;
mod open_options;

pub use file::File;
pub use open_options::OpenOptions;
