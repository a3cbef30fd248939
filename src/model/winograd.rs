//! The 5x5 'SAME' convolution by Winograd's minimal filtering F(2x2, 5x5): each 2x2 block of
//! outputs comes from a 6x6 block of input through 36 products instead of 100, so a layer does
//! 36 matrix products of `[tiles, in] x [in, out]` where im2col does one of
//! `[out, in*25] x [in*25, h*w]`: 2.78 times fewer multiplications.
//!
//! With `d` a 6x6 input tile, `g` a 5x5 filter and `Y` the 2x2 outputs,
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, the matrices from the interpolation points 0, ±1, ±2 and
//! infinity (written out below, derived exactly and checked in the tests). Backward, with
//! `U = G g Gᵀ`, `V = Bᵀ d B`, `M = Σ_in U ⊙ V`: `dM = A dY Aᵀ`, `dU = Σ_tiles V ⊙ dM`,
//! `dV = Σ_out U ⊙ dM`, `dd = B dV Bᵀ` (added over the overlapping tiles) and `dg = Gᵀ dU G`.
//!
//! Layout: inside a call the images are channel-last, so every transform is a vector
//! operation over channels, and the transformed tiles of a piece of images are stored
//! position-major (`[36][tiles][channels]`): position `p`'s tiles form the left operand of
//! product `p` as they are. Activations outside stay NCHW and filters `[out, in, 5, 5]`.
//!
//! The 2x2 output tiles are exactly the 2x2 max-pooling windows, so pooling, bias and ReLU
//! happen on each tile as it leaves the output transform. Rounding: the transforms add a few
//! ulps against the direct sum (the tests bound the error against an f64 reference).
//! Results depend only on the batch and the thread count, as with im2col.

use gemm::Parallelism;
use rayon::prelude::*;

use super::conv_kernels::{
    backward_in_chunks, images_per_chunk, pooled_in_chunks, ConvGeometry, ConvGrads, Layout,
    Upstream,
};
use super::matmul::{matmul, MatRef};
use super::pool::{channel_first_pooled, channel_last_gradients, pool_vectors, route_to_winner};
use pulp::Simd;

use super::simd::{vectorized, AlignedBuf, Kernel, Vector, LANES};

/// Kernel side this algorithm handles.
pub const KERNEL: usize = 5;
/// Side of an input tile.
const TILE: usize = 6;
/// Points of a transformed tile: one matrix product each.
pub const POSITIONS: usize = TILE * TILE;
/// Zero border of the padded input ('SAME' for a 5x5 kernel).
const PAD: usize = KERNEL / 2;
/// Images a thread transforms and multiplies together: enough tiles (49 an image at 14x14)
/// for the products to run near the machine's peak, few enough for the transformed tiles
/// to stay in the core's cache.
const IMAGES_PER_PIECE: usize = 8;
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

/// `G`, 6x5: the filter transform.
const G: [[f64; 5]; 6] = [
    [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
    [1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0],
    [1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
];

/// Tiles per image: one per 2x2 block of output.
fn tiles(g: &ConvGeometry) -> usize {
    (g.height / 2) * (g.width / 2)
}

/// Side of the zero-bordered plane a tile is cut from.
fn padded_width(g: &ConvGeometry) -> usize {
    g.width + 2 * PAD
}

/// Elements of one image's zero-bordered channel-last copy.
fn padded_len(g: &ConvGeometry) -> usize {
    (g.height + 2 * PAD) * padded_width(g) * g.in_channels
}

/// The filters `[out, in, 5, 5]` in the transformed domain, `U = G g Gᵀ`, laid out
/// `[36][in][out]` (position `p`'s block is the right operand of product `p`). Computed in
/// f64 and rounded once.
pub fn transform_filters(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let (cin, cout) = (g.in_channels, g.out_channels);
    assert_eq!(weight.len(), cout * cin * KERNEL * KERNEL, "filter size");
    let mut u = vec![0.0f32; POSITIONS * cin * cout];
    for (pair, filter) in weight.chunks_exact(KERNEL * KERNEL).enumerate() {
        let (o, i) = (pair / cin, pair % cin);
        // G g: 6x5.
        let mut gg = [[0.0f64; KERNEL]; TILE];
        for (r, row) in gg.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (0..KERNEL)
                    .map(|k| G[r][k] * f64::from(filter[k * KERNEL + c]))
                    .sum();
            }
        }
        for r in 0..TILE {
            for c in 0..TILE {
                let v: f64 = (0..KERNEL).map(|k| gg[r][k] * G[c][k]).sum();
                u[((r * TILE + c) * cin + i) * cout + o] = v as f32;
            }
        }
    }
    u
}

/// The filter gradient `[out, in, 5, 5]` from its transformed-domain gradient `dU`
/// (`[36][in][out]`): `dg = Gᵀ dU G`, in f64.
fn filter_gradient(g: &ConvGeometry, du: &[f32]) -> Vec<f32> {
    let (cin, cout) = (g.in_channels, g.out_channels);
    let mut grad = vec![0.0f32; cout * cin * KERNEL * KERNEL];
    for (pair, filter) in grad.chunks_exact_mut(KERNEL * KERNEL).enumerate() {
        let (o, i) = (pair / cin, pair % cin);
        let at = |r: usize, c: usize| f64::from(du[((r * TILE + c) * cin + i) * cout + o]);
        // Gᵀ dU: 5x6.
        let mut left = [[0.0f64; TILE]; KERNEL];
        for (k, row) in left.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (0..TILE).map(|r| G[r][k] * at(r, c)).sum();
            }
        }
        for k in 0..KERNEL {
            for l in 0..KERNEL {
                let v: f64 = (0..TILE).map(|c| left[k][c] * G[c][l]).sum();
                filter[k * KERNEL + l] = v as f32;
            }
        }
    }
    grad
}

