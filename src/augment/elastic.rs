//! Elastic distortion as Simard, Steinkraus and Platt (2003) describe it: a displacement per
//! pixel, each component drawn uniformly in -1..1, smoothed by a Gaussian of standard
//! deviation sigma and scaled by alpha.

use rand::Rng;

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// How far a pixel's value is fetched from, per pixel: (dx, dy) in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplacementField {
    dx: Vec<f32>,
    dy: Vec<f32>,
    scratch: Scratch,
}

impl DisplacementField {
    /// No displacement anywhere.
    pub fn zero() -> Self {
        Self {
            dx: vec![0.0; IMAGE_PIXELS],
            dy: vec![0.0; IMAGE_PIXELS],
            scratch: Scratch::default(),
        }
    }

    /// A field from its two components (row after row, 784 each).
    pub fn from_components(dx: Vec<f32>, dy: Vec<f32>) -> Option<Self> {
        (dx.len() == IMAGE_PIXELS && dy.len() == IMAGE_PIXELS).then(|| Self {
            dx,
            dy,
            scratch: Scratch::default(),
        })
    }

    /// The displacement at pixel `i`.
    pub fn at(&self, i: usize) -> (f32, f32) {
        (self.dx[i], self.dy[i])
    }

    /// Sets every displacement to zero.
    pub fn clear(&mut self) {
        self.dx.fill(0.0);
        self.dy.fill(0.0);
    }

    /// Draws a fresh field: uniform noise in -1..1 per component, smoothed with `kernel`
    /// (from [`gaussian_kernel`]) and multiplied by `alpha`.
    pub fn randomise(&mut self, rng: &mut impl Rng, kernel: &[f32], alpha: f32) {
        for component in [&mut self.dx, &mut self.dy] {
            for v in component.iter_mut() {
                *v = rng.gen_range(-1.0f32..=1.0);
            }
            smooth(component, &mut self.scratch, kernel);
            component.iter_mut().for_each(|v| *v *= alpha);
        }
    }
}

/// A normalised Gaussian of standard deviation `sigma`, cut at three sigma: `2r + 1` taps
/// summing to 1.
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let sigma = sigma.max(1e-3);
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    kernel
}

/// Work areas for [`smooth`], reused between calls.
#[derive(Debug, Clone, Default, PartialEq)]
struct Scratch {
    /// The image's rows with `radius` zeros on each side.
    wide: Vec<f32>,
    /// The row pass's output with `radius` rows of zeros above and below.
    tall: Vec<Row>,
}

/// One row of an image.
type Row = [f32; IMAGE_SIDE];

/// `out += weight * source`, a whole row at once (fixed-length, so it is vectorised).
fn add_scaled(out: &mut Row, weight: f32, source: &Row) {
    for (o, s) in out.iter_mut().zip(source) {
        *o += weight * s;
    }
}

/// Smooths a 28x28 `image` in place with the separable `kernel` (rows, then columns), values
/// beyond the border counting as 0. Both passes are sums of shifted whole rows.
fn smooth(image: &mut [f32], scratch: &mut Scratch, kernel: &[f32]) {
    let side = IMAGE_SIDE;
    let radius = kernel.len() / 2;
    let wide = side + 2 * radius;
    scratch.wide.clear();
    scratch.wide.resize(side * wide, 0.0);
    scratch.tall.clear();
    scratch.tall.resize(side + 2 * radius, [0.0; IMAGE_SIDE]);
    for y in 0..side {
        scratch.wide[y * wide + radius..][..side].copy_from_slice(&image[y * side..][..side]);
    }
    for y in 0..side {
        let source = &scratch.wide[y * wide..][..wide];
        let out = &mut scratch.tall[y + radius];
        for (k, &weight) in kernel.iter().enumerate() {
            let shifted: &Row = source[k..k + side].try_into().unwrap_or(&[0.0; IMAGE_SIDE]);
            add_scaled(out, weight, shifted);
        }
    }
    for (y, out) in image.chunks_exact_mut(side).enumerate() {
        let mut sum = [0.0; IMAGE_SIDE];
        for (k, &weight) in kernel.iter().enumerate() {
            add_scaled(&mut sum, weight, &scratch.tall[y + k]);
        }
        out.copy_from_slice(&sum);
    }
}
