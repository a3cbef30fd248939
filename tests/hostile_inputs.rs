//! Hostile and damaged input files, through the real binary: each is refused with a message
//! naming the file and what to do, with bounded work, or passed over where something better
//! sits beside it (a resume walks back past damaged checkpoints).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{texts, Workspace};
use digitdash::data::idx;

/// Trains `steps` steps into `run/` with a checkpoint every five; returns that folder.
fn trained(ws: &Workspace, steps: u64) -> PathBuf {
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 5\n",
    );
    let output = ws.run(&["--steps", &steps.to_string(), "--run-dir", "run"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    ws.dir.path().join("run")
}

/// Runs `digitdash` with `args`, expects exit status 1 without a panic; returns stderr.
fn refused(ws: &Workspace, args: &[&str]) -> String {
    let output = ws.command(args).output().expect("run digitdash");
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// A PNG signature, a header for a `width x height` grayscale image, and a little pixel data
/// (far too little for that size).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(&body);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &idx::gzip(&[0; 4096])));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// Flips one bit in the middle of a file.
fn flip_a_bit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn predict_refuses_a_huge_image_from_its_header_and_reports_a_blank_one() {
    let ws = Workspace::new();
    let checkpoint = trained(&ws, 5).join("checkpoints/step-00000005");
    let checkpoint = checkpoint.to_str().unwrap();
    let huge = ws.dir.path().join("huge.png");
    std::fs::write(&huge, png_claiming(50_000, 50_000)).unwrap();
    let err = refused(
        &ws,
        &[
            "predict",
            "--checkpoint",
            checkpoint,
            huge.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains(&format!("cannot use image {}", huge.display())),
        "{err}"
    );
    assert!(err.contains("50000x50000 pixels"), "{err}");
    assert!(err.contains("up to 4096 pixels a side"), "{err}");

    let blank = ws.dir.path().join("blank.png");
    digitdash::data::png::write_png(&blank, &[1.0; 100 * 100], 100).unwrap();
    let err = refused(
        &ws,
        &[
            "predict",
            "--checkpoint",
            checkpoint,
            blank.to_str().unwrap(),
        ],
    );
    assert!(err.contains("blank.png: it is blank"), "{err}");
    assert!(err.contains("no digit in it to classify"), "{err}");
}

#[test]
fn a_gzipped_idx_file_inflating_past_its_header_is_refused_after_the_promised_bytes() {
    let ws = Workspace::new();
    // The header promises the 200 images of the workspace's data; the stream goes on with
    // 64 MB of zeros (written as they are compressed: never held whole).
    let path = ws.data_dir().join("train-images-idx3-ubyte.gz");
    let file = std::fs::File::create(&path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut header = idx::encode_images(28, 28, &[]);
    header[4..8].copy_from_slice(&200u32.to_be_bytes());
    encoder.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap();
    let err = refused(&ws, &["--headless", "--steps", "1"]);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("200 images of 28x28 = 156800 bytes"), "{err}");
    assert!(err.contains("holds more than that"), "{err}");
    assert!(err.contains("Delete it"), "{err}");
}

#[test]
fn damaged_checkpoints_are_refused_and_oversized_metadata_is_not_read() {
    let ws = Workspace::new();
    let run = trained(&ws, 5);
    let good = run.join("checkpoints/step-00000005");
    let copy = ws.dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for file in ["model.safetensors", "checkpoint.json"] {
        std::fs::copy(good.join(file), copy.join(file)).unwrap();
    }
    flip_a_bit(&copy.join("model.safetensors"));
    let err = refused(&ws, &["eval", "--checkpoint", copy.to_str().unwrap()]);
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(
        err.contains("damaged or changed after it was written"),
        "{err}"
    );
    assert!(err.contains("use an earlier checkpoint"), "{err}");

    // A metadata file claiming 10 GB (sparse: nothing is stored).
    std::fs::copy(
        good.join("model.safetensors"),
        copy.join("model.safetensors"),
    )
    .unwrap();
    let meta = std::fs::OpenOptions::new()
        .write(true)
        .open(copy.join("checkpoint.json"))
        .unwrap();
    meta.set_len(10 << 30).unwrap();
    let err = refused(&ws, &["eval", "--checkpoint", copy.to_str().unwrap()]);
    assert!(
        err.contains("the metadata file is 10737418240 bytes, more than the 1048576"),
        "{err}"
    );
}

#[test]
fn resume_walks_back_past_damaged_checkpoints_and_notes_each() {
    let ws = Workspace::new();
    let run = trained(&ws, 10);
    let checkpoints = run.join("checkpoints");
    // The newest periodic checkpoint has a flipped bit; the best one (the same step) has lost
    // its metadata's end. Step 5 is good.
    flip_a_bit(&checkpoints.join("step-00000010/model.safetensors"));
    let meta = checkpoints.join("best-step-00000010/checkpoint.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, &text[..text.len() / 2]).unwrap();

    let output = ws.resume(&run, &["--steps", "15"]);
    let (_, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "skipped checkpoint {}: model.safetensors: its SHA-256",
            checkpoints.join("step-00000010").display()
        )),
        "{err}"
    );
    assert!(
        err.contains("best-step-00000010: checkpoint.json: its metadata is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("step-00000005 at step 5"), "{err}");
    let steps: Vec<u64> = std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, (1..=15).collect::<Vec<_>>());
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let skipped: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["event"] == "checkpoint_skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "{events}");
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("damaged or changed"));
}

#[test]
fn resume_with_every_checkpoint_damaged_lists_them_and_changes_nothing() {
    let ws = Workspace::new();
    let run = trained(&ws, 5);
    let checkpoints = run.join("checkpoints");
    flip_a_bit(&checkpoints.join("step-00000005/model.safetensors"));
    flip_a_bit(&checkpoints.join("best-step-00000005/model.safetensors"));
    let metrics = std::fs::read(run.join("metrics.csv")).unwrap();
    let output = ws.resume(&run, &["--steps", "10"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("no usable checkpoint in"), "{err}");
    assert_eq!(err.matches("damaged or changed").count(), 2, "{err}");
    assert!(err.contains("Start a new run"), "{err}");
    assert_eq!(std::fs::read(run.join("metrics.csv")).unwrap(), metrics);
}
