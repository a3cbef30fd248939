//! The tutorial's network with compile-time shapes, and what it is built from.
//!
//! ```text
//! [B,1,28,28] -conv 5x5 SAME, ReLU-> [B,32,28,28] -maxpool 2-> [B,32,14,14]
//!             -conv 5x5 SAME, ReLU-> [B,64,14,14] -maxpool 2-> [B,64,7,7]
//!             -flatten-> [B,3136] -dense, ReLU-> [B,1024] -dropout-> -dense-> [B,10] logits
//! ```
//!
//! Every layer is this project's own dfdx module (dfdx's tensors, tape, loss and Adam do the
//! rest): the convolution and pooling because dfdx 0.13 has them only behind `nightly`, the
//! dense layers because fusing bias and ReLU into one multi-threaded product is several times
//! faster than dfdx's `Linear` followed by `ReLU`. Pooling is fused into the convolution
//! (`ConvSameRelu<.., POOL = true>`); the standalone [`MaxPool2x2`] is the reference it is
//! tested against.

pub mod conv;
pub mod conv_kernels;
pub mod dense;
pub mod direct;
pub mod dropout;
pub mod flatten;
pub mod init;
pub mod lent;
pub mod matmul;
pub mod pool;
pub mod probe;
pub mod score;
pub mod simd;
pub mod threads;
pub mod transpose;
pub mod winograd;

use std::sync::Mutex;

use dfdx::prelude::*;

pub use conv::ConvSameRelu;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use init::Init;
pub use pool::MaxPool2x2;

pub use crate::data::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};

/// Feature maps of the first convolution.
pub const CONV1_CHANNELS: usize = 32;
/// Feature maps of the second convolution.
pub const CONV2_CHANNELS: usize = 64;
/// Side of both convolution kernels.
pub const KERNEL: usize = 5;
/// Values the second block hands to the dense layers: 64 maps of 7x7 after two poolings.
pub const FLAT: usize = CONV2_CHANNELS * (IMAGE_SIDE / 4) * (IMAGE_SIDE / 4);
/// Units of the hidden dense layer.
pub const HIDDEN: usize = 1024;

/// First block: 5x5x32 SAME convolution, ReLU, 2x2 max-pool (no input gradient needed).
type Conv1Spec = conv::builder::ConvSameRelu<1, CONV1_CHANNELS, KERNEL, false, true>;
/// Second block: 5x5x64 SAME convolution, ReLU, 2x2 max-pool.
type Conv2Spec = conv::builder::ConvSameRelu<CONV1_CHANNELS, CONV2_CHANNELS, KERNEL, true, true>;
/// Hidden dense layer with ReLU.
type HiddenSpec = dense::builder::Dense<FLAT, HIDDEN, true>;
/// Output dense layer: the logits.
type OutputSpec = dense::builder::Dense<HIDDEN, CLASSES, false>;

/// The network as builder types: what [`build`] constructs. Layers are reached by name
/// through [`Layers`], never by their place in the tuple.
pub type NetworkSpec = (
    Conv1Spec,
    Conv2Spec,
    Flatten<FLAT>,
    HiddenSpec,
    Dropout,
    OutputSpec,
);

/// The built network on the CPU.
pub type Network = <NetworkSpec as BuildOnDevice<Cpu, f32>>::Built;

/// The first convolution block, built.
pub type Conv1 = <Conv1Spec as BuildOnDevice<Cpu, f32>>::Built;
/// The second convolution block, built.
pub type Conv2 = <Conv2Spec as BuildOnDevice<Cpu, f32>>::Built;
/// The hidden dense layer, built.
pub type Hidden = <HiddenSpec as BuildOnDevice<Cpu, f32>>::Built;
/// The output dense layer, built.
pub type Output = <OutputSpec as BuildOnDevice<Cpu, f32>>::Built;

/// The shape of a batch of input images, the batch size known only at run time.
pub type ImageShape = (usize, Const<1>, Const<IMAGE_SIDE>, Const<IMAGE_SIDE>);

/// A batch of images.
pub type ImageBatch<T = NoneTape> = Tensor<ImageShape, f32, Cpu, T>;

/// A batch of logits or one-hot labels.
pub type ClassBatch<T = NoneTape> = Tensor<(usize, Const<CLASSES>), f32, Cpu, T>;

