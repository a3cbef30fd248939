//! The 5x5 'SAME' convolution by Winograd's minimal filtering F(m x m, 5x5): each `m x m`
//! block of outputs comes from an `(m+4) x (m+4)` block of input through `(m+4)²` products
//! instead of `25 m²`, so a layer does `(m+4)²` matrix products of `[tiles, in] x [in, out]`
//! where im2col does one of `[out, in*25] x [in*25, h*w]`. Two tilings ([`tiling`]):
//! F(2x2, 5x5), 36 products for 4 outputs, and F(4x4, 5x5), 64 for 16; a layer takes the
//! one that does fewer products over its plane ([`Tile::for_geometry`]). On 14x14 planes
//! that is F(4x4): 16 tiles (a 16x16 area, the outputs past the plane dropped) of 64
//! products, 1,024 a channel pair against F(2x2)'s 1,764 and the direct sum's 4,900.
//!
//! With `d` an input tile, `g` a 5x5 filter and `Y` the outputs,
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. Backward, with `U = G g Gᵀ`, `V = Bᵀ d B`,
//! `M = Σ_in U ⊙ V`: `dM = A dY Aᵀ`, `dU = Σ_tiles V ⊙ dM`, `dV = Σ_out U ⊙ dM`,
//! `dd = B dV Bᵀ` (added over the overlapping tiles) and `dg = Gᵀ dU G`.
//!
//! Layout: inside a call the images are channel-last, so every transform is a vector
//! operation over channels, and the transformed tiles of a piece of images are stored
//! position-major (`[positions][tiles][channels]`): position `p`'s tiles form the left
//! operand of product `p` as they are. Activations outside stay NCHW and filters
//! `[out, in, 5, 5]`.
//!
//! A tile's outputs are whole 2x2 max-pooling windows (`m` is even), so pooling, bias and
//! ReLU happen on each tile as it leaves the output transform. Rounding: the transforms add
//! a few ulps against the direct sum (the tests bound the error against an f64 reference;
//! `bench/winograd_error.py` measures both tilings). Results depend only on the batch and
//! the thread count, as with im2col.

mod tiling;

use std::ops::Range;

use gemm::Parallelism;
use pulp::Simd;
use rayon::prelude::*;

use super::conv_kernels::{
    backward_in_chunks, images_per_chunk, pooled_in_chunks, ConvGeometry, ConvGrads, Layout,
    Upstream,
};
use super::matmul::{matmul, MatRef};
use super::pool::{channel_first_pooled, channel_last_gradients, pool_vectors, route_to_winner};
use super::simd::{vectorized, AlignedBuf, Kernel, LANES};
use super::transpose::transpose_into;
use tiling::{Points, Tiling, F2, F4, MAX_TILE, V};

/// Kernel side this algorithm handles.
pub const KERNEL: usize = 5;
/// Zero border of the padded input ('SAME' for a 5x5 kernel).
const PAD: usize = KERNEL / 2;
/// Most tiles a thread transforms and multiplies together: enough for the products to run
/// near the machine's peak, few enough for the transformed tiles to stay in the core's
/// cache (8 images of 14x14 with F(4x4): 3 MB of tiles and products with their gradients;
/// 128 and 192 timed the same, 256 5% slower and 392 15% slower on the AVX-512 Xeon).
const TILES_PER_PIECE: usize = 128;
/// Fewer input channels than this and the products are too thin to pay for the transforms.
const MIN_IN_CHANNELS: usize = 16;

/// Whether this algorithm handles `g`: a 5x5 kernel on planes of even sides, channels in
/// whole lanes of 16, and enough input channels for it to pay.
pub fn supports(g: &ConvGeometry) -> bool {
    g.kernel == KERNEL
        && g.height.is_multiple_of(2)
        && g.width.is_multiple_of(2)
        && g.height > 0
        && g.width > 0
        && g.in_channels >= MIN_IN_CHANNELS
        && g.in_channels.is_multiple_of(LANES)
        && g.out_channels.is_multiple_of(LANES)
}

/// Which tiling a layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tile {
    /// F(2x2, 5x5): 6x6 input tiles, 36 products for 2x2 outputs.
    F2x2,
    /// F(4x4, 5x5): 8x8 input tiles, 64 products for 4x4 outputs.
    F4x4,
}

impl Tile {
    /// The tiling that does fewer products over a plane of `g`'s size (F(4x4) on a tie: its
    /// transforms cost less an output).
    pub fn for_geometry(g: &ConvGeometry) -> Self {
        if Tile::F4x4.products(g) <= Tile::F2x2.products(g) {
            Tile::F4x4
        } else {
            Tile::F2x2
        }
    }

    /// Products a channel pair does over one plane of `g`'s size.
    pub fn products(self, g: &ConvGeometry) -> usize {
        match self {
            Tile::F2x2 => products::<F2>(g),
            Tile::F4x4 => products::<F4>(g),
        }
    }
}

/// Products a channel pair does over one plane with tiling `T`.
fn products<T: Tiling>(g: &ConvGeometry) -> usize {
    tiles::<T>(g) * T::POSITIONS
}

/// A layer's filters in the transformed domain of its tiling.
pub struct Transformed {
    /// The tiling they were transformed for.
    pub tile: Tile,
    /// `U = G g Gᵀ`, laid out `[positions][in][out]` (position `p`'s block is the right
    /// operand of product `p`).
    pub u: Vec<f32>,
}