/// One vector of `S`'s width: a few channels of one point.
type V<S> = Vector<S>;

/// The six values `$e` takes with `$i` bound to 0, 1, ..., 5 in turn, as an array (or, with
/// `for`, one after the other): unrolled here, so that every index is a constant where the
/// transforms' `match`es see it and nothing is left to a closure the compiler might not
/// inline (and so compile without the vector instructions).
macro_rules! six {
    ($i:ident => $e:expr) => {
        [
            {
                let $i: usize = 0;
                $e
            },
            {
                let $i: usize = 1;
                $e
            },
            {
                let $i: usize = 2;
                $e
            },
            {
                let $i: usize = 3;
                $e
            },
            {
                let $i: usize = 4;
                $e
            },
            {
                let $i: usize = 5;
                $e
            },
        ]
    };
    (for $i:ident => $e:expr) => {{
        let _: [(); 6] = six!($i => {
            $e;
        });
    }};
}

/// Six vectors, each read when asked for.
trait Six<S: Simd> {
    /// Vector `i`.
    fn at(&self, i: usize) -> V<S>;
}

impl<S: Simd> Six<S> for [V<S>; 6] {
    #[inline(always)]
    fn at(&self, i: usize) -> V<S> {
        self[i]
    }
}

/// Six vectors of a buffer, `stride` floats apart from `start`.
struct Strided<'a, S> {
    simd: S,
    buf: &'a [f32],
    start: usize,
    stride: usize,
}

impl<S: Simd> Six<S> for Strided<'_, S> {
    #[inline(always)]
    fn at(&self, i: usize) -> V<S> {
        V::load(self.simd, self.buf, self.start + i * self.stride)
    }
}

/// Row `k` of `Bᵀ` applied to `x`: the input transform along one axis.
#[inline(always)]
fn bt<S: Simd>(k: usize, x: &impl Six<S>) -> V<S> {
    match k {
        0 => x.at(0) * 4.0 - x.at(2) * 5.0 + x.at(4),
        1 => (x.at(1) + x.at(2)) * 4.0 - (x.at(3) + x.at(4)),
        2 => (x.at(2) - x.at(1)) * 4.0 + (x.at(3) - x.at(4)),
        3 => (x.at(3) - x.at(1)) * 2.0 + (x.at(4) - x.at(2)),
        4 => (x.at(1) - x.at(3)) * 2.0 + (x.at(4) - x.at(2)),
        _ => x.at(1) * 4.0 - x.at(3) * 5.0 + x.at(5),
    }
}

/// Row `k` of `B` applied to `x`: the transpose of [`bt`].
#[inline(always)]
fn b<S: Simd>(k: usize, x: &impl Six<S>) -> V<S> {
    match k {
        0 => x.at(0) * 4.0,
        1 => (x.at(1) - x.at(2)) * 4.0 + (x.at(4) - x.at(3)) * 2.0 + x.at(5) * 4.0,
        2 => (x.at(1) + x.at(2)) * 4.0 - x.at(0) * 5.0 - (x.at(3) + x.at(4)),
        3 => (x.at(2) - x.at(1)) + (x.at(3) - x.at(4)) * 2.0 - x.at(5) * 5.0,
        4 => x.at(0) - (x.at(1) + x.at(2)) + (x.at(3) + x.at(4)),
        _ => x.at(5),
    }
}

/// `Aᵀ x`, six in, two out: the output transform along one axis.
#[inline(always)]
fn at<S: Simd>(x: &impl Six<S>) -> [V<S>; 2] {
    [
        x.at(0) + (x.at(1) + x.at(2)) + (x.at(3) + x.at(4)),
        (x.at(1) - x.at(2)) + (x.at(3) - x.at(4)) * 2.0 + x.at(5),
    ]
}

/// Row `k` of `A` applied to `(x0, x1)`: the transpose of [`at`].
#[inline(always)]
fn a<S: Simd>(k: usize, [x0, x1]: [V<S>; 2]) -> V<S> {
    match k {
        0 => x0,
        1 => x0 + x1,
        2 => x0 - x1,
        3 => x0 + x1 * 2.0,
        4 => x0 - x1 * 2.0,
        _ => x1,
    }
}

/// The four pixels of a tile's 2x2 outputs (or their gradients) in `quad` (`[4][out]`,
/// `out` values a pixel), for the vector of channels from `channel` on.
#[inline(always)]
fn quad_at<S: Simd>(simd: S, quad: &[f32], out: usize, channel: usize) -> [V<S>; 4] {
    [
        V::load(simd, quad, channel),
        V::load(simd, quad, out + channel),
        V::load(simd, quad, 2 * out + channel),
        V::load(simd, quad, 3 * out + channel),
    ]
}

