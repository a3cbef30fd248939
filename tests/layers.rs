//! The hand-written layers against plain f64 reference implementations: forward values and
//! gradients (by central finite differences of the reference).

mod common;

use common::tensors::assert_training_pass_matches_evaluation;
use dfdx::prelude::*;
use digitdash::model::conv::builder::ConvSameRelu as ConvSpec;
use digitdash::model::{ConvSameRelu, Flatten, MaxPool2x2};
use rand::{rngs::StdRng, Rng, SeedableRng};

const B: usize = 2;
const I: usize = 3;
const O: usize = 4;
const K: usize = 5;
const H: usize = 6;
const W: usize = 8;

fn random(n: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn values<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let mut v = vec![0.0; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// Sizes of a convolution: batch, input and output channels, height and width.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    i: usize,
    o: usize,
    h: usize,
    w: usize,
}

/// The sizes of the tests that use this file's constants.
const DIMS: Dims = Dims {
    b: B,
    i: I,
    o: O,
    h: H,
    w: W,
};

/// Calls `f([image, output channel, y, x], input index, weight index)` for every product
/// of a 'SAME' convolution of kernel `K`, the zero border skipped.
fn for_each_product(d: Dims, mut f: impl FnMut([usize; 4], usize, usize)) {
    let pad = (K / 2) as isize;
    for n in 0..d.b {
        for o in 0..d.o {
            for y in 0..d.h {
                for xx in 0..d.w {
                    for c in 0..d.i {
                        for ky in 0..K {
                            for kx in 0..K {
                                let iy = y as isize + ky as isize - pad;
                                let ix = xx as isize + kx as isize - pad;
                                if iy < 0 || ix < 0 || iy >= d.h as isize || ix >= d.w as isize {
                                    continue;
                                }
                                let xi = ((n * d.i + c) * d.h + iy as usize) * d.w + ix as usize;
                                let wi = ((o * d.i + c) * K + ky) * K + kx;
                                f([n, o, y, xx], xi, wi);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// relu(conv_same(x, w) + b) with f64 loops.
fn conv_relu_f64(d: Dims, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; d.b * d.o * d.h * d.w];
    let at = |[n, o, y, xx]: [usize; 4]| ((n * d.o + o) * d.h + y) * d.w + xx;
    for n in 0..d.b {
        for o in 0..d.o {
            for y in 0..d.h {
                for xx in 0..d.w {
                    out[at([n, o, y, xx])] = b[o];
                }
            }
        }
    }
    for_each_product(d, |pixel, xi, wi| out[at(pixel)] += x[xi] * w[wi]);
    out.iter().map(|v| v.max(0.0)).collect()
}

/// relu(conv_same(x, w) + b) with f64 loops, this file's sizes.
fn conv_reference(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    conv_relu_f64(DIMS, x, w, b)
}

fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// d(sum(r * f(v)))/dv by central differences, one coordinate at a time.
fn numeric_grad(v: &[f64], r: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let eps = 1e-5;
    (0..v.len())
        .map(|i| {
            let mut plus = v.to_vec();
            plus[i] += eps;
            let mut minus = v.to_vec();
            minus[i] -= eps;
            (dot(r, &f(&plus)) - dot(r, &f(&minus))) / (2.0 * eps)
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

#[test]
fn conv_forward_and_gradients_match_the_reference() {
    let dev = Cpu::seed_from_u64(1);
    let mut rng = StdRng::seed_from_u64(7);
    let conv: ConvSameRelu<I, O, K, f32, Cpu> = dev.build_module::<ConvSpec<I, O, K>, f32>();
    let x_vals = random(B * I * H * W, &mut rng);
    let r_vals = random(B * O * H * W, &mut rng);
    let x = dev.tensor_from_vec(x_vals.clone(), (B, Const::<I>, Const::<H>, Const::<W>));
    let r = dev.tensor_from_vec(r_vals.clone(), (B, Const::<O>, Const::<H>, Const::<W>));

    let out = conv.forward(x.leaky_trace());
    let (x64, w64, b64, r64) = (
        to64(&x_vals),
        to64(&values(&conv.weight)),
        to64(&values(&conv.bias)),
        to64(&r_vals),
    );
    let reference = conv_reference(&x64, &w64, &b64);
    assert_close(&values(&out), &reference, 1e-5, "conv forward");
    assert!(reference.contains(&0.0) && reference.iter().any(|&v| v > 0.0));

    let grads = (out * r).sum().backward();
    let gx = numeric_grad(&x64, &r64, &|x| conv_reference(x, &w64, &b64));
    let gw = numeric_grad(&w64, &r64, &|w| conv_reference(&x64, w, &b64));
    let gb = numeric_grad(&b64, &r64, &|b| conv_reference(&x64, &w64, b));
    assert_close(&values(&grads.get(&x)), &gx, 1e-3, "d/dx");
    assert_close(&values(&grads.get(&conv.weight)), &gw, 1e-3, "d/dweight");
    assert_close(&values(&grads.get(&conv.bias)), &gb, 1e-3, "d/dbias");
}

fn pool_reference(x: &[f64], planes: usize) -> Vec<f64> {
    let (oh, ow) = (H / 2, W / 2);
    let mut out = vec![f64::NEG_INFINITY; planes * oh * ow];
    for p in 0..planes {
        for y in 0..H {
            for xx in 0..W {
                let o = &mut out[(p * oh + y / 2) * ow + xx / 2];
                *o = o.max(x[(p * H + y) * W + xx]);
            }
        }
    }
    out
}

#[test]
fn maxpool_forward_and_gradients_match_the_reference() {
    let dev = Cpu::default();
    let mut rng = StdRng::seed_from_u64(3);
    let x_vals = random(B * I * H * W, &mut rng);
    let r_vals = random(B * I * (H / 2) * (W / 2), &mut rng);
    let x = dev.tensor_from_vec(x_vals.clone(), (B, Const::<I>, Const::<H>, Const::<W>));
    let r = dev.tensor_from_vec(r_vals.clone(), (B, Const::<I>, Const::<3>, Const::<4>));
    let out = MaxPool2x2.forward(x.leaky_trace());
    let reference = pool_reference(&to64(&x_vals), B * I);
    assert_close(&values(&out), &reference, 1e-7, "pool forward");

    let grads = (out * r).sum().backward();
    let gx = numeric_grad(&to64(&x_vals), &to64(&r_vals), &|x| {
        pool_reference(x, B * I)
    });
    assert_close(&values(&grads.get(&x)), &gx, 1e-4, "pool d/dx");
}

#[test]
fn flatten_keeps_order_and_passes_gradients_through() {
    let dev = Cpu::default();
    let vals: Vec<f32> = (0..2 * 3 * 2 * 2).map(|v| v as f32).collect();
    let x = dev.tensor_from_vec(vals.clone(), (2usize, Const::<3>, Const::<2>, Const::<2>));
    let flat = Flatten::<12>.forward(x.leaky_trace());
    assert_eq!(flat.shape().1, Const::<12>);
    assert_eq!(values(&flat), vals);
    let grads = (flat * 2.0).sum().backward();
    assert!(values(&grads.get(&x)).iter().all(|&g| g == 2.0));
}

#[test]
fn a_first_layer_conv_without_input_gradient_has_the_same_weight_gradients() {
    let dev = Cpu::seed_from_u64(2);
    let mut rng = StdRng::seed_from_u64(11);
    let with: ConvSameRelu<I, O, K, f32, Cpu> = dev.build_module::<ConvSpec<I, O, K>, f32>();
    let mut without = dev.build_module::<ConvSpec<I, O, K, false>, f32>();
    without.weight.copy_from(&values(&with.weight));
    without.bias.copy_from(&values(&with.bias));
    let x_vals = random(B * I * H * W, &mut rng);
    let r_vals = random(B * O * H * W, &mut rng);
    let run = |grads_of: &dyn Fn(Tensor<_, f32, Cpu, OwnedTape<f32, Cpu>>) -> _| {
        let x = dev.tensor_from_vec(x_vals.clone(), (B, Const::<I>, Const::<H>, Const::<W>));
        let r = dev.tensor_from_vec(r_vals.clone(), (B, Const::<O>, Const::<H>, Const::<W>));
        grads_of(x.leaky_trace()) * r
    };
    let grads_with = run(&|x| with.forward(x)).sum().backward();
    let grads_without = run(&|x| without.forward(x)).sum().backward();
    assert_eq!(
        values(&grads_with.get(&with.weight)),
        values(&grads_without.get(&without.weight))
    );
    assert_eq!(
        values(&grads_with.get(&with.bias)),
        values(&grads_without.get(&without.bias))
    );
}

/// relu?(x W^T + b) with f64 loops; x is [rows, inp], w [out, inp].
fn dense_reference(x: &[f64], w: &[f64], b: &[f64], rows: usize, relu: bool) -> Vec<f64> {
    let (inp, out) = (w.len() / b.len(), b.len());
    let mut y = vec![0.0; rows * out];
    for r in 0..rows {
        for o in 0..out {
            let v = b[o]
                + (0..inp)
                    .map(|i| x[r * inp + i] * w[o * inp + i])
                    .sum::<f64>();
            y[r * out + o] = if relu { v.max(0.0) } else { v };
        }
    }
    y
}

fn check_dense<const RELU: bool>() {
    use digitdash::model::dense::builder::Dense as DenseSpec;
    const IN: usize = 7;
    const OUT: usize = 5;
    let rows = 3;
    let dev = Cpu::seed_from_u64(5);
    let mut rng = StdRng::seed_from_u64(13);
    let dense = dev.build_module::<DenseSpec<IN, OUT, RELU>, f32>();
    let x_vals = random(rows * IN, &mut rng);
    let r_vals = random(rows * OUT, &mut rng);
    let x = dev.tensor_from_vec(x_vals.clone(), (rows, Const::<IN>));
    let r = dev.tensor_from_vec(r_vals.clone(), (rows, Const::<OUT>));
    let out = dense.forward(x.leaky_trace());
    let (x64, w64, b64, r64) = (
        to64(&x_vals),
        to64(&values(&dense.weight)),
        to64(&values(&dense.bias)),
        to64(&r_vals),
    );
    let reference = dense_reference(&x64, &w64, &b64, rows, RELU);
    assert_close(&values(&out), &reference, 1e-5, "dense forward");
    let grads = (out * r).sum().backward();
    let f_x = |x: &[f64]| dense_reference(x, &w64, &b64, rows, RELU);
    let f_w = |w: &[f64]| dense_reference(&x64, w, &b64, rows, RELU);
    let f_b = |b: &[f64]| dense_reference(&x64, &w64, b, rows, RELU);
    assert_close(
        &values(&grads.get(&x)),
        &numeric_grad(&x64, &r64, &f_x),
        1e-3,
        "dense d/dx",
    );
    assert_close(
        &values(&grads.get(&dense.weight)),
        &numeric_grad(&w64, &r64, &f_w),
        1e-3,
        "dense d/dw",
    );
    assert_close(
        &values(&grads.get(&dense.bias)),
        &numeric_grad(&b64, &r64, &f_b),
        1e-3,
        "dense d/db",
    );
}

#[test]
fn dense_forward_and_gradients_match_the_reference() {
    check_dense::<true>();
    check_dense::<false>();
}

#[test]
fn fused_conv_and_pool_equals_conv_then_pool() {
    let dev = Cpu::seed_from_u64(4);
    let mut rng = StdRng::seed_from_u64(17);
    let separate: ConvSameRelu<I, O, K, f32, Cpu> = dev.build_module::<ConvSpec<I, O, K>, f32>();
    let mut fused = dev.build_module::<ConvSpec<I, O, K, true, true>, f32>();
    fused.weight.copy_from(&values(&separate.weight));
    fused.bias.copy_from(&values(&separate.bias));
    let x_vals = random(B * I * H * W, &mut rng);
    let r_vals = random(B * O * (H / 2) * (W / 2), &mut rng);
    let input = || dev.tensor_from_vec(x_vals.clone(), (B, Const::<I>, Const::<H>, Const::<W>));
    let r = || dev.tensor_from_vec(r_vals.clone(), (B, Const::<O>, Const::<3>, Const::<4>));

    let (x1, x2) = (input(), input());
    let out1 = MaxPool2x2.forward(separate.forward(x1.leaky_trace()));
    let out2 = fused.forward(x2.leaky_trace());
    let reference = to64(&values(&out1));
    assert_close(&values(&out2), &reference, 1e-6, "fused forward");
    assert!(
        reference.contains(&0.0),
        "some windows must be all negative to test the ReLU"
    );

    let g1 = (out1 * r()).sum().backward();
    let g2 = (out2 * r()).sum().backward();
    let pairs = [
        (values(&g1.get(&x1)), values(&g2.get(&x2)), "d/dx"),
        (
            values(&g1.get(&separate.weight)),
            values(&g2.get(&fused.weight)),
            "d/dweight",
        ),
        (
            values(&g1.get(&separate.bias)),
            values(&g2.get(&fused.bias)),
            "d/dbias",
        ),
    ];
    for (want, got, what) in pairs {
        assert_close(&got, &to64(&want), 1e-5, what);
    }
}

#[test]
fn the_network_gives_the_same_step_on_one_thread_and_on_four() {
    use digitdash::model::{self, Init, CLASSES, IMAGE_PIXELS};
    use digitdash::train::step::{new_optimizer, train_step};
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let dev = Cpu::seed_from_u64(9);
            let mut net = model::build(&dev, Init::FanIn);
            let mut grads = net.alloc_grads();
            let mut opt = new_optimizer(&net, 1e-3);
            let mut rng = StdRng::seed_from_u64(21);
            let batch = 6;
            let pixels: Vec<f32> = (0..batch * IMAGE_PIXELS).map(|_| rng.gen()).collect();
            let mut one_hot = vec![0.0; batch * CLASSES];
            for (i, row) in one_hot.chunks_mut(CLASSES).enumerate() {
                row[i % CLASSES] = 1.0;
            }
            let first = train_step(
                &mut net,
                &mut opt,
                &mut grads,
                &dev,
                pixels.clone(),
                &one_hot,
            )
            .unwrap();
            let second =
                train_step(&mut net, &mut opt, &mut grads, &dev, pixels, &one_hot).unwrap();
            (first.logits, second.logits, second.loss)
        })
    };
    let (a1, a2, loss_a) = run(1);
    let (b1, b2, loss_b) = run(4);
    assert_close(&b1, &to64(&a1), 1e-5, "logits before any update");
    assert_close(&b2, &to64(&a2), 1e-4, "logits after one update");
    assert!((loss_a - loss_b).abs() < 1e-4, "{loss_a} vs {loss_b}");
}

#[test]
fn the_networks_dropout_acts_in_training_only() {
    use digitdash::model::{self, Init};
    let dev = Cpu::seed_from_u64(21);
    let mut net = model::build(&dev, Init::Tutorial);
    let x: Tensor<(usize, Const<1>, Const<28>, Const<28>), f32, Cpu> =
        dev.sample_uniform_like(&(4usize, Const::<1>, Const::<28>, Const::<28>));
    model::set_dropout(&mut net, 0.5);
    let evaluated = values(&net.forward(x.clone()));
    model::set_dropout(&mut net, 0.0);
    assert_eq!(
        values(&net.forward(x.clone())),
        evaluated,
        "evaluation never drops"
    );
    let trained_without = values(&net.forward_mut(x.clone().traced(net.alloc_grads())));
    assert_training_pass_matches_evaluation(&trained_without, &evaluated, "p = 0 drops nothing");
    model::set_dropout(&mut net, 0.5);
    let trained_with = values(&net.forward_mut(x.traced(net.alloc_grads())));
    assert_ne!(trained_with, evaluated, "training with p = 0.5 drops units");
}

/// 2x2 max-pooling of `y` (`d`'s output), and for each window the index in `y` of its
/// largest value (the first on ties).
fn pool_f64(d: Dims, y: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let (ph, pw) = (d.h / 2, d.w / 2);
    let mut pooled = vec![f64::NEG_INFINITY; d.b * d.o * ph * pw];
    let mut winner = vec![0; pooled.len()];
    for plane in 0..d.b * d.o {
        for py in 0..ph {
            for px in 0..pw {
                let p = (plane * ph + py) * pw + px;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let at = (plane * d.h + 2 * py + dy) * d.w + 2 * px + dx;
                    if y[at] > pooled[p] {
                        pooled[p] = y[at];
                        winner[p] = at;
                    }
                }
            }
        }
    }
    (pooled, winner)
}

/// Checks the pooled output `out` of a layer against 2x2 max-pooling of `y` (its unpooled
/// f64 reference), seeds its backward pass with random weights, and returns the gradients
/// with the f64 reference's (for `x`, `w` and the bias) for the same weights.
#[allow(clippy::type_complexity)]
fn check_pooled<C: ConstDim>(
    out: Tensor<(usize, C, Const<3>, Const<4>), f32, Cpu, OwnedTape<f32, Cpu>>,
    d: Dims,
    (x, w): (&[f64], &[f64]),
    y: &[f64],
    rng: &mut StdRng,
) -> (Gradients<f32, Cpu>, (Vec<f64>, Vec<f64>, Vec<f64>)) {
    let (want, winners) = pool_f64(d, y);
    assert_close(&values(&out), &want, 1e-5, "pooled forward");
    let dp = random(want.len(), rng);
    let r = out.device().tensor_from_vec(dp.clone(), *out.shape());
    let grads = (out * r).sum().backward();
    let mut dy = vec![0.0; y.len()];
    for (&at, &g) in winners.iter().zip(&dp) {
        dy[at] = f64::from(g);
    }
    (grads, conv_relu_grads_f64(d, (x, w), y, &dy))
}

/// The gradients of `sum(dy * y)` for `y = relu(conv_same(x, w) + b)`, by the chain rule in
/// f64: with respect to `x`, `w` and `b`.
fn conv_relu_grads_f64(
    d: Dims,
    (x, w): (&[f64], &[f64]),
    y: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let at = |[n, o, yy, xx]: [usize; 4]| ((n * d.o + o) * d.h + yy) * d.w + xx;
    let through_relu = |pixel| {
        if y[at(pixel)] > 0.0 {
            dy[at(pixel)]
        } else {
            0.0
        }
    };
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    let mut db = vec![0.0; d.o];
    for_each_product(d, |pixel, xi, wi| {
        let g = through_relu(pixel);
        dx[xi] += g * w[wi];
        dw[wi] += g * x[xi];
    });
    for (i, &v) in dy.iter().enumerate() {
        if y[i] > 0.0 {
            db[(i / (d.h * d.w)) % d.o] += v;
        }
    }
    (dx, dw, db)
}

#[test]
fn every_convolution_algorithm_matches_the_f64_reference() {
    let dev = Cpu::seed_from_u64(6);
    let mut rng = StdRng::seed_from_u64(19);
    // Winograd (16 input channels), without and with pooling.
    let d = Dims {
        b: B,
        i: 16,
        o: 16,
        h: H,
        w: W,
    };
    let x_vals = random(d.b * d.i * d.h * d.w, &mut rng);
    let x = || dev.tensor_from_vec(x_vals.clone(), (B, Const::<16>, Const::<H>, Const::<W>));
    let winograd: ConvSameRelu<16, 16, K, f32, Cpu> =
        dev.build_module::<ConvSpec<16, 16, K>, f32>();
    let dy = random(d.b * d.o * d.h * d.w, &mut rng);
    let x1 = x();
    let out = winograd.forward(x1.leaky_trace());
    let r = dev.tensor_from_vec(dy.clone(), (B, Const::<16>, Const::<H>, Const::<W>));
    let (w64, b64) = (
        to64(&values(&winograd.weight)),
        to64(&values(&winograd.bias)),
    );
    let y = conv_relu_f64(d, &to64(&x_vals), &w64, &b64);
    assert_close(&values(&out), &y, 1e-5, "Winograd forward");
    let grads = (out * r).sum().backward();
    let (dx, dw, db) = conv_relu_grads_f64(d, (&to64(&x_vals), &w64), &y, &to64(&dy));
    assert_close(&values(&grads.get(&x1)), &dx, 1e-4, "Winograd d/dx");
    assert_close(
        &values(&grads.get(&winograd.weight)),
        &dw,
        1e-4,
        "Winograd d/dweight",
    );
    assert_close(
        &values(&grads.get(&winograd.bias)),
        &db,
        1e-4,
        "Winograd d/dbias",
    );

    let mut pooled = dev.build_module::<ConvSpec<16, 16, K, true, true>, f32>();
    pooled.weight.copy_from(&values(&winograd.weight));
    pooled.bias.copy_from(&values(&winograd.bias));
    let x2 = x();
    let out = pooled.forward(x2.leaky_trace());
    let (grads, (dx, dw, db)) = check_pooled(out, d, (&to64(&x_vals), &w64), &y, &mut rng);
    assert_close(&values(&grads.get(&x2)), &dx, 1e-4, "pooled Winograd d/dx");
    assert_close(
        &values(&grads.get(&pooled.weight)),
        &dw,
        1e-4,
        "pooled Winograd d/dweight",
    );
    assert_close(
        &values(&grads.get(&pooled.bias)),
        &db,
        1e-4,
        "pooled Winograd d/dbias",
    );

    // The direct kernel: one input channel, pooled, no input gradient.
    let d = Dims {
        b: B,
        i: 1,
        o: 16,
        h: H,
        w: W,
    };
    let x_vals = random(d.b * d.h * d.w, &mut rng);
    let first = dev.build_module::<ConvSpec<1, 16, K, false, true>, f32>();
    let x3 = dev.tensor_from_vec(x_vals.clone(), (B, Const::<1>, Const::<H>, Const::<W>));
    let out = first.forward(x3.leaky_trace());
    let (w64, b64) = (to64(&values(&first.weight)), to64(&values(&first.bias)));
    let y = conv_relu_f64(d, &to64(&x_vals), &w64, &b64);
    let (grads, (_, dw, db)) = check_pooled(out, d, (&to64(&x_vals), &w64), &y, &mut rng);
    assert_close(
        &values(&grads.get(&first.weight)),
        &dw,
        1e-4,
        "direct d/dweight",
    );
    assert_close(
        &values(&grads.get(&first.bias)),
        &db,
        1e-4,
        "direct d/dbias",
    );
}
