//! Numbers in the run's JSON records: JSON has no `NaN` or infinities, so writers spell them
//! `null`, and these read `null` back as `NaN`.

use serde::{Deserialize, Deserializer};

/// `NaN`, the default of a number a record may lack.
pub fn nan() -> f64 {
    f64::NAN
}

/// A number, or `NaN` for `null` (how JSON writers spell a non-finite number).
pub fn number_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`number_or_nan`] for `f32` fields.
pub fn number_or_nan_f32<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}
