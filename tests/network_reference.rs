//! The whole network against an independent computation: for fixed weights and a fixed batch,
//! the logits, the mean cross-entropy, the gradient of every parameter and the weights after
//! one Adam step of `train_step` are compared with the same quantities computed here in f64
//! with plain loops (convolutions, pooling, dense layers, softmax and backpropagation written
//! out by hand, sharing no code with the crate).

// Index loops, so the code reads as the formulas do.
#![allow(clippy::needless_range_loop)]

mod common;

use common::tensors::{parameters, to64, values};
use dfdx::prelude::*;
use digitdash::model::{self, Init, Layers, CLASSES, IMAGE_PIXELS};
use digitdash::train::step::{loss_and_gradients, new_optimizer, train_step};

/// Images in the batch.
const B: usize = 3;
/// Image side.
const S: usize = 28;
/// Kernel side and its 'SAME' padding.
const K: usize = 5;
const PAD: isize = 2;
/// Channels of the two convolutions.
const C1: usize = 32;
const C2: usize = 64;
/// Units of the hidden layer, and its input (64 maps of 7x7).
const HIDDEN: usize = 1024;
const FLAT: usize = C2 * 7 * 7;
/// Adam's learning rate and epsilon (the tutorial's, as `new_optimizer` sets them).
const LR: f64 = 1e-3;
const EPS: f64 = 1e-8;

/// The network's parameters in f64, in the layouts the crate documents: convolution filters
/// `[out, in, k, k]`, dense weights `[out, in]`.
struct Params {
    c1w: Vec<f64>,
    c1b: Vec<f64>,
    c2w: Vec<f64>,
    c2b: Vec<f64>,
    hw: Vec<f64>,
    hb: Vec<f64>,
    ow: Vec<f64>,
    ob: Vec<f64>,
}

impl Params {
    fn of(model: &model::Network) -> Self {
        let p: Vec<Vec<f64>> = parameters(model).iter().map(|(_, v)| to64(v)).collect();
        let [c1w, c1b, c2w, c2b, hw, hb, ow, ob] = <[Vec<f64>; 8]>::try_from(p).unwrap();
        Self {
            c1w,
            c1b,
            c2w,
            c2b,
            hw,
            hb,
            ow,
            ob,
        }
    }

    /// The tensors in the order of [`parameters`].
    fn all(&self) -> [&Vec<f64>; 8] {
        [
            &self.c1w, &self.c1b, &self.c2w, &self.c2b, &self.hw, &self.hb, &self.ow, &self.ob,
        ]
    }
}

/// The taps of a SAME 5x5 window: for output pixel (`y`, `x`) of plane `o` of image `n`, each
/// (input index, weight index) pair inside the image, over all `cin` input planes.
fn taps(
    n: usize,
    o: usize,
    cin: usize,
    side: usize,
    y: usize,
    x: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let inside = move |at: usize, k: usize| {
        let i = at as isize + k as isize - PAD;
        (0..side as isize).contains(&i).then_some(i as usize)
    };
    (0..cin).flat_map(move |c| {
        (0..K).flat_map(move |ky| {
            (0..K).filter_map(move |kx| {
                let (iy, ix) = (inside(y, ky)?, inside(x, kx)?);
                Some((
                    ((n * cin + c) * side + iy) * side + ix,
                    ((o * cin + c) * K + ky) * K + kx,
                ))
            })
        })
    })
}

/// `relu(conv_same(x) + b)` of `B` images of `cin` planes of `side x side`.
fn conv_relu(x: &[f64], cin: usize, cout: usize, side: usize, w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; B * cout * side * side];
    for n in 0..B {
        for o in 0..cout {
            for y in 0..side {
                for xx in 0..side {
                    let mut acc = b[o];
                    for (xi, wi) in taps(n, o, cin, side, y, xx) {
                        acc += x[xi] * w[wi];
                    }
                    out[((n * cout + o) * side + y) * side + xx] = acc.max(0.0);
                }
            }
        }
    }
    out
}

