//! Driver of `bench/robustness.sh`: marks files as Custody issues them, reads
//! the marks back after the script's attacks, and generates the varied,
//! deterministic corpus (images and PDFs) the robustness table is measured on.
//!
//! Usage:
//! - `mark_robust embed IN OUT ID KEYHEX`: marks IN (image or PDF) for the
//!   64-bit id ID (16 hex digits) with the default style (visible stamp and,
//!   for images, the forensic mark) and the 32-byte key KEYHEX;
//! - `mark_robust detect IN KEYHEX [EXPECTED_ID]`: prints one line
//!   `found=0|1 id=… kind=… confidence=… fp_bound=… score=… bit_errors=N|na`.
//!   For images the bit errors are counted over the 64 id bits the detector
//!   decoded at its best sync score, read or not; PDF and text tokens are read
//!   whole or not at all (`na` when none was read);
//! - `mark_robust gen-images DIR N`: N PNG images, `img-000.png` …, five kinds
//!   in turn (photo, smooth, drawing, text page, dark scene), 640×480 to 1920×1080;
//! - `mark_robust gen-pdfs DIR N`: N PDFs, `doc-000.pdf` …, text pages of five
//!   sizes, 1 to 12 pages, three fonts, crop boxes, rotation, figures;
//! - `mark_robust time IN KEYHEX RUNS`: median milliseconds of the forensic
//!   embed and detect on IN's pixels, and of the whole file path (PNG in, out).

use std::error::Error;
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use mark::image::{decode, detect_image, forensic};
use mark::{Format, Issue, Limits, MarkId, MarkKey, OffsetDateTime, Recipient, Style};

type Res<T> = Result<T, Box<dyn Error>>;

const USAGE: &str = "usage: mark_robust embed IN OUT ID KEYHEX | detect IN KEYHEX [EXPECTED_ID] \
                     | gen-images DIR N | gen-pdfs DIR N | time IN KEYHEX RUNS";

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["embed", input, out, id, key] => embed(input, out, parse_id(id)?, &parse_key(key)?),
        ["detect", input, key] => detect(input, &parse_key(key)?, None),
        ["detect", input, key, want] => detect(input, &parse_key(key)?, Some(parse_id(want)?)),
        ["gen-images", dir, n] => gen_images(Path::new(dir), n.parse()?),
        ["gen-pdfs", dir, n] => gen_pdfs(Path::new(dir), n.parse()?),
        ["time", input, key, runs] => time(input, &parse_key(key)?, runs.parse()?),
        _ => Err(USAGE.into()),
    }
}

fn parse_id(s: &str) -> Res<MarkId> {
    Ok(MarkId(
        u64::from_str_radix(s, 16).map_err(|e| format!("id `{s}`: {e}"))?,
    ))
}

fn parse_key(s: &str) -> Res<MarkKey> {
    if s.len() != 64 {
        return Err(format!("key `{s}` is not 64 hex digits").into());
    }
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        let pair = s.get(2 * i..2 * i + 2).ok_or("key is not ascii hex")?;
        *b = u8::from_str_radix(pair, 16)?;
    }
    Ok(MarkKey::new(k))
}

