//! The two tilings: F(2x2, 5x5), 6x6 input tiles for 2x2 outputs, and F(4x4, 5x5), 8x8
//! input tiles for 4x4 outputs. Each is three matrices from its interpolation points
//! (Cook-Toom): `Aᵀ` (outputs from products), `G` (filter transform) and `Bᵀ` (input
//! transform), derived exactly in rationals (`bench/winograd_error.py` builds the same ones,
//! F(4x4)'s first row of `G` and `Bᵀ` there with the opposite sign, which cancels) and
//! checked by the tests against the direct sum in f64.
//!
//! The transforms are written out row by row, with the sums and differences that pairs of
//! points `±a` share spelled as such: the compiler merges the repeats between rows, and the
//! multiplications by zero that a matrix product would do never appear.

use pulp::Simd;

use crate::model::simd::Vector;

/// One vector of `S`'s width: a few channels of one point.
pub type V<S> = Vector<S>;

/// The most points a tile has along a side; the arrays the transforms pass hold this many,
/// a tiling with fewer leaving the rest unused.
pub const MAX_TILE: usize = 8;

/// Values along one side of a tile, each read when asked for.
pub trait Points<S: Simd> {
    /// Value `i`.
    fn at(&self, i: usize) -> V<S>;
}

impl<S: Simd> Points<S> for [V<S>; MAX_TILE] {
    #[inline(always)]
    fn at(&self, i: usize) -> V<S> {
        self[i]
    }
}

/// A Winograd tiling F(m x m, 5x5) of the 5x5 'SAME' convolution.
pub trait Tiling: Copy + Send + Sync + 'static {
    /// Outputs along a side of a tile (`m`).
    const OUT: usize;
    /// Input points along a side of a tile: `m + 4`.
    const TILE: usize;
    /// Points of a transformed tile, one matrix product each.
    const POSITIONS: usize = Self::TILE * Self::TILE;
    /// `G`, `TILE x 5`: the filter transform.
    const G: &'static [[f64; 5]];
    /// Row `k` of `Bᵀ` applied to `x` (`TILE` values): the input transform along one axis.
    fn bt<S: Simd>(k: usize, x: &impl Points<S>) -> V<S>;
    /// Row `k` of `B` applied to `x`: the transpose of [`Self::bt`].
    fn b<S: Simd>(k: usize, x: &impl Points<S>) -> V<S>;
    /// `Aᵀ x`, `TILE` in, `OUT` out (the first `OUT` of the array): the output transform
    /// along one axis.
    fn at<S: Simd>(x: &impl Points<S>) -> [V<S>; MAX_TILE];
    /// Row `k` of `A` applied to `y` (`OUT` values): the transpose of [`Self::at`].
    fn a<S: Simd>(k: usize, y: &impl Points<S>) -> V<S>;
}

/// F(2x2, 5x5), points 0, ±1, ±2 and infinity: 36 products for 4 outputs.
#[derive(Clone, Copy, Debug)]
pub struct F2;

impl Tiling for F2 {
    const OUT: usize = 2;
    const TILE: usize = 6;
    const G: &'static [[f64; 5]] = &[
        [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
        [1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0],
        [1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0],
        [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0],
        [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0],
        [0.0, 0.0, 0.0, 0.0, 1.0],
    ];

    #[inline(always)]
    fn bt<S: Simd>(k: usize, x: &impl Points<S>) -> V<S> {
        match k {
            0 => x.at(0) * 4.0 - x.at(2) * 5.0 + x.at(4),
            1 => (x.at(1) + x.at(2)) * 4.0 - (x.at(3) + x.at(4)),
            2 => (x.at(2) - x.at(1)) * 4.0 + (x.at(3) - x.at(4)),
            3 => (x.at(3) - x.at(1)) * 2.0 + (x.at(4) - x.at(2)),
            4 => (x.at(1) - x.at(3)) * 2.0 + (x.at(4) - x.at(2)),
            _ => x.at(1) * 4.0 - x.at(3) * 5.0 + x.at(5),
        }
    }

    #[inline(always)]
    fn b<S: Simd>(k: usize, x: &impl Points<S>) -> V<S> {
        match k {
            0 => x.at(0) * 4.0,
            1 => (x.at(1) - x.at(2)) * 4.0 + (x.at(4) - x.at(3)) * 2.0 + x.at(5) * 4.0,
            2 => (x.at(1) + x.at(2)) * 4.0 - x.at(0) * 5.0 - (x.at(3) + x.at(4)),
            3 => (x.at(2) - x.at(1)) + (x.at(3) - x.at(4)) * 2.0 - x.at(5) * 5.0,
            4 => x.at(0) - (x.at(1) + x.at(2)) + (x.at(3) + x.at(4)),
            _ => x.at(5),
        }
    }

    #[inline(always)]
    fn at<S: Simd>(x: &impl Points<S>) -> [V<S>; MAX_TILE] {
        let y0 = x.at(0) + (x.at(1) + x.at(2)) + (x.at(3) + x.at(4));
        let y1 = (x.at(1) - x.at(2)) + (x.at(3) - x.at(4)) * 2.0 + x.at(5);
        [y0, y1, y0, y0, y0, y0, y0, y0]
    }

    #[inline(always)]
    fn a<S: Simd>(k: usize, y: &impl Points<S>) -> V<S> {
        let (y0, y1) = (y.at(0), y.at(1));
        match k {
            0 => y0,
            1 => y0 + y1,
            2 => y0 - y1,
            3 => y0 + y1 * 2.0,
            4 => y0 - y1 * 2.0,
            _ => y1,
        }
    }
}

