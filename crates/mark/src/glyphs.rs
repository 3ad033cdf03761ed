//! The embedded font (Liberation Sans Regular 2.1.5 from Debian's
//! fonts-liberation2, SIL Open Font License 1.1, see fonts/LICENSE-OFL.txt)
//! and what the stamps need from it: line layout, an alpha mask for images,
//! and glyph outlines as PDF path operators (so any Unicode name prints
//! without embedding the font in every PDF).

use std::fmt::Write as _;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, PxScale, ScaleFont, point};

use crate::MarkError;

static FONT_BYTES: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");

pub(crate) fn font() -> Result<FontRef<'static>, MarkError> {
    FontRef::try_from_slice(FONT_BYTES)
        .map_err(|e| MarkError::Encode(format!("embedded font: {e}")))
}

/// Glyph ids and pen positions (in font units, baseline at 0) of one line.
fn layout(font: &FontRef<'_>, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let mut pen = 0.0;
    let mut prev: Option<GlyphId> = None;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            pen += font.kern_unscaled(p, id);
        }
        out.push((id, pen));
        pen += font.h_advance_unscaled(id);
        prev = Some(id);
    }
    (out, pen)
}

/// Width of `text` in font units.
pub(crate) fn width_units(font: &FontRef<'_>, text: &str) -> f32 {
    layout(font, text).1
}

/// An 8-bit coverage mask of several centred lines.
pub(crate) struct Mask {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) alpha: Vec<u8>,
}

impl Mask {
    pub(crate) fn get(&self, x: usize, y: usize) -> u8 {
        self.alpha.get(y * self.width + x).copied().unwrap_or(0)
    }
}

/// Rasterises `lines` at `px` pixels per em, centred, with `pad` pixels around.
pub(crate) fn raster(lines: &[String], px: f32, pad: usize) -> Result<Mask, MarkError> {
    let font = font()?;
    let scaled = font.as_scaled(PxScale::from(px));
    let line_h = (scaled.ascent() - scaled.descent() + scaled.line_gap()).ceil();
    let k = scaled.h_scale_factor();
    let widths: Vec<f32> = lines.iter().map(|l| width_units(&font, l) * k).collect();
    let max_w = widths.iter().copied().fold(0.0f32, f32::max).ceil() as usize;
    let width = max_w + 2 * pad;
    let height = line_h as usize * lines.len() + 2 * pad;
    let mut alpha = vec![0u8; width * height];
    for (i, line) in lines.iter().enumerate() {
        let (glyphs, _) = layout(&font, line);
        let x0 = pad as f32 + (max_w as f32 - widths.get(i).copied().unwrap_or(0.0)) / 2.0;
        let base = pad as f32 + line_h * i as f32 + scaled.ascent();
        for (id, pen) in glyphs {
            let g = id.with_scale_and_position(px, point(x0 + pen * k, base));
            let Some(og) = font.outline_glyph(g) else {
                continue;
            };
            let b = og.px_bounds();
            og.draw(|gx, gy, c| {
                let x = b.min.x as i64 + i64::from(gx);
                let y = b.min.y as i64 + i64::from(gy);
                if x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height {
                    let idx = y as usize * width + x as usize;
                    let v = (c.clamp(0.0, 1.0) * 255.0) as u8;
                    if let Some(a) = alpha.get_mut(idx) {
                        *a = (*a).max(v);
                    }
                }
            });
        }
    }
    Ok(Mask {
        width,
        height,
        alpha,
    })
}

/// PDF path operators drawing `text` with its baseline starting at (`x`, `y`),
/// `size` user units per em, filled with the non-zero rule.
pub(crate) fn pdf_path(
    font: &FontRef<'_>,
    text: &str,
    x: f32,
    y: f32,
    size: f32,
    out: &mut String,
) {
    let k = size / font.units_per_em().unwrap_or(2048.0);
    let (glyphs, _) = layout(font, text);
    for (id, pen) in glyphs {
        let Some(outline) = font.outline(id) else {
            continue;
        };
        if outline.curves.is_empty() {
            continue;
        }
        let tx = |p: ab_glyph::Point| (x + (pen + p.x) * k, y + p.y * k);
        let mut last: Option<ab_glyph::Point> = None;
        for curve in &outline.curves {
            let start = match curve {
                OutlineCurve::Line(a, _)
                | OutlineCurve::Quad(a, _, _)
                | OutlineCurve::Cubic(a, _, _, _) => *a,
            };
            if last.is_none_or(|l| (l.x - start.x).abs() > 1e-3 || (l.y - start.y).abs() > 1e-3) {
                if last.is_some() {
                    out.push_str("h\n");
                }
                let (sx, sy) = tx(start);
                let _ = writeln!(out, "{sx:.2} {sy:.2} m");
            }
            match curve {
                OutlineCurve::Line(_, b) => {
                    let (bx, by) = tx(*b);
                    let _ = writeln!(out, "{bx:.2} {by:.2} l");
                    last = Some(*b);
                }
                OutlineCurve::Quad(a, c, b) => {
                    // Degree elevation: c1 = a + 2/3 (c - a), c2 = b + 2/3 (c - b).
                    let c1 = point(a.x + 2.0 / 3.0 * (c.x - a.x), a.y + 2.0 / 3.0 * (c.y - a.y));
                    let c2 = point(b.x + 2.0 / 3.0 * (c.x - b.x), b.y + 2.0 / 3.0 * (c.y - b.y));
                    let ((x1, y1), (x2, y2), (x3, y3)) = (tx(c1), tx(c2), tx(*b));
                    let _ = writeln!(out, "{x1:.2} {y1:.2} {x2:.2} {y2:.2} {x3:.2} {y3:.2} c");
                    last = Some(*b);
                }
                OutlineCurve::Cubic(_, c1, c2, b) => {
                    let ((x1, y1), (x2, y2), (x3, y3)) = (tx(*c1), tx(*c2), tx(*b));
                    let _ = writeln!(out, "{x1:.2} {y1:.2} {x2:.2} {y2:.2} {x3:.2} {y3:.2} c");
                    last = Some(*b);
                }
            }
        }
        out.push_str("h\n");
    }
    out.push_str("f\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_covers_ink_and_leaves_padding_clear() {
        let m = raster(&["Hé ŁÓDŹ".to_string()], 32.0, 4).unwrap();
        let ink = m.alpha.iter().filter(|&&a| a > 128).count();
        assert!(ink > 100, "ink {ink}");
        for x in 0..m.width {
            assert_eq!(m.get(x, 0), 0);
            assert_eq!(m.get(x, m.height - 1), 0);
        }
    }

    #[test]
    fn path_has_moves_curves_and_one_fill() {
        let f = font().unwrap();
        let mut s = String::new();
        pdf_path(&f, "Ao", 0.0, 0.0, 10.0, &mut s);
        assert!(s.matches(" m\n").count() >= 3, "{s}"); // A: 2 contours, o: 2
        assert!(s.contains(" c\n"));
        assert_eq!(s.matches("f\n").count(), 1);
        assert!(width_units(&f, "Ao") > 0.0);
    }
}
