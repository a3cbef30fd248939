//! A reader (and a small writer) for the IDX format that MNIST is stored in.
//!
//! An IDX file is a big-endian `u32` magic number, one big-endian `u32` per dimension, and then
//! the data bytes. MNIST uses two kinds: images (magic 2051, dimensions count x rows x cols) and
//! labels (magic 2049, dimension count). Files may be gzipped or raw; which one is decided by the
//! gzip magic bytes `1f 8b` at the start, never by the file name. The reader is generic over the
//! image size; the MNIST loader, [`crate::data::load`], checks for 28x28.

use std::fs::File;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::durable::write_atomic;

use super::error::DataError;
pub use super::format::{IMAGES_HEADER_LEN, IMAGES_MAGIC, LABELS_HEADER_LEN, LABELS_MAGIC};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The most data bytes (after the header) an IDX file may promise: 128 MiB, well over twice
/// MNIST's largest file (47 MB). A header promising more is refused before anything is read.
pub const MAX_DATA_BYTES: u64 = 128 << 20;
/// The most a deflate stream can grow, per compressed byte (its best case is about 1032:1);
/// with the header's promise it bounds the memory reserved before the data arrives.
const DEFLATE_MAX_RATIO: u64 = 1032;

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

/// An IDX file being read: its decompressed bytes as a stream, read no further than its
/// header promises (plus one byte, to tell a longer file).
struct Input<'a> {
    /// The file, for errors.
    path: &'a Path,
    /// The decompressed bytes.
    stream: Box<dyn Read + 'a>,
    /// Whether the file is gzipped.
    gzipped: bool,
    /// The bytes on disk (compressed, for a gzipped file).
    stored_len: u64,
}

impl<'a> Input<'a> {
    /// Opens `path` for reading.
    fn open(path: &'a Path) -> Result<Self, DataError> {
        let read_error = |cause| DataError::Read {
            path: path.to_path_buf(),
            cause,
        };
        let file = File::open(path).map_err(read_error)?;
        let stored_len = file.metadata().map_err(read_error)?.len();
        Self::new(path, file, stored_len)
    }

    /// Reads `source`, which holds `stored_len` bytes; `path` names it in errors.
    fn new(path: &'a Path, mut source: impl Read + 'a, stored_len: u64) -> Result<Self, DataError> {
        let mut magic = Vec::with_capacity(GZIP_MAGIC.len());
        (&mut source)
            .take(GZIP_MAGIC.len() as u64)
            .read_to_end(&mut magic)
            .map_err(|cause| DataError::Read {
                path: path.to_path_buf(),
                cause,
            })?;
        let gzipped = is_gzip(&magic);
        let whole = std::io::BufReader::new(Cursor::new(magic).chain(source));
        let stream: Box<dyn Read + 'a> = if gzipped {
            Box::new(MultiGzDecoder::new(whole))
        } else {
            Box::new(whole)
        };
        Ok(Self {
            path,
            stream,
            gzipped,
            stored_len,
        })
    }

    /// The error of a failed read: a damaged gzip stream, or the file itself.
    fn read_error(&self, cause: std::io::Error) -> DataError {
        let path = self.path.to_path_buf();
        if self.gzipped {
            DataError::Gzip { path, cause }
        } else {
            DataError::Read { path, cause }
        }
    }

    /// Reads up to `limit` bytes, fewer only where the (decompressed) file ends.
    fn read_up_to(&mut self, limit: u64, capacity: usize) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::with_capacity(capacity);
        match (&mut self.stream).take(limit).read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(cause) => Err(self.read_error(cause)),
        }
    }

    /// Reads the header of `needed` bytes and checks that it starts with `magic`.
    fn header(
        &mut self,
        kind: &'static str,
        magic: u32,
        needed: usize,
    ) -> Result<Vec<u8>, DataError> {
        let header = self.read_up_to(needed as u64, needed)?;
        check_header(self.path, &header, kind, magic, needed)?;
        Ok(header)
    }

    /// Reads the `expected` data bytes that follow a header of `header_len` bytes, reading at
    /// most one byte more (to tell a file that holds more), whatever the file holds.
    fn data(
        mut self,
        header_len: usize,
        header: impl FnOnce() -> String,
        expected: u128,
    ) -> Result<Vec<u8>, DataError> {
        let path = self.path.to_path_buf();
        if expected > u128::from(MAX_DATA_BYTES) {
            return Err(DataError::TooLarge {
                path,
                header: header(),
                expected,
                limit: MAX_DATA_BYTES,
            });
        }
        let expected = expected as u64;
        if !self.gzipped {
            // The size on disk says it all; no need to read a byte of a file of the wrong size.
            let found = self.stored_len.saturating_sub(header_len as u64);
            if found != expected {
                return Err(size_mismatch(path, header(), expected, found.into()));
            }
        }
        let bound = if self.gzipped {
            self.stored_len.saturating_mul(DEFLATE_MAX_RATIO)
        } else {
            self.stored_len
        };
        let capacity = (expected + 1).min(bound) as usize;
        let data = self.read_up_to(expected + 1, capacity)?;
        let found = data.len() as u64;
        if found > expected {
            return Err(DataError::Oversized {
                path,
                header: header(),
                expected,
            });
        }
        if found < expected {
            return Err(size_mismatch(path, header(), expected, found.into()));
        }
        Ok(data)
    }
}

fn size_mismatch(
    path: std::path::PathBuf,
    header: String,
    expected: u64,
    found: u128,
) -> DataError {
    DataError::SizeMismatch {
        path,
        header,
        expected: expected.into(),
        found,
    }
}

