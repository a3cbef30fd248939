//! The real MNIST: counts, first labels and class counts of the original files, and the
//! program's built-in checksums against the files and against the published values.
//!
//! Reads the folder named by `DIGITDASH_DATA_DIR`. When it is unset the test does not skip: it
//! downloads the four files from the default mirrors into `target/mnist-cache` and loads them
//! from there.

mod common;

use std::sync::OnceLock;

use digitdash::data::{load, Mnist, IMAGE_PIXELS, MNIST_FILES};
use sha2::{Digest, Sha256};

/// The SHA-256 of the four original gzipped files from the MNIST home page, as published (for
/// example in TensorFlow Datasets' checksum list), written out here rather than taken from the
/// program: a typo in its table breaks every user's first download while CI, reading the data
/// from a folder, would not notice.
const PUBLISHED_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

#[test]
fn the_built_in_checksums_are_the_published_ones() {
    let built_in: Vec<(&str, &str)> = MNIST_FILES.iter().map(|f| (f.name, f.sha256)).collect();
    assert_eq!(built_in, PUBLISHED_SHA256);
    // The downloader's list is the same table.
    let files = digitdash::data::default_files();
    let listed: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.name.as_str(), f.sha256.as_str()))
        .collect();
    assert_eq!(listed, PUBLISHED_SHA256);
}

#[test]
fn the_built_in_checksums_are_those_of_the_real_files() {
    let dir = common::real_data_dir();
    let mut compared = 0;
    for file in MNIST_FILES {
        // The gzipped originals; a folder may also hold the raw spelling, which has no
        // published checksum.
        let path = dir.join(file.name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, file.sha256, "{}", path.display());
        compared += 1;
    }
    assert!(
        compared > 0,
        "{} holds none of the gzipped originals to compare the checksums with",
        dir.display()
    );
}

/// The dataset, loaded once for all tests.
fn mnist() -> &'static Mnist {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    MNIST.get_or_init(|| {
        let dir = common::real_data_dir();
        load(&dir).unwrap_or_else(|err| panic!("cannot load MNIST from {}: {err}", dir.display()))
    })
}

#[test]
fn counts() {
    assert_eq!(mnist().train.len(), 60_000);
    assert_eq!(mnist().test.len(), 10_000);
}

#[test]
fn first_labels() {
    assert_eq!(mnist().train.labels()[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(mnist().test.labels()[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
}

#[test]
fn class_counts() {
    assert_eq!(
        mnist().test.class_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(
        mnist().train.class_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
}

#[test]
fn pixels_look_like_digits() {
    let first = mnist().train.image(0);
    assert_eq!(first.len(), IMAGE_PIXELS);
    // A white border around an ink stroke that reaches full intensity.
    assert!(first[..28].iter().all(|&p| p == 0));
    assert_eq!(first.iter().copied().max(), Some(255));
    let ink = first.iter().filter(|&&p| p > 0).count();
    assert!((100..400).contains(&ink), "{ink} inked pixels");
    let mut batch = vec![0.0f32; 2 * IMAGE_PIXELS];
    mnist().test.fill_images(&[9999, 0], &mut batch);
    assert!(batch.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert_eq!(
        batch[IMAGE_PIXELS..],
        mnist()
            .test
            .image(0)
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect::<Vec<_>>()[..]
    );
}
