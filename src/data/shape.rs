//! The shape of MNIST examples: image size and number of classes, defined once for the crate.

/// Side length of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an MNIST image (28 x 28).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0 to 9).
pub const CLASSES: usize = 10;
