//! Looking inside the network for one image at a time: class probabilities, the feature maps
//! after each convolution block, the first layer's filters, and an occlusion map of what the
//! prediction rests on. No tape: nothing here trains.

use dfdx::prelude::*;

use super::score::{classify, softmax_rows};
use super::{
    contents, image_batch, Layers, Network, CLASSES, CONV1_CHANNELS, IMAGE_PIXELS, IMAGE_SIDE,
    KERNEL,
};

/// Side of a conv1 feature map after pooling.
pub const CONV1_MAP_SIDE: usize = IMAGE_SIDE / 2;
/// Side of a conv2 feature map after pooling.
pub const CONV2_MAP_SIDE: usize = IMAGE_SIDE / 4;
/// Side of the square patch that [`occlusion`] greys out.
pub const OCCLUSION_PATCH: usize = 6;
/// Pixels between two patch positions of [`occlusion`].
pub const OCCLUSION_STRIDE: usize = 2;

/// What the network computes for one image on the way to its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// conv1's 32 maps after ReLU and pooling, 14x14 each, map after map.
    pub conv1: Vec<f32>,
    /// conv2's 64 maps after ReLU and pooling, 7x7 each, map after map.
    pub conv2: Vec<f32>,
    /// The ten class probabilities.
    pub probabilities: Vec<f32>,
}

/// The feature maps and probabilities of one image.
pub fn activations(model: &Network, device: &Cpu, image: &[f32]) -> Activations {
    let x = image_batch(device, image[..IMAGE_PIXELS].to_vec());
    let pooled1 = model.conv1().forward(x);
    let pooled2 = model.conv2().forward(pooled1.clone());
    let conv1 = contents(&pooled1);
    let conv2 = contents(&pooled2);
    let flat: Tensor<(usize, Const<{ super::FLAT }>), f32, Cpu> = pooled2.reshape_like(&(1, Const));
    let logits = model.output().forward(model.hidden().forward(flat));
    let mut probabilities = contents(&logits);
    softmax_rows(&mut probabilities);
    Activations {
        conv1,
        conv2,
        probabilities,
    }
}

/// The first layer's 32 filters, 5x5 each, filter after filter.
pub fn first_layer_filters(model: &Network) -> Vec<f32> {
    let filters = contents(&model.conv1().weight);
    debug_assert_eq!(filters.len(), CONV1_CHANNELS * KERNEL * KERNEL);
    filters
}

/// Where the prediction of `class` rests: for every pixel, how much the class's probability
/// falls when a patch around it is blanked out, scaled so the largest fall is 1 (0 where
/// blanking only helps). One batch of forward passes, one per patch position.
pub fn occlusion(model: &Network, device: &Cpu, image: &[f32], class: usize) -> Vec<f32> {
    let positions: Vec<(usize, usize)> = patch_starts()
        .flat_map(|y| patch_starts().map(move |x| (y, x)))
        .collect();
    let mut batch = Vec::with_capacity((positions.len() + 1) * IMAGE_PIXELS);
    batch.extend_from_slice(&image[..IMAGE_PIXELS]);
    for &(y, x) in &positions {
        let start = batch.len();
        batch.extend_from_slice(&image[..IMAGE_PIXELS]);
        for row in y..y + OCCLUSION_PATCH {
            let offset = start + row * IMAGE_SIDE + x;
            batch[offset..offset + OCCLUSION_PATCH].fill(0.0);
        }
    }
    let probs = classify(model, device, &batch);
    let base = probs[class];
    let mut fall = vec![0.0f32; IMAGE_PIXELS];
    let mut covered = vec![0u32; IMAGE_PIXELS];
    for (k, &(y, x)) in positions.iter().enumerate() {
        let drop = base - probs[(k + 1) * CLASSES + class];
        for row in y..y + OCCLUSION_PATCH {
            for col in x..x + OCCLUSION_PATCH {
                fall[row * IMAGE_SIDE + col] += drop;
                covered[row * IMAGE_SIDE + col] += 1;
            }
        }
    }
    for (f, &n) in fall.iter_mut().zip(&covered) {
        *f = (*f / n.max(1) as f32).max(0.0);
    }
    let top = fall.iter().copied().fold(0.0f32, f32::max);
    if top > 0.0 {
        fall.iter_mut().for_each(|f| *f /= top);
    }
    fall
}

/// Top-left corners of the occlusion patches along one side.
fn patch_starts() -> impl Iterator<Item = usize> + Clone {
    (0..=IMAGE_SIDE - OCCLUSION_PATCH).step_by(OCCLUSION_STRIDE)
}

/// A vertical bar down the middle of an image, a stroke like a 1 (tests).
#[cfg(test)]
pub(crate) fn vertical_bar() -> Vec<f32> {
    let mut image = vec![0.0f32; IMAGE_PIXELS];
    for row in 4..24 {
        image[row * IMAGE_SIDE + 14] = 1.0;
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{build, Init};

    fn network() -> (Cpu, Network) {
        let device = Cpu::seed_from_u64(3);
        let model = build(&device, Init::FanIn);
        (device, model)
    }

    #[test]
    fn activations_end_in_the_same_probabilities_as_the_whole_network() {
        let (device, model) = network();
        let image = vertical_bar();
        let a = activations(&model, &device, &image);
        assert_eq!(a.conv1.len(), 32 * CONV1_MAP_SIDE * CONV1_MAP_SIDE);
        assert_eq!(a.conv2.len(), 64 * CONV2_MAP_SIDE * CONV2_MAP_SIDE);
        let whole = classify(&model, &device, &image);
        for (x, y) in a.probabilities.iter().zip(&whole) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
        assert!((whole.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(
            a.conv1.iter().chain(&a.conv2).all(|&v| v >= 0.0),
            "after ReLU"
        );
    }

    #[test]
    fn occlusion_is_zero_where_nothing_is_drawn_far_from_the_ink_and_peaks_at_one() {
        let (device, model) = network();
        let image = vertical_bar();
        let class = crate::model::score::argmax(&classify(&model, &device, &image));
        let map = occlusion(&model, &device, &image, class);
        assert_eq!(map.len(), IMAGE_PIXELS);
        assert!(map.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // A corner patch holds no ink: blanking it changes nothing.
        assert_eq!(map[0], 0.0);
        let top = map.iter().copied().fold(0.0f32, f32::max);
        assert!(top == 1.0 || top == 0.0, "{top}");
    }

    #[test]
    fn filters_are_the_first_layers_weights() {
        let (_, model) = network();
        let filters = first_layer_filters(&model);
        assert_eq!(filters.len(), 32 * 25);
        assert_eq!(filters, contents(&model.conv1().weight));
    }
}