/// The layers of [`Network`] by name.
pub trait Layers {
    /// The first convolution block.
    fn conv1(&self) -> &Conv1;
    /// The second convolution block.
    fn conv2(&self) -> &Conv2;
    /// The hidden dense layer.
    fn hidden(&self) -> &Hidden;
    /// The dropout after the hidden layer.
    fn dropout(&self) -> &Dropout;
    /// The output layer.
    fn output(&self) -> &Output;
    /// The first convolution block, to change.
    fn conv1_mut(&mut self) -> &mut Conv1;
    /// The second convolution block, to change.
    fn conv2_mut(&mut self) -> &mut Conv2;
    /// The hidden dense layer, to change.
    fn hidden_mut(&mut self) -> &mut Hidden;
    /// The dropout after the hidden layer, to change.
    fn dropout_mut(&mut self) -> &mut Dropout;
    /// The output layer, to change.
    fn output_mut(&mut self) -> &mut Output;
}

impl Layers for Network {
    fn conv1(&self) -> &Conv1 {
        &self.0
    }
    fn conv2(&self) -> &Conv2 {
        &self.1
    }
    fn hidden(&self) -> &Hidden {
        &self.3
    }
    fn dropout(&self) -> &Dropout {
        &self.4
    }
    fn output(&self) -> &Output {
        &self.5
    }
    fn conv1_mut(&mut self) -> &mut Conv1 {
        &mut self.0
    }
    fn conv2_mut(&mut self) -> &mut Conv2 {
        &mut self.1
    }
    fn hidden_mut(&mut self) -> &mut Hidden {
        &mut self.3
    }
    fn dropout_mut(&mut self) -> &mut Dropout {
        &mut self.4
    }
    fn output_mut(&mut self) -> &mut Output {
        &mut self.5
    }
}

/// A batch of images as a tensor: `pixels` holds [`IMAGE_PIXELS`] values per image.
pub fn image_batch(device: &Cpu, pixels: Vec<f32>) -> ImageBatch {
    let batch = pixels.len() / IMAGE_PIXELS;
    device.tensor_from_vec(pixels, (batch, Const, Const, Const))
}

/// A batch of one-hot labels (or logits) as a tensor: [`CLASSES`] values per image.
pub fn class_batch(device: &Cpu, values: Vec<f32>) -> ClassBatch {
    let batch = values.len() / CLASSES;
    device.tensor_from_vec(values, (batch, Const))
}

/// Builds the network on `device` and initialises it by `init` from the device's RNG.
pub fn build(device: &Cpu, init: Init) -> Network {
    let mut model = device.build_module::<NetworkSpec, f32>();
    init::apply(&mut model, init);
    model
}

/// Sets the probability with which training drops units of the 1024-unit layer.
pub fn set_dropout(model: &mut Network, p: f32) {
    model.dropout_mut().p = p;
}

/// Copies handed back by [`recycle`], reused by [`contents`]: a fresh 13 MB copy of the dense
/// layer's weights would otherwise be zeroed before every copy.
static SPARE_COPIES: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
/// At most this many spare copies are kept.
const SPARE_LIMIT: usize = 16;
/// Copies smaller than this are not worth keeping.
const SPARE_MIN_LEN: usize = 1 << 14;

/// The tensor's values as a plain vector (a memcpy; tensors here are contiguous).
pub(crate) fn contents<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let n = t.shape().num_elements();
    let mut v = take_spare(n).unwrap_or_else(|| vec![0.0f32; n]);
    t.copy_into(&mut v);
    v
}

fn take_spare(len: usize) -> Option<Vec<f32>> {
    if len < SPARE_MIN_LEN {
        return None;
    }
    let mut spare = SPARE_COPIES.lock().ok()?;
    let index = spare.iter().position(|v| v.len() == len)?;
    Some(spare.swap_remove(index))
}

/// Hands a copy made by [`contents`] back for reuse.
pub(crate) fn recycle(copy: Vec<f32>) {
    if copy.len() < SPARE_MIN_LEN {
        return;
    }
    if let Ok(mut spare) = SPARE_COPIES.lock() {
        if spare.len() < SPARE_LIMIT {
            spare.push(copy);
        }
    }
}

/// Takes the gradient buffer of `t` out of `grads`, leaving it empty: for a layer's own output,
/// whose gradient nothing reads after the layer's backward op.
pub(crate) fn take_grad<S: Shape>(
    grads: &mut Gradients<f32, Cpu>,
    t: &Tensor<S, f32, Cpu>,
) -> Result<Vec<f32>, CpuError> {
    Ok(std::mem::take(&mut **grads.get_or_alloc_mut(t)?))
}

/// `dst += src`, element by element.
pub(crate) fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Pseudo-random values in -1..1 from `seed` (a linear congruential sequence), for the
/// kernels' tests.
#[cfg(test)]
pub(crate) fn test_values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
