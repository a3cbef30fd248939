//! Reading a digit from a PNG file into the network's input form: 28x28, 0..1, white on
//! black, as MNIST is.

use std::path::Path;

use thiserror::Error;

use crate::model::{IMAGE_PIXELS, IMAGE_SIDE};

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
}

/// Reads a PNG and returns 784 values in 0..1, a light digit on a dark background.
pub fn load_digit(path: &Path) -> Result<Vec<f32>, ImageError> {
    let file = std::fs::File::open(path).map_err(|e| ImageError::Open(e.to_string()))?;
    let (gray, width, height) = decode_gray(file)?;
    if width < IMAGE_SIDE || height < IMAGE_SIDE {
        return Err(ImageError::TooSmall { width, height });
    }
    let square = pad_to_square(&gray, width, height);
    let side = width.max(height);
    let mut small = resize_area(&square, side, IMAGE_SIDE);
    if border_mean(&small) > 0.5 {
        small.iter_mut().for_each(|v| *v = 1.0 - *v);
    }
    Ok(small)
}

/// Decodes to grayscale 0..1, compositing any transparency over white.
fn decode_gray(reader: impl std::io::Read) -> Result<(Vec<f32>, usize, usize), ImageError> {
    let mut decoder = png::Decoder::new(reader);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| ImageError::Decode(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| ImageError::Decode(e.to_string()))?;
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

/// Centres the image on a square canvas filled with its own border colour.
fn pad_to_square(gray: &[f32], width: usize, height: usize) -> Vec<f32> {
    let side = width.max(height);
    let fill = gray[0];
    let mut out = vec![fill; side * side];
    let (x0, y0) = ((side - width) / 2, (side - height) / 2);
    for y in 0..height {
        out[(y + y0) * side + x0..(y + y0) * side + x0 + width]
            .copy_from_slice(&gray[y * width..(y + 1) * width]);
    }
    out
}

/// Shrinks a square image to `to x to` by averaging the source area under each pixel.
fn resize_area(src: &[f32], from: usize, to: usize) -> Vec<f32> {
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
                    sum += src[sy * from + sx] as f64 * wx * wy;
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

/// Writes a 28x28 image (0..1) as an 8-bit grayscale PNG (for tests and examples).
pub fn write_png(path: &Path, pixels: &[f32], side: usize) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let bytes: Vec<u8> = pixels
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(&bytes)
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_keeps_the_mean_and_halves_exactly() {
        let src: Vec<f32> = (0..56 * 56).map(|i| ((i / 56) % 2) as f32).collect();
        let out = resize_area(&src, 56, 28);
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
}