/// Runs `$body` with `$t` bound to the tiling type of `$tile`.
macro_rules! with_tiling {
    ($tile:expr, $t:ident => $body:expr) => {
        match $tile {
            Tile::F2x2 => {
                type $t = F2;
                $body
            }
            Tile::F4x4 => {
                type $t = F4;
                $body
            }
        }
    };
}

/// The values `$e` takes with `$i` bound to 0, 1, ..., 7 in turn where `$i < $n`, `$zero`
/// past it, as an array (or, with `for`, one after the other, nothing past `$n`): unrolled
/// here, so that every index is a constant where the transforms' `match`es see it, the
/// guards fold away, and nothing is left to a closure the compiler might not inline (and so
/// compile without the vector instructions).
macro_rules! upto {
    (@one $k:literal, $n:expr, $zero:expr; $i:ident => $e:expr) => {{
        let $i: usize = $k;
        if $i < $n {
            $e
        } else {
            $zero
        }
    }};
    (@for $k:literal, $n:expr; $i:ident => $e:expr) => {{
        let $i: usize = $k;
        if $i < $n {
            $e;
        }
    }};
    (for $n:expr; $i:ident => $e:expr) => {{
        upto!(@for 0, $n; $i => $e);
        upto!(@for 1, $n; $i => $e);
        upto!(@for 2, $n; $i => $e);
        upto!(@for 3, $n; $i => $e);
        upto!(@for 4, $n; $i => $e);
        upto!(@for 5, $n; $i => $e);
        upto!(@for 6, $n; $i => $e);
        upto!(@for 7, $n; $i => $e);
    }};
    ($n:expr, $zero:expr; $i:ident => $e:expr) => {
        [
            upto!(@one 0, $n, $zero; $i => $e),
            upto!(@one 1, $n, $zero; $i => $e),
            upto!(@one 2, $n, $zero; $i => $e),
            upto!(@one 3, $n, $zero; $i => $e),
            upto!(@one 4, $n, $zero; $i => $e),
            upto!(@one 5, $n, $zero; $i => $e),
            upto!(@one 6, $n, $zero; $i => $e),
            upto!(@one 7, $n, $zero; $i => $e),
        ]
    };
}

/// Tiles along a row of the plane.
fn tiles_across<T: Tiling>(g: &ConvGeometry) -> usize {
    g.width.div_ceil(T::OUT)
}

/// Tiles per image: the plane covered in `m x m` blocks, the last row and column of blocks
/// reaching past it when its sides are not multiples of `m`.
fn tiles<T: Tiling>(g: &ConvGeometry) -> usize {
    tiles_down::<T>(g) * tiles_across::<T>(g)
}

/// The tile row and column of tile `t` (tiles numbered row by row), scaled by `side`: the
/// first output pixel (`side = m`) or pooling window (`side = m / 2`) it covers.
fn tile_origin<T: Tiling>(g: &ConvGeometry, t: usize, side: usize) -> (usize, usize) {
    let across = tiles_across::<T>(g);
    (side * (t / across), side * (t % across))
}

/// Where tile `t`'s input tile starts in the zero-bordered channel-last plane.
fn tile_corner<T: Tiling>(g: &ConvGeometry, t: usize) -> usize {
    let (top, left) = tile_origin::<T>(g, t, T::OUT);
    (top * padded_width::<T>(g) + left) * g.in_channels
}

/// Tiles down a column of the plane.
fn tiles_down<T: Tiling>(g: &ConvGeometry) -> usize {
    g.height.div_ceil(T::OUT)
}

/// Side of the zero-bordered plane the tiles are cut from: the covered area and the border.
fn padded_width<T: Tiling>(g: &ConvGeometry) -> usize {
    tiles_across::<T>(g) * T::OUT + 2 * PAD
}

/// Elements of one image's zero-bordered channel-last copy.
fn padded_len<T: Tiling>(g: &ConvGeometry) -> usize {
    (tiles_down::<T>(g) * T::OUT + 2 * PAD) * padded_width::<T>(g) * g.in_channels
}

/// Where row `y` of the image starts in its zero-bordered channel-last copy.
fn interior_row<T: Tiling>(g: &ConvGeometry, y: usize) -> usize {
    ((y + PAD) * padded_width::<T>(g) + PAD) * g.in_channels
}

/// Pooling windows of one image plane.
fn windows(g: &ConvGeometry) -> usize {
    g.plane() / 4
}

/// Most images of a piece.
fn images_per_piece<T: Tiling>(g: &ConvGeometry) -> usize {
    (TILES_PER_PIECE / tiles::<T>(g)).max(1)
}

/// `range` cut into pieces of at most `most` images, as even as can be: `(first, count)`
/// each.
fn pieces(range: Range<usize>, most: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = range.len();
    let size = count.div_ceil(count.div_ceil(most.max(1)).max(1)).max(1);
    let end = range.end;
    range
        .step_by(size)
        .map(move |first| (first, size.min(end - first)))
}

/// The filters `[out, in, 5, 5]` in the transformed domain of `tile`; see [`Transformed`].
/// Computed in f64 and rounded once.
pub fn transform_filters(tile: Tile, g: &ConvGeometry, weight: &[f32]) -> Transformed {
    let u = with_tiling!(tile, T => transform_filters_for::<T>(g, weight));
    Transformed { tile, u }
}

