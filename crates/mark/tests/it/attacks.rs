//! Regressions of issue 6 (forensic image mark robustness): a marked copy is
//! traced after brightening a white text page by 10 % (its paper saturates at
//! 255, so only the ink keeps the mark) and after rescaling by factors none of
//! the detector's fixed scales is near (the scale is estimated from the copy).

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, RgbImage};
use mark::image::detect_image;
use mark::{Limits, MarkId, Style};

use crate::util::{decode, encode, generate, issue, key};

/// A page of the generated text kind, on pure white paper.
fn white_text_page(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut page = generate("text", w, h, seed);
    for p in page.pixels_mut() {
        if p.0[0] > 200 {
            p.0 = [255, 255, 255];
        }
    }
    page
}

/// What is done to the marked copy.
#[derive(Debug, Clone, Copy)]
enum Attack {
    /// Every channel × factor, clipped at 255.
    Brighten(f32),
    /// Resized by the factor (both sides), with the filter.
    Rescale(f32, FilterType),
}

fn apply(attack: Attack, marked: &[u8]) -> Vec<u8> {
    let img = decode(marked);
    let out = match attack {
        Attack::Brighten(f) => {
            let mut rgb = img.to_rgb8();
            rgb.pixels_mut()
                .for_each(|p| p.0 = p.0.map(|v| (f32::from(v) * f).round().min(255.0) as u8));
            DynamicImage::ImageRgb8(rgb)
        }
        Attack::Rescale(f, filter) => {
            let (w, h) = (img.width() as f32 * f, img.height() as f32 * f);
            img.resize_exact(w.round() as u32, h.round() as u32, filter)
        }
    };
    encode(&out, ImageFormat::Png)
}

/// Marks `original` as issued (default style), attacks the copy, and checks
/// that the detector reads the copy's own id (and at about the right scale).
fn check(name: &str, original: RgbImage, attack: Attack) {
    let limits = Limits::default();
    let (k, id) = (key(9), MarkId(0x6a09_e667_f3bc_c908));
    let png = encode(&DynamicImage::ImageRgb8(original), ImageFormat::Png);
    let marked = mark::mark(&png, "x.png", &issue(id.0), &Style::default(), &k, &limits).unwrap();
    let r = detect_image(&apply(attack, &marked), &k, &limits).unwrap();
    assert_eq!(r.mark_id, Some(id), "{name} {attack:?}: {r:?}");
    if let Attack::Rescale(f, _) = attack {
        assert!((r.scale / f - 1.0).abs() < 0.01, "{name} {attack:?}: {r:?}");
    }
}

#[test]
fn marked_copies_are_traced_after_brightening_a_white_page_and_off_grid_rescaling() {
    use Attack::{Brighten, Rescale};
    let scene = || generate("scene", 640, 480, 11);
    let page = || white_text_page(640, 480, 12);
    let kind = |kind, seed| generate(kind, 640, 480, seed);
    for (name, original, attack) in [
        ("white text page", page(), Brighten(1.1)),
        (
            "white text page",
            white_text_page(800, 600, 13),
            Brighten(1.1),
        ),
        ("scene", scene(), Rescale(0.67, FilterType::Triangle)),
        ("scene", scene(), Rescale(0.9, FilterType::CatmullRom)),
        ("scene", scene(), Rescale(1.37, FilterType::Lanczos3)),
        ("scene", scene(), Rescale(0.55, FilterType::Triangle)),
        (
            "gradient",
            kind("gradient", 14),
            Rescale(0.55, FilterType::CatmullRom),
        ),
        (
            "gradient",
            kind("gradient", 15),
            Rescale(1.37, FilterType::Triangle),
        ),
        (
            "white text page",
            white_text_page(800, 600, 16),
            Rescale(0.9, FilterType::Triangle),
        ),
        (
            "white text page",
            page(),
            Rescale(1.37, FilterType::CatmullRom),
        ),
    ] {
        check(name, original, attack);
    }
}
