//! The real MNIST: counts, first labels and class counts of the original files.
//!
//! Reads the folder named by `DIGITDASH_DATA_DIR`. When it is unset the test does not skip: it
//! downloads the four files from the default mirrors into `target/mnist-cache` and loads them
//! from there.

mod common;

use std::sync::OnceLock;

use digitdash::data::{load, Mnist, CLASSES, IMAGE_PIXELS};

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
    assert_eq!(CLASSES, 10);
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
