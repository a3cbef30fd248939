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
pub mod dropout;
pub mod flatten;
pub mod init;
pub mod matmul;
pub mod pool;

use std::sync::Mutex;

use dfdx::prelude::*;

pub use conv::ConvSameRelu;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use init::Init;
pub use pool::MaxPool2x2;

/// Side of an input image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels of one input image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Digit classes.
pub const CLASSES: usize = 10;

/// The network as builder types: what [`build`] constructs.
pub type NetworkSpec = (
    conv::builder::ConvSameRelu<1, 32, 5, false, true>,
    conv::builder::ConvSameRelu<32, 64, 5, true, true>,
    Flatten<3136>,
    dense::builder::Dense<3136, 1024, true>,
    Dropout,
    dense::builder::Dense<1024, CLASSES, false>,
);

/// The built network on the CPU.
pub type Network = <NetworkSpec as BuildOnDevice<Cpu, f32>>::Built;

/// A batch of images, the batch size known only at run time.
pub type ImageBatch<T = NoneTape> = Tensor<(usize, Const<1>, Const<28>, Const<28>), f32, Cpu, T>;

/// A batch of logits or one-hot labels.
pub type ClassBatch<T = NoneTape> = Tensor<(usize, Const<CLASSES>), f32, Cpu, T>;

/// Builds the network on `device` and initialises it by `init` from the device's RNG.
pub fn build(device: &Cpu, init: Init) -> Network {
    let mut model = device.build_module::<NetworkSpec, f32>();
    init::apply(&mut model, init);
    model
}

/// Sets the probability with which training drops units of the 1024-unit layer.
pub fn set_dropout(model: &mut Network, p: f32) {
    model.4.p = p;
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
