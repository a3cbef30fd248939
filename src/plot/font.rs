//! The font the plots' text is drawn in, compiled in so that no system font library is needed.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

/// DejaVu Sans (Bitstream Vera licence; see `assets/fonts/README.md`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the built-in font as the `sans-serif` family, once per process; whether it could
/// be (the file is compiled in, so only a damaged build fails).
pub fn ensure_registered() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok())
}
