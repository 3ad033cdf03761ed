//! PDF: a visible stamp on every page and the mark token in the document's
//! metadata, written with lopdf without decoding the original page content.
//!
//! The stamp is one Form XObject shared by all pages: the recipient lines as
//! filled glyph outlines of the embedded font (any Unicode name prints, and no
//! font file is added to the PDF), and the mark token (`mark <id>-<crc>`) as
//! real text in the standard Helvetica font, so it can be searched and
//! extracted. Each page's `/Contents` becomes `[q-stream, original…,
//! Q + stamp]`, so whatever matrix the original leaves behind does not reach
//! the stamp; the page's effective (possibly inherited) `/Resources` is copied
//! into the page with the form added, so shared resource dictionaries are not
//! changed. Placement is computed in display space (the CropBox, else the
//! MediaBox, turned by `/Rotate`) and mapped back to user space, so the stamp
//! reads upright on screen. The document information dictionary gets
//! `/CustodyMark (mark <id>-<crc>)`.
//!
//! What survives re-saving is measured by the tests and stated in
//! docs/BENCHMARKS.md (`bench/mark.sh`): `qpdf` keeps both the metadata entry
//! and the stamp text; Ghostscript's `pdfwrite` rebuilds the document and the
//! stamp text is what remains.

use std::fmt::Write as _;

use lopdf::{Dictionary, Object, Stream, StringFormat, dictionary};

/// A parsed PDF and the id of one of its objects, as [`load`] gives them.
pub use lopdf::{Document, ObjectId};

use crate::{Issue, Limits, MarkError, MarkId, MarkKey, Placement, Style, glyphs};
use pdfload::Refused;

/// The information-dictionary key carrying the mark token. Do not change.
pub const INFO_KEY: &[u8] = b"CustodyMark";
const FORM_SIZE: f32 = 24.0;

fn bad(e: impl std::fmt::Display) -> MarkError {
    MarkError::BadPdf(e.to_string())
}

/// Parses a PDF under the limits, object streams checked before they are
/// expanded (the `pdfload` crate); refuses encrypted documents.
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Document, MarkError> {
    limits.check_input(bytes.len())?;
    let max = usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX);
    let doc = match pdfload::load(bytes, max) {
        Ok(Ok(d)) => d,
        Ok(Err(Refused::Overlap(n))) => {
            return Err(bad(format_args!(
                "object stream {n} has overlapping or unordered objects"
            )));
        }
        Ok(Err(Refused::Budget { limit, actual })) => {
            return Err(MarkError::TooLarge {
                what: "decompressed object streams",
                limit,
                actual,
            });
        }
        Err(e) => {
            if contains(bytes, b"/Encrypt") {
                return Err(MarkError::EncryptedPdf);
            }
            return Err(bad(e));
        }
    };
    if doc.is_encrypted() || doc.was_encrypted() {
        return Err(MarkError::EncryptedPdf);
    }
    let pages = doc.get_pages().len() as u64;
    if pages > u64::from(limits.max_pages) {
        return Err(MarkError::TooLarge {
            what: "page count",
            limit: u64::from(limits.max_pages),
            actual: pages,
        });
    }
    if pages == 0 {
        return Err(bad("no pages"));
    }
    Ok(doc)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Stamps every page and records the token in the document information.
pub fn stamp_pdf(
    bytes: &[u8],
    issue: &Issue,
    style: &Style,
    limits: &Limits,
) -> Result<Vec<u8>, MarkError> {
    mark_pdf_with(bytes, issue, style, None, limits)
}

/// [`stamp_pdf`], and the forensic image mark of `key` drawn over every page
/// as a faint tiling pattern, so that a page rasterised (printed to an image,
/// a screenshot of a reader) still traces (see [`PIXEL_TILE_PT`]).
pub fn mark_pdf(
    bytes: &[u8],
    issue: &Issue,
    style: &Style,
    key: &MarkKey,
    limits: &Limits,
) -> Result<Vec<u8>, MarkError> {
    mark_pdf_with(bytes, issue, style, Some(key), limits)
}

