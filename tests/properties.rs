//! Property tests of every reader of untrusted files: random bytes and mutations of valid
//! files go to the IDX reader, the config parser, the PNG reader, the checkpoint loader and
//! the run-record readers. Each must return a value or an error, never panic, and allocate
//! within a bound that does not depend on lengths written in the input.
//!
//! Cases per property are set in [`cases`]; the sum is printed by `cargo test` as the
//! properties run (see the README).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;

use digitdash::config::Config;
use digitdash::data::idx;
use digitdash::data::png;
use digitdash::run::metrics::metrics_header;
use digitdash::run::{checkpoint, writer};
use proptest::prelude::*;

/// The system allocator, counting the bytes each thread holds and the most it held.
struct Counting;

thread_local! {
    static HELD: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to `System` unchanged; the counters only read the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc(new_size);
        note_free(layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note_alloc(size: usize) {
    let _ = HELD.try_with(|held| {
        let now = held.get().saturating_add(size);
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_free(size: usize) {
    let _ = HELD.try_with(|held| held.set(held.get().saturating_sub(size)));
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the most memory this thread held above what it held
/// before, meanwhile.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let value = f();
    let peak = PEAK.with(Cell::get);
    (value, peak.saturating_sub(base))
}

const MB: usize = 1 << 20;

#[test]
fn the_allocation_counter_sees_what_a_thread_holds() {
    let (held, peak) = peak_during(|| vec![1u8; 10 * MB]);
    assert!(peak >= 10 * MB, "{peak}");
    let ((), peak) = peak_during(|| drop(held));
    assert_eq!(peak, 0);
    // The IDX reader's bound holds for a header promising far more than the input.
    let mut header = idx::encode_labels(&[]);
    header[4..8].copy_from_slice(&100_000_000u32.to_be_bytes());
    let (result, peak) = peak_during(|| idx::decode_labels(Path::new("x"), &idx::gzip(&header)));
    assert!(result.is_err());
    assert!(peak < MB, "{peak}");
}

/// Cases of each property: the whole file runs in well under a minute on two cores.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string: overwrite, insert or delete at a position (taken modulo the
/// length), or cut the rest off.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Up to eight edits; positions in `head` bytes from the start, where the headers are, for
/// half of them.
fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..8)
}

/// `base` with `edits` applied; `head` (when not 0) keeps the positions of even-numbered edits
/// within the first `head` bytes.
fn mutate(base: &[u8], edits: &[Edit], head: usize) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for (i, edit) in edits.iter().enumerate() {
        let span = |len: usize| {
            let len = len.max(1);
            if head > 0 && i % 2 == 0 {
                len.min(head)
            } else {
                len
            }
        };
        match *edit {
            Edit::Set(at, b) if !bytes.is_empty() => {
                let at = (at % span(bytes.len())).min(bytes.len() - 1);
                bytes[at] = b;
            }
            Edit::Insert(at, b) => {
                let at = (at % span(bytes.len() + 1)).min(bytes.len());
                bytes.insert(at, b);
            }
            Edit::Delete(at) if !bytes.is_empty() => {
                let at = (at % span(bytes.len())).min(bytes.len() - 1);
                bytes.remove(at);
            }
            Edit::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

// ---- IDX

/// A small valid images file (three 28x28 images) and labels file.
fn idx_files() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..3 * 784).map(|i| (i * 7 % 256) as u8).collect();
    (
        idx::encode_images(28, 28, &pixels),
        idx::encode_labels(&[1, 2, 3]),
    )
}

/// Reads `bytes` as both kinds of IDX file and checks what comes back.
fn check_idx(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz.idx");
    let (images, peak) = peak_during(|| idx::decode_images(path, bytes));
    // What is held is bounded by the input (a deflate stream grows at most ~1032 times) and
    // by the reader's cap on what a header may promise.
    let bound = (bytes.len() * 1100).min(idx::MAX_DATA_BYTES as usize) + MB;
    prop_assert!(
        peak <= bound,
        "images: {peak} bytes held for {} in",
        bytes.len()
    );
    if let Ok(images) = images {
        prop_assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
    }
    let (labels, peak) = peak_during(|| idx::decode_labels(path, bytes));
    prop_assert!(
        peak <= bound,
        "labels: {peak} bytes held for {} in",
        bytes.len()
    );
    if let Err(error) = labels {
        prop_assert!(error.to_string().contains("fuzz.idx"), "{}", error);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn idx_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), gz in any::<bool>()) {
        let bytes = if gz { idx::gzip(&bytes) } else { bytes };
        check_idx(&bytes)?;
    }

    #[test]
    fn idx_mutated_files(edits in edits(), labels in any::<bool>(), gz in 0u8..3) {
        let (images_file, labels_file) = idx_files();
        let base = if labels { labels_file } else { images_file };
        let bytes = match gz {
            // Raw, mutated mostly in the header.
            0 => mutate(&base, &edits, 16),
            // Mutated, then gzipped: a valid stream of a damaged file.
            1 => idx::gzip(&mutate(&base, &edits, 16)),
            // Gzipped, then mutated: a damaged stream.
            _ => mutate(&idx::gzip(&base), &edits, 0),
        };
        check_idx(&bytes)?;
    }
}

// ---- Config

/// The shipped config file.
fn shipped_config() -> &'static str {
    include_str!("../config.toml")
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn config_random_text(text in "\\PC{0,200}") {
        let (_, peak) = peak_during(|| Config::from_toml(&text, Path::new("fuzz.toml")));
        prop_assert!(peak <= 4 * MB, "{peak}");
    }

    #[test]
    fn config_mutated_file(edits in edits()) {
        let bytes = mutate(shipped_config().as_bytes(), &edits, 0);
        let text = String::from_utf8_lossy(&bytes);
        let (result, peak) = peak_during(|| Config::from_toml(&text, Path::new("fuzz.toml")));
        prop_assert!(peak <= 4 * MB, "{peak}");
        if let Err(error) = result {
            prop_assert!(error.to_string().contains("fuzz.toml"), "{}", error);
        }
    }
}

// ---- PNG

/// A valid 40x40 digit image: a vertical stroke on white.
fn digit_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        let mut img = vec![1.0f32; 40 * 40];
        for y in 8..32 {
            img[y * 40 + 18..y * 40 + 22].fill(0.0);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.png");
        png::write_png(&path, &img, 40).unwrap();
        std::fs::read(path).unwrap()
    })
}

