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

/// Both tilings.
const TILES: [Tile; 2] = [Tile::F2x2, Tile::F4x4];

/// Runs `f` on a pool of one thread: a batch is then one chunk, and a batch of more images
/// than a piece is cut into several, the last partial.
fn on_one_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool of one thread")
        .install(f)
}

/// Most images of a piece with `tile` on `g`: a batch of more has a second, partial piece.
fn piece(tile: Tile, g: &ConvGeometry) -> usize {
    with_tiling!(tile, T => images_per_piece::<T>(g))
}

#[test]
fn a_layer_takes_the_tiling_with_fewer_products_over_its_plane() {
    // 14x14: 49 tiles of 36 against 16 of 64 (the last row and column past the plane).
    let conv2 = geometry(1, 32, 64, 14, 14);
    assert_eq!(
        (Tile::F2x2.products(&conv2), Tile::F4x4.products(&conv2)),
        (1764, 1024)
    );
    assert_eq!(Tile::for_geometry(&conv2), Tile::F4x4);
    // 2x2: one tile each, 36 against 64.
    assert_eq!(Tile::for_geometry(&geometry(1, 16, 16, 2, 2)), Tile::F2x2);
    assert_eq!(Tile::for_geometry(&geometry(1, 16, 16, 6, 6)), Tile::F4x4);
}

#[test]
fn pieces_cover_the_range_evenly() {
    let cut: Vec<_> = pieces(3..28, 24).collect();
    assert_eq!(cut, [(3, 13), (16, 12)]);
    assert_eq!(pieces(0..8, 8).collect::<Vec<_>>(), [(0, 8)]);
    assert_eq!(pieces(5..5, 8).count(), 0);
}

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
                                let xi =
                                    ((n * g.in_channels + i) * g.plane()) + (iy * w + ix) as usize;
                                let wi = ((o * g.in_channels + i) * KERNEL + ky as usize) * KERNEL
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
    for tile in TILES {
        let positions = with_tiling!(tile, T => T::POSITIONS);
        let du = random(positions * 8 * 3, 2);
        let u = transform_filters(tile, &g, &weight).u;
        let dg = with_tiling!(tile, T => filter_gradient::<T>(&g, &du));
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
            "{tile:?}: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn forward_matches_the_direct_sum_in_f64() {
    on_one_thread(forward_matches_the_direct_sum_in_f64_on_this_thread);
}

