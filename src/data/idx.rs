//! A reader (and a small writer) for the IDX format that MNIST is stored in.
//!
//! An IDX file is a big-endian `u32` magic number, one big-endian `u32` per dimension, and then
//! the data bytes. MNIST uses two kinds: images (magic 2051, dimensions count x rows x cols) and
//! labels (magic 2049, dimension count). Files may be gzipped or raw; which one is decided by the
//! gzip magic bytes `1f 8b` at the start, never by the file name. The reader is generic over the
//! image size; the MNIST loader, [`crate::data::load`], checks for 28x28.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::durable::write_atomic;

use super::error::DataError;
pub use super::format::{IMAGES_HEADER_LEN, IMAGES_MAGIC, LABELS_HEADER_LEN, LABELS_MAGIC};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Largest capacity reserved up front from a gzip size trailer (the real data grows past it).
const MAX_CAPACITY_HINT: usize = 256 << 20;

/// The contents of an IDX images file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, row after row.
    pub pixels: Vec<u8>,
}

/// Whether `bytes` starts with the gzip magic bytes.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads a whole file and, if it is gzipped, decompresses it.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = fs::read(path).map_err(|cause| DataError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    gunzip(path, &bytes)
}

/// Decompresses a (possibly multi-member) gzip stream held in memory.
fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::with_capacity(gzip_size_hint(bytes));
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|cause| DataError::Gzip {
            path: path.to_path_buf(),
            cause,
        })?;
    Ok(out)
}

/// The uncompressed size a gzip trailer claims (modulo 2^32), capped, as a capacity hint.
fn gzip_size_hint(bytes: &[u8]) -> usize {
    bytes
        .last_chunk::<4>()
        .map_or(0, |tail| u32::from_le_bytes(*tail) as usize)
        .min(MAX_CAPACITY_HINT)
}

/// Reads an IDX images file (gzipped or raw) of any image size.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    decode_images(path, read_decompressed(path)?)
}

/// Reads an IDX labels file (gzipped or raw). Label values are not checked here.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    decode_labels(path, read_decompressed(path)?)
}

