//! The MNIST loader's errors as a user sees them, through the public API.

mod common;

use std::fs;
use std::path::Path;

use digitdash::data::MNIST_FILE_NAMES;
use digitdash::data::{load, missing_files, DataError, Mnist};

/// A valid, tiny MNIST-shaped dataset.
fn tiny() -> Mnist {
    common::tiny_mnist(4, 3)
}

fn assert_says_how_to_fix(msg: &str, dir: &Path) {
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
    for hint in ["data.download = true", "--data-dir", "DIGITDASH_DATA_DIR"] {
        assert!(msg.contains(hint), "missing hint {hint:?} in {msg}");
    }
    for name in MNIST_FILE_NAMES {
        assert!(msg.contains(name), "missing file name {name} in {msg}");
    }
}

#[test]
fn empty_folder_names_all_four_files_and_the_fix() {
    let dir = tempfile::TempDir::new().unwrap();
    assert_eq!(missing_files(dir.path()), MNIST_FILE_NAMES);
    let err = load(dir.path()).unwrap_err();
    match &err {
        DataError::Missing { dir: d, missing } => {
            assert_eq!(d, dir.path());
            assert_eq!(missing, &MNIST_FILE_NAMES);
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.starts_with("MNIST data not found"), "{msg}");
    assert_says_how_to_fix(&msg, dir.path());
}

#[test]
fn partly_filled_folder_names_only_the_missing_files() {
    let dir = tempfile::TempDir::new().unwrap();
    tiny().save(dir.path(), true).unwrap();
    fs::remove_file(dir.path().join("train-labels-idx1-ubyte.gz")).unwrap();
    fs::remove_file(dir.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(
        missing_files(dir.path()),
        ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
    );
    let msg = load(dir.path()).unwrap_err().to_string();
    let summary = msg.split(". To fix it").next().unwrap();
    assert!(
        summary.ends_with("is missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz"),
        "{summary}"
    );
    assert_says_how_to_fix(&msg, dir.path());
}

#[test]
fn absent_folder_is_reported_as_such() {
    let root = tempfile::TempDir::new().unwrap();
    let dir = root.path().join("no-such-folder");
    let msg = load(&dir).unwrap_err().to_string();
    assert!(msg.contains("the folder does not exist"), "{msg}");
    assert_says_how_to_fix(&msg, &dir);
}

#[test]
fn complete_folder_loads_raw_or_gzipped() {
    for gzipped in [false, true] {
        let dir = tempfile::TempDir::new().unwrap();
        let mnist = tiny();
        mnist.save(dir.path(), gzipped).unwrap();
        assert!(missing_files(dir.path()).is_empty());
        assert_eq!(load(dir.path()).unwrap(), mnist);
    }
}

#[test]
fn damaged_file_is_named_with_a_fix() {
    let dir = tempfile::TempDir::new().unwrap();
    tiny().save(dir.path(), true).unwrap();
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("Delete it so digitdash downloads it again"),
        "{msg}"
    );
}
