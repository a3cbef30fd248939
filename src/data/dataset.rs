//! The datasets digitdash trains on by name: MNIST, Fashion-MNIST and Kuzushiji-MNIST.
//!
//! All three are 60,000 training and 10,000 test images of 28x28 grey pixels in ten classes,
//! in the same four IDX files, so everything but their tables (files, mirrors, class names)
//! and their default folder is shared.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::download::{RemoteFile, DEFAULT_MIRRORS};
use super::files::{DataFile, FASHION_MNIST_FILES, KMNIST_FILES, MNIST_FILES};
use super::shape::CLASSES;

/// A dataset digitdash knows by name (`--dataset`, `[data] dataset`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    /// Handwritten digits (LeCun, Cortes and Burges), the tutorial's dataset.
    #[default]
    Mnist,
    /// Zalando's photographs of clothes, shoes and bags (Xiao, Rasul and Vollgraf, 2017).
    FashionMnist,
    /// Kuzushiji-MNIST: ten cursive hiragana from classical Japanese books (Clanuwat et al.,
    /// 2018).
    Kmnist,
}

/// The publisher's own address of Fashion-MNIST (the only one torchvision lists).
const FASHION_MNIST_MIRRORS: [&str; 1] =
    ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];
/// The publisher's address of KMNIST, over HTTPS and then plain HTTP.
const KMNIST_MIRRORS: [&str; 2] = [
    "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
];

