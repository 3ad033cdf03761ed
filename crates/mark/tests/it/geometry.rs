//! Issue 18, point 3 (marks that survive geometry): a marked copy is traced
//! after rotation (±2°, ±5°), scaling (25 %, 33 %, 200 %), aspect changes
//! (±10 %), cropping to half the area, print-quality blur and noise, and a
//! perspective "screen photo" (a homography of a few degrees), each also
//! through JPEG where a leaked copy would be; unmarked images and wrong keys
//! read nothing after the same transforms. The transforms are written here
//! (bilinear resampling; the `image` crate's filters for resizing).

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use mark::image::detect_image;
use mark::{Limits, MarkId, Style};

use crate::util::{Rng, decode, encode, generate, issue, jpeg, key};

/// What is done to the marked copy.
#[derive(Debug, Clone, Copy)]
enum Geo {
    /// Turned by the angle (degrees) about the centre, same size, edges repeated.
    Rotate(f32),
    /// Resized by the factors along x and y (triangle filter, antialiased).
    Resize(f32, f32),
    /// Cropped to the share of the area (same share of each side), off-centre.
    Crop(f32),
    /// Gaussian blur of σ pixels, then Gaussian noise of σ grey levels.
    BlurNoise(f32, f32),
    /// A perspective view: the homography of a plane tilted by the angles
    /// (degrees) about the vertical and horizontal axes, seen from one image
    /// width away, and turned by the third angle.
    Perspective(f32, f32, f32),
    /// The attack, then JPEG at the quality.
    Jpeg(&'static Geo, u8),
}

/// `out(x, y) = img(map(x, y))`, bilinear, coordinates clamped to the image.
fn warp(img: &RgbImage, w: u32, h: u32, map: impl Fn(f32, f32) -> (f32, f32)) -> RgbImage {
    let (iw, ih) = (img.width() as f32, img.height() as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = map(x as f32 + 0.5, y as f32 + 0.5);
        let sx = (sx - 0.5).clamp(0.0, iw - 1.0);
        let sy = (sy - 0.5).clamp(0.0, ih - 1.0);
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = (
            (x0 + 1).min(img.width() - 1),
            (y0 + 1).min(img.height() - 1),
        );
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y, c: usize| f32::from(img.get_pixel(x, y).0[c]);
        Rgb(std::array::from_fn(|c| {
            let top = p(x0, y0, c) * (1.0 - fx) + p(x1, y0, c) * fx;
            let bottom = p(x0, y1, c) * (1.0 - fx) + p(x1, y1, c) * fx;
            (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
        }))
    })
}

fn apply(geo: Geo, img: &RgbImage) -> Vec<u8> {
    let (w, h) = (img.width(), img.height());
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let out = match geo {
        Geo::Rotate(deg) => {
            let (s, c) = deg.to_radians().sin_cos();
            // Output → source: the inverse rotation about the centre.
            warp(img, w, h, |x, y| {
                let (dx, dy) = (x - cx, y - cy);
                (cx + c * dx + s * dy, cy - s * dx + c * dy)
            })
        }
        Geo::Resize(fx, fy) => {
            let (nw, nh) = ((w as f32 * fx).round(), (h as f32 * fy).round());
            image::imageops::resize(img, nw as u32, nh as u32, FilterType::Triangle)
        }
        Geo::Crop(share) => {
            let side = share.sqrt();
            let (nw, nh) = ((w as f32 * side) as u32, (h as f32 * side) as u32);
            image::imageops::crop_imm(img, (w - nw) / 3, (h - nh) * 2 / 3, nw, nh).to_image()
        }
        Geo::BlurNoise(sigma, noise) => {
            let mut out = image::imageops::blur(img, sigma);
            let mut rng = Rng(0x5eed);
            for p in out.pixels_mut() {
                // Box–Muller: one normal deviate per pixel, the same on its channels (luminance noise).
                let (u1, u2) = (rng.unit().max(1e-7), rng.unit());
                let n = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos() * noise;
                p.0 =
                    p.0.map(|v| (f32::from(v) + n).round().clamp(0.0, 255.0) as u8);
            }
            out
        }
        Geo::Perspective(yaw, pitch, roll) => {
            // A point (u, v) of the plane (centred, in image widths) seen tilted:
            // x' = (u cos a) / (1 + u sin a + v sin b) with the camera one width away.
            let (sa, ca) = yaw.to_radians().sin_cos();
            let (sb, cb) = pitch.to_radians().sin_cos();
            let (sr, cr) = roll.to_radians().sin_cos();
            let scale = w as f32;
            // Output → source: undo the turn, then invert the projection.
            warp(img, w, h, |x, y| {
                let (dx, dy) = ((x - cx) / scale, (y - cy) / scale);
                let (px, py) = (cr * dx + sr * dy, -sr * dx + cr * dy);
                // px = u ca / d, py = v cb / d, d = 1 + u sa + v sb: linear in (u, v).
                let (a11, a12, a21, a22) = (ca - px * sa, -px * sb, -py * sa, cb - py * sb);
                let det = a11 * a22 - a12 * a21;
                let (u, v) = ((a22 * px - a12 * py) / det, (a11 * py - a21 * px) / det);
                (cx + u * scale, cy + v * scale)
            })
        }
        Geo::Jpeg(inner, quality) => {
            let attacked = decode(&apply(*inner, img));
            return jpeg(&attacked, quality);
        }
    };
    encode(&DynamicImage::ImageRgb8(out), ImageFormat::Png)
}

/// Marks `original` as issued (default style: visible stamp and forensic
/// mark), attacks the copy, and checks that the detector reads the copy's
/// own id; the unmarked original after the same attack, and the marked copy
/// with another key, read nothing. The failures, described.
fn check(name: &str, original: RgbImage, geo: Geo) -> Vec<String> {
    let limits = Limits::default();
    let (k, id) = (key(18), MarkId(0xbb67_ae85_84ca_a73b));
    let png = encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Png);
    let marked = mark::mark(&png, "x.png", &issue(id.0), &Style::default(), &k, &limits).unwrap();
    let attacked = apply(geo, &decode(&marked).to_rgb8());
    let r = detect_image(&attacked, &k, &limits).unwrap();
    println!("{name} {geo:?}: score {:.1} scale {:.3}", r.score, r.scale);
    let mut failures = Vec::new();
    if r.mark_id != Some(id) || r.false_positive_bound >= 1e-9 {
        failures.push(format!("{name} {geo:?}: {r:?}"));
    }
    let unmarked = detect_image(&apply(geo, &original), &k, &limits).unwrap();
    let wrong = detect_image(&attacked, &key(81), &limits).unwrap();
    for (what, r) in [("unmarked", unmarked), ("wrong key", wrong)] {
        if r.mark_id.is_some() {
            failures.push(format!("{name} {geo:?} {what}: {r:?}"));
        }
    }
    failures
}