fn issue(id: MarkId) -> Res<Issue> {
    Ok(Issue {
        recipient: Recipient {
            name: "Robustness Bench".into(),
            email: "bench@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: OffsetDateTime::from_unix_timestamp(1_795_000_000)?,
        mark_id: id,
    })
}

fn embed(input: &str, out: &str, id: MarkId, key: &MarkKey) -> Res<()> {
    let bytes = std::fs::read(input).map_err(|e| format!("reading `{input}`: {e}"))?;
    let marked = mark::mark(
        &bytes,
        input,
        &issue(id)?,
        &Style::default(),
        key,
        &Limits::default(),
    )?;
    std::fs::write(out, marked).map_err(|e| format!("writing `{out}`: {e}"))?;
    Ok(())
}

/// Bits that differ between the first 64 decoded bits and `want`.
fn id_bit_errors(bits: &[bool], want: MarkId) -> usize {
    (0..64)
        .filter(|&i| bits.get(i).copied().unwrap_or(false) != ((want.0 >> (63 - i)) & 1 == 1))
        .count()
}

fn detect(input: &str, key: &MarkKey, want: Option<MarkId>) -> Res<()> {
    let bytes = std::fs::read(input).map_err(|e| format!("reading `{input}`: {e}"))?;
    let limits = Limits::default();
    let show = |id: Option<MarkId>| id.map_or_else(|| "-".to_string(), |i| i.to_string());
    if let Some(Format::Image(_)) = Format::sniff(&bytes) {
        let r = detect_image(&bytes, key, &limits)?;
        let errors = want.map_or_else(
            || "na".to_string(),
            |w| id_bit_errors(&r.bits, w).to_string(),
        );
        let conf = if r.mark_id.is_some() {
            1.0 - r.false_positive_bound
        } else {
            0.0
        };
        println!(
            "found={} id={} kind=image-forensic confidence={conf:.12} fp_bound={:.1e} score={:.2} scale={:.3} bit_errors={errors}",
            u8::from(r.mark_id.is_some()),
            show(r.mark_id),
            r.false_positive_bound,
            r.score,
            r.scale,
        );
        return Ok(());
    }
    let t = mark::trace(&bytes, Some(key), &limits)?;
    let errors = match (&t, want) {
        (Some(t), Some(w)) => (t.mark_id.0 ^ w.0).count_ones().to_string(),
        _ => "na".to_string(),
    };
    println!(
        "found={} id={} kind={} confidence={:.12} fp_bound={:.1e} score=na scale=na bit_errors={errors}",
        u8::from(t.is_some()),
        show(t.as_ref().map(|t| t.mark_id)),
        t.as_ref().map_or("none", |t| t.kind.name()),
        t.as_ref().map_or(0.0, |t| t.confidence),
        t.as_ref().map_or(1.0, |t| 1.0 - t.confidence),
    );
    Ok(())
}

/// SplitMix64, for generated content only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [a, b).
    fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.unit()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn colour(&mut self, lo: f32, hi: f32) -> [f32; 3] {
        [self.range(lo, hi), self.range(lo, hi), self.range(lo, hi)]
    }
}

/// An RGB drawing surface in floating point, with alpha-blended primitives.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<[f32; 3]>,
}

impl Canvas {
    fn from_fn(w: usize, h: usize, f: impl Fn(f32, f32) -> [f32; 3]) -> Self {
        let px = (0..w * h)
            .map(|i| f((i % w) as f32, (i / w) as f32))
            .collect();
        Self { w, h, px }
    }

    fn blend(&mut self, x: usize, y: usize, c: [f32; 3], a: f32) {
        if x < self.w
            && let Some(p) = self.px.get_mut(y * self.w + x)
        {
            for (v, c) in p.iter_mut().zip(c) {
                *v += (c - *v) * a.clamp(0.0, 1.0);
            }
        }
    }