/// F(4x4, 5x5), points 0, ±1, ±2, ±1/2 and infinity: 64 products for 16 outputs.
#[derive(Clone, Copy, Debug)]
pub struct F4;

/// Pairs of `Bᵀ`'s rows for the points `±a`: the even part `E` (from `x2, x4, x6`) and the
/// odd part `O` (from `x1, x3, x5`), the rows being `E + O` and `E - O`.
#[inline(always)]
fn f4_input_pair<S: Simd>(pair: usize, x: &impl Points<S>) -> (V<S>, V<S>) {
    match pair {
        // Points ±1.
        0 => (
            x.at(2) + x.at(6) - x.at(4) * 4.25,
            x.at(1) + x.at(5) - x.at(3) * 4.25,
        ),
        // Points ±2.
        1 => (
            x.at(2) * 0.25 + x.at(6) - x.at(4) * 1.25,
            x.at(1) * 0.5 + x.at(5) * 2.0 - x.at(3) * 2.5,
        ),
        // Points ±1/2.
        _ => (
            x.at(2) * 4.0 + x.at(6) - x.at(4) * 5.0,
            x.at(1) * 2.0 + x.at(5) * 0.5 - x.at(3) * 2.5,
        ),
    }
}

impl Tiling for F4 {
    const OUT: usize = 4;
    const TILE: usize = 8;
    const G: &'static [[f64; 5]] = &[
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [-2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0],
        [-2.0 / 9.0, 2.0 / 9.0, -2.0 / 9.0, 2.0 / 9.0, -2.0 / 9.0],
        [1.0 / 90.0, 1.0 / 45.0, 2.0 / 45.0, 4.0 / 45.0, 8.0 / 45.0],
        [1.0 / 90.0, -1.0 / 45.0, 2.0 / 45.0, -4.0 / 45.0, 8.0 / 45.0],
        [32.0 / 45.0, 16.0 / 45.0, 8.0 / 45.0, 4.0 / 45.0, 2.0 / 45.0],
        [
            32.0 / 45.0,
            -16.0 / 45.0,
            8.0 / 45.0,
            -4.0 / 45.0,
            2.0 / 45.0,
        ],
        [0.0, 0.0, 0.0, 0.0, 1.0],
    ];

    #[inline(always)]
    fn bt<S: Simd>(k: usize, x: &impl Points<S>) -> V<S> {
        match k {
            0 => (x.at(0) - x.at(6)) + (x.at(4) - x.at(2)) * 5.25,
            7 => (x.at(7) - x.at(1)) + (x.at(3) - x.at(5)) * 5.25,
            _ => {
                let (even, odd) = f4_input_pair((k - 1) / 2, x);
                if k % 2 == 1 {
                    even + odd
                } else {
                    even - odd
                }
            }
        }
    }

    #[inline(always)]
    fn b<S: Simd>(k: usize, x: &impl Points<S>) -> V<S> {
        let (s1, d1) = (x.at(1) + x.at(2), x.at(1) - x.at(2));
        let (s3, d3) = (x.at(3) + x.at(4), x.at(3) - x.at(4));
        let (s5, d5) = (x.at(5) + x.at(6), x.at(5) - x.at(6));
        match k {
            0 => x.at(0),
            1 => d1 + d3 * 0.5 + d5 * 2.0 - x.at(7),
            2 => s1 + s3 * 0.25 + s5 * 4.0 - x.at(0) * 5.25,
            3 => x.at(7) * 5.25 - d1 * 4.25 - (d3 + d5) * 2.5,
            4 => x.at(0) * 5.25 - s1 * 4.25 - s3 * 1.25 - s5 * 5.0,
            5 => d1 + d3 * 2.0 + d5 * 0.5 - x.at(7) * 5.25,
            6 => s1 + s3 + s5 - x.at(0),
            _ => x.at(7),
        }
    }

    #[inline(always)]
    fn at<S: Simd>(x: &impl Points<S>) -> [V<S>; MAX_TILE] {
        let (s1, d1) = (x.at(1) + x.at(2), x.at(1) - x.at(2));
        let (s3, d3) = (x.at(3) + x.at(4), x.at(3) - x.at(4));
        let (s5, d5) = (x.at(5) + x.at(6), x.at(5) - x.at(6));
        let y0 = x.at(0) + s1 + s3 + s5;
        let y1 = d1 + d3 * 2.0 + d5 * 0.5;
        let y2 = s1 + s3 * 4.0 + s5 * 0.25;
        let y3 = d1 + d3 * 8.0 + d5 * 0.125 + x.at(7);
        [y0, y1, y2, y3, y0, y0, y0, y0]
    }

    #[inline(always)]
    fn a<S: Simd>(k: usize, y: &impl Points<S>) -> V<S> {
        let (y0, y1, y2, y3) = (y.at(0), y.at(1), y.at(2), y.at(3));
        match k {
            0 => y0,
            1 => (y0 + y2) + (y1 + y3),
            2 => (y0 + y2) - (y1 + y3),
            3 => (y0 + y2 * 4.0) + (y1 * 2.0 + y3 * 8.0),
            4 => (y0 + y2 * 4.0) - (y1 * 2.0 + y3 * 8.0),
            5 => (y0 + y2 * 0.25) + (y1 * 0.5 + y3 * 0.125),
            6 => (y0 + y2 * 0.25) - (y1 * 0.5 + y3 * 0.125),
            _ => y3,
        }
    }
}
