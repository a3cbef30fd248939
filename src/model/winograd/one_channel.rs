//! The first layer's pooled values at inference by F(4x4, 5x5). With one input channel a
//! tile's products are no matrix product: product `p` is the tile's transformed input at
//! position `p` times the vector of the output channels' transformed filters there, 64
//! multiplications for 16 outputs of a channel where the direct sum does 400.
//!
//! The input transform runs over a group of images at once, one image a lane (a lone input
//! channel gives no channels to vectorise over), and everything after it over the output
//! channels, one a lane: the products, the output transform, then pooling, bias and ReLU on
//! each tile as it leaves (a tile's 4x4 outputs are four whole 2x2 windows). Training keeps
//! the direct kernel (`crate::model::direct`): its backward pass needs the windows'
//! winners, which this pass never works out.

use pulp::Simd;

use super::tiling::{Points, Tiling, F4, MAX_TILE, V};
use super::{transform_filters_for, Strided, KERNEL};
use crate::model::conv_kernels::{pooled_values_in_chunks, ConvGeometry};
use crate::model::pool::pool_vectors;
use crate::model::simd::{vector_width, vectorized, AlignedBuf, Kernel, LANES};

/// Input points along a tile's side.
const TILE: usize = F4::TILE;
/// Outputs along a tile's side.
const OUT: usize = F4::OUT;
/// Positions of a transformed tile.
const POSITIONS: usize = F4::POSITIONS;
/// The zero border of the 'SAME' convolution.
const BORDER: usize = KERNEL / 2;

/// Whether this algorithm handles `g`: one input channel, a 5x5 kernel, planes whose sides
/// are whole tiles, output channels in whole lanes of 16.
pub fn supports(g: &ConvGeometry) -> bool {
    g.kernel == KERNEL
        && g.in_channels == 1
        && g.height > 0
        && g.width > 0
        && g.height.is_multiple_of(OUT)
        && g.width.is_multiple_of(OUT)
        && g.out_channels.is_multiple_of(LANES)
}

/// Whether this kernel beats the direct one (`crate::model::direct`) on this CPU: with AVX2,
/// the one instruction set it was measured faster on. The direct kernel holds a vector's 25
/// filter taps in registers; AVX2's 16 registers cannot, and it reads about 1.5 values a
/// multiply-add, where this one takes 1,000 images through the layer 1.87-1.89x faster.
/// AVX-512's 32 registers can, and there the transforms cost what the products save (the
/// direct kernel 1.1-1.25x faster). Measured on a 2-vCPU AMD EPYC (Zen 4) by `cargo bench
/// --bench first_layer` (with `--no-default-features` for AVX2). Plain x86-64 (one float a
/// vector) was not measured, and keeps the direct kernel.
pub fn beats_direct() -> bool {
    vector_width() == AVX2_WIDTH
}

/// Floats in one AVX2 vector.
const AVX2_WIDTH: usize = 8;

/// The filters `[out, 1, 5, 5]` transformed, `U = G g Gᵀ` in f64 rounded once, laid out
/// `[positions][out]`: position `p`'s output channels side by side.
pub fn transform_filters(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    assert!(
        supports(g),
        "the one-channel Winograd kernel does not handle {g:?}"
    );
    transform_filters_for::<F4>(g, weight)
}

/// `pooled = maxpool2x2(relu(conv(input, weight) + bias))` for a batch of one-channel images
/// (`[image][h][w]`), laid out channel-last (`[image][window][channel]`) as the next layer
/// takes it; `u` from [`transform_filters`].
pub fn pooled_values(g: &ConvGeometry, input: &[f32], u: &[f32], bias: &[f32], pooled: &mut [f32]) {
    assert!(
        supports(g),
        "the one-channel Winograd kernel does not handle {g:?}"
    );
    assert_eq!(u.len(), POSITIONS * g.out_channels, "filter size");
    assert_eq!(bias.len(), g.out_channels, "bias size");
    pooled_values_in_chunks(g, input, pooled, |images, pooled| {
        vectorized(Chunk {
            g,
            images,
            u,
            bias,
            pooled,
        });
    });
}

/// The pooled values of a chunk of images.
pub(super) struct Chunk<'a> {
    pub(super) g: &'a ConvGeometry,
    /// `[count][h][w]`.
    pub(super) images: &'a [f32],
    /// From [`transform_filters`].
    pub(super) u: &'a [f32],
    pub(super) bias: &'a [f32],
    /// `[count][window][channel]`.
    pub(super) pooled: &'a mut [f32],
}