/// [`forward_matches_the_direct_sum_in_f64`], on the calling thread's pool.
fn forward_matches_the_direct_sum_in_f64_on_this_thread() {
    for tile in TILES {
        // conv2's shape (F(4x4)'s last tiles reaching past the plane), a plane whose width
        // F(4x4) does not divide, and a batch whose last piece is partial.
        let small = geometry(1, 16, 32, 6, 8);
        let shapes = [
            (3, 32, 64, 14, 14),
            (2, 16, 16, 4, 10),
            (piece(tile, &small) + 2, 16, 32, 6, 8),
        ];
        for (batch, cin, cout, h, w) in shapes {
            let g = geometry(batch, cin, cout, h, w);
            let input = random(batch * g.input_image(), 3);
            let weight: Vec<f32> = random(cout * cin * 25, 4).iter().map(|v| v * 0.1).collect();
            let bias = vec![0.0f32; cout];
            let mut out = vec![f32::NAN; batch * g.output_image()];
            let filters = transform_filters(tile, &g, &weight);
            forward(&g, &input, &filters, &bias, &mut out);
            let mut direct = vec![f32::NAN; out.len()];
            conv_kernels::forward(&g, &input, &weight, &bias, &mut direct);
            let want: Vec<f64> = conv_f64(&g, &input, &weight)
                .iter()
                .map(|v| v.max(0.0))
                .collect();
            let (winograd, im2col) = (relative_error(&out, &want), relative_error(&direct, &want));
            eprintln!("{tile:?} {g:?}: forward relative error {winograd:e}, im2col {im2col:e}");
            assert!(winograd <= 1e-5, "{tile:?} {g:?}: {winograd:e}");
        }
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
                                let xi =
                                    (n * g.in_channels + i) * g.plane() + (iy * w + ix) as usize;
                                let wi =
                                    ((o * g.in_channels + i) * 5 + ky as usize) * 5 + kx as usize;
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

/// Largest error of `got` against `want`, relative to `want`'s largest magnitude; infinite
/// where `got` holds a NaN (a value never written, in a buffer filled with NaN first).
fn relative_error(got: &[f32], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .map(|error| if error.is_nan() { f64::INFINITY } else { error })
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn pooled_backward_matches_the_f64_reference_as_closely_as_im2col() {
    on_one_thread(|| {
        for tile in TILES {
            // conv2's shape, and a plane F(4x4) does not divide, each with more images than a
            // piece (on one thread the whole batch is one chunk, cut into pieces).
            for (cin, cout, h, w) in [(32, 64, 14, 14), (16, 32, 6, 10)] {
                let batch = piece(tile, &geometry(1, cin, cout, h, w)) + 3;
                pooled_backward_case(tile, geometry(batch, cin, cout, h, w));
            }
        }
    });
}

/// [`pooled_backward_matches_the_f64_reference_as_closely_as_im2col`] for one tiling and
/// geometry.
fn pooled_backward_case(tile: Tile, g: ConvGeometry) {
    let (cin, cout) = (g.in_channels, g.out_channels);
    let input: Vec<f32> = random(g.batch * g.input_image(), 5)
        .iter()
        .map(|v| v.max(0.0))
        .collect();
    let weight: Vec<f32> = random(cout * cin * 25, 6)
        .iter()
        .map(|v| v * 0.035)
        .collect();
    let bias = random(cout, 7);
    let pooled_len = g.batch * g.output_image() / 4;
    let (mut p1, mut a1) = (vec![0.0f32; pooled_len], vec![0u8; pooled_len]);
    let (mut p2, mut a2) = (vec![0.0f32; pooled_len], vec![0u8; pooled_len]);
    let u = transform_filters(tile, &g, &weight);
    forward_pooled(&g, &input, &u, &bias, &mut p1, &mut a1);
    conv_kernels::forward_pooled(&g, &input, &weight, &bias, &mut p2, &mut a2);
    let scale = p2.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (x, y) in p1.iter().zip(&p2) {
        assert!((x - y).abs() <= 1e-5 * scale, "{tile:?} {g:?}: {x} vs {y}");
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
        "{tile:?} {g:?}: relative error (Winograd, im2col): weight {:?}, input {:?}",
        errors[0], errors[1]
    );
    for (winograd, im2col) in errors {
        assert!(
            winograd <= 1e-5_f64.max(4.0 * im2col),
            "{tile:?} {g:?}: {winograd:e} vs {im2col:e}"
        );
    }
    let db: Vec<f64> = (0..cout)
        .map(|o| dy.chunks(g.plane()).skip(o).step_by(cout).flatten().sum())
        .collect();
    assert!(relative_error(&w1.bias, &db) <= 1e-5, "{tile:?} {g:?}");
}

#[test]
fn unpooled_backward_matches_im2col() {
    for tile in TILES {
        // Sides F(4x4) does not divide.
        let g = geometry(3, 16, 16, 6, 10);
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
        let u = transform_filters(tile, &g, &weight);
        let mut gx1 = vec![0.0f32; g.batch * g.input_image()];
        let mut gx2 = gx1.clone();
        let w1 = backward(&g, &input, &u, upstream, Some(&mut gx1));
        let w2 = conv_kernels::backward(&g, &input, &weight, upstream, Some(&mut gx2));
        for (a, b) in [(&w1.weight, &w2.weight), (&w1.bias, &w2.bias), (&gx1, &gx2)] {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() <= 1e-5 * scale, "{tile:?}: {x} vs {y}");
            }
        }
        let w3 = backward(&g, &input, &u, upstream, None);
        assert_eq!(w3.weight, w1.weight);
    }
}

#[test]
fn inference_pools_the_same_values_without_the_winners_from_either_layout() {
    for tile in TILES {
        let g = geometry(5, 16, 32, 6, 10);
        let input = random(g.batch * g.input_image(), 13);
        let weight: Vec<f32> = random(32 * 16 * 25, 14).iter().map(|v| v * 0.1).collect();
        let bias = random(32, 15);
        let filters = transform_filters(tile, &g, &weight);
        let len = g.batch * g.output_image() / 4;
        let (mut pooled, mut argmax) = (vec![0.0f32; len], vec![0u8; len]);
        forward_pooled(&g, &input, &filters, &bias, &mut pooled, &mut argmax);
        let channel_last = conv_kernels::relayout(
            &input,
            (Layout::ChannelFirst, Layout::ChannelLast),
            g.in_channels,
            g.plane(),
        );
        for (images, layout) in [
            (&input, Layout::ChannelFirst),
            (&channel_last, Layout::ChannelLast),
        ] {
            let mut values = vec![f32::NAN; len];
            pooled_values_from((images, layout), &g, &filters, &bias, &mut values);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&values), bits(&pooled), "{tile:?} {layout:?}");
        }
    }
}