/// Copies image `[in, h, w]` into the interior of the zero-bordered channel-last plane
/// `padded` (`[h+4][w+4][in]`), whose border stays zero.
#[inline(always)]
fn pad_channel_last(g: &ConvGeometry, image: &[f32], padded: &mut [f32]) {
    let (cin, w, pw, plane) = (g.in_channels, g.width, padded_width(g), g.plane());
    for y in 0..g.height {
        let row = &mut padded[((y + PAD) * pw + PAD) * cin..][..w * cin];
        for (x, pixel) in row.chunks_exact_mut(cin).enumerate() {
            for (c, d) in pixel.iter_mut().enumerate() {
                *d = image[c * plane + y * w + x];
            }
        }
    }
}

/// Copies image `[h, w, in]`, channel-last already, into the interior of `padded` (as
/// [`pad_channel_last`] does from `[in, h, w]`): a row at a time.
#[inline(always)]
fn pad_from_channel_last(g: &ConvGeometry, image: &[f32], padded: &mut [f32]) {
    let (row_len, pw) = (g.width * g.in_channels, padded_width(g));
    for (y, row) in image.chunks_exact(row_len).enumerate() {
        let start = ((y + PAD) * pw + PAD) * g.in_channels;
        padded[start..start + row_len].copy_from_slice(row);
    }
}

/// Adds the interior of the channel-last plane `padded` onto image `[in, h, w]`.
#[inline(always)]
fn unpad_channel_last_add(g: &ConvGeometry, padded: &[f32], image: &mut [f32]) {
    let (cin, w, pw) = (g.in_channels, g.width, padded_width(g));
    for (c, plane) in image.chunks_exact_mut(g.plane()).enumerate() {
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            let start = ((y + PAD) * pw + PAD) * cin + c;
            for (x, v) in row.iter_mut().enumerate() {
                *v += padded[start + x * cin];
            }
        }
    }
}

/// One thread's buffers. A thread keeps its last one for the next call (see
/// [`with_workspace`]): a call that made them afresh spent more time zeroing 5 MB than on
/// some of its transforms.
struct Workspace {
    /// The sizes it was made for (the batch aside).
    sizes: [usize; 4],
    /// One image, zero-bordered and channel-last.
    padded: AlignedBuf,
    /// Transformed input tiles of a piece, `[36][tiles][in]`; backward, reused for `dV`.
    v: AlignedBuf,
    /// Products of a piece, `[36][tiles][out]`; backward, `dM` of one row of positions
    /// (`[6][tiles][out]`).
    m: AlignedBuf,
    /// One tile's 2x2 outputs or their gradients, `[4][out]`.
    quad: AlignedBuf,
    /// Backward, the gradients on the raw 2x2 outputs of every tile of a piece,
    /// `[tiles][4][out]`.
    dy: AlignedBuf,
    /// Backward through pooling, one image's gradients that pass the ReLU, and the pooling
    /// windows' winners, channel-last (`[tiles][out]`).
    passed: AlignedBuf,
    /// See `passed`.
    won: AlignedBuf,
}

impl Workspace {
    fn sizes(g: &ConvGeometry) -> [usize; 4] {
        [g.in_channels, g.out_channels, g.height, g.width]
    }

    fn new(g: &ConvGeometry) -> Self {
        let n = IMAGES_PER_PIECE * tiles(g);
        Self {
            sizes: Self::sizes(g),
            padded: AlignedBuf::zeros(padded_len(g)),
            v: AlignedBuf::zeros(POSITIONS * n * g.in_channels),
            m: AlignedBuf::zeros(POSITIONS * n * g.out_channels),
            quad: AlignedBuf::zeros(4 * g.out_channels),
            dy: AlignedBuf::zeros(n * 4 * g.out_channels),
            passed: AlignedBuf::zeros(tiles(g) * g.out_channels),
            won: AlignedBuf::zeros(tiles(g) * g.out_channels),
        }
    }
}

