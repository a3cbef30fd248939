//! Reading a digit from a PNG file into the network's input form: 28x28, 0..1, white on
//! black, as MNIST is.

use std::path::Path;

use thiserror::Error;

use super::shape::{IMAGE_PIXELS, IMAGE_SIDE};

/// The widest and tallest image accepted, in pixels.
pub const MAX_SIDE: u32 = 4096;
/// The most bytes an image may take once decoded (8 bits a sample, alpha included).
pub const MAX_DECODED_BYTES: usize = 64 << 20;
/// The least difference between the lightest and darkest of the 28x28 pixels for an image
/// to hold a digit; below it the image is blank (near-uniform, no ink).
pub const MIN_CONTRAST: f32 = 0.1;

/// An image that cannot be used.
#[derive(Debug, Error)]
pub enum ImageError {
    /// The file cannot be opened.
    #[error("cannot open it: {0}; check the path")]
    Open(String),
    /// Not readable as PNG.
    #[error("it is not a readable PNG file ({0}); save the digit as a PNG image")]
    Decode(String),
    /// Smaller than the network's input.
    #[error("it is {width}x{height} pixels; it must be at least 28x28")]
    TooSmall {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// Larger than any digit image needs; refused from its header, before decoding.
    #[error("its header says {width}x{height} pixels (up to {} MiB decoded); digitdash reads \
             images up to {MAX_SIDE} pixels a side and {} MiB decoded. Scale the digit down \
             (28x28 is what the network sees)", decoded_bytes >> 20, MAX_DECODED_BYTES >> 20)]
    TooLarge {
        /// Width in pixels, from the header.
        width: u32,
        /// Height in pixels, from the header.
        height: u32,
        /// Bytes the decoded image would take.
        decoded_bytes: u64,
    },
    /// Near-uniform: nothing to classify.
    #[error("it is blank: at 28x28 its lightest and darkest pixels differ by {:.0}% (less than \
             {:.0}%), so there is no digit in it to classify. Draw the digit with more \
             contrast", contrast * 100.0, MIN_CONTRAST * 100.0)]
    NoInk {
        /// Lightest minus darkest pixel, 0..1, after shrinking to 28x28.
        contrast: f32,
    },
}

/// Reads a PNG and returns 784 values in 0..1, a light digit on a dark background.
pub fn load_digit(path: &Path) -> Result<Vec<f32>, ImageError> {
    let file = std::fs::File::open(path).map_err(|e| ImageError::Open(e.to_string()))?;
    digit_from(std::io::BufReader::new(file))
}

/// Reads PNG bytes from `reader` as [`load_digit`] reads a file.
pub fn digit_from(reader: impl std::io::Read) -> Result<Vec<f32>, ImageError> {
    let (gray, width, height) = decode_gray(reader)?;
    if width < IMAGE_SIDE || height < IMAGE_SIDE {
        return Err(ImageError::TooSmall { width, height });
    }
    let mut small = resize_padded(&gray, width, height, IMAGE_SIDE);
    drop(gray);
    let (low, high) = small
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let contrast = high - low;
    if contrast < MIN_CONTRAST {
        return Err(ImageError::NoInk { contrast });
    }
    if border_mean(&small) > 0.5 {
        small.iter_mut().for_each(|v| *v = 1.0 - *v);
    }
    Ok(small)
}

/// Refuses an image whose header promises more than [`MAX_SIDE`] a side or
/// [`MAX_DECODED_BYTES`] decoded (counting four samples a pixel, the most the decoder makes).
fn check_header_size(width: u32, height: u32) -> Result<(), ImageError> {
    let decoded_bytes = u64::from(width) * u64::from(height) * 4;
    if width > MAX_SIDE || height > MAX_SIDE || decoded_bytes > MAX_DECODED_BYTES as u64 {
        return Err(ImageError::TooLarge {
            width,
            height,
            decoded_bytes,
        });
    }
    Ok(())
}