    /// Pixel bounds of a box, clipped to the canvas.
    fn clip(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> (usize, usize, usize, usize) {
        let cx = |v: f32| v.clamp(0.0, self.w as f32) as usize;
        let cy = |v: f32| v.clamp(0.0, self.h as f32) as usize;
        (cx(x0), cy(y0), cx(x1), cy(y1))
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: [f32; 3], a: f32) {
        let (x0, y0, x1, y1) = self.clip(x, y, x + w, y + h);
        for yy in y0..y1 {
            for xx in x0..x1 {
                self.blend(xx, yy, c, a);
            }
        }
    }

    /// A disc of radius `r`; `soft` fades it from the centre outwards.
    fn disc(&mut self, cx: f32, cy: f32, r: f32, c: [f32; 3], a: f32, soft: bool) {
        let (x0, y0, x1, y1) = self.clip(cx - r - 1.0, cy - r - 1.0, cx + r + 1.0, cy + r + 1.0);
        for yy in y0..y1 {
            for xx in x0..x1 {
                let d = ((xx as f32 - cx).powi(2) + (yy as f32 - cy).powi(2)).sqrt();
                let cover = if soft {
                    (1.0 - d / r).max(0.0).powf(1.5)
                } else {
                    (r + 0.5 - d).clamp(0.0, 1.0)
                };
                if cover > 0.0 {
                    self.blend(xx, yy, c, a * cover);
                }
            }
        }
    }

    /// An anti-aliased segment of width `lw`.
    fn line(&mut self, (x0, y0): (f32, f32), (x1, y1): (f32, f32), lw: f32, c: [f32; 3]) {
        let pad = lw / 2.0 + 1.0;
        let (bx0, by0, bx1, by1) = self.clip(
            x0.min(x1) - pad,
            y0.min(y1) - pad,
            x0.max(x1) + pad,
            y0.max(y1) + pad,
        );
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for yy in by0..by1 {
            for xx in bx0..bx1 {
                let (px, py) = (xx as f32 + 0.5, yy as f32 + 0.5);
                let t = (((px - x0) * dx + (py - y0) * dy) / len2).clamp(0.0, 1.0);
                let d = ((px - x0 - t * dx).powi(2) + (py - y0 - t * dy).powi(2)).sqrt();
                let cover = (lw / 2.0 + 0.5 - d).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(xx, yy, c, cover);
                }
            }
        }
    }

    /// A circle outline.
    fn ring(&mut self, (cx, cy): (f32, f32), r: f32, lw: f32, c: [f32; 3]) {
        let n = ((r * 0.8) as usize).clamp(12, 400);
        let pt = |k: usize| {
            let t = k as f32 / n as f32 * std::f32::consts::TAU;
            (cx + r * t.cos(), cy + r * t.sin())
        };
        for k in 0..n {
            self.line(pt(k), pt(k + 1), lw, c);
        }
    }

    /// A glyph-like mark: two to four strokes in a `w`×`h` box with its top left at (x, y).
    fn glyph(&mut self, rng: &mut Rng, (x, y): (f32, f32), (w, h): (f32, f32), c: [f32; 3]) {
        let lw = (h / 7.0).max(1.0);
        for _ in 0..2 + rng.below(3) {
            let (a, b) = match rng.below(7) {
                0 => ((x, y), (x, y + h)),
                1 => ((x + w, y + h * 0.35), (x + w, y + h)),
                2 => ((x, y + h * 0.35), (x + w, y + h * 0.35)),
                3 => ((x, y + h), (x + w, y + h)),
                4 => ((x, y + h), (x + w, y + h * 0.35)),
                5 => ((x + w / 2.0, y), (x + w / 2.0, y + h)),
                _ => {
                    let r = w.min(h * 0.65) / 2.0;
                    self.ring((x + w / 2.0, y + h - r), r, lw, c);
                    continue;
                }
            };
            self.line(a, b, lw, c);
        }
    }

    /// A line of words of glyphs from `x` to at most `right`, baseline box at `y`, glyph height `gh`.
    fn words(&mut self, rng: &mut Rng, (x, y): (f32, f32), right: f32, gh: f32, c: [f32; 3]) {
        let gw = gh * 0.6;
        let mut cx = x;
        while cx + gw < right {
            let letters = 1 + rng.below(9);
            for _ in 0..letters {
                if cx + gw >= right {
                    break;
                }
                self.glyph(rng, (cx, y), (gw * 0.8, gh), c);
                cx += gw;
            }
            cx += gw * 0.8;
        }
    }

    /// 8-bit PNG with Gaussian-like grain of standard deviation about `grain`.
    fn png(&self, rng: &mut Rng, grain: f32) -> Res<Vec<u8>> {
        let mut raw = Vec::with_capacity(self.w * self.h * 3);
        for p in &self.px {
            // The sum of three uniforms: close enough to Gaussian for film grain.
            let n = if grain > 0.0 {
                (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0 * grain
            } else {
                0.0
            };
            raw.extend(p.map(|v| (v + n).round().clamp(0.0, 255.0) as u8));
        }
        let img = image::RgbImage::from_raw(self.w as u32, self.h as u32, raw)
            .ok_or("canvas size does not match its pixels")?;
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)?;
        Ok(out.into_inner())
    }
}