thread_local! {
    /// This thread's workspace from its last call.
    static WORKSPACE: std::cell::Cell<Option<Workspace>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with this thread's workspace for `g`: the one it kept, if made for the same
/// sizes, else a new one. Every user leaves the padded plane's border at zero, as a new one
/// has it (a workspace dropped by a panic is simply not kept).
fn with_workspace<R>(g: &ConvGeometry, f: impl FnOnce(&mut Workspace) -> R) -> R {
    let kept = WORKSPACE
        .take()
        .filter(|ws| ws.sizes == Workspace::sizes(g));
    let mut ws = kept.unwrap_or_else(|| Workspace::new(g));
    let result = f(&mut ws);
    WORKSPACE.set(Some(ws));
    result
}

/// Transforms the tiles of the image in `ws.padded` into `ws.v` as tiles `first..` of a
/// piece of `n` tiles: `V = Bᵀ d B`, one column of `V` at a time so that everything stays
/// in registers.
#[inline(always)]
fn input_transform<S: Simd>(simd: S, g: &ConvGeometry, ws: &mut Workspace, first: usize, n: usize) {
    let (cin, pw, tw) = (g.in_channels, padded_width(g), g.width / 2);
    let (padded, transformed): (&[f32], &mut [f32]) = (&ws.padded, &mut ws.v);
    for (ty, tx) in (0..g.height / 2).flat_map(|ty| (0..tw).map(move |tx| (ty, tx))) {
        let corner = (2 * ty * pw + 2 * tx) * cin;
        let tile = (first + ty * tw + tx) * cin;
        for channel in (0..cin).step_by(V::<S>::WIDTH) {
            six!(for c => {
                // Along each row a, column c: Σ_b d[a][b] B[b][c]; then down the column.
                let along = six!(a => bt(c, &Strided {
                    simd,
                    buf: padded,
                    start: corner + a * pw * cin + channel,
                    stride: cin,
                }));
                six!(for r => {
                    let at = (r * TILE + c) * n * cin + tile + channel;
                    bt(r, &along).store(transformed, at);
                });
            });
        }
    }
}

/// Turns the products of tile `t` of the piece (`ws.m`, `n` tiles) into its 2x2 outputs in
/// `ws.quad` (`[4][out]`: top-left, top-right, bottom-left, bottom-right): `Y = Aᵀ M A`.
#[inline(always)]
fn output_transform<S: Simd>(simd: S, g: &ConvGeometry, ws: &mut Workspace, t: usize, n: usize) {
    let cout = g.out_channels;
    let (products, quad): (&[f32], &mut [f32]) = (&ws.m, &mut ws.quad);
    for channel in (0..cout).step_by(V::<S>::WIDTH) {
        // Along each row r: (Σ_c M[r][c] A[c][0], Σ_c M[r][c] A[c][1]).
        let rows = six!(r => at(&Strided {
            simd,
            buf: products,
            start: (r * TILE * n + t) * cout + channel,
            stride: n * cout,
        }));
        let columns = [six!(r => rows[r][0]), six!(r => rows[r][1])];
        for (x, column) in columns.iter().enumerate() {
            let [top, bottom] = at(column);
            top.store(quad, x * cout + channel);
            bottom.store(quad, (2 + x) * cout + channel);
        }
    }
}

/// Writes row `r` of `dM = A dY Aᵀ` for every tile of the piece (`n` tiles, their `dY` in
/// `ws.dy`): position `(r, c)` of each tile into `ws.m` as `[c][tiles][out]`. A row at a
/// time, so that the six products that read it find it in the core's cache.
#[inline(always)]
fn output_gradient_row<S: Simd>(simd: S, g: &ConvGeometry, ws: &mut Workspace, r: usize, n: usize) {
    let cout = g.out_channels;
    let (dy, products): (&[f32], &mut [f32]) = (&ws.dy, &mut ws.m);
    for t in 0..n {
        let quad = &dy[t * 4 * cout..][..4 * cout];
        for channel in (0..cout).step_by(V::<S>::WIDTH) {
            let dy = quad_at(simd, quad, cout, channel);
            // Up the columns: (Σ_y A[r][y] dY[y][0], Σ_y A[r][y] dY[y][1]); then along the row.
            let row = [a(r, [dy[0], dy[2]]), a(r, [dy[1], dy[3]])];
            six!(for c => {
                a(c, row).store(products, (c * n + t) * cout + channel);
            });
        }
    }
}

/// Adds `dd = B dV Bᵀ` of the image's tile `t`, tile `first + t` of the piece (`ws.v`
/// holding `dV`, `n` tiles), onto the channel-last padded gradient `ws.padded`, one row of
/// `dd` at a time.
#[inline(always)]
fn input_gradient_transform<S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    first: usize,
    t: usize,
    n: usize,
) {
    let (cin, pw, tw) = (g.in_channels, padded_width(g), g.width / 2);
    let corner = (2 * (t / tw) * pw + 2 * (t % tw)) * cin;
    let (transformed, padded): (&[f32], &mut [f32]) = (&ws.v, &mut ws.padded);
    for channel in (0..cin).step_by(V::<S>::WIDTH) {
        six!(for row => {
            // Up each column c: Σ_r B[row][r] dV[r][c]; then along the row.
            let along = six!(c => b(row, &Strided {
                simd,
                buf: transformed,
                start: (c * n + first + t) * cin + channel,
                stride: TILE * n * cin,
            }));
            six!(for col => {
                b(col, &along).add_to(padded, corner + (row * pw + col) * cin + channel);
            });
        });
    }
}

/// The 36 products of a piece of `n` tiles: `M_p = V_p U_p`.
fn multiply(g: &ConvGeometry, ws: &mut Workspace, u: &[f32], n: usize) {
    let (cin, cout) = (g.in_channels, g.out_channels);
    for p in 0..POSITIONS {
        let v = MatRef::row_major(&ws.v[p * n * cin..(p + 1) * n * cin], n, cin);
        let up = MatRef::row_major(&u[p * cin * cout..(p + 1) * cin * cout], cin, cout);
        let m = &mut ws.m[p * n * cout..(p + 1) * n * cout];
        matmul(m, v, up, false, Parallelism::None);
    }
}

/// Where the forward pass puts each tile's 2x2 outputs.
trait TileSink {
    /// Takes the raw outputs `quad` (`[4][out]`) of tile `t` of image `image` of the chunk
    /// (the tiles of an image in order).
    fn take<S: Simd>(&mut self, simd: S, image: usize, t: usize, quad: &[f32]);
}

/// Full-size output after bias and ReLU, NCHW.
struct FullOutput<'a> {
    g: &'a ConvGeometry,
    out: &'a mut [f32],
    bias: &'a [f32],
}