/// The gradients of [`conv_relu`]'s weights, bias and (when `input`) input, given its input
/// `x`, its output `out` and the gradient `g` of its output.
#[allow(clippy::too_many_arguments)]
fn conv_relu_backward(
    x: &[f64],
    out: &[f64],
    g: &[f64],
    cin: usize,
    cout: usize,
    side: usize,
    w: &[f64],
    input: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut gw = vec![0.0; cout * cin * K * K];
    let mut gb = vec![0.0; cout];
    let mut gx = vec![0.0; if input { x.len() } else { 0 }];
    for n in 0..B {
        for o in 0..cout {
            for y in 0..side {
                for xx in 0..side {
                    let oi = ((n * cout + o) * side + y) * side + xx;
                    // ReLU: no gradient where the output was clipped to zero.
                    let d = if out[oi] > 0.0 { g[oi] } else { 0.0 };
                    if d == 0.0 {
                        continue;
                    }
                    gb[o] += d;
                    for (xi, wi) in taps(n, o, cin, side, y, xx) {
                        gw[wi] += d * x[xi];
                        if input {
                            gx[xi] += d * w[wi];
                        }
                    }
                }
            }
        }
    }
    (gw, gb, gx)
}

/// 2x2 max-pooling of `planes` planes of `side x side`: the values and, for each, the index of
/// the input that won (the first of equals).
fn pool(x: &[f64], planes: usize, side: usize) -> (Vec<f64>, Vec<usize>) {
    let half = side / 2;
    let mut out = vec![0.0; planes * half * half];
    let mut won = vec![0; planes * half * half];
    for p in 0..planes {
        for y in 0..half {
            for xx in 0..half {
                let mut best = (f64::NEG_INFINITY, 0);
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let i = (p * side + 2 * y + dy) * side + 2 * xx + dx;
                    if x[i] > best.0 {
                        best = (x[i], i);
                    }
                }
                let oi = (p * half + y) * half + xx;
                (out[oi], won[oi]) = best;
            }
        }
    }
    (out, won)
}

/// The gradient of a pooling's input: each output's gradient goes to the input that won.
fn pool_backward(g: &[f64], won: &[usize], input_len: usize) -> Vec<f64> {
    let mut gx = vec![0.0; input_len];
    for (&d, &i) in g.iter().zip(won) {
        gx[i] += d;
    }
    gx
}

/// `x W^T + b` for `B` rows of `input` features, `W` being `[out, in]`; ReLU when `relu`.
fn dense(x: &[f64], w: &[f64], b: &[f64], input: usize, out: usize, relu: bool) -> Vec<f64> {
    let mut y = vec![0.0; B * out];
    for n in 0..B {
        for o in 0..out {
            let row = &w[o * input..(o + 1) * input];
            let v = b[o]
                + row
                    .iter()
                    .zip(&x[n * input..])
                    .map(|(a, c)| a * c)
                    .sum::<f64>();
            y[n * out + o] = if relu { v.max(0.0) } else { v };
        }
    }
    y
}

/// The gradients of [`dense`]'s weights, bias and input, given the gradient `g` of its output
/// (already through the ReLU).
fn dense_backward(
    x: &[f64],
    g: &[f64],
    w: &[f64],
    input: usize,
    out: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut gw = vec![0.0; out * input];
    let mut gb = vec![0.0; out];
    let mut gx = vec![0.0; B * input];
    for n in 0..B {
        for o in 0..out {
            let d = g[n * out + o];
            if d == 0.0 {
                continue;
            }
            gb[o] += d;
            for i in 0..input {
                gw[o * input + i] += d * x[n * input + i];
                gx[n * input + i] += d * w[o * input + i];
            }
        }
    }
    (gw, gb, gx)
}

