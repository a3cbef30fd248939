//! A shift, rotation and scaling about the image centre.

use super::CENTRE;

/// Where an output pixel takes its value from: the image is scaled by `scale` and turned by
/// `rotation` about its centre, then moved by (`shift_x`, `shift_y`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Pixels to the right.
    pub shift_x: f32,
    /// Pixels down.
    pub shift_y: f32,
    /// Radians, clockwise on screen (y grows downwards).
    pub rotation: f32,
    /// Size factor (1: unchanged).
    pub scale: f32,
}

impl Affine {
    /// The transform that changes nothing.
    pub const IDENTITY: Affine = Affine {
        shift_x: 0.0,
        shift_y: 0.0,
        rotation: 0.0,
        scale: 1.0,
    };

    /// The point of the source image that lands on output point (`x`, `y`): the inverse
    /// transform.
    pub fn source_of(&self, x: f32, y: f32) -> (f32, f32) {
        self.inverse().apply(x, y)
    }

    /// The inverse transform, worked out once for a whole image.
    pub fn inverse(&self) -> Inverse {
        let (sin, cos) = self.rotation.sin_cos();
        let k = 1.0 / self.scale;
        Inverse {
            m: [cos * k, sin * k, -sin * k, cos * k],
            shift: (CENTRE + self.shift_x, CENTRE + self.shift_y),
        }
    }
}

/// An [`Affine`]'s inverse as a matrix about the centre.
#[derive(Debug, Clone, Copy)]
pub struct Inverse {
    m: [f32; 4],
    shift: (f32, f32),
}

impl Inverse {
    /// The source point of output point (`x`, `y`).
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let (u, v) = (x - self.shift.0, y - self.shift.1);
        (
            CENTRE + self.m[0] * u + self.m[1] * v,
            CENTRE + self.m[2] * u + self.m[3] * v,
        )
    }
}
