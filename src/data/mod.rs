//! MNIST data: the IDX reader, the in-memory dataset and its batches, and the downloader.

pub mod download;
pub mod error;
pub mod idx;
pub mod mnist;

pub use download::{
    default_files, default_mirrors, download_missing, download_missing_until, Progress, RemoteFile,
    DEFAULT_MIRRORS,
};
pub use error::{DataError, MNIST_FILE_NAMES};
pub use mnist::{load, missing_files, EpochOrder, Mnist, Split, CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