const SIZES: [(usize, usize); 10] = [
    (640, 480),
    (800, 600),
    (1024, 768),
    (1280, 720),
    (1366, 768),
    (1440, 900),
    (1600, 900),
    (1920, 1080),
    (768, 1024),
    (1080, 1080),
];
const KINDS: [&str; 5] = ["photo", "smooth", "drawing", "text", "dark"];

fn gen_images(dir: &Path, n: usize) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    for i in 0..n {
        let kind = KINDS.get(i % KINDS.len()).copied().unwrap_or("photo");
        // Each kind goes through every size over ten images.
        let (w, h) = SIZES
            .get((i / KINDS.len() + 3 * (i % KINDS.len())) % SIZES.len())
            .copied()
            .unwrap_or((640, 480));
        let mut rng = Rng(0xC0DE_0000 + i as u64);
        let (canvas, grain) = match kind {
            "photo" => (photo(&mut rng, w, h), 4.0),
            "smooth" => (smooth(&mut rng, w, h), 1.0),
            "drawing" => (drawing(&mut rng, w, h), 0.0),
            "text" => (text_page(&mut rng, w, h), 0.0),
            _ => (dark(&mut rng, w, h), 2.5),
        };
        std::fs::write(
            dir.join(format!("img-{i:03}.png")),
            canvas.png(&mut rng, grain)?,
        )?;
        println!("img-{i:03}.png {kind} {w}x{h}");
    }
    Ok(())
}

/// Sky, a wavy horizon, textured ground, buildings with windows, soft blobs.
fn photo(rng: &mut Rng, w: usize, h: usize) -> Canvas {
    let (fw, fh) = (w as f32, h as f32);
    let sky_top = rng.colour(40.0, 140.0);
    let sky_low = rng.colour(150.0, 240.0);
    let ground = rng.colour(40.0, 130.0);
    let (wave, phase) = (rng.range(20.0, 60.0), rng.range(0.0, 6.0));
    let horizon = fh * rng.range(0.35, 0.6);
    let mut c = Canvas::from_fn(w, h, |x, y| {
        let hy = horizon + 0.04 * fh * (x / wave + phase).sin() + 0.02 * fh * (x / 13.0).cos();
        if y < hy {
            let t = y / hy;
            [0, 1, 2].map(|k| sky_top[k] + (sky_low[k] - sky_top[k]) * t)
        } else {
            let tex = 18.0 * ((x / 3.1).sin() * (y / 4.7).cos()) + 8.0 * ((x + y) / 9.0).sin();
            let t = (y - hy) / (fh - hy).max(1.0);
            [0, 1, 2].map(|k| ground[k] * (0.7 + 0.6 * t) + tex)
        }
    });
    for _ in 0..3 + rng.below(6) {
        let (bw, bh) = (rng.range(0.04, 0.14) * fw, rng.range(0.1, 0.35) * fh);
        let (bx, by) = (
            rng.range(0.0, fw - bw),
            horizon - bh + rng.range(0.0, 0.1) * fh,
        );
        let wall = rng.colour(60.0, 200.0);
        c.rect(bx, by, bw, bh, wall, 1.0);
        let lit = rng.colour(150.0, 255.0);
        let mut wy = by + 6.0;
        while wy + 8.0 < by + bh {
            let mut wx = bx + 5.0;
            while wx + 6.0 < bx + bw {
                c.rect(wx, wy, 5.0, 7.0, lit, 0.8);
                wx += 11.0;
            }
            wy += 14.0;
        }
    }
    for _ in 0..6 + rng.below(8) {
        let r = rng.range(0.02, 0.15) * fw;
        let col = rng.colour(0.0, 255.0);
        let (x, y) = (rng.range(0.0, fw), rng.range(0.0, fh));
        c.disc(x, y, r, col, 0.75, true);
    }
    c
}

