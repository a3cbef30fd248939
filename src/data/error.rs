//! The one error type of the data layer: every way reading or downloading MNIST can fail.
//!
//! Each message names the file or folder involved, says what is wrong, and says what to do about
//! it, so that the front-ends can print it as it is. The messages are complete on their own: an
//! underlying I/O or gzip error is written into the message (and kept in a public field) rather
//! than chained as a `source`, so printing the error with `{:#}` does not repeat it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::files::MNIST_FILE_NAMES;
use super::format::{IMAGES_MAGIC, LABELS_MAGIC};

/// What to do about a damaged file.
const REFETCH_HINT: &str = "Delete it so digitdash downloads it again (data.download = true), \
     or put the original MNIST file there.";

/// Everything that can go wrong while finding, reading, checking or downloading MNIST.
#[derive(Debug, Error)]
pub enum DataError {
    /// Some of the four MNIST files are not in the data folder.
    #[error("{}", missing_message(dir, missing))]
    Missing {
        /// The folder that was searched.
        dir: PathBuf,
        /// The standard (`.gz`) names of the absent files.
        missing: Vec<String>,
    },

    /// A file exists but could not be read.
    #[error("cannot read {}: {cause}. Check that it is a readable file, or delete it so \
             digitdash downloads it again (data.download = true).", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        cause: io::Error,
    },

    /// A file starts like gzip but its compressed stream is damaged.
    #[error("{} is not a valid gzip file ({cause}); it is probably damaged or only partly \
             downloaded. {REFETCH_HINT}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        cause: io::Error,
    },

    /// A file is shorter than the IDX header it must start with.
    #[error("{} holds only {len} bytes, too few for an IDX {kind} header ({needed} bytes); it is \
             truncated or not an IDX file. {REFETCH_HINT}", path.display())]
    TooShort {
        /// The file.
        path: PathBuf,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// How many (decompressed) bytes it holds.
        len: usize,
        /// How many bytes the header needs.
        needed: usize,
    },

    /// The first four bytes are not the magic number that was expected.
    #[error("{}: expected magic {expected} ({}) but found {found}{}. {REFETCH_HINT}",
            path.display(), magic_name(*expected), magic_guess(*expected, *found))]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number expected (2051 for images, 2049 for labels).
        expected: u32,
        /// The magic number found.
        found: u32,
    },

    /// The header's dimensions do not match the number of data bytes that follow it.
    #[error("{}: header says {header} = {expected} bytes but the file holds {found}{}. \
             {REFETCH_HINT}", path.display(), size_guess(*expected, *found))]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// The header in words, e.g. `"60000 images of 28x28"`.
        header: String,
        /// Data bytes the header promises.
        expected: u128,
        /// Data bytes present after the header (after decompression).
        found: u128,
    },

    /// The decompressed file goes on past the data its header promises.
    #[error("{}: header says {header} = {expected} bytes but the file holds more than that \
             (after decompression); it is damaged or not the file its header describes. \
             {REFETCH_HINT}", path.display())]
    Oversized {
        /// The file.
        path: PathBuf,
        /// The header in words, e.g. `"60000 images of 28x28"`.
        header: String,
        /// Data bytes the header promises.
        expected: u64,
    },

    /// The header promises more data than any MNIST file holds; nothing past it was read.
    #[error("{}: header says {header} = {expected} bytes, more than the {} MiB an MNIST file \
             can hold; this is not an MNIST file. {REFETCH_HINT}", path.display(), limit >> 20)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The header in words, e.g. `"60000 images of 28x28"`.
        header: String,
        /// Data bytes the header promises.
        expected: u128,
        /// The most data bytes accepted ([`crate::data::idx::MAX_DATA_BYTES`]).
        limit: u64,
    },

    /// An images file holds images of another size than MNIST's 28x28.
    #[error("{}: images are {rows}x{cols} but MNIST images are {side}x{side}; this is not an \
             MNIST file. {REFETCH_HINT}", path.display())]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Rows per image in the header.
        rows: usize,
        /// Columns per image in the header.
        cols: usize,
        /// The side length expected.
        side: usize,
    },

    /// A file holds no images or labels at all.
    #[error("{} holds no {kind}; an MNIST file is never empty. {REFETCH_HINT}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// `"images"` or `"labels"`.
        kind: &'static str,
    },

    /// A labels file holds a value that is not a digit 0..=9.
    #[error("{}: label number {index} is {value}, but MNIST labels are the digits 0 to 9. \
             {REFETCH_HINT}", path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Position of the bad label (0-based).
        index: usize,
        /// The value found.
        value: u8,
    },

    /// An images file and its labels file disagree on how many examples there are.
    #[error("{} holds {image_count} images but {} holds {label_count} labels; the two files do \
             not belong together. Delete both so digitdash downloads them again \
             (data.download = true), or put the original MNIST files there.",
            images.display(), labels.display())]
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
        /// Images in the images file.
        image_count: usize,
        /// Labels in the labels file.
        label_count: usize,
    },

    /// The validation split asked for takes all the training images or more.
    #[error("the validation split of {requested} images (data.validation, or --validation) leaves no training images: the training files in {} hold {available}. Hold out fewer (the tutorial holds out 5000 of 60000), or 0 for none.", dir.display())]
    ValidationTooLarge {
        /// The data folder.
        dir: PathBuf,
        /// Images asked for.
        requested: usize,
        /// Training images there are.
        available: usize,
    },

    /// A local file operation failed (creating the data folder, writing a file).
    #[error("cannot {action} {}: {cause}. Check that the folder exists and is writable, or choose \
             another one with --data-dir DIR or DIGITDASH_DATA_DIR.", path.display())]
    Io {
        /// What was being done, e.g. `"create the data folder"`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        cause: io::Error,
    },

    /// The download was stopped (Ctrl-C, or a stop asked for) before every file arrived.
    #[error("the download of {file} was stopped before it finished; nothing partial was kept in \
             {}. Run digitdash again to download the missing files.", dir.display())]
    DownloadStopped {
        /// The file being fetched when the stop came.
        file: String,
        /// The data folder.
        dir: PathBuf,
    },

    /// No data folder was named and the system names no cache folder to put one in.
    #[error(
        "no data folder: --data-dir, DIGITDASH_DATA_DIR and data.dir are unset, and this \
             system names no cache folder (is HOME set?) for the default one. Pass --data-dir \
             DIR or set DIGITDASH_DATA_DIR."
    )]
    NoCacheFolder,

    /// The folder holds another dataset's file (they share names; the sizes tell them apart).
    #[error("{} is {found}'s file, not {expected}'s: this folder holds {found}. Pass --dataset \
             {found_flag} to use it, or point --data-dir (or DIGITDASH_DATA_DIR) at a folder for \
             {expected}, or leave both unset to use {expected}'s own folder in the cache.",
            path.display())]
    WrongDataset {
        /// The file.
        path: PathBuf,
        /// The dataset asked for.
        expected: &'static str,
        /// The dataset the file belongs to, as people name it.
        found: &'static str,
        /// The dataset the file belongs to, as `--dataset` names it.
        found_flag: &'static str,
    },

    /// Every mirror failed for one file.
    #[error("{}", download_message(file, attempts, dir))]
    Download {
        /// The file that could not be fetched.
        file: String,
        /// Each mirror tried, in order, with why it failed.
        attempts: Vec<(String, String)>,
        /// The folder the file was meant for.
        dir: PathBuf,
    },
}