/// The pixel mark's tile, in points: the forensic mark's tile (128 × 128 cells
/// of 2 × 2 pixels) as 256 device pixels at 150 dpi, so a page rendered at
/// 150 dpi shows it at the detector's first scale; renderings from about
/// 60 to 300 dpi fall within its scale search. Do not change (issued copies
/// depend on it).
pub const PIXEL_TILE_PT: f32 = 256.0 * 72.0 / 150.0;
/// The pattern's grey level before the mark is added; drawn with the blend
/// mode `Multiply`, it darkens the page by about 2 % (black stays black).
const PIXEL_BASE: u8 = 250;
/// The forensic strength on the flat tile: ±4 grey levels (the activity gain
/// of a flat block is half the strength).
const PIXEL_STRENGTH: f32 = 8.0;
const PIXEL_CELLS: usize = 128;

/// The tile of the pixel mark of `id`: one grey sample per cell.
fn pixel_tile(key: &MarkKey, id: MarkId) -> Vec<u8> {
    let n = 2 * PIXEL_CELLS;
    let mut px = vec![PIXEL_BASE; n * n * 3];
    crate::image::forensic::embed(&mut px, n, n, 3, key, id, PIXEL_STRENGTH);
    (0..PIXEL_CELLS)
        .flat_map(|y| (0..PIXEL_CELLS).map(move |x| (2 * y * n + 2 * x) * 3))
        .map(|i| px.get(i).copied().unwrap_or(PIXEL_BASE))
        .collect()
}

/// The pixel mark's objects: a tiling pattern per page rotation (0, 90, 180,
/// 270: each turned so that the tile reads upright on screen, as the detector
/// expects), and the graphics state that multiplies it into the page.
fn pixel_objects(
    doc: &mut Document,
    key: &MarkKey,
    id: MarkId,
) -> Result<([ObjectId; 4], ObjectId), MarkError> {
    let cells = i64::try_from(PIXEL_CELLS).unwrap_or(128);
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => cells,
            "Height" => cells,
            "ColorSpace" => "DeviceGray",
            "BitsPerComponent" => 8,
            "Interpolate" => false,
        },
        pixel_tile(key, id),
    );
    image.compress().map_err(bad)?;
    let image_id = doc.add_object(image);
    let t = PIXEL_TILE_PT;
    let mut patterns = [image_id; 4];
    for (quarter, slot) in patterns.iter_mut().enumerate() {
        // A page turned clockwise by `/Rotate` shows user space turned so: the
        // pattern is turned back the other way.
        let (c, s): (i64, i64) = match quarter {
            0 => (1, 0),
            1 => (0, 1),
            2 => (-1, 0),
            _ => (0, -1),
        };
        let matrix: Vec<Object> = vec![
            c.into(),
            s.into(),
            (-s).into(),
            c.into(),
            0.into(),
            0.into(),
        ];
        let pattern = Stream::new(
            dictionary! {
                "Type" => "Pattern",
                "PatternType" => 1,
                "PaintType" => 1,
                "TilingType" => 1,
                "BBox" => vec![0.into(), 0.into(), t.into(), t.into()],
                "XStep" => t,
                "YStep" => t,
                "Matrix" => matrix,
                "Resources" => dictionary! {
                    "XObject" => dictionary! { "CustodyPxTile" => Object::Reference(image_id) },
                },
            },
            format!("q {t:.4} 0 0 {t:.4} 0 0 cm /CustodyPxTile Do Q\n").into_bytes(),
        );
        *slot = doc.add_object(pattern);
    }
    let gs_id = doc.add_object(dictionary! { "Type" => "ExtGState", "BM" => "Multiply" });
    Ok((patterns, gs_id))
}

fn mark_pdf_with(
    bytes: &[u8],
    issue: &Issue,
    style: &Style,
    key: Option<&MarkKey>,
    limits: &Limits,
) -> Result<Vec<u8>, MarkError> {
    style.validate()?;
    let mut doc = load(bytes, limits)?;
    let (form, w, h) = stamp_form(issue, style)?;
    let form_id = doc.add_object(form);
    let open_id = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    let pixel = key
        .map(|k| pixel_objects(&mut doc, k, issue.mark_id))
        .transpose()?;
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    for page in pages {
        stamp_page(&mut doc, page, form_id, open_id, (w, h), style, pixel)?;
    }
    set_info(&mut doc, issue.mark_id)?;
    let mut out = Vec::with_capacity(bytes.len() + 16 * 1024);
    doc.save_to(&mut out)
        .map_err(|e| MarkError::Encode(e.to_string()))?;
    Ok(out)
}

