//! Files and directories, every call through io_uring: [`File`] and
//! [`OpenOptions`], file status ([`metadata`], [`Metadata`]), operations on
//! names ([`remove_file`], [`rename`], [`create_dir_all`], …), directory
//! listing ([`read_dir`]) and
//! whole-file [`read`](read()) and [`write`](write()).

mod file;
mod metadata;
mod names;
mod open_options;
mod read_dir;
mod whole_file;

pub use file::File;
pub use metadata::{metadata, symlink_metadata, FileType, Metadata};
pub use names::{create_dir, create_dir_all, hard_link, remove_dir, remove_file, rename, symlink};
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
pub use whole_file::{read, write};