/// The list of the four standard names, for messages.
fn file_list() -> String {
    MNIST_FILE_NAMES.join(", ")
}

/// The message of [`DataError::Missing`].
fn missing_message(dir: &Path, missing: &[String]) -> String {
    let mut msg = format!(
        "MNIST data not found: the folder {} is missing {}",
        dir.display(),
        missing.join(", ")
    );
    if !dir.is_dir() {
        msg.push_str(" (the folder does not exist)");
    }
    let _ = write!(
        msg,
        ". To fix it, run with data.download = true so digitdash downloads them there, or point \
         --data-dir DIR (or the environment variable DIGITDASH_DATA_DIR) at a folder holding the \
         four MNIST files: {} (gzipped, or unpacked without the .gz).",
        file_list()
    );
    msg
}

/// The message of [`DataError::Download`].
fn download_message(file: &str, attempts: &[(String, String)], dir: &Path) -> String {
    let mut msg = if attempts.is_empty() {
        format!("cannot download {file}: no mirrors are configured.")
    } else {
        format!("cannot download {file}; every mirror failed:")
    };
    for (mirror, reason) in attempts {
        let _ = write!(msg, "\n  - {mirror}: {reason}");
    }
    let _ = write!(
        msg,
        "\nNothing was saved. If this machine is offline, fetch the MNIST files elsewhere and put \
         them by hand in {}: {} (gzipped, or unpacked without the .gz); then run again.",
        dir.display(),
        file_list()
    );
    msg
}

/// What a magic number stands for.
fn magic_name(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "images",
        LABELS_MAGIC => "labels",
        _ => "unknown",
    }
}

/// A guess at what the file is, given the magic number found.
fn magic_guess(expected: u32, found: u32) -> &'static str {
    match (expected, found) {
        (IMAGES_MAGIC, LABELS_MAGIC) => " — is this a labels file?",
        (LABELS_MAGIC, IMAGES_MAGIC) => " — is this an images file?",
        _ => " — this is not an MNIST IDX file",
    }
}

/// A guess at why the size is wrong.
fn size_guess(expected: u128, found: u128) -> String {
    if found < expected {
        " — it is truncated (an interrupted download?)".to_string()
    } else {
        format!(" — {} bytes too many after the data", found - expected)
    }
}
