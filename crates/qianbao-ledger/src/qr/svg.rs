//! Rendering a payload as an SVG QR symbol (for merchant stickers, receipts and examples).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::QrError;

/// Renders `payload` as an SVG image of a QR symbol (error correction level M, quiet zone, at least
/// `min_size_px` pixels wide).
pub fn render_svg(payload: &str, min_size_px: u32) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| QrError::Render(e.to_string()))?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(min_size_px, min_size_px).build())
}
