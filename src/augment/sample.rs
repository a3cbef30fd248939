//! Resampling an image through a transform: each output pixel reads the source at the point
//! the transform maps it from, interpolated bilinearly, with black beyond the border.

use super::affine::Affine;
use super::elastic::DisplacementField;
use crate::data::IMAGE_SIDE;

/// Writes into `out` the image `source` seen through `affine`, with each pixel's source point
/// moved further by `field`. Values stay within the range of `source` (bilinear weights sum to
/// at most 1), so 0..1 images stay 0..1.
pub fn warp(source: &[f32], out: &mut [f32], affine: &Affine, field: &DisplacementField) {
    let inverse = affine.inverse();
    for y in 0..IMAGE_SIDE {
        for x in 0..IMAGE_SIDE {
            let i = y * IMAGE_SIDE + x;
            let (dx, dy) = field.at(i);
            let (sx, sy) = inverse.apply(x as f32 + dx, y as f32 + dy);
            out[i] = bilinear(source, sx, sy);
        }
    }
}

/// The value of `image` at the point (`x`, `y`), interpolated between its four nearest
/// pixels; pixels outside the image count as 0.
pub fn bilinear(image: &[f32], x: f32, y: f32) -> f32 {
    let side = IMAGE_SIDE as isize;
    if !(x > -1.0 && y > -1.0 && x < side as f32 && y < side as f32) {
        return 0.0;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let at = |px: isize, py: isize| {
        if (0..side).contains(&px) && (0..side).contains(&py) {
            image[(py * side + px) as usize]
        } else {
            0.0
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    (top * (1.0 - fy) + bottom * fy).clamp(0.0, 1.0)
}