/// Smooth gradients and large soft shapes, little texture (studio or sky-like).
fn smooth(rng: &mut Rng, w: usize, h: usize) -> Canvas {
    let (fw, fh) = (w as f32, h as f32);
    let a = rng.colour(30.0, 230.0);
    let b = rng.colour(30.0, 230.0);
    let (cx, cy) = (rng.range(0.2, 0.8) * fw, rng.range(0.2, 0.8) * fh);
    let diag = (fw * fw + fh * fh).sqrt();
    let mut c = Canvas::from_fn(w, h, |x, y| {
        let t = (((x - cx).powi(2) + (y - cy).powi(2)).sqrt() / diag * 1.6).min(1.0);
        [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
    });
    for _ in 0..2 + rng.below(4) {
        let r = rng.range(0.1, 0.35) * fw.min(fh);
        let col = rng.colour(20.0, 240.0);
        let (x, y) = (rng.range(0.0, fw), rng.range(0.0, fh));
        c.disc(x, y, r, col, 0.6, true);
    }
    c
}

/// Lines, circles and flat shapes on white, a light grid in some, labels.
fn drawing(rng: &mut Rng, w: usize, h: usize) -> Canvas {
    let (fw, fh) = (w as f32, h as f32);
    let mut c = Canvas::from_fn(w, h, |_, _| [255.0; 3]);
    if rng.below(2) == 0 {
        let step = rng.range(16.0, 40.0);
        let grid = [205.0, 220.0, 245.0];
        let mut x = step;
        while x < fw {
            c.line((x, 0.0), (x, fh), 1.0, grid);
            x += step;
        }
        let mut y = step;
        while y < fh {
            c.line((0.0, y), (fw, y), 1.0, grid);
            y += step;
        }
    }
    for _ in 0..2 + rng.below(4) {
        let col = rng.colour(120.0, 250.0);
        let (rw, rh) = (rng.range(0.05, 0.25) * fw, rng.range(0.05, 0.25) * fh);
        c.rect(
            rng.range(0.0, fw - rw),
            rng.range(0.0, fh - rh),
            rw,
            rh,
            col,
            1.0,
        );
    }
    let ink = [20.0, 20.0, 35.0];
    for _ in 0..25 + rng.below(40) {
        let p0 = (rng.range(0.0, fw), rng.range(0.0, fh));
        let len = rng.range(0.05, 0.5) * fw.min(fh);
        let t = rng.range(0.0, std::f32::consts::TAU);
        let p1 = (p0.0 + len * t.cos(), p0.1 + len * t.sin());
        let col = if rng.below(4) == 0 {
            rng.colour(0.0, 200.0)
        } else {
            ink
        };
        c.line(p0, p1, rng.range(1.0, 3.5), col);
    }
    for _ in 0..3 + rng.below(6) {
        let r = rng.range(0.02, 0.15) * fw.min(fh);
        let at = (rng.range(0.0, fw), rng.range(0.0, fh));
        c.ring(at, r, rng.range(1.0, 3.0), ink);
    }
    for _ in 0..4 + rng.below(6) {
        let (x, y) = (rng.range(0.0, fw * 0.8), rng.range(0.0, fh - 14.0));
        let right = x + rng.range(40.0, 160.0);
        c.words(rng, (x, y), right, 10.0, ink);
    }
    c
}

/// A page of text: heading, paragraphs, sometimes a table, on white or off-white.
fn text_page(rng: &mut Rng, w: usize, h: usize) -> Canvas {
    let (fw, fh) = (w as f32, h as f32);
    let paper = if rng.below(2) == 0 {
        [255.0; 3]
    } else {
        [250.0, 249.0, 244.0]
    };
    let mut c = Canvas::from_fn(w, h, |_, _| paper);
    let ink = [
        rng.range(0.0, 40.0),
        rng.range(0.0, 40.0),
        rng.range(0.0, 60.0),
    ];
    let margin = rng.range(0.05, 0.1) * fw;
    let gh = rng.range(8.0, 16.0);
    let mut y = margin * 0.6;
    c.words(rng, (margin, y), fw * 0.6, gh * 1.8, ink);
    y += gh * 4.0;
    while y + gh * 2.0 < fh - margin * 0.5 {
        if rng.below(9) == 0 {
            // A table: ruled rows with cells of words.
            let rows = 3 + rng.below(5);
            let cols = 2 + rng.below(4);
            let cw = (fw - 2.0 * margin) / cols as f32;
            for r in 0..=rows {
                let ry = y + r as f32 * gh * 2.0;
                c.line((margin, ry), (fw - margin, ry), 1.0, ink);
                if r < rows {
                    for k in 0..cols {
                        let cx = margin + k as f32 * cw + 4.0;
                        c.words(rng, (cx, ry + gh * 0.4), cx + cw * 0.7, gh, ink);
                    }
                }
            }
            y += (rows as f32 + 1.0) * gh * 2.0;
            continue;
        }
        let lines = 2 + rng.below(7);
        for l in 0..lines {
            if y + gh * 2.0 >= fh - margin * 0.5 {
                break;
            }
            let right = if l + 1 == lines {
                margin + rng.range(0.2, 0.9) * (fw - 2.0 * margin)
            } else {
                fw - margin
            };
            c.words(rng, (margin, y), right, gh, ink);
            y += gh * 1.6;
        }
        y += gh * 1.2;
    }
    c
}

/// A night scene: dark gradient, silhouettes, a few bright lights with glow.
fn dark(rng: &mut Rng, w: usize, h: usize) -> Canvas {
    let (fw, fh) = (w as f32, h as f32);
    let top = rng.colour(0.0, 25.0);
    let low = rng.colour(10.0, 45.0);
    let mut c = Canvas::from_fn(w, h, |_, y| {
        let t = y / fh;
        [0, 1, 2].map(|k| top[k] + (low[k] - top[k]) * t)
    });
    for _ in 0..4 + rng.below(6) {
        let (bw, bh) = (rng.range(0.05, 0.2) * fw, rng.range(0.1, 0.5) * fh);
        c.rect(
            rng.range(0.0, fw - bw),
            fh - bh,
            bw,
            bh,
            rng.colour(0.0, 12.0),
            1.0,
        );
    }
    for _ in 0..5 + rng.below(10) {
        let (x, y) = (rng.range(0.0, fw), rng.range(0.0, fh));
        let col = [
            rng.range(180.0, 255.0),
            rng.range(140.0, 230.0),
            rng.range(60.0, 200.0),
        ];
        c.disc(x, y, rng.range(20.0, 90.0), col, 0.35, true);
        c.disc(x, y, rng.range(2.0, 6.0), [255.0, 250.0, 235.0], 1.0, false);
    }
    c
}

const VOCABULARY: [&str; 40] = [
    "the",
    "design",
    "of",
    "valve",
    "assembly",
    "pressure",
    "rated",
    "for",
    "and",
    "with",
    "tolerance",
    "review",
    "supplier",
    "shall",
    "confidential",
    "drawing",
    "revision",
    "is",
    "a",
    "material",
    "steel",
    "housing",
    "seal",
    "torque",
    "test",
    "report",
    "batch",
    "in",
    "quality",
    "to",
    "process",
    "schedule",
    "cost",
    "part",
    "number",
    "surface",
    "finish",
    "approved",
    "by",
    "engineering",
];

/// One sentence-like line of about `chars` characters.
fn sentence(rng: &mut Rng, chars: usize) -> String {
    let mut s = String::new();
    while s.len() < chars {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(
            VOCABULARY
                .get(rng.below(VOCABULARY.len()))
                .copied()
                .unwrap_or("x"),
        );
    }
    s
}

const PAGE_SIZES: [(f32, f32); 5] = [
    (612.0, 792.0),
    (595.0, 842.0),
    (1191.0, 842.0),
    (420.0, 595.0),
    (960.0, 540.0),
];
const FONTS: [&str; 3] = ["Helvetica", "Times-Roman", "Courier"];

fn gen_pdfs(dir: &Path, n: usize) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    for i in 0..n {
        let (bytes, pages, (pw, ph)) = pdf(i)?;
        std::fs::write(dir.join(format!("doc-{i:03}.pdf")), bytes)?;
        println!("doc-{i:03}.pdf {pages} pages {pw}x{ph}");
    }
    Ok(())
}