/// Reads an IDX images file (gzipped or raw) of any image size.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    images_from(Input::open(path)?)
}

/// Reads an IDX labels file (gzipped or raw). Label values are not checked here.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    labels_from(Input::open(path)?)
}

/// Parses the bytes of an images file held in memory (gzipped or raw), as [`read_images`]
/// reads a file; `path` is only used in errors.
pub fn decode_images(path: &Path, bytes: &[u8]) -> Result<IdxImages, DataError> {
    images_from(Input::new(path, bytes, bytes.len() as u64)?)
}

/// Parses the bytes of a labels file held in memory (gzipped or raw), as [`read_labels`]
/// reads a file; `path` is only used in errors.
pub fn decode_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    labels_from(Input::new(path, bytes, bytes.len() as u64)?)
}

fn images_from(mut input: Input<'_>) -> Result<IdxImages, DataError> {
    let header = input.header("images", IMAGES_MAGIC, IMAGES_HEADER_LEN)?;
    let (count, rows, cols) = (be_u32(&header, 1), be_u32(&header, 2), be_u32(&header, 3));
    let expected = u128::from(count) * u128::from(rows) * u128::from(cols);
    let words = || format!("{count} images of {rows}x{cols}");
    let pixels = input.data(IMAGES_HEADER_LEN, words, expected)?;
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

fn labels_from(mut input: Input<'_>) -> Result<Vec<u8>, DataError> {
    let header = input.header("labels", LABELS_MAGIC, LABELS_HEADER_LEN)?;
    let count = be_u32(&header, 1);
    let words = || format!("{count} labels");
    input.data(LABELS_HEADER_LEN, words, u128::from(count))
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
    use std::fs;
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
            matches!(err, DataError::TooLarge { expected, .. } if expected == u128::from(u32::MAX).pow(3)),
            "{err:?}"
        );
    }

    /// A gzip stream that inflates to a header of `count` labels followed by `data_len` zero
    /// bytes, compressed as it is read: nothing of that size is ever held.
    fn lazy_gzip_labels(count: u32, data_len: u64) -> impl Read {
        let mut header = LABELS_MAGIC.to_be_bytes().to_vec();
        header.extend_from_slice(&count.to_be_bytes());
        let plain = Cursor::new(header).chain(std::io::repeat(0).take(data_len));
        flate2::read::GzEncoder::new(plain, Compression::fast())
    }

    /// Counts the bytes read through it.
    struct Counted<R> {
        inner: R,
        count: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.count.set(self.count.get() + n as u64);
            Ok(n)
        }
    }

    #[test]
    fn a_gzip_stream_longer_than_its_header_is_read_no_further() {
        // A terabyte of zeros after a header promising three labels: the reader stops one
        // byte past the promise, after decompressing a few kilobytes.
        let count = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counted {
            inner: lazy_gzip_labels(3, 1 << 40),
            count: count.clone(),
        };
        let path = Path::new("bomb.gz");
        let err = labels_from(Input::new(path, source, u64::MAX).unwrap()).unwrap_err();
        assert!(
            matches!(err, DataError::Oversized { expected: 3, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("3 labels = 3 bytes"), "{msg}");
        assert!(msg.contains("holds more than that"), "{msg}");
        assert_hint(&msg, path);
        assert!(
            count.get() < 1 << 20,
            "read {} compressed bytes",
            count.get()
        );
    }

    #[test]
    fn a_header_promising_more_than_any_mnist_file_is_refused_before_reading() {
        let count = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counted {
            inner: lazy_gzip_labels(u32::MAX, 1 << 40),
            count: count.clone(),
        };
        let path = Path::new("huge.gz");
        let err = labels_from(Input::new(path, source, u64::MAX).unwrap()).unwrap_err();
        assert!(
            matches!(err, DataError::TooLarge { expected, .. } if expected == u128::from(u32::MAX)),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("more than the 128 MiB"), "{msg}");
        assert_hint(&msg, path);
        assert!(
            count.get() < 1 << 16,
            "read {} compressed bytes",
            count.get()
        );

        let dir = TempDir::new().unwrap();
        let mut bytes = encode_images(28, 28, &three_images());
        bytes[4..8].copy_from_slice(&1_000_000u32.to_be_bytes());
        let file = write(&dir, "img", &bytes, true);
        let err = read_images(&file).unwrap_err();
        assert!(
            err.to_string()
                .contains("1000000 images of 28x28 = 784000000 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_gzipped_file_with_bytes_after_the_data_is_oversized() {
        let dir = TempDir::new().unwrap();
        let mut bytes = encode_labels(&[1, 2, 3]);
        bytes.extend_from_slice(&[0; 100]);
        let path = write(&dir, "lab.gz", &bytes, true);
        let err = read_labels(&path).unwrap_err();
        assert!(matches!(err, DataError::Oversized { .. }), "{err:?}");
        assert_hint(&err.to_string(), &path);
    }

    #[test]
    fn bytes_in_memory_read_as_a_file_does() {
        let path = Path::new("mem");
        let pixels = three_images();
        for bytes in [
            encode_images(28, 28, &pixels),
            gzip(&encode_images(28, 28, &pixels)),
        ] {
            assert_eq!(decode_images(path, &bytes).unwrap().pixels, pixels);
        }
        assert_eq!(
            decode_labels(path, &gzip(&encode_labels(&[7, 8]))).unwrap(),
            [7, 8]
        );
        assert!(matches!(
            decode_labels(path, &[0x1f]),
            Err(DataError::TooShort { len: 1, .. })
        ));
    }
}
