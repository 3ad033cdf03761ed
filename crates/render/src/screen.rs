//! How a marked page is sent to a screen: what kind of page it is, read from
//! its pixels before they are marked ([`classify`]), decides its resolution
//! (`Renderer::render_screen_page`) and its encoding ([`for_screen`]).
//!
//! | kind | what it looks like | resolution | sent as |
//! |---|---|---|---|
//! | text | ink on paper, grey: text, tables, forms | [`READING_DPI`](crate::READING_DPI) | grey JPEG, quality [`TEXT_QUALITY`] |
//! | drawing | ink on paper with colour, or any sheet larger than Legal | the detail resolution (150 dpi) | JPEG, quality [`DRAWING_QUALITY`], grey when the page is |
//! | picture | continuous tone: photographs, scans, renderings | the detail resolution | JPEG, quality [`PICTURE_QUALITY`], grey when the page is |
//!
//! Not PNG: the forensic mark is a faint pattern over the whole page, paper
//! included, which a lossless encoder has to keep exactly (a marked A4 page
//! of text at 150 dpi is 2.3 MB as RGB PNG, 0.85 MB as grey PNG). JPEG keeps
//! the luminance at full resolution and the mark's coefficients well: the
//! mark reads from the page as sent and from a screenshot of it scaled to
//! the viewer's column (tests below). Measured on a marked page of dense
//! text (53 lines of 10-pt Times): at 150 dpi grey JPEG is 405 KB at quality
//! 60 and 570 KB at 80 (the text alone is 415 KB at 70); at 120 dpi, quality
//! 60, 283 KB, and the mark reads at a sync score of 25 (7 is the threshold).
//! Text at quality 60 looks the same as lossless at 120 dpi; the thin lines
//! of drawings need more (`bench/viewer.sh` has the figures per page).

use mark::image::{Encoding, Pixels, encode_as, is_grey};

use crate::RenderError;

/// JPEG quality of text pages.
pub const TEXT_QUALITY: u8 = 60;
/// JPEG quality of drawings: thin coloured lines need more than text.
pub const DRAWING_QUALITY: u8 = 75;
/// JPEG quality of pictures.
pub const PICTURE_QUALITY: u8 = 75;

/// Luminance from which a pixel is paper.
const PAPER: u8 = 224;
/// Luminance below which a pixel is ink.
const INK: u32 = 48;
/// Share of paper on a page of ink on paper.
const PAPER_SHARE: f64 = 0.5;
/// Most share of mid-tones (neither paper nor ink) on a page of ink on paper.
const MID_SHARE: f64 = 0.2;
/// A pixel whose channels differ by this much is coloured.
const CHROMA: u8 = 40;
/// Share of coloured pixels from which a page is in colour.
const COLOUR_SHARE: f64 = 0.0005;

/// What a page mostly shows, which decides how it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Ink on paper, all grey.
    Text,
    /// Ink on paper with some colour.
    Drawing,
    /// Continuous tone.
    Picture,
}

impl PageKind {
    /// A stable name (`text`, `drawing`, `picture`).
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Text => "text",
            PageKind::Drawing => "drawing",
            PageKind::Picture => "picture",
        }
    }
}

/// A page encoded for a screen.
#[derive(Debug)]
pub struct ScreenPage {
    pub bytes: Vec<u8>,
    /// The media type of `bytes`.
    pub mime: &'static str,
    pub kind: PageKind,
}

/// The kind of a rendered page, from its pixels (every one: a thin
/// coloured line is a row of them).
pub fn classify(p: &Pixels) -> PageKind {
    let (mut n, mut paper, mut mid, mut colour) = (0u64, 0u64, 0u64, 0u64);
    for px in p.data.chunks_exact(p.channels.max(1)) {
        let [r, g, b, ..] = *px else { continue };
        n += 1;
        let (lo, hi) = (r.min(g).min(b), r.max(g).max(b));
        if hi - lo >= CHROMA {
            colour += 1;
        }
        let y = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
        if y >= u32::from(PAPER) {
            paper += 1;
        } else if y >= INK {
            mid += 1;
        }
    }
    let share = |k: u64| k as f64 / n.max(1) as f64;
    if share(paper) < PAPER_SHARE || share(mid) > MID_SHARE {
        PageKind::Picture
    } else if share(colour) >= COLOUR_SHARE {
        PageKind::Drawing
    } else {
        PageKind::Text
    }
}