/// The content stream of one text page (with a ruled heading and sometimes a figure).
fn page_content(rng: &mut Rng, (pw, ph): (f32, f32), size: f32, title: &str) -> String {
    let margin = 0.08 * pw;
    let lead = size * 1.3;
    let chars = ((pw - 2.0 * margin) / (size * 0.5)) as usize;
    let mut c = format!(
        "BT /F1 {:.1} Tf {margin:.1} {:.1} Td ({title}) Tj ET\n0.5 w {margin:.1} {:.1} m {:.1} {:.1} l S\n",
        size * 1.6,
        ph - margin,
        ph - margin - size,
        pw - margin,
        ph - margin - size,
    );
    let mut y = ph - margin - size * 3.0;
    if rng.below(3) == 0 {
        let fh = 0.25 * ph;
        let [r, g, b] = [rng.unit(), rng.unit(), rng.unit()];
        c.push_str(&format!(
            "{r:.2} {g:.2} {b:.2} rg {margin:.1} {:.1} {:.1} {fh:.1} re f 0 g\n",
            y - fh,
            pw - 2.0 * margin
        ));
        y -= fh + lead;
    }
    c.push_str(&format!(
        "BT /F1 {size:.1} Tf {lead:.1} TL {margin:.1} {y:.1} Td\n"
    ));
    while y > margin {
        let len = if rng.below(6) == 0 {
            chars / 3
        } else {
            chars.saturating_sub(rng.below(8))
        };
        c.push_str(&format!("({}) Tj T*\n", sentence(rng, len)));
        y -= lead;
    }
    c.push_str("ET\n");
    c
}

