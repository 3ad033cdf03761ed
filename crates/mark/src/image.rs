//! Images (PNG, JPEG, WebP): decoding under pixel and allocation limits, the
//! visible stamp (diagonal text, tiled or centred), the forensic mark
//! ([`forensic`]), and re-encoding in the input's own format (JPEG at quality
//! 92, PNG and lossless WebP; an alpha channel is kept where the format has one)
//! or, for pages shown on screen, in the [`Encoding`] chosen for them.

pub mod forensic;

use std::io::Cursor;

use image::{ExtendedColorType, ImageEncoder};

use crate::{Issue, Limits, MarkError, MarkKey, Placement, Style, glyphs};

pub use forensic::{ImageReading, THRESHOLD};

/// JPEG quality of marked output.
const JPEG_QUALITY: u8 = 92;

/// The image formats this crate marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG (baseline or progressive).
    Jpeg,
    /// WebP (lossy or lossless in; lossless out).
    WebP,
}

impl ImageFormat {
    /// Recognises an image by its signature.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12
            && bytes.starts_with(b"RIFF")
            && bytes.get(8..12) == Some(b"WEBP")
        {
            Some(Self::WebP)
        } else {
            None
        }
    }
}

/// Decoded pixels: interleaved 8-bit RGB or RGBA.
pub struct Pixels {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    /// `width × height × channels` bytes.
    pub data: Vec<u8>,
    /// The format it was decoded from.
    pub format: ImageFormat,
}

impl Pixels {
    /// The luminance plane (BT.601).
    pub fn luma(&self) -> Vec<f32> {
        forensic::luma(&self.data, self.channels)
    }
}

fn bad(e: impl std::fmt::Display) -> MarkError {
    MarkError::BadImage(e.to_string())
}

/// The width and height an image's header declares (nothing is decoded):
/// what decoding it would allocate, known before deciding to.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), MarkError> {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(bad)?
        .into_dimensions()
        .map_err(bad)
}

/// Decodes `bytes`, refusing more than `limits.max_pixels` before allocating them.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Pixels, MarkError> {
    limits.check_input(bytes.len())?;
    let format = ImageFormat::sniff(bytes).ok_or_else(|| bad("unknown image signature"))?;
    let reader = || {
        image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(bad)
    };
    let (w, h) = dimensions(bytes)?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(MarkError::TooLarge {
            what: "pixel count",
            limit: limits.max_pixels,
            actual: pixels,
        });
    }
    let mut r = reader()?;
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(1 << 20));
    r.limits(l);
    let img = r.decode().map_err(bad)?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    let (channels, data) = if img.color().has_alpha() {
        (4, img.into_rgba8().into_raw())
    } else {
        (3, img.into_rgb8().into_raw())
    };
    Ok(Pixels {
        width,
        height,
        channels,
        data,
        format,
    })
}

/// Encodes pixels in `format` (alpha is dropped for JPEG).
pub fn encode(p: &Pixels, format: ImageFormat) -> Result<Vec<u8>, MarkError> {
    let enc = |e: image::ImageError| MarkError::Encode(e.to_string());
    let (w, h) = (
        u32::try_from(p.width).map_err(|e| MarkError::Encode(e.to_string()))?,
        u32::try_from(p.height).map_err(|e| MarkError::Encode(e.to_string()))?,
    );
    let color = if p.channels == 4 {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    match format {
        ImageFormat::Png => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&p.data, w, h, color)
            .map_err(enc)?,
        ImageFormat::WebP => {
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .write_image(&p.data, w, h, color)
                .map_err(enc)?;
        }
        ImageFormat::Jpeg => {
            let rgb: Vec<u8> = if p.channels == 4 {
                p.data
                    .chunks_exact(4)
                    .flat_map(|c| c.iter().take(3).copied())
                    .collect()
            } else {
                p.data.clone()
            };
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
                .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
                .map_err(enc)?;
        }
    }
    Ok(out)
}

/// How pixels shown on screen are encoded ([`encode_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// PNG, lossless: 8-bit grey when `grey`, else RGB or RGBA as the pixels are.
    Png { grey: bool },
    /// Baseline JPEG at `quality` (1–100): 8-bit grey when `grey`, else
    /// colour (YCbCr; chroma halved each way, the luminance that carries the
    /// forensic mark kept at full resolution).
    Jpeg { quality: u8, grey: bool },
}

impl Encoding {
    /// The media type of the encoded bytes.
    pub fn mime(self) -> &'static str {
        match self {
            Encoding::Png { .. } => "image/png",
            Encoding::Jpeg { .. } => "image/jpeg",
        }
    }
}

/// Whether every pixel is grey (R = G = B, alpha ignored): such pixels lose
/// nothing in a grey encoding.
pub fn is_grey(p: &Pixels) -> bool {
    p.channels >= 3
        && p.data
            .chunks_exact(p.channels)
            .all(|c| matches!(c, [r, g, b, ..] if r == g && g == b))
}