/// Reads `bytes` as a digit image and checks what comes back.
fn check_png(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (digit, peak) = peak_during(|| png::digit_from(bytes));
    // The decoded image (at most MAX_DECODED_BYTES) and its gray copy in f32.
    let bound = 2 * png::MAX_DECODED_BYTES + 16 * MB;
    prop_assert!(peak <= bound, "{peak} bytes held for {} in", bytes.len());
    if let Ok(digit) = digit {
        prop_assert_eq!(digit.len(), 784);
        prop_assert!(digit.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn png_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut with_signature = b"\x89PNG\r\n\x1a\n".to_vec();
        with_signature.extend_from_slice(&bytes);
        check_png(&bytes)?;
        check_png(&with_signature)?;
    }

    #[test]
    fn png_mutated_file(edits in edits()) {
        // Half the edits land in the signature and header chunks.
        check_png(&mutate(digit_png(), &edits, 40))?;
    }
}

// ---- Checkpoints

/// A real weights file and its metadata, written once.
fn checkpoint_files() -> &'static (Vec<u8>, Vec<u8>) {
    static FILES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_digitdash"))
            .current_dir(dir.path())
            .env_remove("DIGITDASH_DATA_DIR")
            .args([
                "--headless",
                "--steps",
                "1",
                "--validation",
                "0",
                "--run-dir",
            ])
            .arg(&run)
            .arg("--data-dir")
            .arg(tiny_data(dir.path()))
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let folder = run.join("checkpoints/step-00000001");
        (
            std::fs::read(folder.join("model.safetensors")).unwrap(),
            std::fs::read(folder.join("checkpoint.json")).unwrap(),
        )
    })
}