/// Big-endian `u32` number `index` of `bytes` (0 if out of range; callers check the length).
fn be_u32(bytes: &[u8], index: usize) -> u32 {
    let at = index * 4;
    bytes
        .get(at..at + 4)
        .and_then(|word| <[u8; 4]>::try_from(word).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Checks that `data` is long enough for `needed` header bytes and starts with `magic`.
fn check_header(
    path: &Path,
    data: &[u8],
    kind: &'static str,
    magic: u32,
    needed: usize,
) -> Result<(), DataError> {
    let too_short = |len| DataError::TooShort {
        path: path.to_path_buf(),
        kind,
        len,
        needed,
    };
    if data.len() < 4 {
        return Err(too_short(data.len()));
    }
    let found = be_u32(data, 0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    if data.len() < needed {
        return Err(too_short(data.len()));
    }
    Ok(())
}

/// Checks that exactly `expected` data bytes follow a header of `header_len` bytes.
fn check_size(
    path: &Path,
    data: &[u8],
    header_len: usize,
    header: impl FnOnce() -> String,
    expected: u128,
) -> Result<(), DataError> {
    let found = (data.len() - header_len) as u128;
    if found == expected {
        return Ok(());
    }
    Err(DataError::SizeMismatch {
        path: path.to_path_buf(),
        header: header(),
        expected,
        found,
    })
}

/// Parses the decompressed bytes of an images file; `path` is only used in errors.
pub fn decode_images(path: &Path, mut data: Vec<u8>) -> Result<IdxImages, DataError> {
    check_header(path, &data, "images", IMAGES_MAGIC, IMAGES_HEADER_LEN)?;
    let (count, rows, cols) = (be_u32(&data, 1), be_u32(&data, 2), be_u32(&data, 3));
    let expected = u128::from(count) * u128::from(rows) * u128::from(cols);
    let header = || format!("{count} images of {rows}x{cols}");
    check_size(path, &data, IMAGES_HEADER_LEN, header, expected)?;
    data.drain(..IMAGES_HEADER_LEN);
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels: data,
    })
}

/// Parses the decompressed bytes of a labels file; `path` is only used in errors.
pub fn decode_labels(path: &Path, mut data: Vec<u8>) -> Result<Vec<u8>, DataError> {
    check_header(path, &data, "labels", LABELS_MAGIC, LABELS_HEADER_LEN)?;
    let count = be_u32(&data, 1);
    let header = || format!("{count} labels");
    check_size(path, &data, LABELS_HEADER_LEN, header, u128::from(count))?;
    data.drain(..LABELS_HEADER_LEN);
    Ok(data)
}

/// Encodes images as an IDX images file (raw). `pixels` must hold `rows * cols` bytes per image;
/// the count written is `pixels.len() / (rows * cols)`.
pub fn encode_images(rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let per_image = (rows as usize).saturating_mul(cols as usize).max(1);
    let count = (pixels.len() / per_image) as u32;
    let mut out = Vec::with_capacity(IMAGES_HEADER_LEN + pixels.len());
    for word in [IMAGES_MAGIC, count, rows, cols] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX labels file (raw).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER_LEN + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Gzips `bytes` in memory.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Writes `bytes` to `path`, gzipped if `gzipped` is true. The file is replaced whole or not
/// at all (see [`write_atomic`]), so a reader never sees half of it.
pub fn write_file(path: &Path, bytes: &[u8], gzipped: bool) -> Result<(), DataError> {
    let result = if gzipped {
        write_atomic(path, &gzip(bytes))
    } else {
        write_atomic(path, bytes)
    };
    result.map_err(|cause| DataError::Io {
        action: "write",
        path: path.to_path_buf(),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    /// Three 28x28 images whose pixels depend on image, row and column.
    fn three_images() -> Vec<u8> {
        (0..3 * 784).map(|i| (i * 7 % 256) as u8).collect()
    }

    fn write(dir: &TempDir, name: &str, bytes: &[u8], gzipped: bool) -> std::path::PathBuf {
        let path = dir.path().join(name);
        write_file(&path, bytes, gzipped).unwrap();
        path
    }

    fn assert_hint(message: &str, path: &Path) {
        assert!(
            message.contains(&path.display().to_string()),
            "{message:?} should name {path:?}"
        );
        assert!(
            message.contains("Delete it") || message.contains("delete it"),
            "{message:?} should say what to do"
        );
    }

    #[test]
    fn images_round_trip_raw_and_gzipped() {
        let dir = TempDir::new().unwrap();
        let pixels = three_images();
        for gzipped in [false, true] {
            let path = write(&dir, "img", &encode_images(28, 28, &pixels), gzipped);
            let images = read_images(&path).unwrap();
            assert_eq!((images.count, images.rows, images.cols), (3, 28, 28));
            assert_eq!(images.pixels, pixels);
        }
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = TempDir::new().unwrap();
        let labels = [3u8, 1, 4];
        let raw_named_gz = write(&dir, "labels.gz", &encode_labels(&labels), false);
        let gz_named_raw = write(&dir, "labels", &encode_labels(&labels), true);
        assert!(is_gzip(&fs::read(&gz_named_raw).unwrap()));
        assert_eq!(read_labels(&raw_named_gz).unwrap(), labels);
        assert_eq!(read_labels(&gz_named_raw).unwrap(), labels);
    }

    #[test]
    fn generic_image_size() {
        let dir = TempDir::new().unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 5).map(|i| i as u8).collect();
        let path = write(&dir, "small", &encode_images(3, 5, &pixels), true);
        let images = read_images(&path).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 3, 5));
        assert_eq!(images.pixels, pixels);
    }

    #[test]
    fn missing_file_is_a_read_error_naming_it() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("nope");
        let err = read_images(&path).unwrap_err();
        assert!(matches!(err, DataError::Read { .. }), "{err:?}");
        assert_hint(&err.to_string(), &path);
    }

    #[test]
    fn truncated_images_file() {
        let dir = TempDir::new().unwrap();
        let mut bytes = encode_images(28, 28, &three_images());
        bytes.truncate(bytes.len() - 10);
        for gzipped in [false, true] {
            let path = write(&dir, "img", &bytes, gzipped);
            let err = read_images(&path).unwrap_err();
            match &err {
                DataError::SizeMismatch {
                    expected, found, ..
                } => assert_eq!((*expected, *found), (3 * 784, 3 * 784 - 10)),
                other => panic!("unexpected {other:?}"),
            }
            let msg = err.to_string();
            assert!(msg.contains("3 images of 28x28 = 2352 bytes"), "{msg}");
            assert!(msg.contains("holds 2342"), "{msg}");
            assert!(msg.contains("truncated"), "{msg}");
            assert_hint(&msg, &path);
        }
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let dir = TempDir::new().unwrap();
        let mut bytes = encode_labels(&[1, 2, 3]);
        bytes.push(0);
        let path = write(&dir, "lab", &bytes, false);
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::SizeMismatch {
                    expected: 3,
                    found: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("1 bytes too many"), "{err}");
        assert_hint(&err.to_string(), &path);
    }

    #[test]
    fn header_too_short() {
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "img", &IMAGES_MAGIC.to_be_bytes(), false);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TooShort {
                    len: 4,
                    needed: 16,
                    ..
                }
            ),
            "{err:?}"
        );
        let empty = write(&dir, "empty", &[], false);
        let err = read_labels(&empty).unwrap_err();
        assert!(matches!(err, DataError::TooShort { len: 0, .. }), "{err:?}");
        assert_hint(&err.to_string(), &empty);
    }

    #[test]
    fn labels_file_where_images_expected() {
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "img", &encode_labels(&[1, 2, 3]), true);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2051,
                    found: 2049,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("expected magic 2051 (images) but found 2049 — is this a labels file?"),
            "{msg}"
        );
        assert_hint(&msg, &path);
    }

    #[test]
    fn images_file_where_labels_expected() {
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "lab", &encode_images(28, 28, &three_images()), false);
        let err = read_labels(&path).unwrap_err();
        assert!(err.to_string().contains("is this an images file?"), "{err}");
    }

    #[test]
    fn corrupt_gzip_names_the_file() {
        let dir = TempDir::new().unwrap();
        let mut bytes = gzip(&encode_images(28, 28, &three_images()));
        let middle = bytes.len() / 2;
        for byte in &mut bytes[12..middle] {
            *byte ^= 0x5a;
        }
        let path = write(&dir, "img.gz", &bytes, false);
        let err = read_images(&path).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert_hint(&err.to_string(), &path);
    }

    #[test]
    fn truncated_gzip_stream_is_an_error() {
        let dir = TempDir::new().unwrap();
        let bytes = gzip(&encode_images(28, 28, &three_images()));
        let path = write(&dir, "img.gz", &bytes[..bytes.len() / 2], false);
        let err = read_images(&path).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert_hint(&err.to_string(), &path);
    }

    #[test]
    fn huge_header_counts_do_not_overflow() {
        let dir = TempDir::new().unwrap();
        let mut bytes = encode_images(u32::MAX, u32::MAX, &[]);
        bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let path = write(&dir, "img", &bytes, false);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(err, DataError::SizeMismatch { found: 0, .. }),
            "{err:?}"
        );
    }
}
