//! The four files of each dataset: their names, sizes and checksums, and finding them in a
//! folder.
//!
//! [`MNIST_FILES`], [`FASHION_MNIST_FILES`] and [`KMNIST_FILES`] are the one table of each
//! dataset's files ([`crate::data::Dataset::files`] picks one); the downloader, the error
//! messages and the loader all read them. The three datasets name their files alike, so a
//! folder holds one dataset. A file may be on disk gzipped or raw, under either common spelling;
//! see [`candidate_names`].

use std::path::{Path, PathBuf};

/// One file of a dataset: its standard (gzipped) name, its size and the checksums of the
/// publishers' original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// Standard name, as on the mirrors: e.g. `train-images-idx3-ubyte.gz`.
    pub name: &'static str,
    /// Size of the gzipped original in bytes.
    pub size: u64,
    /// SHA-256 of the gzipped original, in lowercase hex.
    pub sha256: &'static str,
    /// MD5 of the gzipped original, in lowercase hex.
    pub md5: &'static str,
}

/// The four MNIST files in the order train images, train labels, test images, test labels.
///
/// MNIST's home page publishes no checksums: the SHA-256s and sizes are those of TensorFlow
/// Datasets' checksum list, the MD5s those of torchvision's resource list.
pub const MNIST_FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte.gz",
        size: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    DataFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    DataFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

/// The four Fashion-MNIST files, in the same order.
///
/// The publisher (Zalando Research, the README of `zalandoresearch/fashion-mnist`) publishes
/// only MD5s; the sizes and SHA-256s are those of TensorFlow Datasets' checksum list.
pub const FASHION_MNIST_FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    },
    DataFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        md5: "25c81989df183df01b3e8a0aad5dffbe",
    },
    DataFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        md5: "bef4ecab320f06d8554ea6380940ec79",
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        md5: "bb300cfdad3c16e7a12a480ee83cd310",
    },
];

/// The four Kuzushiji-MNIST files, in the same order.
///
/// The publisher (ROIS-DS Center for Open Data in the Humanities) publishes no checksums for
/// them: the MD5s are those of torchvision's resource list, the sizes and SHA-256s those of
/// TensorFlow Datasets' checksum list.
pub const KMNIST_FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte.gz",
        size: 18_165_135,
        sha256: "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
        md5: "bdb82020997e1d708af4cf47b453dcf7",
    },
    DataFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_497,
        sha256: "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
        md5: "e144d726b3acfaa3e44228e80efcd344",
    },
    DataFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 3_041_136,
        sha256: "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
        md5: "5c965bf0a639b31b8f53240b1b52f4d7",
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_120,
        sha256: "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
        md5: "7320c461ea6c1c855c0b718fb2a4b134",
    },
];

/// The standard names of [`MNIST_FILES`], in the same order (the gzipped spelling; the raw
/// spelling drops `.gz`); Fashion-MNIST and KMNIST use the same names.
pub const MNIST_FILE_NAMES: [&str; 4] = [
    MNIST_FILES[0].name,
    MNIST_FILES[1].name,
    MNIST_FILES[2].name,
    MNIST_FILES[3].name,
];

/// `name` without a trailing `.gz`.
pub fn raw_name(name: &str) -> &str {
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

/// The standard names of those of the four files that are not in `dir`.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    MNIST_FILE_NAMES
        .into_iter()
        .filter(|name| find_file(dir, name).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tempfile::TempDir;

    #[test]
    fn names_follow_the_table() {
        let hex = |text: &str, len: usize| {
            text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        for table in [MNIST_FILES, FASHION_MNIST_FILES, KMNIST_FILES] {
            let names: Vec<&str> = table.iter().map(|file| file.name).collect();
            assert_eq!(names, MNIST_FILE_NAMES);
            assert!(table.iter().all(|f| hex(f.sha256, 64) && hex(f.md5, 32)));
            assert!(table.iter().all(|f| f.size > 1000));
        }
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
    fn files_are_found_under_any_spelling() {
        let dir = TempDir::new().unwrap();
        assert_eq!(missing_files(dir.path()), MNIST_FILE_NAMES);
        let spellings = [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte",
            "t10k-images.idx3-ubyte",
        ];
        for name in spellings {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        fs::create_dir(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(missing_files(dir.path()), ["t10k-labels-idx1-ubyte.gz"]);
        assert_eq!(
            find_file(dir.path(), MNIST_FILE_NAMES[2]),
            Some(dir.path().join("t10k-images.idx3-ubyte"))
        );
    }
}
