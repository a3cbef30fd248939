//! The four MNIST files: their names and checksums, and finding them in a folder.
//!
//! [`MNIST_FILES`] is the one table of the files; the downloader, the error messages and the
//! loader all read it. A file may be on disk gzipped or raw, under either common spelling; see
//! [`candidate_names`].

use std::path::{Path, PathBuf};

/// One MNIST file: its standard (gzipped) name and the SHA-256 of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    /// Standard name, as on the mirrors: e.g. `train-images-idx3-ubyte.gz`.
    pub name: &'static str,
    /// SHA-256 of the gzipped original, in lowercase hex.
    pub sha256: &'static str,
}

/// The four MNIST files in the order train images, train labels, test images, test labels.
pub const MNIST_FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

/// The standard names of [`MNIST_FILES`], in the same order (the gzipped spelling; the raw
/// spelling drops `.gz`).
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

/// The standard names of those of the four MNIST files that are not in `dir`.
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
        let names: Vec<&str> = MNIST_FILES.iter().map(|file| file.name).collect();
        assert_eq!(names, MNIST_FILE_NAMES);
        assert!(MNIST_FILES.iter().all(|file| file.name.ends_with(".gz")));
        assert!(MNIST_FILES
            .iter()
            .all(|file| file.sha256.len() == 64
                && file.sha256.bytes().all(|b| b.is_ascii_hexdigit())));
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
