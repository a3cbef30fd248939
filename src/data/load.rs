//! Reading a folder into [`Mnist`]: finding the four files and checking what they hold.
//!
//! [`load`] reads the four standard files from a folder (gzipped or raw, under either common
//! spelling) and checks them: 28x28 images, labels 0..=9, as many labels as images. Every
//! problem is a [`DataError`] that names the file and says what to do.

use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::DataError;
use super::files::{find_file, missing_files, MNIST_FILE_NAMES};
use super::idx;
use super::shape::{CLASSES, IMAGE_SIDE};
use super::split::{Mnist, Split};

/// Finds the four files, or names the missing ones.
fn locate(dir: &Path) -> Result<[PathBuf; 4], DataError> {
    let found = MNIST_FILE_NAMES.map(|name| find_file(dir, name));
    match found {
        [Some(a), Some(b), Some(c), Some(d)] => Ok([a, b, c, d]),
        _ => Err(DataError::Missing {
            dir: dir.to_path_buf(),
            missing: missing_files(dir).into_iter().map(String::from).collect(),
        }),
    }
}

/// Loads and checks MNIST from `dir`, which must hold the four standard files.
pub fn load(dir: &Path) -> Result<Mnist, DataError> {
    let [train_images, train_labels, test_images, test_labels] = locate(dir)?;
    let (train, test) = std::thread::scope(|scope| {
        let train = scope.spawn(|| load_split(&train_images, &train_labels));
        let test = load_split(&test_images, &test_labels);
        let train = train
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (train, test)
    });
    Ok(Mnist {
        train: train?,
        test: test?,
    })
}

/// Loads and checks only the test images of the dataset in `dir` (a viewer needs no more).
pub fn load_test(dir: &Path) -> Result<Split, DataError> {
    let [_, _, test_images, test_labels] = locate(dir)?;
    load_split(&test_images, &test_labels)
}

/// Images in the training files of the dataset in `dir`, told by its labels file alone (a
/// sweep sizes its epochs by them before any trial loads the images).
pub fn training_images(dir: &Path) -> Result<usize, DataError> {
    let [_, train_labels, _, _] = locate(dir)?;
    Ok(load_labels(&train_labels)?.len())
}

/// [`load`] for `dataset`: refuses first a folder that holds another dataset's files (the
/// three name their files alike; the gzipped originals' sizes tell them apart).
pub fn load_dataset(dir: &Path, dataset: Dataset) -> Result<Mnist, DataError> {
    if let Some((path, found)) = dataset.foreign_file(dir) {
        return Err(DataError::WrongDataset {
            path,
            expected: dataset.title(),
            found: found.title(),
            found_flag: found.name(),
        });
    }
    load(dir)
}

/// Loads one split from its images and labels files and checks them against each other.
pub fn load_split(images_path: &Path, labels_path: &Path) -> Result<Split, DataError> {
    let images = load_images(images_path)?;
    let labels = load_labels(labels_path)?;
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            image_count: images.count,
            label_count: labels.len(),
        });
    }
    Ok(Split::from_checked(images.pixels, labels))
}

/// Reads an images file and checks that it holds at least one 28x28 image.
fn load_images(path: &Path) -> Result<idx::IdxImages, DataError> {
    let images = idx::read_images(path)?;
    if (images.rows, images.cols) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(DataError::ImageSize {
            path: path.to_path_buf(),
            rows: images.rows,
            cols: images.cols,
            side: IMAGE_SIDE,
        });
    }
    if images.count == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            kind: "images",
        });
    }
    Ok(images)
}

