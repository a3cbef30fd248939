//! Augmentation against hand-computed cases.

use super::*;

/// An image with one lit pixel at (`x`, `y`).
fn dot(x: usize, y: usize) -> Vec<f32> {
    let mut image = vec![0.0; IMAGE_PIXELS];
    image[y * IMAGE_SIDE + x] = 1.0;
    image
}

/// A smooth image with values spread over 0..1 (a ring, like a zero).
fn ring() -> Vec<f32> {
    (0..IMAGE_PIXELS)
        .map(|i| {
            let (x, y) = ((i % IMAGE_SIDE) as f32, (i / IMAGE_SIDE) as f32);
            let r = ((x - CENTRE).powi(2) + (y - CENTRE).powi(2)).sqrt();
            (1.0 - (r - 7.0).abs() / 3.0).clamp(0.0, 1.0)
        })
        .collect()
}

fn warped(image: &[f32], affine: Affine, field: &DisplacementField) -> Vec<f32> {
    let mut out = vec![0.5; IMAGE_PIXELS];
    warp(image, &mut out, &affine, field);
    out
}

#[test]
fn the_identity_and_a_zero_field_change_nothing() {
    let image = ring();
    assert_eq!(
        warped(&image, Affine::IDENTITY, &DisplacementField::zero()),
        image
    );
}

#[test]
fn a_shift_moves_a_known_pixel() {
    let shift = Affine {
        shift_x: 2.0,
        shift_y: -3.0,
        ..Affine::IDENTITY
    };
    let out = warped(&dot(10, 12), shift, &DisplacementField::zero());
    assert_eq!(out[9 * IMAGE_SIDE + 12], 1.0, "(10, 12) moves to (12, 9)");
    assert_eq!(out.iter().sum::<f32>(), 1.0, "and nowhere else");
}

#[test]
fn a_half_pixel_shift_splits_a_pixel_between_two() {
    let shift = Affine {
        shift_x: 0.5,
        ..Affine::IDENTITY
    };
    let out = warped(&dot(10, 12), shift, &DisplacementField::zero());
    assert_eq!(out[12 * IMAGE_SIDE + 10], 0.5);
    assert_eq!(out[12 * IMAGE_SIDE + 11], 0.5);
}

#[test]
fn a_quarter_turn_maps_pixel_centres_as_computed_by_hand() {
    // About the centre (13.5, 13.5), clockwise on screen: (20, 10) is (6.5, -3.5) from the
    // centre and turns to (3.5, 6.5), that is pixel (17, 20).
    let turn = Affine {
        rotation: std::f32::consts::FRAC_PI_2,
        ..Affine::IDENTITY
    };
    let out = warped(&dot(20, 10), turn, &DisplacementField::zero());
    assert!(
        (out[20 * IMAGE_SIDE + 17] - 1.0).abs() < 1e-5,
        "{}",
        out[20 * 28 + 17]
    );
    assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-4);
}

#[test]
fn scaling_by_two_doubles_distances_from_the_centre() {
    let zoom = Affine {
        scale: 2.0,
        ..Affine::IDENTITY
    };
    // 4 right of the centre (13.5) reads the source 2 right of it.
    assert_eq!(zoom.source_of(17.5, 13.5), (15.5, 13.5));
    // Pixel (17, 13) reads (15.25, 13.25): a quarter pixel from (15, 13) each way, so a dot
    // there gives it (3/4)^2 of its value.
    let out = warped(&dot(15, 13), zoom, &DisplacementField::zero());
    assert!((out[13 * IMAGE_SIDE + 17] - 0.5625).abs() < 1e-6);
    assert!(
        (out.iter().sum::<f32>() - 4.0).abs() < 1e-4,
        "a dot grown twice as wide covers four times the area"
    );
}

#[test]
fn a_uniform_field_is_a_shift_the_other_way() {
    let field =
        DisplacementField::from_components(vec![1.0; IMAGE_PIXELS], vec![0.0; IMAGE_PIXELS])
            .unwrap();
    let out = warped(&dot(10, 12), Affine::IDENTITY, &field);
    assert_eq!(
        out[12 * IMAGE_SIDE + 9],
        1.0,
        "each pixel reads one to its right"
    );
    assert_eq!(out.iter().sum::<f32>(), 1.0);
}