/// [`transform_filters`] for tiling `T`: each filter transformed on its own, in parallel,
/// then laid out by position.
fn transform_filters_for<T: Tiling>(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let (cin, cout, positions) = (g.in_channels, g.out_channels, T::POSITIONS);
    assert_eq!(weight.len(), cout * cin * KERNEL * KERNEL, "filter size");
    let mut by_pair = vec![0.0f32; cout * cin * positions];
    by_pair
        .par_chunks_mut(positions)
        .zip(weight.par_chunks(KERNEL * KERNEL))
        .for_each(|(u, filter)| transform_filter::<T>(filter, u));
    let mut u = vec![0.0f32; positions * cin * cout];
    u.par_chunks_mut(cin * cout)
        .enumerate()
        .for_each(|(p, block)| {
            for (pair, &v) in by_pair.iter().skip(p).step_by(positions).enumerate() {
                let (o, i) = (pair / cin, pair % cin);
                block[i * cout + o] = v;
            }
        });
    u
}

/// `U = G g Gᵀ` of one 5x5 filter `filter` into `u` (`TILE x TILE`), in f64.
fn transform_filter<T: Tiling>(filter: &[f32], u: &mut [f32]) {
    let n = T::TILE;
    // G g: TILE x 5.
    let mut gg = [[0.0f64; KERNEL]; MAX_TILE];
    for (r, row) in gg[..n].iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            for k in 0..KERNEL {
                *v += T::G[r][k] * f64::from(filter[k * KERNEL + c]);
            }
        }
    }
    for (r, row) in u.chunks_exact_mut(n).enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let mut sum = 0.0f64;
            for (left, right) in gg[r].iter().zip(&T::G[c]) {
                sum += left * right;
            }
            *v = sum as f32;
        }
    }
}

/// The filter gradient `[out, in, 5, 5]` from its transformed-domain gradient `dU`
/// (`[positions][in][out]`): `dg = Gᵀ dU G`, in f64, each filter in parallel.
fn filter_gradient<T: Tiling>(g: &ConvGeometry, du: &[f32]) -> Vec<f32> {
    let (cin, cout, n) = (g.in_channels, g.out_channels, T::TILE);
    let mut grad = vec![0.0f32; cout * cin * KERNEL * KERNEL];
    grad.par_chunks_mut(KERNEL * KERNEL)
        .enumerate()
        .for_each(|(pair, filter)| {
            let (o, i) = (pair / cin, pair % cin);
            let mut at = [[0.0f64; MAX_TILE]; MAX_TILE];
            for (r, row) in at[..n].iter_mut().enumerate() {
                for (c, v) in row[..n].iter_mut().enumerate() {
                    *v = f64::from(du[((r * n + c) * cin + i) * cout + o]);
                }
            }
            // Gᵀ dU: 5 x TILE.
            let mut left = [[0.0f64; MAX_TILE]; KERNEL];
            for (k, row) in left.iter_mut().enumerate() {
                for (c, v) in row[..n].iter_mut().enumerate() {
                    for (r, du_row) in at[..n].iter().enumerate() {
                        *v += T::G[r][k] * du_row[c];
                    }
                }
            }
            for (k, row) in filter.chunks_exact_mut(KERNEL).enumerate() {
                for (l, v) in row.iter_mut().enumerate() {
                    let mut sum = 0.0f64;
                    for (value, g_row) in left[k][..n].iter().zip(T::G) {
                        sum += value * g_row[l];
                    }
                    *v = sum as f32;
                }
            }
        });
    grad
}

/// Values of a buffer, `stride` floats apart from `start`.
struct Strided<'a, S> {
    simd: S,
    buf: &'a [f32],
    start: usize,
    stride: usize,
}

impl<S: Simd> Points<S> for Strided<'_, S> {
    #[inline(always)]
    fn at(&self, i: usize) -> V<S> {
        V::load(self.simd, self.buf, self.start + i * self.stride)
    }
}

/// Offsets, in pixels of a tile's `m x m` outputs, of the 2x2 window `(wy, wx)`'s four
/// pixels in [`super::pool::max_of_four`]'s order.
#[inline(always)]
fn window_pixels<T: Tiling>(wy: usize, wx: usize) -> [usize; 4] {
    let corner = 2 * wy * T::OUT + 2 * wx;
    [corner, corner + 1, corner + T::OUT, corner + T::OUT + 1]
}

/// The four pixels `pixels` of a tile's outputs (or their gradients) in `outputs`
/// (`[pixel][out]`), for the vector of channels from `channel` on.
#[inline(always)]
fn window_at<S: Simd>(
    simd: S,
    outputs: &[f32],
    out: usize,
    pixels: [usize; 4],
    channel: usize,
) -> [V<S>; 4] {
    [
        V::load(simd, outputs, pixels[0] * out + channel),
        V::load(simd, outputs, pixels[1] * out + channel),
        V::load(simd, outputs, pixels[2] * out + channel),
        V::load(simd, outputs, pixels[3] * out + channel),
    ]
}

/// Copies image `[in, h, w]` into the interior of the zero-bordered channel-last plane
/// `padded`, whose border stays zero, by way of `channel_last` (`[h * w][in]`; see
/// [`transpose_into`]).
#[inline(always)]
fn pad_channel_last<T: Tiling>(
    g: &ConvGeometry,
    image: &[f32],
    channel_last: &mut [f32],
    padded: &mut [f32],
) {
    let (cin, plane) = (g.in_channels, g.plane());
    transpose_into(image, plane, (cin, plane), channel_last, |d, s| *d = s);
    pad_from_channel_last::<T>(g, channel_last, padded);
}

