//! Shared helpers of the integration tests: a deterministic generator of
//! varied test images (gradients, noise, text-like, photo-like scenes), image
//! attacks done with the `image` crate, and small PDFs built with lopdf.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use mark::{Issue, MarkId, MarkKey, Recipient};

/// A small deterministic generator (SplitMix64) for test content only.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

pub fn issue(id: u64) -> Issue {
    Issue {
        recipient: Recipient {
            name: "Zoë Ångström".into(),
            email: "zoe@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        mark_id: MarkId(id),
    }
}

pub fn key(n: u8) -> MarkKey {
    MarkKey::derive(&[n; 7])
}

/// The kinds of generated image.
pub const KINDS: [&str; 4] = ["gradient", "noise", "text", "scene"];

/// A generated `w`×`h` RGB image of one kind.
pub fn generate(kind: &str, w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Rng(seed);
    let (fw, fh) = (w as f32, h as f32);
    match kind {
        "gradient" => RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / fw, y as f32 / fh);
            image::Rgb([
                (40.0 + 180.0 * u) as u8,
                (60.0 + 150.0 * v) as u8,
                (200.0 - 120.0 * (u + v) / 2.0) as u8,
            ])
        }),
        "noise" => RgbImage::from_fn(w, h, |_, _| {
            let g = 60.0 + 140.0 * rng.unit();
            image::Rgb([g as u8, (g * 0.9) as u8, (g * 0.8 + 20.0) as u8])
        }),
        "text" => {
            let mut img = RgbImage::from_pixel(w, h, image::Rgb([250, 250, 245]));
            let mut y = 12;
            while y + 14 < h {
                let mut x = 10 + (rng.next() % 20) as u32;
                while x + 8 < w - 10 {
                    let word = 8 + (rng.next() % 40) as u32;
                    for xx in x..(x + word).min(w - 10) {
                        for yy in y..y + 10 {
                            // Glyph-like strokes: vertical bars and a baseline.
                            if xx % 4 == 0 || yy == y + 9 || (yy == y + 2 && xx % 7 < 3) {
                                img.put_pixel(xx, yy, image::Rgb([20, 20, 30]));
                            }
                        }
                    }
                    x += word + 6;
                }
                y += 18;
            }
            img
        }
        _ => {
            let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..12)
                .map(|_| {
                    (
                        rng.unit() * fw,
                        rng.unit() * fh,
                        20.0 + rng.unit() * fw / 5.0,
                        [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0],
                    )
                })
                .collect();
            let mut grain = Rng(seed ^ 0xABCD);
            RgbImage::from_fn(w, h, |x, y| {
                let (fx, fy) = (x as f32, y as f32);
                let horizon = fh * 0.45 + 25.0 * (fx / 37.0).sin() + 12.0 * (fx / 11.0).cos();
                let mut c = if fy < horizon {
                    let t = fy / horizon;
                    [90.0 + 100.0 * t, 140.0 + 80.0 * t, 230.0 - 20.0 * t]
                } else {
                    let t = (fy - horizon) / (fh - horizon).max(1.0);
                    let tex = 20.0 * ((fx / 3.0).sin() * (fy / 5.0).cos());
                    [70.0 + 60.0 * t + tex, 110.0 + 30.0 * t + tex, 40.0 + tex]
                };
                for &(bx, by, r, col) in &blobs {
                    let d = ((fx - bx).powi(2) + (fy - by).powi(2)).sqrt();
                    if d < r {
                        let a = 0.7 * (1.0 - d / r).sqrt();
                        for (ci, cc) in c.iter_mut().enumerate() {
                            *cc = *cc * (1.0 - a) + col[ci] * a;
                        }
                    }
                }
                let n = (grain.unit() - 0.5) * 12.0;
                image::Rgb(c.map(|v| (v + n).clamp(0.0, 255.0) as u8))
            })
        }
    }
}

pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img.to_rgb8())
        .unwrap();
    out
}

pub fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

/// The attacks of the brief, each from a marked file's bytes to an attacked file's bytes.
pub fn attack(name: &str, marked: &[u8]) -> Vec<u8> {
    let img = decode(marked);
    let (w, h) = (img.width(), img.height());
    match name {
        "none" => marked.to_vec(),
        "scale-50%" => encode(
            &img.resize_exact(w / 2, h / 2, image::imageops::FilterType::Triangle),
            ImageFormat::Png,
        ),
        "crop-20%" => {
            let (cw, ch) = (w * 8 / 10, h * 8 / 10);
            encode(
                &img.crop_imm(w / 10 + 1, h / 10 + 3, cw, ch),
                ImageFormat::Png,
            )
        }
        "jpeg-q50" => jpeg(&img, 50),
        "png-to-jpeg-q75" => jpeg(&img, 75),
        "jpeg-to-png" => encode(&decode(&jpeg(&img, 85)), ImageFormat::Png),
        "bright+10%" | "bright-10%" => {
            let f = if name.starts_with("bright+") {
                1.1
            } else {
                0.9
            };
            let mut rgb = img.to_rgb8();
            rgb.pixels_mut()
                .for_each(|p| p.0 = p.0.map(|v| (f32::from(v) * f).round().min(255.0) as u8));
            encode(&DynamicImage::ImageRgb8(rgb), ImageFormat::Png)
        }
        "crop+scale+jpeg" => {
            let c = img.crop_imm(w / 10 + 1, h / 10 + 3, w * 8 / 10, h * 8 / 10);
            let s = c.resize_exact(
                c.width() / 2,
                c.height() / 2,
                image::imageops::FilterType::Triangle,
            );
            jpeg(&s, 75)
        }
        other => panic!("unknown attack {other}"),
    }
}

pub const ATTACKS: [&str; 9] = [
    "none",
    "scale-50%",
    "crop-20%",
    "jpeg-q50",
    "png-to-jpeg-q75",
    "jpeg-to-png",
    "bright+10%",
    "bright-10%",
    "crop+scale+jpeg",
];

/// Peak signal-to-noise ratio between two same-sized images, in dB.
pub fn psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let mse: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

/// A PDF of `pages` pages built with lopdf: MediaBox inherited from the page
/// tree, page 2 with a CropBox, page 3 turned 90°, page 4 with its contents as a
/// reference to an array, and content that leaves a
/// scaling matrix behind (no `q … Q`), as some producers do.
pub fn pdf(pages: usize) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" },
    );
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for i in 0..pages {
        let content =
            format!("2 0 0 2 0 0 cm BT /F1 12 Tf 20 300 Td (Secret design page {i}) Tj ET\n");
        let c = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        // Page 4: /Contents as a reference to an array of streams.
        let c = if i % 4 == 3 {
            doc.add_object(vec![Object::Reference(c)])
        } else {
            c
        };
        let mut page = dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c, "Resources" => resources };
        if i % 3 == 1 {
            page.set(
                "CropBox",
                vec![50.into(), 50.into(), 562.into(), 742.into()],
            );
        }
        if i % 3 == 2 {
            page.set("Rotate", 90);
        }
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal("Design spec") });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Runs an external tool, failing the test with its output if it fails.
pub fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("`{cmd}` is needed by this test (scripts/test installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