/// Document `i` of the corpus: bytes, page count, page size.
fn pdf(i: usize) -> Res<(Vec<u8>, usize, (f32, f32))> {
    let mut rng = Rng(0x00D0_C000 + i as u64);
    let (pw, ph) = PAGE_SIZES
        .get(i % PAGE_SIZES.len())
        .copied()
        .unwrap_or((612.0, 792.0));
    let pages = 1 + (i * 5) % 12;
    let font = FONTS.get(i % FONTS.len()).copied().unwrap_or("Helvetica");
    let size = 9.0 + (i % 5) as f32;
    let version = ["1.4", "1.5", "1.7"].get(i % 3).copied().unwrap_or("1.4");
    let mut doc = Document::with_version(version);
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => font, "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::with_capacity(pages);
    for p in 0..pages {
        let title = format!("Specification {i} - section {}", p + 1);
        let body = page_content(&mut rng, (pw, ph), size, &title);
        let mut stream = Stream::new(Dictionary::new(), body.into_bytes());
        if i % 2 == 1 {
            stream.compress()?;
        }
        let content = doc.add_object(stream);
        // Some documents keep /Contents as an array (a header stream, then the body).
        let content = if i % 4 == 2 {
            let head = doc.add_object(Stream::new(Dictionary::new(), b"0 g\n".to_vec()));
            doc.add_object(vec![Object::Reference(head), Object::Reference(content)])
        } else {
            content
        };
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content, "Resources" => resources,
        };
        if i % 5 == 1 && p % 2 == 0 {
            page.set(
                "CropBox",
                vec![20.into(), 20.into(), (pw - 20.0).into(), (ph - 20.0).into()],
            );
        }
        if i % 7 == 3 && p % 3 == 1 {
            page.set("Rotate", 90);
        }
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), pw.into(), ph.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    if i.is_multiple_of(2) {
        let info = doc.add_object(dictionary! {
            "Title" => Object::string_literal(format!("Specification {i}")),
            "Author" => Object::string_literal("Engineering"),
        });
        doc.trailer.set("Info", info);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok((out, pages, (pw, ph)))
}