impl TileSink for FullOutput<'_> {
    #[inline(always)]
    fn take<S: Simd>(&mut self, _: S, image: usize, t: usize, quad: &[f32]) {
        let g = self.g;
        let (w, tw, cout) = (g.width, g.width / 2, g.out_channels);
        let out_image = &mut self.out[image * g.output_image()..][..g.output_image()];
        let at = 2 * (t / tw) * w + 2 * (t % tw);
        for (k, offset) in [0, 1, w, w + 1].into_iter().enumerate() {
            let quad = &quad[k * cout..(k + 1) * cout];
            for ((plane, &v), &b) in out_image
                .chunks_exact_mut(g.plane())
                .zip(quad)
                .zip(self.bias)
            {
                plane[at + offset] = (v + b).max(0.0);
            }
        }
    }
}

/// Pooled output after bias and ReLU, NCHW, and each window's winner.
struct PooledOutput<'a> {
    g: &'a ConvGeometry,
    pooled: &'a mut [f32],
    argmax: &'a mut [u8],
    bias: &'a [f32],
    /// One image's pooled values, channel-last (`[tiles][out]`).
    best: AlignedBuf,
    /// One image's winners (0.0 to 3.0), channel-last.
    won: AlignedBuf,
}

impl TileSink for PooledOutput<'_> {
    #[inline(always)]
    fn take<S: Simd>(&mut self, simd: S, image: usize, t: usize, quad: &[f32]) {
        let (cout, per_tile) = (self.g.out_channels, tiles(self.g));
        for channel in (0..cout).step_by(V::<S>::WIDTH) {
            let pixels = quad_at(simd, quad, cout, channel);
            let bias = V::load(simd, self.bias, channel);
            let (max, winner) = pool_vectors(simd, pixels, bias);
            max.store(&mut self.best, t * cout + channel);
            winner.store(&mut self.won, t * cout + channel);
        }
        if t + 1 == per_tile {
            let at = image * cout * per_tile..(image + 1) * cout * per_tile;
            channel_first_pooled(
                (&self.best, &self.won),
                per_tile,
                0..cout,
                &mut self.pooled[at.clone()],
                &mut self.argmax[at],
            );
        }
    }
}

/// The forward pass over the images of one chunk, piece by piece.
struct ForwardChunk<'a, K> {
    g: &'a ConvGeometry,
    /// The thread's buffers.
    ws: &'a mut Workspace,
    /// `[count, in, h, w]`, or `[count, h, w, in]` as `layout` says.
    images: &'a [f32],
    layout: Layout,
    u: &'a [f32],
    sink: K,
}

impl<K: TileSink> Kernel for ForwardChunk<'_, K> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(mut self, simd: S) {
        let (g, ws) = (self.g, &mut *self.ws);
        let per_tile = tiles(g);
        let count = self.images.len() / g.input_image();
        for first in (0..count).step_by(IMAGES_PER_PIECE) {
            let piece = IMAGES_PER_PIECE.min(count - first);
            let n = piece * per_tile;
            for s in 0..piece {
                let image = &self.images[(first + s) * g.input_image()..][..g.input_image()];
                match self.layout {
                    Layout::ChannelFirst => pad_channel_last(g, image, &mut ws.padded),
                    Layout::ChannelLast => pad_from_channel_last(g, image, &mut ws.padded),
                }
                input_transform(simd, g, ws, s * per_tile, n);
            }
            multiply(g, ws, self.u, n);
            for s in 0..piece {
                for t in 0..per_tile {
                    output_transform(simd, g, ws, s * per_tile + t, n);
                    self.sink.take(simd, first + s, t, &ws.quad);
                }
            }
        }
    }
}

/// `out = relu(conv(input, weight) + bias)` for a whole batch, `u` the filters from
/// [`transform_filters`].
pub fn forward(g: &ConvGeometry, input: &[f32], u: &[f32], bias: &[f32], out: &mut [f32]) {
    check_sizes(g, input, u, bias);
    assert_eq!(out.len(), g.batch * g.output_image(), "output size");
    let per_chunk = images_per_chunk(g.batch);
    out.par_chunks_mut(per_chunk * g.output_image())
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|(out, images)| {
            let sink = FullOutput { g, out, bias };
            with_workspace(g, |ws| {
                vectorized(ForwardChunk {
                    g,
                    ws,
                    images,
                    layout: Layout::ChannelFirst,
                    u,
                    sink,
                })
            });
        });
}

/// `pooled = maxpool2x2(relu(conv(input, weight) + bias))` and each window's winner (0
/// top-left, 1 top-right, 2 bottom-left, 3 bottom-right, the first on ties), as
/// [`super::conv_kernels::forward_pooled`] gives them.
pub fn forward_pooled(
    g: &ConvGeometry,
    input: &[f32],
    u: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    forward_pooled_from((input, Layout::ChannelFirst), g, u, bias, pooled, argmax);
}

/// [`forward_pooled`] on an input laid out as `layout` says.
pub fn forward_pooled_from(
    (input, layout): (&[f32], Layout),
    g: &ConvGeometry,
    u: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    check_sizes(g, input, u, bias);
    pooled_in_chunks(g, input, pooled, argmax, |images, pooled, argmax| {
        let sink = PooledOutput {
            g,
            pooled,
            argmax,
            bias,
            best: AlignedBuf::zeros(tiles(g) * g.out_channels),
            won: AlignedBuf::zeros(tiles(g) * g.out_channels),
        };
        with_workspace(g, |ws| {
            vectorized(ForwardChunk {
                g,
                ws,
                images,
                layout,
                u,
                sink,
            })
        });
    });
}