#[test]
fn nothing_comes_in_from_beyond_the_border() {
    let image = vec![1.0; IMAGE_PIXELS];
    let shift = Affine {
        shift_x: 3.0,
        ..Affine::IDENTITY
    };
    let out = warped(&image, shift, &DisplacementField::zero());
    for y in 0..IMAGE_SIDE {
        assert_eq!(&out[y * IMAGE_SIDE..y * IMAGE_SIDE + 3], &[0.0; 3]);
        assert!(out[y * IMAGE_SIDE + 3..(y + 1) * IMAGE_SIDE]
            .iter()
            .all(|&v| v == 1.0));
    }
}

#[test]
fn the_gaussian_kernel_is_normalised_symmetric_and_three_sigma_wide() {
    let kernel = gaussian_kernel(4.0);
    assert_eq!(kernel.len(), 25);
    assert!((kernel.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    for i in 0..12 {
        assert_eq!(kernel[i], kernel[24 - i]);
        assert!(kernel[i] < kernel[i + 1]);
    }
    // exp(-1/2) between the centre and one sigma out.
    assert!((kernel[16] / kernel[12] - (-0.5f32).exp()).abs() < 1e-6);
}

/// Every transform at its strongest.
fn strong() -> AugmentConfig {
    AugmentConfig {
        shift: 3.0,
        rotate: 15.0,
        scale: 0.15,
        elastic_alpha: 34.0,
        elastic_sigma: 4.0,
    }
}

fn batch(images: usize) -> Vec<f32> {
    (0..images).flat_map(|_| ring()).collect()
}

#[test]
fn the_same_seed_and_step_give_the_same_batch_and_others_differ() {
    let run = |seed, step| {
        let mut pixels = batch(4);
        Augmenter::new(strong()).augment_batch(&mut pixels, seed, step);
        pixels
    };
    assert_eq!(run(7, 3), run(7, 3));
    assert_ne!(run(7, 3), run(7, 4));
    assert_ne!(run(7, 3), run(8, 3));
    let images = run(7, 3);
    assert_ne!(
        images[..IMAGE_PIXELS],
        images[IMAGE_PIXELS..2 * IMAGE_PIXELS],
        "each image of a batch gets its own draw"
    );
    // An augmenter used before gives the same batch.
    let reused = Augmenter::new(strong());
    let mut first = batch(4);
    reused.augment_batch(&mut first, 7, 4);
    let mut second = batch(4);
    reused.augment_batch(&mut second, 7, 3);
    assert_eq!(second, run(7, 3));
}

#[test]
fn outputs_stay_28x28_and_within_0_to_1() {
    let augmenter = Augmenter::new(strong());
    for step in 0..50 {
        let mut pixels = batch(3);
        augmenter.augment_batch(&mut pixels, 1, step);
        assert_eq!(pixels.len(), 3 * IMAGE_PIXELS);
        assert!(
            pixels.iter().all(|v| (0.0..=1.0).contains(v)),
            "step {step}"
        );
        assert!(pixels.iter().any(|&v| v > 0.5), "the digit is still there");
    }
}

#[test]
fn all_off_leaves_the_batch_alone() {
    let mut pixels = batch(2);
    Augmenter::new(AugmentConfig::default()).augment_batch(&mut pixels, 1, 1);
    assert_eq!(pixels, batch(2));
    assert!(!AugmentConfig::default().is_on());
}

#[test]
fn elastic_displacements_are_pixels_not_fractions_or_tens() {
    // Simard's alpha 34 with sigma 4 moves pixels by about a pixel or two: a smoothed uniform
    // field has a standard deviation near 0.58 / (2 sqrt(pi) sigma) = 0.041 before alpha.
    let mut field = DisplacementField::zero();
    let mut rng = image_rng(0, 0, 0);
    let kernel = gaussian_kernel(4.0);
    let mut sum_sq = 0.0;
    let mut n = 0.0;
    for _ in 0..20 {
        field.randomise(&mut rng, &kernel, 34.0);
        // The middle, away from the zero border.
        for y in 8..20 {
            for x in 8..20 {
                let (dx, dy) = field.at(y * IMAGE_SIDE + x);
                sum_sq += dx * dx + dy * dy;
                n += 2.0;
            }
        }
    }
    let rms = (sum_sq / n).sqrt();
    assert!((0.8..2.5).contains(&rms), "rms displacement {rms} px");
}

#[test]
fn the_bounds_name_each_key() {
    assert!(strong().checks().iter().all(|c| c.2));
    let bad = AugmentConfig {
        rotate: 90.0,
        elastic_sigma: 0.0,
        ..strong()
    };
    let broken: Vec<&str> = bad.checks().iter().filter(|c| !c.2).map(|c| c.0).collect();
    assert_eq!(
        broken,
        ["train.augment.rotate", "train.augment.elastic_sigma"]
    );
}