/// MNIST's classes: the digits.
const DIGITS: [&str; CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// Fashion-MNIST's classes, as its publisher names them.
const FASHION: [&str; CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// KMNIST's classes: the hiragana (kmnist_classmap.csv) with their romanisation.
const KUZUSHIJI: [&str; CLASSES] = [
    "お (o)",
    "き (ki)",
    "す (su)",
    "つ (tsu)",
    "な (na)",
    "は (ha)",
    "ま (ma)",
    "や (ya)",
    "れ (re)",
    "を (wo)",
];

impl Dataset {
    /// Every dataset, in the order `--help` lists them.
    pub const ALL: [Dataset; 3] = [Dataset::Mnist, Dataset::FashionMnist, Dataset::Kmnist];

    /// The name `--dataset` takes and the cache folder is called: `mnist`, `fashion-mnist`,
    /// `kmnist`.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Kmnist => "kmnist",
        }
    }

    /// The name people write: `MNIST`, `Fashion-MNIST`, `KMNIST`.
    pub fn title(self) -> &'static str {
        match self {
            Dataset::Mnist => "MNIST",
            Dataset::FashionMnist => "Fashion-MNIST",
            Dataset::Kmnist => "KMNIST",
        }
    }

    /// The four files: train images, train labels, test images, test labels.
    pub fn files(self) -> &'static [DataFile; 4] {
        match self {
            Dataset::Mnist => &MNIST_FILES,
            Dataset::FashionMnist => &FASHION_MNIST_FILES,
            Dataset::Kmnist => &KMNIST_FILES,
        }
    }

    /// Where the files are downloaded from, tried in order; a file's address is the mirror
    /// followed by its name.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            Dataset::Mnist => &DEFAULT_MIRRORS,
            Dataset::FashionMnist => &FASHION_MNIST_MIRRORS,
            Dataset::Kmnist => &KMNIST_MIRRORS,
        }
    }

    /// The four files as the downloader takes them, each with its size and checksums.
    pub fn remote_files(self) -> Vec<RemoteFile> {
        self.files().iter().map(RemoteFile::from).collect()
    }

    /// [`Dataset::mirrors`] as owned strings.
    pub fn mirror_list(self) -> Vec<String> {
        self.mirrors().iter().map(|m| m.to_string()).collect()
    }

    /// The name of each class, by label: `0`..`9` for MNIST, `T-shirt/top`... for
    /// Fashion-MNIST, `お (o)`... for KMNIST.
    pub fn class_names(self) -> &'static [&'static str; CLASSES] {
        match self {
            Dataset::Mnist => &DIGITS,
            Dataset::FashionMnist => &FASHION,
            Dataset::Kmnist => &KUZUSHIJI,
        }
    }

    /// The name of class `label` (`?` past the last class).
    pub fn class_name(self, label: usize) -> &'static str {
        self.class_names().get(label).copied().unwrap_or("?")
    }

    /// The folder the dataset is downloaded into when none is named: `digitdash/<name>` in
    /// the user's cache folder (`$XDG_CACHE_HOME`, else `~/.cache`, on Linux; `~/Library/Caches`
    /// on macOS; `%LOCALAPPDATA%` on Windows). `None` when the system names no home folder.
    pub fn cache_dir(self) -> Option<PathBuf> {
        let base = directories::BaseDirs::new()?;
        Some(base.cache_dir().join("digitdash").join(self.name()))
    }

    /// The dataset whose table lists a file of `dir` by its exact size when this one's does
    /// not: a folder of another dataset passed for this one (the three name their files alike).
    /// Only the gzipped originals are looked at; raw files all have the same size.
    pub fn foreign_file(self, dir: &Path) -> Option<(PathBuf, Dataset)> {
        for (index, file) in self.files().iter().enumerate() {
            let path = dir.join(file.name);
            let Ok(size) = path.metadata().map(|m| m.len()) else {
                continue;
            };
            if size == file.size {
                continue;
            }
            let other = Self::ALL
                .into_iter()
                .find(|other| *other != self && other.files()[index].size == size);
            if let Some(other) = other {
                return Some((path, other));
            }
        }
        None
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_command_lines_and_the_configs() {
        use clap::ValueEnum;
        for dataset in Dataset::ALL {
            let value = dataset.to_possible_value().unwrap();
            assert_eq!(value.get_name(), dataset.name());
            let toml = format!("d = {:?}", dataset.name());
            #[derive(Deserialize)]
            struct Holder {
                d: Dataset,
            }
            let back: Holder = toml::from_str(&toml).unwrap();
            assert_eq!(back.d, dataset);
        }
        assert_eq!(Dataset::value_variants(), Dataset::ALL);
    }

    #[test]
    fn class_names_are_distinct_and_labelled() {
        for dataset in Dataset::ALL {
            let mut names = dataset.class_names().to_vec();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), CLASSES, "{dataset}");
        }
        assert_eq!(Dataset::FashionMnist.class_name(0), "T-shirt/top");
        assert_eq!(Dataset::FashionMnist.class_name(9), "Ankle boot");
        assert_eq!(Dataset::Kmnist.class_name(3), "つ (tsu)");
        assert_eq!(Dataset::Mnist.class_name(7), "7");
        assert_eq!(Dataset::Mnist.class_name(10), "?");
    }

    #[test]
    fn the_cache_folder_is_named_by_the_dataset() {
        let dir = Dataset::FashionMnist.cache_dir().unwrap();
        assert!(
            dir.ends_with("digitdash/fashion-mnist"),
            "{}",
            dir.display()
        );
    }

    #[test]
    fn a_folder_of_another_dataset_is_recognised_by_its_sizes() {
        let dir = tempfile::TempDir::new().unwrap();
        assert_eq!(Dataset::Mnist.foreign_file(dir.path()), None);
        let labels = dir.path().join("t10k-labels-idx1-ubyte.gz");
        std::fs::write(&labels, vec![0u8; 4_542]).unwrap();
        assert_eq!(Dataset::Mnist.foreign_file(dir.path()), None);
        assert_eq!(
            Dataset::FashionMnist.foreign_file(dir.path()),
            Some((labels.clone(), Dataset::Mnist))
        );
        std::fs::write(&labels, vec![0u8; 17]).unwrap();
        assert_eq!(Dataset::FashionMnist.foreign_file(dir.path()), None);
    }
}