fn check_sizes(g: &ConvGeometry, input: &[f32], u: &[f32], bias: &[f32]) {
    assert!(supports(g), "Winograd F(2x2, 5x5) does not handle {g:?}");
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    assert_eq!(
        u.len(),
        POSITIONS * g.in_channels * g.out_channels,
        "filter size"
    );
    assert_eq!(bias.len(), g.out_channels, "bias size");
}

/// Writes the gradients on the raw 2x2 outputs of every tile of image `index`, tile `first`
/// on of the piece, into `ws.dy` (`[tiles][4][out]`), and adds them to `grad_bias`.
#[inline(always)]
fn output_gradients<S: Simd>(
    simd: S,
    g: &ConvGeometry,
    ws: &mut Workspace,
    upstream: &Upstream<'_>,
    (index, first): (usize, usize),
    grad_bias: &mut [f32],
) {
    let (cout, per_tile) = (g.out_channels, tiles(g));
    let (pooled, argmax, grad) = match *upstream {
        Upstream::Pooled {
            pooled,
            argmax,
            grad,
        } => (pooled, argmax, grad),
        Upstream::Relu { out, grad } => {
            for t in 0..per_tile {
                let quad = &mut ws.dy[(first + t) * 4 * cout..][..4 * cout];
                unpooled_output_gradient(g, (out, grad), index, t, quad, grad_bias);
            }
            return;
        }
    };
    // Each tile is one pooling window: its gradient goes to the window's winner, a vector
    // of channels at a time, from the image's gradients turned channel-last.
    let image = index * cout * per_tile..(index + 1) * cout * per_tile;
    channel_last_gradients(
        (&pooled[image.clone()], &argmax[image.clone()], &grad[image]),
        per_tile,
        0..cout,
        &mut ws.passed,
        &mut ws.won,
    );
    for t in 0..per_tile {
        let quad = &mut ws.dy[(first + t) * 4 * cout..][..4 * cout];
        for channel in (0..cout).step_by(V::<S>::WIDTH) {
            let passed = V::load(simd, &ws.passed, t * cout + channel);
            let won = V::load(simd, &ws.won, t * cout + channel);
            for (k, dy) in route_to_winner(passed, won).into_iter().enumerate() {
                dy.store(quad, k * cout + channel);
            }
            passed.add_to(grad_bias, channel);
        }
    }
}

/// Fills `quad` (`[4][out]`) with the gradient on the raw 2x2 outputs of tile `t` of image
/// `index` for an unpooled layer, from its output after ReLU and the gradient on it (as
/// `Upstream::Relu` gives them), and adds it to `grad_bias`.
#[inline(always)]
fn unpooled_output_gradient(
    g: &ConvGeometry,
    (out, grad): (&[f32], &[f32]),
    index: usize,
    t: usize,
    quad: &mut [f32],
    grad_bias: &mut [f32],
) {
    let cout = g.out_channels;
    let (w, tw) = (g.width, g.width / 2);
    let base = index * g.output_image() + 2 * (t / tw) * w + 2 * (t % tw);
    for (k, offset) in [0, 1, w, w + 1].into_iter().enumerate() {
        for o in 0..cout {
            let at = base + o * g.plane() + offset;
            let gr = if out[at] > 0.0 { grad[at] } else { 0.0 };
            quad[k * cout + o] = gr;
            grad_bias[o] += gr;
        }
    }
}

/// Backward pass of [`forward`] or [`forward_pooled`], as `upstream` says: the filter and
/// bias gradients, and the input's gradient added into `grad_input` when one is given.
pub fn backward(
    g: &ConvGeometry,
    input: &[f32],
    u: &[f32],
    upstream: Upstream<'_>,
    grad_input: Option<&mut [f32]>,
) -> ConvGrads {
    assert!(supports(g), "Winograd F(2x2, 5x5) does not handle {g:?}");
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    let (du, grad_bias) = backward_in_chunks(
        g,
        grad_input,
        (POSITIONS * g.in_channels * g.out_channels, g.out_channels),
        |range, grad_input| {
            with_workspace(g, |ws| {
                vectorized(BackwardChunk {
                    g,
                    ws,
                    input,
                    u,
                    upstream: &upstream,
                    range,
                    grad_input,
                })
            })
        },
    );
    ConvGrads {
        weight: filter_gradient(g, &du),
        bias: grad_bias,
    }
}

/// The backward pass over images `range`: returns this chunk's `dU` and bias gradient, and
/// adds the input gradient of those images into `grad_input` when given.
struct BackwardChunk<'a> {
    g: &'a ConvGeometry,
    /// The thread's buffers.
    ws: &'a mut Workspace,
    /// The whole batch's input.
    input: &'a [f32],
    u: &'a [f32],
    upstream: &'a Upstream<'a>,
    range: std::ops::Range<usize>,
    /// The input gradient of images `range` only.
    grad_input: Option<&'a mut [f32]>,
}