/// `maxpool2x2(relu(conv + bias))` in f64, channel-last: `[image][window][channel]`.
fn pooled_channel_last_f64(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f64> {
    let conv = conv_f64(g, input, weight);
    let (cout, across, windows) = (g.out_channels, g.width / 2, g.plane() / 4);
    let mut out = vec![0.0f64; g.batch * windows * cout];
    for (i, plane) in conv.chunks_exact(g.plane()).enumerate() {
        let (image, channel) = (i / cout, i % cout);
        for window in 0..windows {
            let corner = 2 * (window / across) * g.width + 2 * (window % across);
            let max = [0, 1, g.width, g.width + 1]
                .iter()
                .map(|&offset| plane[corner + offset])
                .fold(f64::NEG_INFINITY, f64::max);
            out[(image * windows + window) * cout + channel] =
                (max + f64::from(bias[channel])).max(0.0);
        }
    }
    out
}

#[test]
fn one_channel_inference_matches_the_direct_sum_in_f64_at_any_thread_count_and_width() {
    // The first layer's shape and two smaller planes, one not square; batches that leave the
    // last group of images (one a lane) part-filled.
    for (cout, h, w, batch) in [(32, 28, 28, 19), (16, 8, 12, 3), (16, 4, 4, 17)] {
        let g = geometry(batch, 1, cout, h, w);
        assert!(one_channel::supports(&g), "{g:?}");
        let input: Vec<f32> = random(batch * g.plane(), 21)
            .iter()
            .map(|v| v.abs())
            .collect();
        let weight: Vec<f32> = random(cout * 25, 22).iter().map(|v| v * 0.2).collect();
        let bias: Vec<f32> = random(cout, 23).iter().map(|v| v * 0.1).collect();
        let want = pooled_channel_last_f64(&g, &input, &weight, &bias);
        let u = one_channel::transform_filters(&g, &weight);
        let run = || {
            let mut pooled = vec![f32::NAN; want.len()];
            one_channel::pooled_values(&g, &input, &u, &bias, &mut pooled);
            pooled
        };
        let (alone, pooled) = (on_one_thread(run), run());
        let error = relative_error(&pooled, &want);
        assert!(error < 1e-5, "{g:?}: error {error:e}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&alone),
            bits(&pooled),
            "{g:?}: one thread against the pool"
        );
        // The whole batch as one chunk at one float a vector, and at AVX2's eight (the width
        // the kernel is chosen for), gives the same bits as the widest.
        let scalar = one_channel_at(pulp::Scalar::new(), &g, &input, &u, &bias);
        assert_eq!(bits(&scalar), bits(&pooled), "{g:?}: scalar");
        let avx2 = pulp::x86::V3::try_new().expect("an x86-64 CPU with AVX2");
        let eight = one_channel_at(avx2, &g, &input, &u, &bias);
        assert_eq!(bits(&eight), bits(&pooled), "{g:?}: AVX2");
    }
}

/// The one-channel kernel's pooled values for the whole batch as one chunk, run with the
/// instruction set `simd`.
fn one_channel_at<S: Simd>(
    simd: S,
    g: &ConvGeometry,
    input: &[f32],
    u: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let mut pooled = vec![f32::NAN; g.batch * g.output_image() / 4];
    let chunk = one_channel::Chunk {
        g,
        images: input,
        u,
        bias,
        pooled: &mut pooled,
    };
    crate::model::simd::vectorized_with(simd, chunk);
    pooled
}

#[test]
fn one_channel_inference_takes_one_channel_on_planes_of_whole_tiles() {
    assert!(one_channel::supports(&geometry(1, 1, 32, 28, 28)));
    assert!(!one_channel::supports(&geometry(1, 2, 32, 28, 28)));
    assert!(!one_channel::supports(&geometry(1, 1, 32, 14, 14)));
    assert!(!one_channel::supports(&geometry(1, 1, 24, 28, 28)));
}