/// What the reference computes for a batch.
struct Reference {
    logits: Vec<f64>,
    loss: f64,
    /// Gradients in the order of [`parameters`].
    grads: Vec<Vec<f64>>,
}

/// Forward and backward through the whole network (no dropout), with the mean cross-entropy
/// over the batch as the loss.
fn reference(p: &Params, pixels: &[f64], one_hot: &[f64]) -> Reference {
    let a1 = conv_relu(pixels, 1, C1, S, &p.c1w, &p.c1b);
    let (p1, won1) = pool(&a1, B * C1, S);
    let a2 = conv_relu(&p1, C1, C2, S / 2, &p.c2w, &p.c2b);
    let (p2, won2) = pool(&a2, B * C2, S / 2);
    // Flattening keeps the [channel, row, column] order of each image.
    let h = dense(&p2, &p.hw, &p.hb, FLAT, HIDDEN, true);
    let logits = dense(&h, &p.ow, &p.ob, HIDDEN, CLASSES, false);

    let mut loss = 0.0;
    let mut g_logits = vec![0.0; B * CLASSES];
    for n in 0..B {
        let row = &logits[n * CLASSES..(n + 1) * CLASSES];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|z| (z - max).exp()).sum();
        let log_sum = max + sum.ln();
        for k in 0..CLASSES {
            let y = one_hot[n * CLASSES + k];
            loss -= y * (row[k] - log_sum);
            g_logits[n * CLASSES + k] = ((row[k] - log_sum).exp() - y) / B as f64;
        }
    }
    loss /= B as f64;

    let (g_ow, g_ob, g_h) = dense_backward(&h, &g_logits, &p.ow, HIDDEN, CLASSES);
    let g_h: Vec<f64> = g_h
        .iter()
        .zip(&h)
        .map(|(&g, &v)| if v > 0.0 { g } else { 0.0 })
        .collect();
    let (g_hw, g_hb, g_p2) = dense_backward(&p2, &g_h, &p.hw, FLAT, HIDDEN);
    let g_a2 = pool_backward(&g_p2, &won2, a2.len());
    let (g_c2w, g_c2b, g_p1) = conv_relu_backward(&p1, &a2, &g_a2, C1, C2, S / 2, &p.c2w, true);
    let g_a1 = pool_backward(&g_p1, &won1, a1.len());
    let (g_c1w, g_c1b, _) = conv_relu_backward(pixels, &a1, &g_a1, 1, C1, S, &p.c1w, false);
    Reference {
        logits,
        loss,
        grads: vec![g_c1w, g_c1b, g_c2w, g_c2b, g_hw, g_hb, g_ow, g_ob],
    }
}

/// A fixed batch: pixels from a fixed pseudo-random sequence in 0..1 (no zeros, so every
/// filter tap matters) and labels 3, 7, 1.
fn batch() -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_f491_u32;
    let pixels = (0..B * IMAGE_PIXELS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 24) as f32 * 0.98 + 0.01
        })
        .collect();
    let mut one_hot = vec![0.0; B * CLASSES];
    for (n, label) in [3, 7, 1].into_iter().enumerate() {
        one_hot[n * CLASSES + label] = 1.0;
    }
    (pixels, one_hot)
}

/// The network with fixed weights (PyTorch-style uniform start from a fixed seed) and no
/// dropout, so the forward pass is deterministic.
fn network() -> (Cpu, model::Network) {
    let device = Cpu::seed_from_u64(2024);
    let mut net = model::build(&device, Init::FanIn);
    model::set_dropout(&mut net, 0.0);
    (device, net)
}

/// Gradients within `REL` of the reference value plus `ABS` of the tensor's largest one:
/// f32 sums of up to a few thousand terms against f64. A gradient off by a few percent
/// anywhere in a tensor is far outside this.
const REL: f64 = 1e-3;
const ABS: f64 = 1e-5;

