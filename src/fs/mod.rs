//! Files: [`File`] and [`OpenOptions`], every call through io_uring.

mod file;
mod open_options;

pub(crate) use file::partial_write;
pub use file::File;
pub use open_options::OpenOptions;