/// The shared stamp: a Form XObject centred on the origin, and its width and height.
fn stamp_form(issue: &Issue, style: &Style) -> Result<(Stream, f32, f32), MarkError> {
    let font = glyphs::font()?;
    let upem = font_units_per_em(&font);
    let lines = issue.lines();
    let widths: Vec<f32> = lines
        .iter()
        .map(|l| glyphs::width_units(&font, l) * FORM_SIZE / upem)
        .collect();
    let w = widths.iter().copied().fold(0.0f32, f32::max) + FORM_SIZE;
    let lh = FORM_SIZE * 1.25;
    let h = lh * lines.len() as f32 + FORM_SIZE * 0.5;
    let [r, g, b] = style.color.map(|c| f32::from(c) / 255.0);
    let mut c = format!("/GS0 gs {r:.3} {g:.3} {b:.3} rg\n");
    for (i, line) in lines.iter().enumerate() {
        let y = (lines.len() as f32 / 2.0 - i as f32 - 1.0) * lh + FORM_SIZE * 0.3;
        let x = -widths.get(i).copied().unwrap_or(0.0) / 2.0;
        if i + 1 == lines.len() {
            // The token as real text (Helvetica has Liberation Sans's metrics).
            let _ = writeln!(c, "BT /F0 {FORM_SIZE} Tf {x:.2} {y:.2} Td ({line}) Tj ET");
        } else {
            glyphs::pdf_path(&font, line, x, y, FORM_SIZE, &mut c);
        }
    }
    let opacity = Object::Real(style.opacity);
    let resources = dictionary! {
        "Font" => dictionary! { "F0" => dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
        }},
        "ExtGState" => dictionary! { "GS0" => dictionary! {
            "Type" => "ExtGState", "ca" => opacity.clone(), "CA" => opacity,
        }},
    };
    let dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Form",
        "BBox" => vec![(-w / 2.0).into(), (-h / 2.0).into(), (w / 2.0).into(), (h / 2.0).into()],
        "Resources" => resources,
    };
    let mut s = Stream::new(dict, c.into_bytes());
    s.compress().map_err(|e| MarkError::Encode(e.to_string()))?;
    Ok((s, w, h))
}

fn font_units_per_em(font: &ab_glyph::FontRef<'_>) -> f32 {
    use ab_glyph::Font as _;
    font.units_per_em().unwrap_or(2048.0)
}

/// An attribute of a page, looked up through `/Parent` (inheritable attributes).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut dict = doc.get_dictionary(page).ok()?;
    for _ in 0..64 {
        if let Ok(v) = dict.get(key) {
            return doc.dereference(v).ok().map(|(_, o)| o);
        }
        let parent = dict.get(b"Parent").ok()?.as_reference().ok()?;
        dict = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn rect(doc: &Document, o: Option<&Object>) -> Option<[f32; 4]> {
    let a = o?.as_array().ok()?;
    let mut v = [0f32; 4];
    for (slot, item) in v.iter_mut().zip(a) {
        *slot = doc.dereference(item).ok()?.1.as_float().ok()?;
    }
    (a.len() == 4).then_some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ])
}