/// Copies image `[h, w, in]`, channel-last already, into the interior of `padded` (as
/// [`pad_channel_last`] does from `[in, h, w]`): a row at a time.
#[inline(always)]
fn pad_from_channel_last<T: Tiling>(g: &ConvGeometry, image: &[f32], padded: &mut [f32]) {
    let row_len = g.width * g.in_channels;
    for (y, row) in image.chunks_exact(row_len).enumerate() {
        padded[interior_row::<T>(g, y)..][..row_len].copy_from_slice(row);
    }
}

/// Adds the interior of the channel-last plane `padded` onto image `[in, h, w]`, by way of
/// `channel_last` (`[h * w][in]`).
#[inline(always)]
fn unpad_channel_last_add<T: Tiling>(
    g: &ConvGeometry,
    padded: &[f32],
    channel_last: &mut [f32],
    image: &mut [f32],
) {
    let (cin, plane) = (g.in_channels, g.plane());
    let row_len = g.width * cin;
    for (y, row) in channel_last.chunks_exact_mut(row_len).enumerate() {
        row.copy_from_slice(&padded[interior_row::<T>(g, y)..][..row_len]);
    }
    // Read as `h * w` rows of `in`: each pixel's channels become a column of the image.
    transpose_into(channel_last, cin, (plane, cin), image, |d, s| *d += s);
}

/// One thread's buffers. A thread keeps its last one for the next call (see
/// [`with_workspace`]): a call that made them afresh spent more time zeroing 5 MB than on
/// some of its transforms.
struct Workspace {
    /// What it was made for: the tiling's output side, the images of a piece and the sizes
    /// (the batch aside).
    sizes: [usize; 6],
    /// One image, zero-bordered and channel-last.
    padded: AlignedBuf,
    /// One image channel-last without the border, on its way into or out of `padded`.
    channel_last: AlignedBuf,
    /// Transformed input tiles of a piece, `[positions][tiles][in]`; backward, reused for
    /// `dV`.
    v: AlignedBuf,
    /// Products of a piece, `[positions][tiles][out]`; backward, `dM` of one row of
    /// positions (`[TILE][tiles][out]`).
    m: AlignedBuf,
    /// One tile's `m x m` outputs or their gradients, `[pixel][out]`.
    outputs: AlignedBuf,
    /// Backward, the gradients on the raw outputs of every tile of a piece,
    /// `[tiles][pixel][out]`.
    dy: AlignedBuf,
    /// Backward through pooling, one image's gradients that pass the ReLU, and the pooling
    /// windows' winners, channel-last (`[window][out]`).
    passed: AlignedBuf,
    /// See `passed`.
    won: AlignedBuf,
}

impl Workspace {
    fn sizes<T: Tiling>(g: &ConvGeometry) -> [usize; 6] {
        let piece = images_per_piece::<T>(g);
        [
            T::OUT,
            piece,
            g.in_channels,
            g.out_channels,
            g.height,
            g.width,
        ]
    }

    fn new<T: Tiling>(g: &ConvGeometry) -> Self {
        let n = images_per_piece::<T>(g) * tiles::<T>(g);
        let pixels = T::OUT * T::OUT;
        Self {
            sizes: Self::sizes::<T>(g),
            padded: AlignedBuf::zeros(padded_len::<T>(g)),
            channel_last: AlignedBuf::zeros(g.input_image()),
            v: AlignedBuf::zeros(T::POSITIONS * n * g.in_channels),
            m: AlignedBuf::zeros(T::POSITIONS * n * g.out_channels),
            outputs: AlignedBuf::zeros(pixels * g.out_channels),
            dy: AlignedBuf::zeros(n * pixels * g.out_channels),
            passed: AlignedBuf::zeros(windows(g) * g.out_channels),
            won: AlignedBuf::zeros(windows(g) * g.out_channels),
        }
    }
}

thread_local! {
    /// This thread's workspace from its last call.
    static WORKSPACE: std::cell::Cell<Option<Workspace>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with this thread's workspace for `g` and tiling `T`: the one it kept, if made
/// for the same, else a new one. Every user leaves the padded plane's border at zero, as a
/// new one has it (a workspace dropped by a panic is simply not kept).
fn with_workspace<T: Tiling, R>(g: &ConvGeometry, f: impl FnOnce(&mut Workspace) -> R) -> R {
    let kept = WORKSPACE
        .take()
        .filter(|ws| ws.sizes == Workspace::sizes::<T>(g));
    let mut ws = kept.unwrap_or_else(|| Workspace::new::<T>(g));
    let result = f(&mut ws);
    WORKSPACE.set(Some(ws));
    result
}

/// Transforms the tiles of the image in `ws.padded` into `ws.v` as tiles `first..` of a
/// piece of `n` tiles: `V = Bᵀ d B`, one column of `V` at a time so that everything stays
/// in registers.
#[inline(always)]
fn input_transform<T: Tiling, S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    first: usize,
    n: usize,
) {
    let (cin, pw) = (g.in_channels, padded_width::<T>(g));
    let (padded, transformed): (&[f32], &mut [f32]) = (&ws.padded, &mut ws.v);
    let zero = V::splat(simd, 0.0);
    for t in 0..tiles::<T>(g) {
        let corner = tile_corner::<T>(g, t);
        let tile = (first + t) * cin;
        for channel in (0..cin).step_by(V::<S>::WIDTH) {
            upto!(for T::TILE; c => {
                // Along each row a, column c: Σ_b d[a][b] B[b][c]; then down the column.
                let along = upto!(T::TILE, zero; a => T::bt(c, &Strided {
                    simd,
                    buf: padded,
                    start: corner + a * pw * cin + channel,
                    stride: cin,
                }));
                upto!(for T::TILE; r => {
                    let at = (r * T::TILE + c) * n * cin + tile + channel;
                    T::bt(r, &along).store(transformed, at);
                });
            });
        }
    }
}