/// Encodes pixels for display. A grey encoding keeps the luminance (BT.601,
/// rounded: exact for pixels where [`is_grey`] holds, and the mark is added
/// equally to R, G and B); JPEG drops alpha.
pub fn encode_as(p: &Pixels, encoding: Encoding) -> Result<Vec<u8>, MarkError> {
    let enc = |e: image::ImageError| MarkError::Encode(e.to_string());
    let (w, h) = (
        u32::try_from(p.width).map_err(|e| MarkError::Encode(e.to_string()))?,
        u32::try_from(p.height).map_err(|e| MarkError::Encode(e.to_string()))?,
    );
    let grey = || -> Vec<u8> {
        p.data
            .chunks_exact(p.channels)
            .map(|c| match *c {
                [r, g, b, ..] => {
                    let y = u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114;
                    ((y + 500) / 1000) as u8
                }
                _ => c.first().copied().unwrap_or(0),
            })
            .collect()
    };
    let mut out = Vec::new();
    match encoding {
        Encoding::Png { grey: false } => return encode(p, ImageFormat::Png),
        Encoding::Png { grey: true } => {
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(&grey(), w, h, ExtendedColorType::L8)
                .map_err(enc)?;
        }
        Encoding::Jpeg { quality, grey: g } => {
            let jpeg =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
            if g {
                jpeg.write_image(&grey(), w, h, ExtendedColorType::L8)
            } else if p.channels == 3 {
                jpeg.write_image(&p.data, w, h, ExtendedColorType::Rgb8)
            } else {
                let rgb: Vec<u8> = p
                    .data
                    .chunks_exact(p.channels)
                    .flat_map(|c| c.iter().take(3).copied())
                    .collect();
                jpeg.write_image(&rgb, w, h, ExtendedColorType::Rgb8)
            }
            .map_err(enc)?;
        }
    }
    Ok(out)
}

/// Marks an image: visible stamp, then the forensic mark of `issue.mark_id`, then re-encoding.
pub fn mark_image(
    bytes: &[u8],
    issue: &Issue,
    style: &Style,
    key: &MarkKey,
    limits: &Limits,
) -> Result<Vec<u8>, MarkError> {
    style.validate()?;
    let mut p = decode(bytes, limits)?;
    stamp_visible(&mut p, &issue.lines(), style)?;
    forensic::embed(
        &mut p.data,
        p.width,
        p.height,
        p.channels,
        key,
        issue.mark_id,
        style.forensic_strength,
    );
    encode(&p, p.format)
}

/// Looks for the forensic mark of `key` in an encoded image.
pub fn detect_image(
    bytes: &[u8],
    key: &MarkKey,
    limits: &Limits,
) -> Result<ImageReading, MarkError> {
    let p = decode(bytes, limits)?;
    Ok(forensic::detect(&p.luma(), p.width, p.height, key))
}

/// Blends the stamp text (`lines`) into the pixels.
pub fn stamp_visible(p: &mut Pixels, lines: &[String], style: &Style) -> Result<(), MarkError> {
    let (w, h) = (p.width as f32, p.height as f32);
    let px = (w.min(h) / 30.0).clamp(10.0, 64.0);
    let mask = glyphs::raster(lines, px, (px / 2.0) as usize)?;
    let (mw, mh) = (mask.width as f32, mask.height as f32);
    let theta = match style.placement {
        Placement::Footer => 0.0,
        _ => style.angle_deg.to_radians(),
    };
    let (sin, cos) = theta.sin_cos();
    let (scale, cx, cy) = match style.placement {
        Placement::Center => {
            let ew = cos.abs() * mw + sin.abs() * mh;
            let eh = sin.abs() * mw + cos.abs() * mh;
            ((0.9 * w / ew).min(0.9 * h / eh), w / 2.0, h / 2.0)
        }
        Placement::Footer => (1.0f32.min(w / mw), w / 2.0, h - mh / 2.0),
        Placement::Tiled => (1.0, w / 2.0, h / 2.0),
    };
    let (tw, th) = (mw + 2.0 * px, mh + px);
    let opacity = style.opacity;
    for y in 0..p.height {
        for x in 0..p.width {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let u = (dx * cos - dy * sin) / scale;
            let v = (dx * sin + dy * cos) / scale;
            let (mut mu, mut mv) = (u + mw / 2.0, v + mh / 2.0);
            if style.placement == Placement::Tiled {
                let row = (mv / th).floor();
                mv -= row * th;
                mu = (mu
                    + if row.rem_euclid(2.0) == 1.0 {
                        tw / 2.0
                    } else {
                        0.0
                    })
                .rem_euclid(tw);
            }
            if mu < 0.0 || mv < 0.0 || mu >= mw || mv >= mh {
                continue;
            }
            let a = f32::from(mask.get(mu as usize, mv as usize)) / 255.0 * opacity;
            if a <= 0.0 {
                continue;
            }
            let base = (y * p.width + x) * p.channels;
            for (c, &col) in style.color.iter().enumerate() {
                if let Some(v) = p.data.get_mut(base + c) {
                    *v = (f32::from(*v) + (f32::from(col) - f32::from(*v)) * a).round() as u8;
                }
            }
        }
    }
    Ok(())
}

/// Draws one line of `text` in `color`, `px_height` pixels per em, with the
/// top-left corner of its line box at (`x`, `y`), clipped to the pixels (for
/// pages of text rendered as images).
pub fn draw_text_line(
    p: &mut Pixels,
    x: u32,
    y: u32,
    px_height: f32,
    text: &str,
    color: [u8; 3],
) -> Result<(), MarkError> {
    let (x, y) = (x as usize, y as usize);
    let room = p.width.saturating_sub(x);
    // At most one character per pixel column left: more than any visible text
    // needs, and it bounds the mask whatever the length of the line.
    let line: String = text.chars().take(room).collect();
    let mask = glyphs::raster(&[line], px_height.clamp(1.0, 512.0), 0)?;
    for my in 0..mask.height.min(p.height.saturating_sub(y)) {
        for mx in 0..mask.width.min(room) {
            let a = f32::from(mask.get(mx, my)) / 255.0;
            if a <= 0.0 {
                continue;
            }
            let base = ((y + my) * p.width + x + mx) * p.channels;
            for (c, &col) in color.iter().enumerate() {
                if let Some(v) = p.data.get_mut(base + c) {
                    *v = (f32::from(*v) + (f32::from(col) - f32::from(*v)) * a).round() as u8;
                }
            }
        }
    }
    Ok(())
}