impl Kernel for BackwardChunk<'_> {
    type Output = (Vec<f32>, Vec<f32>);

    #[inline(always)]
    fn run<S: Simd>(mut self, simd: S) -> (Vec<f32>, Vec<f32>) {
        let (g, ws) = (self.g, &mut *self.ws);
        let (cin, cout, per_tile) = (g.in_channels, g.out_channels, tiles(g));
        let mut du = vec![0.0f32; POSITIONS * cin * cout];
        let mut grad_bias = vec![0.0f32; cout];
        for first in self.range.clone().step_by(IMAGES_PER_PIECE) {
            let piece = IMAGES_PER_PIECE.min(self.range.end - first);
            let n = piece * per_tile;
            for s in 0..piece {
                let image = &self.input[(first + s) * g.input_image()..][..g.input_image()];
                pad_channel_last(g, image, &mut ws.padded);
                input_transform(simd, g, ws, s * per_tile, n);
                let tiles = (first + s, s * per_tile);
                output_gradients(simd, g, ws, self.upstream, tiles, &mut grad_bias);
            }
            six!(for r => {
                output_gradient_row(simd, g, ws, r, n);
                for c in 0..TILE {
                    let p = r * TILE + c;
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
                        input_gradient_transform(simd, g, ws, s * per_tile, t, n);
                    }
                    let local = first + s - self.range.start;
                    let dst = &mut grad_input[local * g.input_image()..][..g.input_image()];
                    unpad_channel_last_add(g, &ws.padded, dst);
                }
                // The next piece pads its images into a plane whose border must be zero.
                ws.padded.fill(0.0);
            }
        }
        (du, grad_bias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conv_kernels;

    fn geometry(batch: usize, cin: usize, cout: usize, h: usize, w: usize) -> ConvGeometry {
        ConvGeometry {
            batch,
            in_channels: cin,
            out_channels: cout,
            kernel: KERNEL,
            height: h,
            width: w,
        }
    }

    use crate::model::test_values as random;

    /// The raw convolution (no bias, no ReLU) in f64, NCHW.
    fn conv_f64(g: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f64> {
        let (h, w, k) = (g.height as isize, g.width as isize, KERNEL as isize);
        let mut out = vec![0.0f64; g.batch * g.output_image()];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for y in 0..h {
                    for x in 0..w {
                        let mut acc = 0.0f64;
                        for i in 0..g.in_channels {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (iy, ix) = (y + ky - 2, x + kx - 2);
                                    if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                        continue;
                                    }
                                    let xi = ((n * g.in_channels + i) * g.plane())
                                        + (iy * w + ix) as usize;
                                    let wi = ((o * g.in_channels + i) * KERNEL + ky as usize)
                                        * KERNEL
                                        + kx as usize;
                                    acc += f64::from(input[xi]) * f64::from(weight[wi]);
                                }
                            }
                        }
                        out[(n * g.out_channels + o) * g.plane() + (y * w + x) as usize] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn filters_go_to_the_transformed_domain_and_their_gradients_come_back_by_the_transpose() {
        // <dU, G g Gᵀ> = <Gᵀ dU G, g> for any g and dU: the two maps are adjoint.
        let g = geometry(1, 8, 3, 4, 4);
        let weight = random(3 * 8 * 25, 1);
        let du = random(POSITIONS * 8 * 3, 2);
        let u = transform_filters(&g, &weight);
        let dg = filter_gradient(&g, &du);
        let lhs: f64 = du
            .iter()
            .zip(&u)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let rhs: f64 = dg
            .iter()
            .zip(&weight)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn forward_matches_the_direct_sum_in_f64() {
        // conv2's shape, and a small one whose last piece is partial.
        for (batch, cin, cout, h, w) in [(3, 32, 64, 14, 14), (IMAGES_PER_PIECE + 2, 16, 32, 6, 8)]
        {
            let g = geometry(batch, cin, cout, h, w);
            let input = random(batch * g.input_image(), 3);
            let weight: Vec<f32> = random(cout * cin * 25, 4).iter().map(|v| v * 0.1).collect();
            let bias = vec![0.0f32; cout];
            let mut out = vec![f32::NAN; batch * g.output_image()];
            forward(&g, &input, &transform_filters(&g, &weight), &bias, &mut out);
            let mut direct = vec![f32::NAN; out.len()];
            conv_kernels::forward(&g, &input, &weight, &bias, &mut direct);
            let want: Vec<f64> = conv_f64(&g, &input, &weight)
                .iter()
                .map(|v| v.max(0.0))
                .collect();
            let (winograd, im2col) = (relative_error(&out, &want), relative_error(&direct, &want));
            eprintln!("{g:?}: forward relative error Winograd {winograd:e}, im2col {im2col:e}");
            assert!(winograd <= 1e-5, "{winograd:e}");
        }
    }

    /// The gradient on the raw convolution output from a pooled upstream: each window's
    /// winner gets the pooled gradient where the pooled value passed the ReLU.
    fn unpool_f64(g: &ConvGeometry, pooled: &[f32], argmax: &[u8], grad: &[f32]) -> Vec<f64> {
        let (w, pw) = (g.width, g.width / 2);
        let mut out = vec![0.0f64; g.batch * g.output_image()];
        for (i, ((&p, &a), &gr)) in pooled.iter().zip(argmax).zip(grad).enumerate() {
            let (plane, at) = (i / (g.plane() / 4), i % (g.plane() / 4));
            let (py, px) = (at / pw, at % pw);
            let (dy, dx) = (usize::from(a) / 2, usize::from(a) % 2);
            if p > 0.0 {
                out[plane * g.plane() + (2 * py + dy) * w + 2 * px + dx] = f64::from(gr);
            }
        }
        out
    }

    /// Filter and input gradients of the raw convolution for output gradient `dy`, in f64.
    fn conv_backward_f64(
        g: &ConvGeometry,
        input: &[f32],
        weight: &[f32],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let (h, w) = (g.height as isize, g.width as isize);
        let mut dw = vec![0.0f64; weight.len()];
        let mut dx = vec![0.0f64; input.len()];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for y in 0..h {
                    for x in 0..w {
                        let d = dy[(n * g.out_channels + o) * g.plane() + (y * w + x) as usize];
                        if d == 0.0 {
                            continue;
                        }
                        for i in 0..g.in_channels {
                            for ky in 0..5isize {
                                for kx in 0..5isize {
                                    let (iy, ix) = (y + ky - 2, x + kx - 2);
                                    if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                        continue;
                                    }
                                    let xi = (n * g.in_channels + i) * g.plane()
                                        + (iy * w + ix) as usize;
                                    let wi = ((o * g.in_channels + i) * 5 + ky as usize) * 5
                                        + kx as usize;
                                    dw[wi] += d * f64::from(input[xi]);
                                    dx[xi] += d * f64::from(weight[wi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        (dw, dx)
    }

    /// Largest error of `got` against `want`, relative to `want`'s largest magnitude.
    fn relative_error(got: &[f32], want: &[f64]) -> f64 {
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        got.iter()
            .zip(want)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max)
            / scale
    }

    #[test]
    fn pooled_backward_matches_the_f64_reference_as_closely_as_im2col() {
        // conv2's shape, with more images than a piece.
        let g = geometry(IMAGES_PER_PIECE + 3, 32, 64, 14, 14);
        let input: Vec<f32> = random(g.batch * g.input_image(), 5)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let weight: Vec<f32> = random(64 * 32 * 25, 6).iter().map(|v| v * 0.035).collect();
        let bias = random(64, 7);
        let pooled_len = g.batch * g.output_image() / 4;
        let (mut p1, mut a1) = (vec![0.0f32; pooled_len], vec![0u8; pooled_len]);
        let (mut p2, mut a2) = (vec![0.0f32; pooled_len], vec![0u8; pooled_len]);
        let u = transform_filters(&g, &weight);
        forward_pooled(&g, &input, &u, &bias, &mut p1, &mut a1);
        conv_kernels::forward_pooled(&g, &input, &weight, &bias, &mut p2, &mut a2);
        let scale = p2.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (x, y) in p1.iter().zip(&p2) {
            assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
        }
        let grad = random(pooled_len, 8);
        // The same winners, so both backward passes see the same upstream.
        let upstream = Upstream::Pooled {
            pooled: &p2,
            argmax: &a2,
            grad: &grad,
        };
        let mut gx1 = vec![0.0f32; g.batch * g.input_image()];
        let mut gx2 = gx1.clone();
        let w1 = backward(&g, &input, &u, upstream, Some(&mut gx1));
        let w2 = conv_kernels::backward(&g, &input, &weight, upstream, Some(&mut gx2));
        let dy = unpool_f64(&g, &p2, &a2, &grad);
        let (dw, dx) = conv_backward_f64(&g, &input, &weight, &dy);
        let errors = [
            (
                relative_error(&w1.weight, &dw),
                relative_error(&w2.weight, &dw),
            ),
            (relative_error(&gx1, &dx), relative_error(&gx2, &dx)),
        ];
        eprintln!(
            "relative error (Winograd, im2col): weight {:?}, input {:?}",
            errors[0], errors[1]
        );
        for (winograd, im2col) in errors {
            assert!(
                winograd <= 1e-5_f64.max(4.0 * im2col),
                "{winograd:e} vs {im2col:e}"
            );
        }
        let db: Vec<f64> = (0..64)
            .map(|o| dy.chunks(g.plane()).skip(o).step_by(64).flatten().sum())
            .collect();
        assert!(relative_error(&w1.bias, &db) <= 1e-5);
    }

    #[test]
    fn unpooled_backward_matches_im2col() {
        let g = geometry(3, 16, 16, 6, 8);
        let input = random(g.batch * g.input_image(), 9);
        let weight: Vec<f32> = random(16 * 16 * 25, 10).iter().map(|v| v * 0.2).collect();
        let bias = random(16, 11);
        let mut out = vec![0.0f32; g.batch * g.output_image()];
        conv_kernels::forward(&g, &input, &weight, &bias, &mut out);
        let grad = random(out.len(), 12);
        let upstream = Upstream::Relu {
            out: &out,
            grad: &grad,
        };
        let u = transform_filters(&g, &weight);
        let mut gx1 = vec![0.0f32; g.batch * g.input_image()];
        let mut gx2 = gx1.clone();
        let w1 = backward(&g, &input, &u, upstream, Some(&mut gx1));
        let w2 = conv_kernels::backward(&g, &input, &weight, upstream, Some(&mut gx2));
        for (a, b) in [(&w1.weight, &w2.weight), (&w1.bias, &w2.bias), (&gx1, &gx2)] {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
            }
        }
        let w3 = backward(&g, &input, &u, upstream, None);
        assert_eq!(w3.weight, w1.weight);
    }
}
