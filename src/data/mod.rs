//! The datasets (MNIST, Fashion-MNIST, KMNIST): their file tables, mirrors and class names,
//! the IDX reader, the in-memory dataset and its batches, the epoch order, the downloader, and
//! images read from and written to PNG files.
//!
//! The submodules depend on each other in one direction only: `shape`, `format` and `files`
//! import nothing from here; `error` uses `files` and `format`; `idx` uses `error` and `format`;
//! `split` and `load` build on those; `order` stands alone; `download` uses `files` and `error`;
//! `dataset` names the tables of `files` and the mirrors of `download`; `png` uses `shape`.

mod dataset;
pub mod download;
pub mod error;
mod files;
mod format;
pub mod idx;
mod load;
mod order;
pub mod png;
mod shape;
mod split;

pub use dataset::Dataset;
pub use download::{
    default_files, default_mirrors, download_missing, download_missing_until, Progress, RemoteFile,
    DEFAULT_MIRRORS,
};
pub use error::DataError;
pub use files::{
    candidate_names, find_file, missing_files, DataFile, FASHION_MNIST_FILES, KMNIST_FILES,
    MNIST_FILES, MNIST_FILE_NAMES,
};
pub use load::{load, load_dataset, load_split, load_test, training_images};
pub use order::EpochOrder;
pub use shape::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
pub use split::{Mnist, Split};
