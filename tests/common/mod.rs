//! The one place for the integration tests' shared helpers: a tiny synthetic MNIST, an offline
//! config, and a way to run the real binary (here); child processes ([`process`]), a run's
//! metrics ([`metrics`]), tensor values ([`tensors`]), the trainer in process ([`trainer`]),
//! a scripted run for the dashboard ([`script`]) and tmux with SVG screenshots ([`tmux`],
//! [`svg`]).

#![allow(dead_code)] // each test binary uses part of it

pub mod metrics;
pub mod process;
pub mod run_fixtures;
pub mod script;
pub mod svg;
pub mod tensors;
pub mod tmux;
pub mod trainer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use digitdash::data::download::{default_mirrors, download_missing};
use digitdash::data::{default_files, Mnist, Progress, Split, IMAGE_PIXELS};

/// A dataset shaped like MNIST: `n_train` and `n_test` images whose label is drawn in them
/// as a bright band at a label-dependent row, so a network can learn it in a few steps.
pub fn tiny_mnist(n_train: usize, n_test: usize) -> Mnist {
    let split = |n: usize, offset: usize| {
        let mut images = vec![0u8; n * IMAGE_PIXELS];
        let labels: Vec<u8> = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
        for (image, &label) in images.chunks_mut(IMAGE_PIXELS).zip(&labels) {
            let row = 2 + 2 * label as usize;
            image[row * 28 + 4..row * 28 + 24].fill(255);
        }
        Split::new(images, labels).expect("consistent split")
    };
    Mnist {
        train: split(n_train, 0),
        test: split(n_test, 3),
    }
}

/// A temporary folder with a tiny dataset in `data/` and an offline `config.toml`.
pub struct Workspace {
    /// The folder (removed on drop).
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// Tiny data, gzipped, and a config that never downloads.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ws = Self { dir };
        std::fs::create_dir_all(ws.data_dir()).expect("data dir");
        tiny_mnist(200, 50)
            .save(&ws.data_dir(), true)
            .expect("write tiny MNIST");
        ws.write_config("[data]\ndownload = false\n[train]\neval_every = 0\n");
        ws
    }

    /// The folder as text, for a shell or tmux command.
    pub fn cwd(&self) -> String {
        self.dir
            .path()
            .to_str()
            .expect("a UTF-8 temp path")
            .to_string()
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// Replaces the config file's text. The tiny data holds 200 training images, too few for
    /// the tutorial's validation split of 5,000: a `[data]` table that does not say otherwise
    /// holds out none, as runs did before the split existed.
    pub fn write_config(&self, text: &str) {
        let text = if text.contains("validation") {
            text.to_string()
        } else {
            text.replace("[data]\n", "[data]\nvalidation = 0\n")
        };
        std::fs::write(self.config(), text).expect("write config");
    }

    /// A `digitdash` command run inside the workspace with its config and data.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_digitdash"));
        cmd.current_dir(self.dir.path())
            .env_remove("DIGITDASH_DATA_DIR")
            .arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args);
        cmd
    }

    /// A `digitdash` command run inside the workspace with neither its config nor its data
    /// folder: for `--resume`, where the run's recorded settings apply (the two conflict).
    pub fn bare_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_digitdash"));
        cmd.current_dir(self.dir.path())
            .env_remove("DIGITDASH_DATA_DIR")
            .args(args);
        cmd
    }

    /// Continues the run in `run` headless with `args`: the run's recorded settings apply, so
    /// no `--config` is passed (the two conflict).
    pub fn resume(&self, run: &Path, args: &[&str]) -> Output {
        let run = run.to_str().expect("a UTF-8 path");
        let mut all = vec!["--headless", "--resume", run];
        all.extend_from_slice(args);
        self.bare_command(&all).output().expect("run digitdash")
    }

    /// Runs `digitdash eval` on `checkpoint` with the workspace's data; asserts it succeeded
    /// and printed the accuracy line first. Returns (stdout, stderr).
    pub fn eval(&self, checkpoint: &Path) -> (String, String) {
        let output = self
            .command(&[
                "eval",
                "--checkpoint",
                checkpoint.to_str().expect("a UTF-8 path"),
            ])
            .output()
            .expect("run digitdash eval");
        let (out, err) = texts(&output);
        assert!(output.status.success(), "{err}");
        assert!(out.starts_with("test accuracy "), "{out}");
        (out, err)
    }

    /// Runs `digitdash` headless with `args` and waits for it.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--headless"];
        all.extend_from_slice(args);
        self.command(&all).output().expect("run digitdash")
    }
}

/// The folder with the real MNIST files: `DIGITDASH_DATA_DIR` when set (CI sets it), else a
/// cache under `target/`, filled once per test binary by downloading the files from the
/// default mirrors, as the program would for a user. Never skips: a failed download fails.
pub fn real_data_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("DIGITDASH_DATA_DIR") {
            // CI sets a relative path (`../shared/mnist`, from the repository root, where
            // cargo runs test binaries); the programs under test run in temporary folders,
            // so they get it made absolute.
            let dir = PathBuf::from(dir);
            return std::path::absolute(&dir).unwrap_or(dir);
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mnist-cache");
        let mut report = |p: Progress| {
            if p.done {
                eprintln!(
                    "downloaded {} ({} bytes) from {}",
                    p.file, p.bytes, p.mirror
                );
            }
        };
        if let Err(err) = download_missing(&dir, &default_mirrors(), &default_files(), &mut report)
        {
            panic!(
                "DIGITDASH_DATA_DIR is unset and the download failed: {err}. Set \
                 DIGITDASH_DATA_DIR to a folder holding the four MNIST files to test offline."
            );
        }
        dir
    })
    .clone()
}

/// Runs the binary in `cwd` with `args`, without the environment's data folder, and waits.
pub fn digitdash(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .current_dir(cwd)
        .env_remove("DIGITDASH_DATA_DIR")
        .args(args)
        .output()
        .expect("run digitdash")
}

/// stdout and stderr as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