/// Products `M[r][c] = U[r][c] V[r][c]` along row `r` of one tile, for a vector of output
/// channels and one image: `U` that vector's transformed filters, `V` the image's
/// transformed tile.
struct Products<'a, S> {
    simd: S,
    /// The vector's filters, `[position][lane]`.
    u: &'a [f32],
    /// The image's transformed tile, `[position]`.
    v: &'a [f32; POSITIONS],
    /// The row.
    r: usize,
}

impl<S: Simd> Points<S> for Products<'_, S> {
    #[inline(always)]
    fn at(&self, c: usize) -> V<S> {
        let p = self.r * TILE + c;
        V::load(self.simd, self.u, p * V::<S>::WIDTH) * self.v[p]
    }
}

impl Kernel for Chunk<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) {
        let g = self.g;
        let lanes = V::<S>::WIDTH;
        let (cout, plane, windows) = (g.out_channels, g.plane(), g.plane() / 4);
        let (across, down) = (g.width / OUT, g.height / OUT);
        let padded_width = g.width + 2 * BORDER;
        // The filters by vector of channels, `[vector][position][lane]`: each vector's
        // block a slice of known length, so that the unrolled loads need no bounds checks.
        let block = POSITIONS * lanes;
        let mut u = AlignedBuf::zeros(self.u.len());
        for (p, channels) in self.u.chunks_exact(cout).enumerate() {
            for (c, &value) in channels.iter().enumerate() {
                u[(c / lanes) * block + p * lanes + c % lanes] = value;
            }
        }
        // A group of images interleaved, one a lane: `[row][column][lane]`, zero-bordered.
        let mut padded = AlignedBuf::zeros((g.height + 2 * BORDER) * padded_width * lanes);
        // One tile of each of them transformed: `[position][lane]`.
        let mut transformed = AlignedBuf::zeros(block);
        let zero = V::splat(simd, 0.0);
        for (group, images) in self.images.chunks(lanes * plane).enumerate() {
            for (lane, image) in images.chunks_exact(plane).enumerate() {
                for (y, row) in image.chunks_exact(g.width).enumerate() {
                    let start = ((y + BORDER) * padded_width + BORDER) * lanes + lane;
                    for (x, &pixel) in row.iter().enumerate() {
                        padded[start + x * lanes] = pixel;
                    }
                }
            }
            let count = images.len() / plane;
            for t in 0..across * down {
                // V = Bᵀ d B for the tile, all the group's images at once.
                let corner = (OUT * (t / across) * padded_width + OUT * (t % across)) * lanes;
                upto!(for TILE; c => {
                    // Along each row a, column c: Σ_b d[a][b] B[b][c]; then down the column.
                    let along = upto!(TILE, zero; a => F4::bt(c, &Strided {
                        simd,
                        buf: &padded,
                        start: corner + a * padded_width * lanes,
                        stride: lanes,
                    }));
                    upto!(for TILE; r => {
                        F4::bt(r, &along).store(&mut transformed, (r * TILE + c) * lanes)
                    });
                });
                let window_corner = 2 * (t / across) * (g.width / 2) + 2 * (t % across);
                for lane in 0..count {
                    let v: [f32; POSITIONS] =
                        std::array::from_fn(|p| transformed[p * lanes + lane]);
                    let image = group * lanes + lane;
                    let out = &mut self.pooled[image * windows * cout..][..windows * cout];
                    for channel in (0..cout).step_by(lanes) {
                        let u = &u[(channel / lanes) * block..][..block];
                        // Y = Aᵀ M A: along each row r, Σ_c M[r][c] A[c][x]; then down each
                        // column x.
                        let rows = upto!(TILE, [zero; MAX_TILE]; r => F4::at(&Products {
                            simd,
                            u,
                            v: &v,
                            r,
                        }));
                        let bias = V::load(simd, self.bias, channel);
                        for pair in 0..OUT / 2 {
                            let left = F4::at(&upto!(TILE, zero; r => rows[r][2 * pair]));
                            let right = F4::at(&upto!(TILE, zero; r => rows[r][2 * pair + 1]));
                            for half in 0..OUT / 2 {
                                let (top, bottom) = (2 * half, 2 * half + 1);
                                let pixels = [left[top], right[top], left[bottom], right[bottom]];
                                let (max, _) = pool_vectors(simd, pixels, bias);
                                let window = window_corner + half * (g.width / 2) + pair;
                                max.store(out, window * cout + channel);
                            }
                        }
                    }
                }
            }
        }
    }
}