#[test]
fn marked_copies_are_traced_after_geometric_attacks() {
    use Geo::{BlurNoise, Crop, Jpeg, Perspective, Resize, Rotate};
    let scene = |seed| generate("scene", 512, 384, seed);
    let text = |seed| generate("text", 512, 384, seed);
    let gradient = |seed| generate("gradient", 512, 384, seed);
    let failures = [
        ("scene", scene(1), Rotate(2.0)),
        ("text", text(2), Rotate(-2.0)),
        ("scene", scene(3), Rotate(5.0)),
        ("gradient", gradient(4), Rotate(-5.0)),
        ("scene", scene(5), Jpeg(&Rotate(3.5), 80)),
        ("scene", generate("scene", 1024, 768, 6), Resize(0.25, 0.25)),
        (
            "scene",
            generate("scene", 768, 576, 7),
            Resize(1.0 / 3.0, 1.0 / 3.0),
        ),
        ("scene", scene(8), Resize(2.0, 2.0)),
        ("scene", scene(9), Resize(1.1, 1.0)),
        ("text", text(10), Resize(0.9, 1.0)),
        ("gradient", gradient(11), Resize(1.0, 1.1)),
        ("scene", scene(12), Jpeg(&Resize(0.8, 0.72), 85)),
        ("scene", scene(13), Crop(0.5)),
        ("text", text(14), Crop(0.5)),
        ("scene", scene(15), BlurNoise(1.0, 4.0)),
        ("text", text(16), Jpeg(&BlurNoise(0.8, 3.0), 85)),
        (
            "scene",
            generate("scene", 768, 576, 17),
            Perspective(2.5, 1.5, 1.0),
        ),
        (
            "scene",
            generate("scene", 768, 576, 19),
            Perspective(4.0, -2.0, 0.0),
        ),
        (
            "gradient",
            generate("gradient", 768, 576, 20),
            Jpeg(&Perspective(-3.0, 2.0, -1.0), 85),
        ),
        (
            "scene",
            generate("scene", 1024, 768, 21),
            Perspective(-4.5, 0.0, 0.5),
        ),
    ]
    .into_iter()
    .flat_map(|(name, original, geo)| check(name, original, geo))
    .collect::<Vec<_>>();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