/// Turns the products of tile `t` of the piece (`ws.m`, `n` tiles) into its `m x m`
/// outputs in `ws.outputs` (`[y * m + x][out]`): `Y = Aᵀ M A`.
#[inline(always)]
fn output_transform<T: Tiling, S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    t: usize,
    n: usize,
) {
    let cout = g.out_channels;
    let (products, outputs): (&[f32], &mut [f32]) = (&ws.m, &mut ws.outputs);
    let zero = V::splat(simd, 0.0);
    for channel in (0..cout).step_by(V::<S>::WIDTH) {
        // Along each row r: Σ_c M[r][c] A[c][x] for each output column x.
        let rows = upto!(T::TILE, [zero; MAX_TILE]; r => T::at(&Strided {
            simd,
            buf: products,
            start: (r * T::TILE * n + t) * cout + channel,
            stride: n * cout,
        }));
        upto!(for T::OUT; x => {
            let column = upto!(T::TILE, zero; r => rows[r][x]);
            let ys = T::at(&column);
            upto!(for T::OUT; y => ys[y].store(outputs, (y * T::OUT + x) * cout + channel));
        });
    }
}

/// Writes row `r` of `dM = A dY Aᵀ` for every tile of the piece (`n` tiles, their `dY` in
/// `ws.dy`): position `(r, c)` of each tile into `ws.m` as `[c][tiles][out]`. A row at a
/// time, so that the products that read it find it in the core's cache.
#[inline(always)]
fn output_gradient_row<T: Tiling, S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    r: usize,
    n: usize,
) {
    let (cout, pixels) = (g.out_channels, T::OUT * T::OUT);
    let (dy, products): (&[f32], &mut [f32]) = (&ws.dy, &mut ws.m);
    let zero = V::splat(simd, 0.0);
    for t in 0..n {
        let tile = &dy[t * pixels * cout..][..pixels * cout];
        for channel in (0..cout).step_by(V::<S>::WIDTH) {
            // Up each column x: Σ_y A[r][y] dY[y][x]; then along the row.
            let row = upto!(T::OUT, zero; x => T::a(r, &upto!(T::OUT, zero; y => {
                V::load(simd, tile, (y * T::OUT + x) * cout + channel)
            })));
            upto!(for T::TILE; c => {
                T::a(c, &row).store(products, (c * n + t) * cout + channel);
            });
        }
    }
}

/// Adds `dd = B dV Bᵀ` of the image's tile `t`, tile `first + t` of the piece (`ws.v`
/// holding `dV`, `n` tiles), onto the channel-last padded gradient `ws.padded`, one row of
/// `dd` at a time.
#[inline(always)]
fn input_gradient_transform<T: Tiling, S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    (first, t): (usize, usize),
    n: usize,
) {
    let (cin, pw) = (g.in_channels, padded_width::<T>(g));
    let corner = tile_corner::<T>(g, t);
    let (transformed, padded): (&[f32], &mut [f32]) = (&ws.v, &mut ws.padded);
    let zero = V::splat(simd, 0.0);
    for channel in (0..cin).step_by(V::<S>::WIDTH) {
        upto!(for T::TILE; row => {
            // Up each column c: Σ_r B[row][r] dV[r][c]; then along the row.
            let along = upto!(T::TILE, zero; c => T::b(row, &Strided {
                simd,
                buf: transformed,
                start: (c * n + first + t) * cin + channel,
                stride: T::TILE * n * cin,
            }));
            upto!(for T::TILE; col => {
                T::b(col, &along).add_to(padded, corner + (row * pw + col) * cin + channel);
            });
        });
    }
}

/// The products of a piece of `n` tiles: `M_p = V_p U_p`.
fn multiply<T: Tiling>(g: &ConvGeometry, ws: &mut Workspace, u: &[f32], n: usize) {
    let (cin, cout) = (g.in_channels, g.out_channels);
    for p in 0..T::POSITIONS {
        let v = MatRef::row_major(&ws.v[p * n * cin..(p + 1) * n * cin], n, cin);
        let up = MatRef::row_major(&u[p * cin * cout..(p + 1) * cin * cout], cin, cout);
        let m = &mut ws.m[p * n * cout..(p + 1) * n * cout];
        matmul(m, v, up, false, Parallelism::None);
    }
}

/// Where the forward pass puts each tile's outputs.
trait TileSink {
    /// Takes the raw outputs `outputs` (`[y * m + x][out]`) of tile `t` of image `image` of
    /// the chunk (the tiles of an image in order).
    fn take<T: Tiling, S: Simd>(&mut self, simd: S, image: usize, t: usize, outputs: &[f32]);
}

/// Full-size output after bias and ReLU, NCHW.
struct FullOutput<'a> {
    g: &'a ConvGeometry,
    out: &'a mut [f32],
    bias: &'a [f32],
}

