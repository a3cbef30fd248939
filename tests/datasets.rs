//! Datasets by name: each built-in table against the published checksums written out here,
//! the real Fashion-MNIST files against the table, a run by name from the cache folder, class
//! names in `eval`, and a folder of the wrong dataset refused.
//!
//! The real Fashion-MNIST files are read from the folder named by `DIGITDASH_FASHION_MNIST_DIR`
//! (`.ci/run` installs Debian's `dataset-fashion-mnist` and points it at
//! /usr/share/datasets/fashion-mnist). The tests that need them fail, never skip, without it.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use digitdash::data::download::download_missing;
use digitdash::data::{load, load_dataset, DataError, Dataset, MNIST_FILE_NAMES};
use md5::Md5;
use sha2::{Digest, Sha256};

use common::{texts, Workspace};

/// One published file: name, size in bytes, MD5, SHA-256.
type Published = [(&'static str, u64, &'static str, &'static str); 4];

/// MNIST. Its home page publishes no checksums: sizes and SHA-256s from TensorFlow Datasets'
/// checksum list (url_checksums/mnist.txt), MD5s from torchvision's resource list.
const MNIST: Published = [
    (
        "train-images-idx3-ubyte.gz",
        9912422,
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        28881,
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        1648877,
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        4542,
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// Fashion-MNIST. MD5s as its publisher lists them (the README of zalandoresearch/
/// fashion-mnist, which publishes only MD5); sizes and SHA-256s from TensorFlow Datasets'
/// url_checksums/fashion_mnist.txt.
const FASHION_MNIST: Published = [
    (
        "train-images-idx3-ubyte.gz",
        26421880,
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        29515,
        "25c81989df183df01b3e8a0aad5dffbe",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        4422102,
        "bef4ecab320f06d8554ea6380940ec79",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        5148,
        "bb300cfdad3c16e7a12a480ee83cd310",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
];

/// KMNIST. Its publisher (ROIS-DS CODH) lists no checksums: MD5s from torchvision's KMNIST
/// resource list, sizes and SHA-256s from TensorFlow Datasets' url_checksums/kmnist.txt.
const KMNIST: Published = [
    (
        "train-images-idx3-ubyte.gz",
        18165135,
        "bdb82020997e1d708af4cf47b453dcf7",
        "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        29497,
        "e144d726b3acfaa3e44228e80efcd344",
        "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        3041136,
        "5c965bf0a639b31b8f53240b1b52f4d7",
        "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        5120,
        "7320c461ea6c1c855c0b718fb2a4b134",
        "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
    ),
];

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn each_datasets_table_is_the_published_one() {
    for (dataset, published) in [
        (Dataset::Mnist, MNIST),
        (Dataset::FashionMnist, FASHION_MNIST),
        (Dataset::Kmnist, KMNIST),
    ] {
        let table: Vec<(&str, u64, &str, &str)> = dataset
            .files()
            .iter()
            .map(|f| (f.name, f.size, f.md5, f.sha256))
            .collect();
        assert_eq!(table, published, "{dataset}");
        let remote: Vec<(String, Option<u64>, Option<String>, String)> = dataset
            .remote_files()
            .into_iter()
            .map(|f| (f.name, f.size, f.md5, f.sha256))
            .collect();
        let expected: Vec<(String, Option<u64>, Option<String>, String)> = published
            .iter()
            .map(|(name, size, md5, sha)| {
                (
                    name.to_string(),
                    Some(*size),
                    Some(md5.to_string()),
                    sha.to_string(),
                )
            })
            .collect();
        assert_eq!(remote, expected, "the downloader's list for {dataset}");
    }
    assert_eq!(
        Dataset::FashionMnist.mirrors(),
        ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    );
    assert!(Dataset::Kmnist.mirrors()[0].starts_with("https://codh.rois.ac.jp/kmnist/"));
}

#[test]
fn the_real_mnist_files_match_the_table_in_size_and_both_checksums() {
    let dir = common::real_data_dir();
    for file in Dataset::Mnist.files() {
        let path = dir.join(file.name);
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert_eq!(bytes.len() as u64, file.size, "{}", file.name);
        assert_eq!(hex(&Md5::digest(&bytes)), file.md5, "{}", file.name);
        assert_eq!(hex(&Sha256::digest(&bytes)), file.sha256, "{}", file.name);
    }
}

/// The folder with the real Fashion-MNIST files: `DIGITDASH_FASHION_MNIST_DIR` when set (CI
/// sets it to Debian's dataset-fashion-mnist), else a cache under `target/` filled by
/// downloading the files from the publisher's mirror, checked against the table, as the
/// program would for a user. Never skips: a failed download fails.
fn fashion_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DIGITDASH_FASHION_MNIST_DIR") {
        return std::path::absolute(PathBuf::from(dir)).expect("an absolute path");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fashion-mnist-cache");
    let dataset = Dataset::FashionMnist;
    let mut report = |_| {};
    if let Err(err) = download_missing(
        &dir,
        &dataset.mirror_list(),
        &dataset.remote_files(),
        &mut report,
    ) {
        panic!(
            "DIGITDASH_FASHION_MNIST_DIR is unset and the download failed: {err}. Set it to a \
             folder holding the four Fashion-MNIST files (Debian: apt-get install \
             dataset-fashion-mnist, then /usr/share/datasets/fashion-mnist) to test offline."
        );
    }
    dir
}

/// The gzip header's stored file name, if the header has one (flag FNAME).
fn gzip_file_name(bytes: &[u8]) -> Option<String> {
    assert_eq!(&bytes[..3], [0x1f, 0x8b, 8], "a gzip file");
    let flags = bytes[3];
    assert_eq!(flags & !0x08, 0, "only FNAME may be set: {flags:#x}");
    if flags & 0x08 == 0 {
        return None;
    }
    let end = bytes[10..].iter().position(|&b| b == 0)? + 10;
    Some(String::from_utf8_lossy(&bytes[10..end]).into_owned())
}

#[test]
fn the_real_fashion_mnist_files_match_the_table() {
    let dir = fashion_dir();
    for file in Dataset::FashionMnist.files() {
        let path = dir.join(file.name);
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let raw_name = file.name.trim_end_matches(".gz");
        match gzip_file_name(&bytes) {
            // The publisher's file as downloaded: it is the table's to the byte.
            Some(name) => {
                assert_eq!(name, raw_name);
                assert_eq!(bytes.len() as u64, file.size, "{}", file.name);
                assert_eq!(hex(&Md5::digest(&bytes)), file.md5, "{}", file.name);
                assert_eq!(hex(&Sha256::digest(&bytes)), file.sha256, "{}", file.name);
            }
            // Debian's package normalises gzip headers (the stored name dropped, the time
            // reset), which changes the checksums but not the compressed data: the size is
            // the publisher's less the stored name and its terminating zero byte.
            None => {
                let stored_name = raw_name.len() as u64 + 1;
                assert_eq!(bytes.len() as u64 + stored_name, file.size, "{}", file.name);
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(bytes.as_slice())
                    .read_to_end(&mut raw)
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                // The gzip trailer's CRC-32 of the content was checked by the decoder.
                assert!(raw.len() > 8, "{}", file.name);
            }
        }
    }
    let fashion = load_dataset(&dir, Dataset::FashionMnist).expect("Fashion-MNIST loads");
    assert_eq!((fashion.train.len(), fashion.test.len()), (60_000, 10_000));
    assert_eq!(fashion.train.class_counts(), [6_000; 10]);
    assert_eq!(fashion.test.class_counts(), [1_000; 10]);
    assert_eq!(fashion.train.labels()[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(fashion.test.labels()[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    let mnist = load(&common::real_data_dir()).expect("MNIST loads");
    assert_ne!(mnist.test.image(0), fashion.test.image(0));
}

/// `XDG_CACHE_HOME` inside `ws` with the real Fashion-MNIST files in its
/// `digitdash/fashion-mnist` folder (links, not copies).
fn cache_with_fashion(ws: &Workspace) -> (PathBuf, PathBuf) {
    let cache = ws.dir.path().join("cache");
    let folder = cache.join("digitdash").join("fashion-mnist");
    std::fs::create_dir_all(&folder).unwrap();
    for name in MNIST_FILE_NAMES {
        std::os::unix::fs::symlink(fashion_dir().join(name), folder.join(name)).unwrap();
    }
    (cache, folder)
}

/// `digitdash ARGS` in `ws` with its config, `XDG_CACHE_HOME` set to `cache` and no data
/// folder named: the dataset's folder in the cache applies.
fn in_cache(ws: &Workspace, cache: &Path, args: &[&str]) -> std::process::Output {
    let config = ws.config();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    ws.bare_command(&all)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("run digitdash")
}

#[test]
fn a_run_by_name_reads_its_cache_folder_and_eval_names_the_classes() {
    let ws = Workspace::new();
    let (cache, folder) = cache_with_fashion(&ws);
    let run = ws.dir.path().join("run");
    let output = in_cache(
        &ws,
        &cache,
        &[
            "--headless",
            "--dataset",
            "fashion-mnist",
            "--steps",
            "20",
            "--run-dir",
            run.to_str().unwrap(),
        ],
    );
    let (_, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!("reading Fashion-MNIST from {}", folder.display())),
        "{err}"
    );
    let recorded = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        recorded.contains("dataset = \"fashion-mnist\""),
        "{recorded}"
    );
    assert!(
        recorded.contains(&format!("dir = \"{}\"", folder.display())),
        "the record names the folder used: {recorded}"
    );

    // eval takes the dataset from the checkpoint and names its classes.
    let checkpoint = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("checkpoint.json").is_file())
        .expect("a checkpoint");
    let output = in_cache(
        &ws,
        &cache,
        &["eval", "--checkpoint", checkpoint.to_str().unwrap()],
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(out.starts_with("test accuracy "), "{out}");
    assert!(out.contains("of 10000), test loss"), "{out}");
    assert!(
        out.contains("Fashion-MNIST classes: 0 T-shirt/top, 1 Trouser,"),
        "{out}"
    );
    assert!(out.contains("9 Ankle boot"), "{out}");

    // predict names the class too: the first test image of Fashion-MNIST, as a PNG.
    let fashion = load(&fashion_dir()).expect("Fashion-MNIST loads");
    let image = ws.dir.path().join("first.png");
    write_grey_png(&image, fashion.test.image(0));
    let output = in_cache(
        &ws,
        &cache,
        &[
            "predict",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let named = Dataset::FashionMnist
        .class_names()
        .iter()
        .filter(|name| out.contains(&format!(" {name} ")) || out.contains(&format!(": {name} (")))
        .count();
    assert!(named >= 3, "the guess and the next two are named: {out}");
}

/// Writes 28x28 grey bytes as a PNG.
fn write_grey_png(path: &Path, pixels: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 28, 28);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(pixels)
        .unwrap();
}

#[test]
fn the_default_folder_is_the_datasets_in_the_cache() {
    let ws = Workspace::new();
    let cache = ws.dir.path().join("empty-cache");
    let output = in_cache(
        &ws,
        &cache,
        &["--headless", "--dataset", "kmnist", "--steps", "1"],
    );
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let folder = cache.join("digitdash").join("kmnist");
    assert!(err.contains(&folder.display().to_string()), "{err}");
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
}

#[test]
fn a_folder_of_another_dataset_is_refused_with_the_fix() {
    let mnist = common::real_data_dir();
    let err = load_dataset(&mnist, Dataset::FashionMnist).unwrap_err();
    assert!(matches!(err, DataError::WrongDataset { .. }), "{err:?}");

    let ws = Workspace::new();
    let config = ws.config();
    let output = ws
        .bare_command(&[
            "--config",
            config.to_str().unwrap(),
            "--headless",
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            mnist.to_str().unwrap(),
            "--steps",
            "1",
        ])
        .output()
        .expect("run digitdash");
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is MNIST's file, not Fashion-MNIST's"),
        "{err}"
    );
    assert!(err.contains("--dataset mnist"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