/// Reads a labels file and checks that it holds at least one label and only digits 0..=9.
fn load_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let labels = idx::read_labels(path)?;
    if labels.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            kind: "labels",
        });
    }
    if let Some((index, &value)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= CLASSES)
    {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            value,
        });
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::files::raw_name;
    use crate::data::split::fixtures::small_mnist;
    use std::fs;
    use tempfile::TempDir;

    fn saved(gzipped: bool) -> (TempDir, Mnist) {
        let dir = TempDir::new().unwrap();
        let mnist = small_mnist();
        mnist.save(dir.path(), gzipped).unwrap();
        (dir, mnist)
    }

    /// Overwrites the standard (raw) file `name` in `dir` with `bytes`.
    fn replace(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(raw_name(name));
        fs::write(&path, bytes).unwrap();
        path
    }

    fn assert_names_and_hints(err: &DataError, path: &Path) {
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("Delete"), "{msg}");
        assert!(msg.contains("data.download = true"), "{msg}");
    }

    #[test]
    fn round_trip_gzipped_and_raw() {
        for gzipped in [true, false] {
            let (dir, mnist) = saved(gzipped);
            assert!(missing_files(dir.path()).is_empty());
            let loaded = load(dir.path()).unwrap();
            assert_eq!(loaded, mnist);
            assert_eq!(loaded.train.len(), 3);
            assert_eq!(loaded.test.len(), 2);
            assert_eq!(loaded.train.label(2), 2);
            assert_eq!(loaded.test.image(1), mnist.test.image(1));
        }
    }

    #[test]
    fn accepts_dotted_raw_spelling() {
        let (dir, mnist) = saved(false);
        let from = dir.path().join("train-images-idx3-ubyte");
        let to = dir.path().join("train-images.idx3-ubyte");
        fs::rename(from, &to).unwrap();
        assert_eq!(find_file(dir.path(), MNIST_FILE_NAMES[0]), Some(to));
        assert_eq!(load(dir.path()).unwrap(), mnist);
    }

    #[test]
    fn missing_files_are_named_with_the_folder() {
        let (dir, _) = saved(true);
        fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        fs::remove_file(dir.path().join("train-images-idx3-ubyte.gz")).unwrap();
        assert_eq!(
            missing_files(dir.path()),
            ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        );
        let err = load(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Missing { ref missing, .. } if missing.len() == 2));
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("missing train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"));
        assert!(msg.contains("DIGITDASH_DATA_DIR"), "{msg}");
        assert!(!msg.contains("does not exist"), "{msg}");
    }

    #[test]
    fn missing_folder_is_said_so() {
        let dir = TempDir::new().unwrap();
        let gone = dir.path().join("nowhere");
        assert_eq!(missing_files(&gone), MNIST_FILE_NAMES);
        let msg = load(&gone).unwrap_err().to_string();
        assert!(msg.contains("the folder does not exist"), "{msg}");
    }

    #[test]
    fn truncated_images_file() {
        let (dir, _) = saved(false);
        let path = dir.path().join("train-images-idx3-ubyte");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::SizeMismatch { .. }), "{err:?}");
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn trailing_bytes() {
        let (dir, _) = saved(false);
        let path = dir.path().join("t10k-labels-idx1-ubyte");
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(b"junk");
        fs::write(&path, bytes).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::SizeMismatch {
                    expected: 2,
                    found: 6,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn labels_file_where_images_expected() {
        let (dir, _) = saved(false);
        let path = replace(&dir, MNIST_FILE_NAMES[0], &idx::encode_labels(&[1, 2, 3]));
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is this a labels file?"), "{err}");
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn corrupt_gzip() {
        let (dir, _) = saved(true);
        let path = dir.path().join(MNIST_FILE_NAMES[2]);
        let mut bytes = fs::read(&path).unwrap();
        let end = bytes.len() - 8;
        for byte in &mut bytes[10..end] {
            *byte = !*byte;
        }
        fs::write(&path, bytes).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn count_mismatch() {
        let (dir, _) = saved(false);
        let labels = replace(&dir, MNIST_FILE_NAMES[1], &idx::encode_labels(&[1, 2]));
        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    image_count: 3,
                    label_count: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        let images = dir.path().join("train-images-idx3-ubyte");
        assert!(msg.contains(&images.display().to_string()), "{msg}");
        assert!(msg.contains(&labels.display().to_string()), "{msg}");
        assert!(msg.contains("Delete both"), "{msg}");
    }

    #[test]
    fn label_above_nine() {
        let (dir, _) = saved(false);
        let path = replace(&dir, MNIST_FILE_NAMES[3], &idx::encode_labels(&[4, 10]));
        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadLabel {
                    index: 1,
                    value: 10,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn wrong_image_size() {
        let (dir, _) = saved(false);
        let pixels = vec![0u8; 3 * 27 * 28];
        let path = replace(
            &dir,
            MNIST_FILE_NAMES[0],
            &idx::encode_images(27, 28, &pixels),
        );
        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::ImageSize {
                    rows: 27,
                    cols: 28,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("27x28"), "{err}");
        assert_names_and_hints(&err, &path);
    }

    #[test]
    fn empty_files() {
        let (dir, _) = saved(false);
        let path = replace(&dir, MNIST_FILE_NAMES[1], &idx::encode_labels(&[]));
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
        assert_names_and_hints(&err, &path);
    }
}