impl TileSink for FullOutput<'_> {
    #[inline(always)]
    fn take<T: Tiling, S: Simd>(&mut self, _: S, image: usize, t: usize, outputs: &[f32]) {
        let g = self.g;
        let (w, cout) = (g.width, g.out_channels);
        let out_image = &mut self.out[image * g.output_image()..][..g.output_image()];
        let (top, left) = tile_origin::<T>(g, t, T::OUT);
        for y in 0..T::OUT.min(g.height - top) {
            for x in 0..T::OUT.min(w - left) {
                let pixel = &outputs[(y * T::OUT + x) * cout..][..cout];
                let at = (top + y) * w + left + x;
                for ((plane, &v), &b) in out_image
                    .chunks_exact_mut(g.plane())
                    .zip(pixel)
                    .zip(self.bias)
                {
                    plane[at] = (v + b).max(0.0);
                }
            }
        }
    }
}

/// Pooled output after bias and ReLU, NCHW, and each window's winner when asked for.
struct PooledOutput<'a> {
    g: &'a ConvGeometry,
    pooled: &'a mut [f32],
    argmax: &'a mut [u8],
    /// Whether to write `argmax`: inference has no use for it.
    winners: bool,
    bias: &'a [f32],
    /// One image's pooled values, channel-last (`[window][out]`).
    best: AlignedBuf,
    /// One image's winners (0.0 to 3.0), channel-last.
    won: AlignedBuf,
}

impl TileSink for PooledOutput<'_> {
    #[inline(always)]
    fn take<T: Tiling, S: Simd>(&mut self, simd: S, image: usize, t: usize, outputs: &[f32]) {
        let g = self.g;
        let (cout, half) = (g.out_channels, T::OUT / 2);
        let (rows, columns) = (g.height / 2, g.width / 2);
        let (top, left) = tile_origin::<T>(g, t, half);
        for wy in 0..half.min(rows - top) {
            for wx in 0..half.min(columns - left) {
                let window = (top + wy) * columns + left + wx;
                let pixels = window_pixels::<T>(wy, wx);
                for channel in (0..cout).step_by(V::<S>::WIDTH) {
                    let values = window_at(simd, outputs, cout, pixels, channel);
                    let bias = V::load(simd, self.bias, channel);
                    let (max, winner) = pool_vectors(simd, values, bias);
                    max.store(&mut self.best, window * cout + channel);
                    if self.winners {
                        winner.store(&mut self.won, window * cout + channel);
                    }
                }
            }
        }
        if t + 1 == tiles::<T>(g) {
            let at = image * cout * windows(g)..(image + 1) * cout * windows(g);
            if !self.winners {
                let pooled = &mut self.pooled[at];
                transpose_into(&self.best, cout, (windows(g), cout), pooled, |d, s| *d = s);
                return;
            }
            channel_first_pooled(
                (&self.best, &self.won),
                windows(g),
                0..cout,
                &mut self.pooled[at.clone()],
                &mut self.argmax[at],
            );
        }
    }
}

/// The forward pass over the images of one chunk, piece by piece.
struct ForwardChunk<'a, T, K> {
    g: &'a ConvGeometry,
    /// The thread's buffers.
    ws: &'a mut Workspace,
    /// `[count, in, h, w]`, or `[count, h, w, in]` as `layout` says.
    images: &'a [f32],
    layout: Layout,
    u: &'a [f32],
    sink: K,
    tiling: std::marker::PhantomData<T>,
}

impl<T: Tiling, K: TileSink> Kernel for ForwardChunk<'_, T, K> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(mut self, simd: S) {
        let (g, ws) = (self.g, &mut *self.ws);
        let per_tile = tiles::<T>(g);
        let count = self.images.len() / g.input_image();
        for (first, piece) in pieces(0..count, images_per_piece::<T>(g)) {
            let n = piece * per_tile;
            for s in 0..piece {
                let image = &self.images[(first + s) * g.input_image()..][..g.input_image()];
                match self.layout {
                    Layout::ChannelFirst => {
                        pad_channel_last::<T>(g, image, &mut ws.channel_last, &mut ws.padded)
                    }
                    Layout::ChannelLast => pad_from_channel_last::<T>(g, image, &mut ws.padded),
                }
                input_transform::<T, S>(simd, g, ws, s * per_tile, n);
            }
            multiply::<T>(g, ws, self.u, n);
            for s in 0..piece {
                for t in 0..per_tile {
                    output_transform::<T, S>(simd, g, ws, s * per_tile + t, n);
                    self.sink.take::<T, S>(simd, first + s, t, &ws.outputs);
                }
            }
        }
    }
}

/// Runs the forward pass of one chunk of images with tiling `T` into `sink`.
fn forward_chunk<T: Tiling, K: TileSink>(
    g: &ConvGeometry,
    (images, layout): (&[f32], Layout),
    u: &[f32],
    sink: K,
) {
    with_workspace::<T, _>(g, |ws| {
        vectorized(ForwardChunk {
            g,
            ws,
            images,
            layout,
            u,
            sink,
            tiling: std::marker::PhantomData::<T>,
        })
    });
}

/// `out = relu(conv(input, weight) + bias)` for a whole batch, with the filters from
/// [`transform_filters`].
pub fn forward(
    g: &ConvGeometry,
    input: &[f32],
    filters: &Transformed,
    bias: &[f32],
    out: &mut [f32],
) {
    check_sizes(g, input, filters, bias);
    assert_eq!(out.len(), g.batch * g.output_image(), "output size");
    let per_chunk = images_per_chunk(g.batch);
    out.par_chunks_mut(per_chunk * g.output_image())
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|(out, images)| {
            let sink = FullOutput { g, out, bias };
            let images = (images, Layout::ChannelFirst);
            with_tiling!(filters.tile, T => forward_chunk::<T, _>(g, images, &filters.u, sink));
        });
}