/// Interleaved pixels turned by `deg` degrees about the centre and scaled by
/// `s` (bilinear, same size, edges repeated).
fn turn_and_scale(px: &[u8], w: usize, h: usize, ch: usize, deg: f32, s: f32) -> Vec<u8> {
    let (sin, cos) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut out = vec![0u8; w * h * ch];
    for (i, o) in out.chunks_exact_mut(ch).enumerate() {
        let (dx, dy) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
        let sx = ((cos * dx + sin * dy) / s + cx).clamp(0.0, w as f32 - 1.001);
        let sy = ((-sin * dx + cos * dy) / s + cy).clamp(0.0, h as f32 - 1.001);
        let (x0, y0) = (sx as usize, sy as usize);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        for (c, v) in o.iter_mut().enumerate() {
            let at =
                |x: usize, y: usize| f32::from(px.get((y * w + x) * ch + c).copied().unwrap_or(0));
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            *v = (top * (1.0 - fy) + bottom * fy).round() as u8;
        }
    }
    out
}

/// Median of `runs` wall times of `f`, in milliseconds.
fn median_ms(runs: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    t.sort_by(f64::total_cmp);
    Ok(t.get(t.len() / 2).copied().unwrap_or(f64::NAN))
}

fn time(input: &str, key: &MarkKey, runs: usize) -> Res<()> {
    let bytes = std::fs::read(input).map_err(|e| format!("reading `{input}`: {e}"))?;
    let limits = Limits::default();
    let p = decode(&bytes, &limits)?;
    let id = MarkId(0x0123_4567_89ab_cdef);
    let strength = Style::default().forensic_strength;
    let mut marked = p.data.clone();
    let embed = median_ms(runs, || {
        marked.clone_from(&p.data);
        forensic::embed(
            &mut marked,
            p.width,
            p.height,
            p.channels,
            key,
            id,
            strength,
        );
        Ok(())
    })?;
    let mut found = false;
    let detect = median_ms(runs, || {
        let y = forensic::luma(&marked, p.channels);
        found = forensic::detect(&y, p.width, p.height, key).mark_id == Some(id);
        Ok(())
    })?;
    // A copy of the marked pixels turned by 3° and scaled by 0.9 (what the
    // lattice stage reads), and the unmarked pixels (the whole search).
    let turned = turn_and_scale(&marked, p.width, p.height, p.channels, 3.0, 0.9);
    let mut geo_found = false;
    let detect_geo = median_ms(runs, || {
        let y = forensic::luma(&turned, p.channels);
        geo_found = forensic::detect(&y, p.width, p.height, key).mark_id == Some(id);
        Ok(())
    })?;
    let detect_unmarked = median_ms(runs, || {
        let y = forensic::luma(&p.data, p.channels);
        forensic::detect(&y, p.width, p.height, key);
        Ok(())
    })?;
    let issue = issue(id)?;
    let mut file = Vec::new();
    let file_embed = median_ms(runs, || {
        file = mark::mark(&bytes, input, &issue, &Style::default(), key, &limits)?;
        Ok(())
    })?;
    let file_detect = median_ms(runs, || {
        mark::trace(&file, Some(key), &limits)?;
        Ok(())
    })?;
    println!("size={}x{}", p.width, p.height);
    println!("embed_ms={embed:.1}");
    println!("detect_ms={detect:.1}");
    println!("detect_ok={found}");
    println!("detect_geo_ms={detect_geo:.1}");
    println!("detect_geo_ok={geo_found}");
    println!("detect_unmarked_ms={detect_unmarked:.1}");
    println!("offsets={}", forensic::offsets_tried());
    println!("file_embed_ms={file_embed:.1}");
    println!("file_detect_ms={file_detect:.1}");
    Ok(())
}