/// Decodes to grayscale 0..1, compositing any transparency over white. The size in the
/// header is checked before any pixel is decoded.
fn decode_gray(reader: impl std::io::Read) -> Result<(Vec<f32>, usize, usize), ImageError> {
    let decode = |e: png::DecodingError| ImageError::Decode(e.to_string());
    // The decoder's own limit (on every buffer it allocates) backs up the check below.
    let limits = png::Limits {
        bytes: MAX_DECODED_BYTES + (1 << 20),
    };
    let mut decoder = png::Decoder::new_with_limits(reader, limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    decoder.set_ignore_text_chunk(true);
    let header = decoder.read_header_info().map_err(decode)?;
    check_header_size(header.width, header.height)?;
    let mut reader = decoder.read_info().map_err(decode)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(decode)?;
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let gray = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| {
            let v = |i: usize| px[i] as f32 / 255.0;
            let (luma, alpha) = match channels {
                1 => (v(0), 1.0),
                2 => (v(0), v(1)),
                3 => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), 1.0),
                _ => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), v(3)),
            };
            alpha * luma + (1.0 - alpha)
        })
        .collect();
    Ok((gray, width, height))
}

/// Shrinks the image to `to x to` by averaging the source area under each pixel, as if it
/// were first centred on a square canvas filled with its top-left pixel's colour (so a
/// non-square image is padded, not stretched).
fn resize_padded(gray: &[f32], width: usize, height: usize, to: usize) -> Vec<f32> {
    let side = width.max(height);
    let fill = gray[0];
    let (x0, y0) = ((side - width) / 2, (side - height) / 2);
    let at = |x: usize, y: usize| {
        if (x0..x0 + width).contains(&x) && (y0..y0 + height).contains(&y) {
            gray[(y - y0) * width + (x - x0)]
        } else {
            fill
        }
    };
    resize_area(at, side, to)
}

/// Shrinks a square image of side `from`, read through `at(x, y)`, to `to x to` by averaging
/// the source area under each pixel.
fn resize_area(at: impl Fn(usize, usize) -> f32, from: usize, to: usize) -> Vec<f32> {
    let scale = from as f64 / to as f64;
    let mut out = vec![0.0f32; to * to];
    for oy in 0..to {
        let (y0, y1) = (oy as f64 * scale, (oy + 1) as f64 * scale);
        for ox in 0..to {
            let (x0, x1) = (ox as f64 * scale, (ox + 1) as f64 * scale);
            let (mut sum, mut weight) = (0.0f64, 0.0f64);
            for sy in y0.floor() as usize..(y1.ceil() as usize).min(from) {
                let wy = (y1.min(sy as f64 + 1.0) - y0.max(sy as f64)).max(0.0);
                for sx in x0.floor() as usize..(x1.ceil() as usize).min(from) {
                    let wx = (x1.min(sx as f64 + 1.0) - x0.max(sx as f64)).max(0.0);
                    sum += at(sx, sy) as f64 * wx * wy;
                    weight += wx * wy;
                }
            }
            out[oy * to + ox] = (sum / weight.max(1e-12)) as f32;
        }
    }
    out
}

/// Mean of the outermost ring of pixels of a 28x28 image.
fn border_mean(img: &[f32]) -> f32 {
    let n = IMAGE_SIDE;
    let ring: Vec<f32> = (0..IMAGE_PIXELS)
        .filter(|i| {
            let (y, x) = (i / n, i % n);
            y == 0 || x == 0 || y == n - 1 || x == n - 1
        })
        .map(|i| img[i])
        .collect();
    ring.iter().sum::<f32>() / ring.len() as f32
}

/// Writes a square image (0..1) as an 8-bit grayscale PNG, whole or not at all (see
/// [`write_atomic`](crate::durable::write_atomic)): the draw pad's drawings, tests, examples.
pub fn write_png(path: &Path, pixels: &[f32], side: usize) -> std::io::Result<()> {
    let bytes: Vec<u8> = pixels
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let side = side as u32;
    let encoded = encode_png(&bytes, side, side, png::ColorType::Grayscale)?;
    crate::durable::write_atomic(path, &encoded)
}