/// Encodes a marked page of `kind` (from [`classify`] on the page before
/// it was marked) for a screen.
pub fn for_screen(p: &Pixels, kind: PageKind) -> Result<ScreenPage, RenderError> {
    let encoding = match kind {
        PageKind::Text => Encoding::Jpeg {
            quality: TEXT_QUALITY,
            grey: true,
        },
        PageKind::Drawing => Encoding::Jpeg {
            quality: DRAWING_QUALITY,
            grey: is_grey(p),
        },
        PageKind::Picture => Encoding::Jpeg {
            quality: PICTURE_QUALITY,
            grey: is_grey(p),
        },
    };
    let bytes = encode_as(p, encoding).map_err(|e| RenderError::Failed(e.to_string()))?;
    Ok(ScreenPage {
        bytes,
        mime: encoding.mime(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use mark::image::ImageFormat;

    use super::*;

    /// A 200×100 white page with `f` applied to each pixel.
    fn page(f: impl Fn(usize, usize) -> [u8; 3]) -> Pixels {
        let (w, h) = (200, 100);
        let data = (0..w * h).flat_map(|i| f(i % w, i / w)).collect();
        Pixels {
            width: w,
            height: h,
            channels: 3,
            data,
            format: ImageFormat::Png,
        }
    }

    #[test]
    fn pages_are_told_apart_by_paper_mid_tones_and_colour() {
        let white = [255; 3];
        let cases: [(&str, Pixels, PageKind); 6] = [
            ("blank paper", page(|_, _| white), PageKind::Text),
            (
                "lines of black text",
                page(|x, y| {
                    if y % 10 < 3 && x % 4 < 2 {
                        [0; 3]
                    } else {
                        white
                    }
                }),
                PageKind::Text,
            ),
            (
                "one thin red line",
                page(|_, y| if y == 50 { [200, 30, 30] } else { white }),
                PageKind::Drawing,
            ),
            (
                "a grey photograph",
                page(|x, y| [((x + y) % 200) as u8 + 30; 3]),
                PageKind::Picture,
            ),
            (
                "a colour photograph",
                page(|x, y| [(x % 200) as u8, (y * 2) as u8, 120]),
                PageKind::Picture,
            ),
            ("a dark slide", page(|_, _| [20, 20, 30]), PageKind::Picture),
        ];
        for (name, p, want) in cases {
            assert_eq!(classify(&p), want, "{name}");
        }
    }

    #[test]
    fn each_kind_has_its_encoding() {
        let grey = page(|x, _| [(x % 256) as u8; 3]);
        let colour = page(|x, _| [(x % 256) as u8, 0, 0]);
        let cases = [
            (&grey, PageKind::Text, "image/jpeg", image::ColorType::L8),
            (
                &colour,
                PageKind::Drawing,
                "image/jpeg",
                image::ColorType::Rgb8,
            ),
            (&grey, PageKind::Drawing, "image/jpeg", image::ColorType::L8),
            (
                &colour,
                PageKind::Picture,
                "image/jpeg",
                image::ColorType::Rgb8,
            ),
            (&grey, PageKind::Picture, "image/jpeg", image::ColorType::L8),
        ];
        for (p, kind, mime, color) in cases {
            let shown = for_screen(p, kind).unwrap();
            assert_eq!((shown.mime, shown.kind), (mime, kind));
            let decoded = image::load_from_memory(&shown.bytes).unwrap();
            assert_eq!(decoded.color(), color, "{kind:?}");
            assert_eq!((decoded.width(), decoded.height()), (200, 100));
        }
        // A grey encoding keeps the luminance of colour, not one channel.
        let red = page(|_, _| [255, 0, 0]);
        let shown = for_screen(&red, PageKind::Text).unwrap();
        let decoded = image::load_from_memory(&shown.bytes).unwrap().to_luma8();
        let y = decoded.get_pixel(100, 50).0[0];
        assert!((70..=82).contains(&y), "luminance of red: {y}");
    }
}