fn assert_gradient_close(name: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{name}: the reference gradient is all zeros");
    let mut nonzero = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= REL * w.abs() + ABS * scale,
            "gradient of {name}[{i}]: got {g:e}, reference {w:e} (largest {scale:e})"
        );
        nonzero += usize::from(w != 0.0);
    }
    // Many entries take part (units a ReLU shut for the whole batch have none): the
    // comparison is not over a tensor of zeros.
    assert!(
        nonzero * 4 > want.len(),
        "{name}: {nonzero} of {}",
        want.len()
    );
}

#[test]
fn logits_loss_and_every_gradient_match_an_f64_reference() {
    let (device, mut net) = network();
    let (pixels, one_hot) = batch();
    let want = reference(&Params::of(&net), &to64(&pixels), &to64(&one_hot));

    let mut grads = net.alloc_grads();
    let got = loss_and_gradients(&mut net, &mut grads, &device, pixels, &one_hot);

    let scale = want.logits.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.logits.iter().zip(&want.logits).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= 1e-5 * (1.0 + scale),
            "logit {i}: got {g}, reference {w}"
        );
    }
    assert!(
        (f64::from(got.loss) - want.loss).abs() <= 1e-5 * (1.0 + want.loss),
        "loss: got {}, reference {}",
        got.loss,
        want.loss
    );
    let tensors = [
        ("conv1.weight", values(&grads.get(&net.conv1().weight))),
        ("conv1.bias", values(&grads.get(&net.conv1().bias))),
        ("conv2.weight", values(&grads.get(&net.conv2().weight))),
        ("conv2.bias", values(&grads.get(&net.conv2().bias))),
        ("hidden.weight", values(&grads.get(&net.hidden().weight))),
        ("hidden.bias", values(&grads.get(&net.hidden().bias))),
        ("output.weight", values(&grads.get(&net.output().weight))),
        ("output.bias", values(&grads.get(&net.output().bias))),
    ];
    for ((name, got), want) in tensors.iter().zip(&want.grads) {
        assert_gradient_close(name, got, want);
    }
}

#[test]
fn one_adam_step_moves_each_weight_as_the_reference_says() {
    let (device, mut net) = network();
    let (pixels, one_hot) = batch();
    let before = Params::of(&net);
    let want = reference(&before, &to64(&pixels), &to64(&one_hot));

    let mut grads = net.alloc_grads();
    let mut optimizer = new_optimizer(&net, LR);
    let output = train_step(
        &mut net,
        &mut optimizer,
        &mut grads,
        &device,
        pixels,
        &one_hot,
    )
    .expect("a finite loss");
    assert!((f64::from(output.loss) - want.loss).abs() <= 1e-5 * (1.0 + want.loss));

    // Adam's first step: m = (1 - b1) g and v = (1 - b2) g^2, so after bias correction the
    // update is lr * g / (|g| + eps), whatever the betas.
    let after = Params::of(&net);
    let names = [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "hidden.weight",
        "hidden.bias",
        "output.weight",
        "output.bias",
    ];
    for (((name, w0), w1), g) in names
        .iter()
        .zip(before.all())
        .zip(after.all())
        .zip(&want.grads)
    {
        let mut moved = 0;
        for i in 0..w0.len() {
            let expected = w0[i] - LR * g[i] / (g[i].abs() + EPS);
            // The step's size is exact up to f32 rounding of the weight, except where the
            // gradient is so small that its f32 rounding changes g / (|g| + eps).
            let tolerance = 1e-3 * LR + 4.0 * f64::from(f32::EPSILON) * w0[i].abs();
            let slack = if g[i].abs() < 1e-6 { LR } else { 0.0 };
            assert!(
                (w1[i] - expected).abs() <= tolerance + slack,
                "{name}[{i}]: {} -> {}, reference {expected} (gradient {:e})",
                w0[i],
                w1[i],
                g[i]
            );
            moved += usize::from(w1[i] != w0[i]);
        }
        assert!(moved * 4 > w0.len(), "{name}: only {moved} weights moved");
    }
}