/// The bytes of a PNG file of a `width` x `height` image whose 8-bit samples, row by row, are
/// `samples` in the layout `color` names (one a pixel for grayscale, three for RGB).
pub fn encode_png(
    samples: &[u8],
    width: u32,
    height: u32,
    color: png::ColorType,
) -> std::io::Result<Vec<u8>> {
    let mut encoded = Vec::new();
    let mut encoder = png::Encoder::new(&mut encoded, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(samples)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)?;
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_keeps_the_mean_and_halves_exactly() {
        let src: Vec<f32> = (0..56 * 56).map(|i| ((i / 56) % 2) as f32).collect();
        let out = resize_area(|x, y| src[y * 56 + x], 56, 28);
        assert!(out.iter().all(|&v| (v - 0.5).abs() < 1e-6));
    }

    #[test]
    fn dark_on_light_images_are_inverted_and_sizes_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = vec![1.0f32; 56 * 56];
        for y in 10..46 {
            img[y * 56 + 28] = 0.0;
        }
        let path = dir.path().join("d.png");
        write_png(&path, &img, 56).unwrap();
        let digit = load_digit(&path).unwrap();
        assert_eq!(digit.len(), IMAGE_PIXELS);
        assert!(border_mean(&digit) < 0.01);
        assert!(digit.iter().cloned().fold(0.0, f32::max) > 0.4);

        write_png(&path, &vec![0.0; 20 * 20], 20).unwrap();
        assert!(matches!(
            load_digit(&path),
            Err(ImageError::TooSmall { .. })
        ));
        std::fs::write(&path, b"not a png").unwrap();
        assert!(load_digit(&path).unwrap_err().to_string().contains("PNG"));
    }

    /// A PNG signature and an IHDR chunk for a `width x height` 8-bit grayscale image, with no
    /// pixel data after it.
    pub(crate) fn header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut crc = flate2::Crc::new();
        crc.update(&ihdr);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&ihdr);
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out
    }

    #[test]
    fn a_huge_header_is_refused_before_decoding() {
        let err = digit_from(&header_only(50_000, 50_000)[..]).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    width: 50_000,
                    height: 50_000,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("50000x50000 pixels"), "{msg}");
        assert!(msg.contains("up to 4096 pixels a side"), "{msg}");
        // One side too long is enough; at the limit the header is accepted (and the missing
        // pixel data is then the error).
        assert!(matches!(
            digit_from(&header_only(4097, 28)[..]),
            Err(ImageError::TooLarge { .. })
        ));
        assert!(matches!(
            digit_from(&header_only(4096, 4096)[..]),
            Err(ImageError::Decode(_))
        ));
    }

    #[test]
    fn a_blank_image_is_reported_not_classified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.png");
        for level in [0.0, 0.5, 1.0] {
            write_png(&path, &vec![level; 64 * 64], 64).unwrap();
            let err = load_digit(&path).unwrap_err();
            assert!(matches!(err, ImageError::NoInk { .. }), "{err:?}");
            assert!(err.to_string().contains("it is blank"), "{err}");
        }
        // Faint noise is still blank; one clear stroke is a digit.
        let mut img: Vec<f32> = (0..64 * 64)
            .map(|i| 0.97 + 0.03 * ((i % 7) as f32 / 6.0))
            .collect();
        write_png(&path, &img, 64).unwrap();
        assert!(matches!(load_digit(&path), Err(ImageError::NoInk { .. })));
        for y in 16..48 {
            img[y * 64 + 30..y * 64 + 34].fill(0.0);
        }
        write_png(&path, &img, 64).unwrap();
        let digit = load_digit(&path).unwrap();
        assert!(digit.iter().cloned().fold(0.0, f32::max) > 0.5);
    }

    #[test]
    fn a_wide_image_is_padded_not_stretched() {
        // A 56x28 image with a dark left half: centred on a 56x56 canvas of its corner colour,
        // the dark band covers the middle half of the rows of the left half.
        let gray: Vec<f32> = (0..56 * 28)
            .map(|i| if i % 56 < 28 { 0.0 } else { 1.0 })
            .collect();
        let out = resize_padded(&gray, 56, 28, 28);
        assert_eq!(out[14 * 28 + 5], 0.0);
        assert_eq!(out[14 * 28 + 20], 1.0);
        assert_eq!(out[2 * 28 + 20], 0.0, "padding takes the top-left colour");
    }
}