/// `pooled = maxpool2x2(relu(conv(input, weight) + bias))` and each window's winner (0
/// top-left, 1 top-right, 2 bottom-left, 3 bottom-right, the first on ties), as
/// [`super::conv_kernels::forward_pooled`] gives them.
pub fn forward_pooled(
    g: &ConvGeometry,
    input: &[f32],
    filters: &Transformed,
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    let input = (input, Layout::ChannelFirst);
    pooled_with(input, g, (filters, bias), pooled, argmax, true);
}

/// [`forward_pooled`]'s pooled values alone, from an input laid out as `layout` says, for
/// inference: the windows' winners are never worked out or written.
pub fn pooled_values_from(
    input: (&[f32], Layout),
    g: &ConvGeometry,
    filters: &Transformed,
    bias: &[f32],
    pooled: &mut [f32],
) {
    // Never written, so its pages are never touched.
    let mut unused = vec![0u8; pooled.len()];
    pooled_with(input, g, (filters, bias), pooled, &mut unused, false);
}

/// The pooled forward pass, writing the winners into `argmax` when `winners`.
fn pooled_with(
    (input, layout): (&[f32], Layout),
    g: &ConvGeometry,
    (filters, bias): (&Transformed, &[f32]),
    pooled: &mut [f32],
    argmax: &mut [u8],
    winners: bool,
) {
    check_sizes(g, input, filters, bias);
    pooled_in_chunks(g, input, pooled, argmax, |images, pooled, argmax| {
        let sink = PooledOutput {
            g,
            pooled,
            argmax,
            winners,
            bias,
            best: AlignedBuf::zeros(windows(g) * g.out_channels),
            won: AlignedBuf::zeros(windows(g) * g.out_channels),
        };
        let images = (images, layout);
        with_tiling!(filters.tile, T => forward_chunk::<T, _>(g, images, &filters.u, sink));
    });
}

fn check_sizes(g: &ConvGeometry, input: &[f32], filters: &Transformed, bias: &[f32]) {
    assert!(supports(g), "Winograd F(m x m, 5x5) does not handle {g:?}");
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    let positions = with_tiling!(filters.tile, T => T::POSITIONS);
    assert_eq!(
        filters.u.len(),
        positions * g.in_channels * g.out_channels,
        "filter size"
    );
    assert_eq!(bias.len(), g.out_channels, "bias size");
}

/// Writes the gradients on the raw outputs of every tile of image `index`, tile `first` on
/// of the piece, into `ws.dy` (`[tiles][pixel][out]`), and adds them to `grad_bias`.
/// Outputs past the plane get none.
#[inline(always)]
fn output_gradients<T: Tiling, S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    upstream: &Upstream<'_>,
    (index, first): (usize, usize),
    grad_bias: &mut [f32],
) {
    let (cout, per_tile, pixels) = (g.out_channels, tiles::<T>(g), T::OUT * T::OUT);
    let (pooled, argmax, grad) = match *upstream {
        Upstream::Pooled {
            pooled,
            argmax,
            grad,
        } => (pooled, argmax, grad),
        Upstream::Relu { out, grad } => {
            for t in 0..per_tile {
                let tile = &mut ws.dy[(first + t) * pixels * cout..][..pixels * cout];
                unpooled_output_gradient::<T>(g, (out, grad), (index, t), tile, grad_bias);
            }
            return;
        }
    };
    // Each window's gradient goes to its winner, a vector of channels at a time, from the
    // image's gradients turned channel-last.
    let image = index * cout * windows(g)..(index + 1) * cout * windows(g);
    channel_last_gradients(
        (&pooled[image.clone()], &argmax[image.clone()], &grad[image]),
        windows(g),
        0..cout,
        &mut ws.passed,
        &mut ws.won,
    );
    let half = T::OUT / 2;
    let (rows, columns) = (g.height / 2, g.width / 2);
    for t in 0..per_tile {
        let tile = &mut ws.dy[(first + t) * pixels * cout..][..pixels * cout];
        let (top, left) = tile_origin::<T>(g, t, half);
        for wy in 0..half {
            for wx in 0..half {
                let pixels = window_pixels::<T>(wy, wx);
                if top + wy >= rows || left + wx >= columns {
                    for pixel in pixels {
                        tile[pixel * cout..(pixel + 1) * cout].fill(0.0);
                    }
                    continue;
                }
                let window = (top + wy) * columns + left + wx;
                for channel in (0..cout).step_by(V::<S>::WIDTH) {
                    let passed = V::load(simd, &ws.passed, window * cout + channel);
                    let won = V::load(simd, &ws.won, window * cout + channel);
                    for (pixel, dy) in pixels.into_iter().zip(route_to_winner(passed, won)) {
                        dy.store(tile, pixel * cout + channel);
                    }
                    passed.add_to(grad_bias, channel);
                }
            }
        }
    }
}

/// Fills `tile` (`[pixel][out]`) with the gradient on the raw outputs of tile `t` of image
/// `index` for an unpooled layer, from its output after ReLU and the gradient on it (as
/// `Upstream::Relu` gives them), zero past the plane, and adds it to `grad_bias`.
#[inline(always)]
fn unpooled_output_gradient<T: Tiling>(
    g: &ConvGeometry,
    (out, grad): (&[f32], &[f32]),
    (index, t): (usize, usize),
    tile: &mut [f32],
    grad_bias: &mut [f32],
) {
    let (cout, w) = (g.out_channels, g.width);
    let (top, left) = tile_origin::<T>(g, t, T::OUT);
    for y in 0..T::OUT {
        for x in 0..T::OUT {
            let pixel = &mut tile[(y * T::OUT + x) * cout..][..cout];
            if top + y >= g.height || left + x >= w {
                pixel.fill(0.0);
                continue;
            }
            let base = index * g.output_image() + (top + y) * w + left + x;
            for (o, d) in pixel.iter_mut().enumerate() {
                let at = base + o * g.plane();
                let gr = if out[at] > 0.0 { grad[at] } else { 0.0 };
                *d = gr;
                grad_bias[o] += gr;
            }
        }
    }
}