/// The visible box (CropBox within MediaBox, else MediaBox) and the rotation in {0, 90, 180, 270}.
fn geometry(doc: &Document, page: ObjectId) -> ([f32; 4], i64) {
    let media = rect(doc, inherited(doc, page, b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let bx = match rect(doc, inherited(doc, page, b"CropBox")) {
        Some(c) => {
            let i = [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ];
            if i[2] > i[0] && i[3] > i[1] { i } else { media }
        }
        None => media,
    };
    let rot = inherited(doc, page, b"Rotate")
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(0);
    (bx, (rot.rem_euclid(360) / 90) * 90)
}

/// The `cm` operands placing the form for `placement` on a page.
pub(crate) fn placements(
    bx: [f32; 4],
    rot: i64,
    (w, h): (f32, f32),
    style: &Style,
) -> Vec<[f32; 6]> {
    let (bw, bh) = (bx[2] - bx[0], bx[3] - bx[1]);
    let (dw, dh) = if rot == 90 || rot == 270 {
        (bh, bw)
    } else {
        (bw, bh)
    };
    // (display x, display y, display angle in degrees, scale)
    let fit = |angle: f32, room_w: f32, room_h: f32| {
        let (s, c) = angle.to_radians().sin_cos();
        let ew = c.abs() * w + s.abs() * h;
        let eh = s.abs() * w + c.abs() * h;
        (room_w / ew).min(room_h / eh)
    };
    let spots: Vec<(f32, f32, f32, f32)> = match style.placement {
        Placement::Center => vec![(
            dw / 2.0,
            dh / 2.0,
            style.angle_deg,
            fit(style.angle_deg, 0.9 * dw, 0.9 * dh),
        )],
        Placement::Footer => {
            let s = fit(0.0, 0.9 * dw, 0.06 * dh);
            vec![(dw / 2.0, 0.02 * dh + h * s / 2.0, 0.0, s)]
        }
        Placement::Tiled => {
            let s = fit(style.angle_deg, 0.9 * dw, 0.3 * dh);
            (1..=3)
                .map(|k| (dw / 2.0, dh * k as f32 / 4.0, style.angle_deg, s))
                .collect()
        }
    };
    spots
        .into_iter()
        .map(|(xd, yd, angle, s)| {
            let (x, y) = match rot {
                90 => (bx[0] + bw - yd, bx[1] + xd),
                180 => (bx[2] - xd, bx[3] - yd),
                270 => (bx[0] + yd, bx[3] - xd),
                _ => (bx[0] + xd, bx[1] + yd),
            };
            let (sin, cos) = (angle + rot as f32).to_radians().sin_cos();
            [s * cos, s * sin, -s * sin, s * cos, x, y]
        })
        .collect()
}

fn stamp_page(
    doc: &mut Document,
    page: ObjectId,
    form: ObjectId,
    open: ObjectId,
    size: (f32, f32),
    style: &Style,
    pixel: Option<([ObjectId; 4], ObjectId)>,
) -> Result<(), MarkError> {
    let (bx, rot) = geometry(doc, page);
    // Effective resources, copied into the page with the form added.
    let mut resources = match inherited(doc, page, b"Resources") {
        Some(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    let mut xobjects = match resources.get(b"XObject").ok().map(|o| doc.dereference(o)) {
        Some(Ok((_, Object::Dictionary(d)))) => d.clone(),
        _ => Dictionary::new(),
    };
    let name = (0..)
        .map(|n| format!("CustodyMark{n}"))
        .find(|n| !xobjects.has(n.as_bytes()))
        .unwrap_or_else(|| "CustodyMark".into());
    xobjects.set(name.as_bytes(), Object::Reference(form));
    resources.set("XObject", xobjects);
    let mut tail = String::from("\nQ\n");
    if let Some((patterns, gs)) = pixel {
        let quarter = usize::try_from(rot.rem_euclid(360) / 90).unwrap_or(0);
        let pattern = patterns.get(quarter).copied().unwrap_or(patterns[0]);
        for (kind, id) in [("Pattern", pattern), ("ExtGState", gs)] {
            let mut dict = match resources
                .get(kind.as_bytes())
                .ok()
                .map(|o| doc.dereference(o))
            {
                Some(Ok((_, Object::Dictionary(d)))) => d.clone(),
                _ => Dictionary::new(),
            };
            dict.set("CustodyPx", Object::Reference(id));
            resources.set(kind, dict);
        }
        let [x0, y0, x1, y1] = bx;
        let _ = writeln!(
            tail,
            "q /CustodyPx gs /Pattern cs /CustodyPx scn {x0:.2} {y0:.2} {:.2} {:.2} re f Q",
            x1 - x0,
            y1 - y0
        );
    }
    for m in placements(bx, rot, size, style) {
        let _ = writeln!(
            tail,
            "q {:.4} {:.4} {:.4} {:.4} {:.2} {:.2} cm /{name} Do Q",
            m[0], m[1], m[2], m[3], m[4], m[5]
        );
    }
    let tail_id = doc.add_object(Stream::new(Dictionary::new(), tail.into_bytes()));
    // The original streams, whether /Contents is a stream, an array, or a reference to an array.
    let mut contents = vec![Object::Reference(open)];
    let original = doc.get_dictionary(page).map_err(bad)?.get(b"Contents").ok();
    match original.map(|o| (o, doc.dereference(o))) {
        Some((_, Ok((_, Object::Array(a))))) => contents.extend(a.iter().cloned()),
        Some((o @ Object::Reference(_), _)) => contents.push(o.clone()),
        _ => {}
    }
    contents.push(Object::Reference(tail_id));
    let dict = doc.get_dictionary_mut(page).map_err(bad)?;
    dict.set("Contents", contents);
    dict.set("Resources", resources);
    Ok(())
}

fn set_info(doc: &mut Document, id: MarkId) -> Result<(), MarkError> {
    let token = Object::String(id.token().into_bytes(), StringFormat::Literal);
    let info_ref = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|o| o.as_reference().ok());
    if let Some(r) = info_ref
        && let Ok(info) = doc.get_dictionary_mut(r)
    {
        info.set(INFO_KEY, token);
        return Ok(());
    }
    let info = doc.add_object(dictionary! { "CustodyMark" => token });
    doc.trailer.set("Info", Object::Reference(info));
    Ok(())
}

/// Where a PDF's mark was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdfSource {
    /// The document information dictionary.
    Metadata,
    /// The stamp's text in a content stream or form.
    StampText,
}

/// Reads the mark token from the information dictionary, else from any
/// stream's decoded content (each bounded by the decompression limit).
pub fn detect_pdf(bytes: &[u8], limits: &Limits) -> Result<Option<(MarkId, PdfSource)>, MarkError> {
    let doc = load(bytes, limits)?;
    let info = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .map(|(_, o)| o);
    if let Some(Object::Dictionary(d)) = info
        && let Some(id) = d
            .get(INFO_KEY)
            .ok()
            .and_then(|o| o.as_str().ok())
            .and_then(MarkId::find_token)
    {
        return Ok(Some((id, PdfSource::Metadata)));
    }
    let max = usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX);
    for obj in doc.objects.values() {
        if let Object::Stream(s) = obj
            && let Ok(content) = s.decompressed_content_with_limit(max)
            && let Some(id) = MarkId::find_token(&content)
        {
            return Ok(Some((id, PdfSource::StampText)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(m: [f32; 6], (x, y): (f32, f32)) -> (f32, f32) {
        (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
    }

    #[test]
    fn centre_placement_lands_in_the_box_and_reads_upright() {
        // (box, rotation, expected centre in user space, expected user-space angle of the stamp's x axis)
        fn check(bx: [f32; 4], rot: i64, centre: (f32, f32), angle: f32) {
            let style = Style {
                angle_deg: 0.0,
                placement: Placement::Center,
                ..Style::default()
            };
            let m = placements(bx, rot, (200.0, 50.0), &style);
            let m = m[0];
            let c = apply(m, (0.0, 0.0));
            assert!(
                (c.0 - centre.0).abs() < 0.01 && (c.1 - centre.1).abs() < 0.01,
                "{rot}: {c:?}"
            );
            let got = m[1].atan2(m[0]).to_degrees().rem_euclid(360.0);
            assert!((got - angle).abs() < 0.01, "{rot}: {got}");
            // Every corner of the stamp stays inside the box.
            for p in [
                (-100.0, -25.0),
                (100.0, 25.0),
                (-100.0, 25.0),
                (100.0, -25.0),
            ] {
                let (x, y) = apply(m, p);
                assert!(
                    x >= bx[0] && x <= bx[2] && y >= bx[1] && y <= bx[3],
                    "{rot} {p:?} → {x} {y}"
                );
            }
        }
        check([0.0, 0.0, 612.0, 792.0], 0, (306.0, 396.0), 0.0);
        check([10.0, 20.0, 310.0, 820.0], 90, (160.0, 420.0), 90.0);
        check([0.0, 0.0, 612.0, 792.0], 180, (306.0, 396.0), 180.0);
        check([0.0, 0.0, 612.0, 792.0], 270, (306.0, 396.0), 270.0);
    }

    #[test]
    fn footer_sits_at_the_displayed_bottom() {
        // On a page turned 90° clockwise, the displayed bottom is the box's right edge.
        let style = Style {
            placement: Placement::Footer,
            ..Style::default()
        };
        let m = placements([0.0, 0.0, 612.0, 792.0], 90, (200.0, 50.0), &style)[0];
        assert!(m[4] > 552.0 && (m[5] - 396.0).abs() < 0.01, "{m:?}");
        let m = placements([0.0, 0.0, 612.0, 792.0], 0, (200.0, 50.0), &style)[0];
        assert!(m[5] < 60.0 && (m[4] - 306.0).abs() < 0.01, "{m:?}");
    }
}