/// A folder of tiny MNIST-shaped data under `dir`.
fn tiny_data(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let images: Vec<u8> = (0..20 * 784).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    for (prefix, n) in [("train", 20), ("t10k", 10)] {
        idx::write_file(
            &data.join(format!("{prefix}-images-idx3-ubyte")),
            &idx::encode_images(28, 28, &images[..n * 784]),
            false,
        )
        .unwrap();
        idx::write_file(
            &data.join(format!("{prefix}-labels-idx1-ubyte")),
            &idx::encode_labels(&labels[..n]),
            false,
        )
        .unwrap();
    }
    data
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn checkpoint_metadata_random_and_mutated(
        random in prop::collection::vec(any::<u8>(), 0..256),
        edits in edits(),
    ) {
        let path = Path::new("checkpoint.json");
        let mutated = mutate(&checkpoint_files().1, &edits, 0);
        for bytes in [&random, &mutated] {
            let (meta, peak) = peak_during(|| checkpoint::parse_meta(path, bytes));
            prop_assert!(peak <= 2 * MB, "{peak}");
            if let Ok(meta) = meta {
                prop_assert_eq!(meta.model, checkpoint::MODEL_NAME);
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn checkpoint_weights_mutated(edits in edits(), in_header in any::<bool>()) {
        // Mutations mostly in the safetensors header (names, shapes, offsets, its length).
        let weights = &checkpoint_files().0;
        let bytes = mutate(weights, &edits, if in_header { 1024 } else { 0 });
        let path = Path::new("model.safetensors");
        let (_, peak) = peak_during(|| checkpoint::check_tensors(path, &bytes));
        prop_assert!(peak <= 2 * MB, "{peak}");
    }
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn checkpoint_load_mutated(edits in edits(), with_meta in any::<bool>()) {
        // Through the files, as `eval` and `--resume` read them: with the metadata the
        // checksum refuses nearly every mutation; without it, the tensors are checked and
        // loaded.
        let (weights, meta) = checkpoint_files();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors"), mutate(weights, &edits, 1024)).unwrap();
        if with_meta {
            std::fs::write(dir.path().join("checkpoint.json"), meta).unwrap();
        }
        let device = dfdx::prelude::Cpu::default();
        let (_, peak) = peak_during(|| checkpoint::load(dir.path(), &device));
        // The file itself, the network built from it, and a copy in flight.
        prop_assert!(peak <= 3 * checkpoint::max_weights_bytes() as usize + 8 * MB, "{peak}");
    }
}

// ---- Run records

/// A valid metrics.csv of `rows` rows.
fn metrics_csv(rows: u64) -> Vec<u8> {
    let mut text = format!("{}\n", metrics_header());
    for step in 1..=rows {
        text.push_str(&format!("{step},0.5,0.75,0.0001,1000.0,{step}.000,0.1\n"));
    }
    text.into_bytes()
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn metrics_rows_random_and_mutated(
        random in prop::collection::vec(any::<u8>(), 0..512),
        edits in edits(),
        step in 0u64..40,
    ) {
        let mutated = mutate(&metrics_csv(30), &edits, 0);
        for input in [&random, &mutated] {
            let mut out = Vec::new();
            let (repair, peak) = peak_during(|| writer::filter_rows(&input[..], step, &mut out));
            let repair = repair.expect("reading from memory cannot fail");
            prop_assert!(peak <= 2 * input.len() + 256 * 1024, "{peak}");
            // The header, then only rows of steps up to `step`, each a whole line.
            let text = String::from_utf8(out).expect("kept lines are text");
            let mut lines = text.lines();
            prop_assert_eq!(lines.next(), Some(metrics_header()));
            let mut kept = 0;
            for line in lines {
                let row_step: u64 = line.split(',').next().unwrap().parse().unwrap();
                prop_assert!(row_step <= step);
                kept += 1;
            }
            prop_assert_eq!(kept, repair.kept);
        }
    }

    #[test]
    fn torn_tails_are_cut_to_the_last_whole_line(
        bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\n')], 0..512),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        let cut = writer::repair_torn_tail(&path).unwrap();
        let after = std::fs::read(&path).unwrap();
        prop_assert!(bytes.starts_with(&after));
        prop_assert!(after.is_empty() || after.ends_with(b"\n"));
        prop_assert_eq!(cut.unwrap_or(0) as usize, bytes.len() - after.len());
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
        prop_assert_eq!(after.len(), whole);
    }
}