/// Backward pass of [`forward`] or [`forward_pooled`], as `upstream` says: the filter and
/// bias gradients, and the input's gradient added into `grad_input` when one is given.
pub fn backward(
    g: &ConvGeometry,
    input: &[f32],
    filters: &Transformed,
    upstream: Upstream<'_>,
    grad_input: Option<&mut [f32]>,
) -> ConvGrads {
    assert!(supports(g), "Winograd F(m x m, 5x5) does not handle {g:?}");
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    with_tiling!(filters.tile, T => backward_for::<T>(g, input, &filters.u, upstream, grad_input))
}

/// [`backward`] with tiling `T`.
fn backward_for<T: Tiling>(
    g: &ConvGeometry,
    input: &[f32],
    u: &[f32],
    upstream: Upstream<'_>,
    grad_input: Option<&mut [f32]>,
) -> ConvGrads {
    let (du, grad_bias) = backward_in_chunks(
        g,
        grad_input,
        (
            T::POSITIONS * g.in_channels * g.out_channels,
            g.out_channels,
        ),
        |range, grad_input| {
            with_workspace::<T, _>(g, |ws| {
                vectorized(BackwardChunk {
                    g,
                    ws,
                    input,
                    u,
                    upstream: &upstream,
                    range,
                    grad_input,
                    tiling: std::marker::PhantomData::<T>,
                })
            })
        },
    );
    ConvGrads {
        weight: filter_gradient::<T>(g, &du),
        bias: grad_bias,
    }
}

/// The backward pass over images `range`: returns this chunk's `dU` and bias gradient, and
/// adds the input gradient of those images into `grad_input` when given.
struct BackwardChunk<'a, T> {
    g: &'a ConvGeometry,
    /// The thread's buffers.
    ws: &'a mut Workspace,
    /// The whole batch's input.
    input: &'a [f32],
    u: &'a [f32],
    upstream: &'a Upstream<'a>,
    range: Range<usize>,
    /// The input gradient of images `range` only.
    grad_input: Option<&'a mut [f32]>,
    tiling: std::marker::PhantomData<T>,
}

impl<T: Tiling> Kernel for BackwardChunk<'_, T> {
    type Output = (Vec<f32>, Vec<f32>);

    #[inline(always)]
    fn run<S: Simd>(mut self, simd: S) -> (Vec<f32>, Vec<f32>) {
        let (g, ws) = (self.g, &mut *self.ws);
        let (cin, cout, per_tile) = (g.in_channels, g.out_channels, tiles::<T>(g));
        let mut du = vec![0.0f32; T::POSITIONS * cin * cout];
        let mut grad_bias = vec![0.0f32; cout];
        for (first, piece) in pieces(self.range.clone(), images_per_piece::<T>(g)) {
            let n = piece * per_tile;
            for s in 0..piece {
                let image = &self.input[(first + s) * g.input_image()..][..g.input_image()];
                pad_channel_last::<T>(g, image, &mut ws.channel_last, &mut ws.padded);
                input_transform::<T, S>(simd, g, ws, s * per_tile, n);
                let tiles = (first + s, s * per_tile);
                output_gradients::<T, S>(simd, g, ws, self.upstream, tiles, &mut grad_bias);
            }
            upto!(for T::TILE; r => {
                output_gradient_row::<T, S>(simd, g, ws, r, n);
                for c in 0..T::TILE {
                    let p = r * T::TILE + c;
                    let v = MatRef::row_major(&ws.v[p * n * cin..(p + 1) * n * cin], n, cin);
                    let dm = MatRef::row_major(&ws.m[c * n * cout..(c + 1) * n * cout], n, cout);
                    let du_p = &mut du[p * cin * cout..(p + 1) * cin * cout];
                    matmul(du_p, v.t(), dm, true, Parallelism::None);
                    if self.grad_input.is_some() {
                        // dV_p = dM_p U_pᵀ, over V_p, which this position no longer needs.
                        let u_p = &self.u[p * cin * cout..(p + 1) * cin * cout];
                        let up = MatRef::row_major(u_p, cin, cout);
                        let dv = &mut ws.v[p * n * cin..(p + 1) * n * cin];
                        matmul(dv, dm, up.t(), false, Parallelism::None);
                    }
                }
            });
            if let Some(grad_input) = self.grad_input.as_deref_mut() {
                for s in 0..piece {
                    ws.padded.fill(0.0);
                    for t in 0..per_tile {
                        input_gradient_transform::<T, S>(simd, g, ws, (s * per_tile, t), n);
                    }
                    let local = first + s - self.range.start;
                    let dst = &mut grad_input[local * g.input_image()..][..g.input_image()];
                    unpad_channel_last_add::<T>(g, &ws.padded, &mut ws.channel_last, dst);
                }
                // The next piece pads its images into a plane whose border must be zero.
                ws.padded.fill(0.0);
            }
        }
        (du, grad_bias)
    }
}

pub mod one_channel;

#[cfg(test)]
mod tests;
