//! The MNIST dataset in memory: finding and loading the four files, batches, and epoch order.
//!
//! [`load`] reads the four standard files from a folder (gzipped or raw, under either common
//! spelling) and checks them: 28x28 images, labels 0..=9, as many labels as images. A [`Split`]
//! keeps pixels as `u8` and fills `f32` batch buffers on demand; [`EpochOrder`] yields seeded,
//! reproducible, resumable shuffled batches of indices.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::error::{DataError, MNIST_FILE_NAMES};
use super::idx;

/// Side length of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an MNIST image (28 x 28).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0 to 9).
pub const CLASSES: usize = 10;

/// One half of MNIST (training or test): images and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// `len() * IMAGE_PIXELS` pixels, image after image, row after row.
    images: Vec<u8>,
    /// One label 0..=9 per image.
    labels: Vec<u8>,
}

/// The whole dataset: 60,000 training and 10,000 test examples for the real MNIST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
}

impl Split {
    /// Builds a split from raw pixels (784 per image) and labels; `None` if the lengths disagree
    /// or a label is above 9.
    pub fn new(images: Vec<u8>, labels: Vec<u8>) -> Option<Self> {
        let sizes_agree = Some(images.len()) == labels.len().checked_mul(IMAGE_PIXELS);
        let labels_ok = labels.iter().all(|&l| usize::from(l) < CLASSES);
        (sizes_agree && labels_ok).then_some(Self { images, labels })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `i`, row after row. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The label (0..=9) of example `i`. Panics if `i >= len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// How many examples of each digit the split holds.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// A copy of the first `n` examples (all of them if `n >= len()`).
    pub fn first(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images[..n * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Writes the pixels of the images at `indices`, in order, scaled to 0..=1 (`x / 255`).
    ///
    /// # Panics
    /// If `out.len() != indices.len() * IMAGE_PIXELS` or an index is out of range.
    pub fn fill_images(&self, indices: &[usize], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            indices.len() * IMAGE_PIXELS,
            "fill_images: buffer must hold {IMAGE_PIXELS} floats per index"
        );
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(IMAGE_PIXELS)) {
            for (dst, &src) in row.iter_mut().zip(self.image(i)) {
                *dst = f32::from(src) / 255.0;
            }
        }
    }

    /// Writes one-hot rows of [`CLASSES`] floats for the labels at `indices`, in order.
    ///
    /// # Panics
    /// If `out.len() != indices.len() * CLASSES` or an index is out of range.
    pub fn fill_one_hot(&self, indices: &[usize], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            indices.len() * CLASSES,
            "fill_one_hot: buffer must hold {CLASSES} floats per index"
        );
        out.fill(0.0);
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(CLASSES)) {
            row[usize::from(self.label(i))] = 1.0;
        }
    }

    /// Writes this split's two IDX files as `images` and `labels`, gzipped if `gzipped`.
    fn save(&self, images: &Path, labels: &Path, gzipped: bool) -> Result<(), DataError> {
        let side = IMAGE_SIDE as u32;
        idx::write_file(
            images,
            &idx::encode_images(side, side, &self.images),
            gzipped,
        )?;
        idx::write_file(labels, &idx::encode_labels(&self.labels), gzipped)
    }
}

impl Mnist {
    /// Writes the four files under their standard names into the existing folder `dir`
    /// (`.gz` names and gzipped if `gzipped`, raw names otherwise), so [`load`] reads them back.
    /// Meant for tests and tools that need a small MNIST-shaped folder.
    pub fn save(&self, dir: &Path, gzipped: bool) -> Result<(), DataError> {
        let path = |name: &str| {
            let name = if gzipped { name } else { raw_name(name) };
            dir.join(name)
        };
        let [train_images, train_labels, test_images, test_labels] = MNIST_FILE_NAMES.map(path);
        self.train.save(&train_images, &train_labels, gzipped)?;
        self.test.save(&test_images, &test_labels, gzipped)
    }
}

/// `name` without a trailing `.gz`.
fn raw_name(name: &str) -> &str {
    name.strip_suffix(".gz").unwrap_or(name)
}

/// The names a file called `name` (a standard `.gz` name) may have on disk, preferred first:
/// `name`, without `.gz`, and both again with `.idx` in place of `-idx`
/// (`train-images.idx3-ubyte`, as the original archives' inner names are spelled).
pub fn candidate_names(name: &str) -> Vec<String> {
    let raw = raw_name(name);
    let dotted = raw.replacen("-idx", ".idx", 1);
    let mut names = vec![name.to_string(), raw.to_string()];
    if dotted != raw {
        names.push(dotted.clone());
        names.push(format!("{dotted}.gz"));
    }
    names.dedup();
    names
}

/// Where the file with standard name `name` is in `dir`, under any accepted spelling.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    candidate_names(name)
        .into_iter()
        .map(|candidate| dir.join(candidate))
        .find(|path| path.is_file())
}

/// The standard names of those of the four MNIST files that are not in `dir`.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    MNIST_FILE_NAMES
        .into_iter()
        .filter(|name| find_file(dir, name).is_none())
        .collect()
}

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
    Ok(Split {
        images: images.pixels,
        labels,
    })
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

/// Seeded, reproducible order of examples over epochs, handed out in batches.
///
/// Epoch `k` is the identity permutation of `0..n` shuffled by a [`StdRng`] seeded from
/// `(seed, k)` alone, so any epoch can be rebuilt from the seed: [`EpochOrder::restore`] with a
/// saved [`epoch`](EpochOrder::epoch) and [`position`](EpochOrder::position) continues exactly
/// where the saved run left off. Batches never straddle epochs: when fewer indices remain than a
/// batch needs, the rest is dropped and the next epoch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOrder {
    /// Number of examples.
    n: usize,
    /// The caller's seed.
    seed: u64,
    /// Current epoch (0-based).
    epoch: u64,
    /// How many indices of the current epoch have been handed out.
    position: usize,
    /// The current epoch's permutation.
    order: Vec<usize>,
}

impl EpochOrder {
    /// Starts at epoch 0, position 0, for `n` examples.
    pub fn new(n: usize, seed: u64) -> Self {
        Self::restore(n, seed, 0, 0)
    }

    /// Rebuilds the order at a saved `epoch` and `position` (clamped to `n`).
    pub fn restore(n: usize, seed: u64, epoch: u64, position: usize) -> Self {
        Self {
            n,
            seed,
            epoch,
            position: position.min(n),
            order: permutation(n, seed, epoch),
        }
    }

    /// The current epoch (0-based): the epoch the last batch came from.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many indices of the current epoch have been handed out.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Number of examples the order covers.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the order covers no examples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The seed given at creation.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current epoch's full permutation.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Progress in epochs as a fraction, e.g. 2.5 halfway through epoch 2.
    pub fn epochs_done(&self) -> f64 {
        if self.n == 0 {
            return self.epoch as f64;
        }
        self.epoch as f64 + self.position as f64 / self.n as f64
    }

    /// The next `batch` indices and the epoch they belong to. `batch` may change from call to
    /// call; it is clamped to `1..=n` (so a batch is never empty unless `n == 0`, when the
    /// indices are empty). Starts the next, reshuffled epoch when fewer than `batch` remain.
    pub fn next_batch(&mut self, batch: usize) -> (u64, Vec<usize>) {
        let batch = batch.clamp(1, self.n.max(1));
        if self.n == 0 {
            return (self.epoch, Vec::new());
        }
        if self.n - self.position < batch {
            self.epoch += 1;
            self.position = 0;
            self.order = permutation(self.n, self.seed, self.epoch);
        }
        let start = self.position;
        self.position += batch;
        (self.epoch, self.order[start..self.position].to_vec())
    }
}

/// Epoch `epoch`'s permutation of `0..n` for `seed`.
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = StdRng::seed_from_u64(epoch_seed(seed, epoch));
    order.shuffle(&mut rng);
    order
}

/// A well-mixed seed for `epoch` of a run seeded with `seed`.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    splitmix64(seed ^ splitmix64(epoch.wrapping_add(0x6a09_e667_f3bc_c909)))
}

/// The SplitMix64 finaliser: a bijective 64-bit mix.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tempfile::TempDir;

    /// A split of `n` images whose pixels encode their index, labelled `i % 10`.
    fn split(n: usize, salt: u8) -> Split {
        let images = (0..n * IMAGE_PIXELS)
            .map(|p| ((p / IMAGE_PIXELS) as u8).wrapping_mul(31) ^ (p as u8) ^ salt)
            .collect();
        let labels = (0..n).map(|i| (i % CLASSES) as u8).collect();
        Split::new(images, labels).unwrap()
    }

    fn small_mnist() -> Mnist {
        Mnist {
            train: split(3, 1),
            test: split(2, 2),
        }
    }

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
    fn candidate_spellings() {
        assert_eq!(
            candidate_names("t10k-labels-idx1-ubyte.gz"),
            [
                "t10k-labels-idx1-ubyte.gz",
                "t10k-labels-idx1-ubyte",
                "t10k-labels.idx1-ubyte",
                "t10k-labels.idx1-ubyte.gz"
            ]
        );
        assert_eq!(candidate_names("a.gz"), ["a.gz", "a"]);
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

    #[test]
    fn split_new_checks_lengths_and_labels() {
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS], vec![0, 9]).is_some());
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS - 1], vec![0, 9]).is_none());
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS], vec![0, 10]).is_none());
    }

    #[test]
    fn fill_images_scales_to_unit_range_in_order() {
        let mut images = vec![0u8; 3 * IMAGE_PIXELS];
        images[IMAGE_PIXELS] = 255;
        images[IMAGE_PIXELS + 1] = 51;
        images[2 * IMAGE_PIXELS + 783] = 102;
        let split = Split::new(images, vec![0, 1, 2]).unwrap();
        let mut out = vec![-1.0; 2 * IMAGE_PIXELS];
        split.fill_images(&[2, 1], &mut out);
        assert_eq!(out[783], 0.4);
        assert_eq!(out[IMAGE_PIXELS], 1.0);
        assert_eq!(out[IMAGE_PIXELS + 1], 0.2);
        assert_eq!(out.iter().filter(|&&x| x != 0.0).count(), 3);
    }

    #[test]
    fn fill_one_hot_rows() {
        let split = split(12, 0);
        let mut out = vec![7.0; 3 * CLASSES];
        split.fill_one_hot(&[11, 0, 9], &mut out);
        let hot: Vec<usize> = out
            .chunks(CLASSES)
            .map(|row| row.iter().position(|&x| x == 1.0).unwrap())
            .collect();
        assert_eq!(hot, [1, 0, 9]);
        assert_eq!(out.iter().sum::<f32>(), 3.0);
    }

    #[test]
    #[should_panic(expected = "fill_images")]
    fn fill_images_checks_buffer_length() {
        split(2, 0).fill_images(&[0, 1], &mut [0.0; IMAGE_PIXELS]);
    }

    #[test]
    #[should_panic(expected = "fill_one_hot")]
    fn fill_one_hot_checks_buffer_length() {
        split(2, 0).fill_one_hot(&[0], &mut [0.0; 11]);
    }

    #[test]
    fn first_and_class_counts() {
        let split = split(25, 0);
        assert_eq!(split.class_counts(), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
        let head = split.first(4);
        assert_eq!(head.len(), 4);
        assert_eq!(head.image(3), split.image(3));
        assert_eq!(split.first(100), split);
    }

    /// Takes `count` batches of `batch`.
    fn batches(order: &mut EpochOrder, batch: usize, count: usize) -> Vec<(u64, Vec<usize>)> {
        (0..count).map(|_| order.next_batch(batch)).collect()
    }

    #[test]
    fn same_seed_same_order_and_different_seed_differs() {
        let a = batches(&mut EpochOrder::new(100, 7), 10, 25);
        let b = batches(&mut EpochOrder::new(100, 7), 10, 25);
        let c = batches(&mut EpochOrder::new(100, 8), 10, 25);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn each_epoch_is_a_permutation_and_epochs_differ() {
        let mut order = EpochOrder::new(50, 1);
        let mut epochs: Vec<Vec<usize>> = vec![Vec::new(); 3];
        for _ in 0..15 {
            let (epoch, indices) = order.next_batch(10);
            epochs[epoch as usize].extend(indices);
        }
        for epoch in &epochs {
            let mut sorted = epoch.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        }
        assert_ne!(epochs[0], epochs[1]);
        assert_ne!(epochs[0], (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn remainder_is_dropped_and_batches_are_full() {
        let mut order = EpochOrder::new(10, 3);
        let got = batches(&mut order, 4, 3);
        assert_eq!(got.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [0, 0, 1]);
        assert!(got.iter().all(|(_, b)| b.len() == 4));
        assert_eq!(order.epoch(), 1);
        assert_eq!(order.position(), 4);
        let fresh_epoch_one = EpochOrder::restore(10, 3, 1, 0);
        assert_eq!(got[2].1, fresh_epoch_one.order()[..4]);
    }

    #[test]
    fn restore_continues_identically() {
        let mut full = EpochOrder::new(37, 42);
        batches(&mut full, 5, 11);
        let (epoch, position) = (full.epoch(), full.position());
        assert_eq!((epoch, position), (1, 20));
        let mut resumed = EpochOrder::restore(37, 42, epoch, position);
        assert_eq!(resumed, full);
        let tail = batches(&mut full, 5, 20);
        assert_eq!(batches(&mut resumed, 5, 20), tail);
    }

    #[test]
    fn batch_size_may_change_mid_epoch() {
        let mut order = EpochOrder::new(20, 9);
        let mut seen = Vec::new();
        for batch in [3, 7, 5, 4] {
            let (epoch, indices) = order.next_batch(batch);
            assert_eq!((epoch, indices.len()), (0, batch));
            seen.extend(indices);
        }
        assert_eq!(order.position(), 19);
        assert_eq!(seen, order.order()[..19]);
        let (epoch, indices) = order.next_batch(2);
        assert_eq!((epoch, indices.len(), order.position()), (1, 2, 2));
        assert!((order.epochs_done() - 1.1).abs() < 1e-12);
    }

    #[test]
    fn degenerate_batch_sizes_are_clamped() {
        let mut order = EpochOrder::new(5, 0);
        assert_eq!(order.next_batch(0).1.len(), 1);
        assert_eq!(order.next_batch(99).1.len(), 5);
        assert_eq!(order.epoch(), 1);
        let mut empty = EpochOrder::new(0, 0);
        assert_eq!(empty.next_batch(8), (0, Vec::new()));
        assert!(empty.is_empty());
    }

    #[test]
    fn restore_clamps_position() {
        let mut order = EpochOrder::restore(6, 5, 3, 100);
        assert_eq!(order.position(), 6);
        assert_eq!(order.next_batch(2).0, 4);
    }
}
