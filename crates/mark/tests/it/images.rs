//! Forensic image marks under the attacks of the brief, on generated images,
//! with the bit-error rate and trace success reported; the false-positive
//! rate on unmarked images; the visible stamp's effect.

use image::ImageFormat;
use mark::image::{THRESHOLD, detect_image};
use mark::{Limits, MarkId, Placement, Style};

use crate::util::{ATTACKS, KINDS, attack, decode, encode, generate, issue, key, psnr};

fn forensic_only() -> Style {
    // The visible stamp is tested apart; an almost invisible one keeps these figures about the forensic mark.
    Style {
        opacity: 0.01,
        ..Style::default()
    }
}

/// Attacks a kind of image is known not to survive, with the reason:
/// - crop, then 50 % scale, then JPEG (all three at once, beyond the brief) on the
///   dense text pattern (vertical bars every 4 pixels).
const KNOWN_MISSES: [(&str, &str); 1] = [("crop+scale+jpeg", "text")];

#[test]
fn forensic_mark_survives_every_attack_on_every_kind_of_image() {
    let limits = Limits::default();
    let k = key(1);
    let mut failures = Vec::new();
    let mut table = String::from("attack            kind      score  BER    traced\n");
    for (n, kind) in KINDS.iter().enumerate() {
        let id = 0x0123_4567_89ab_cd00 + n as u64;
        let original = image::DynamicImage::ImageRgb8(generate(kind, 640, 480, 7 + n as u64));
        let png = encode(&original, ImageFormat::Png);
        let marked = mark::mark(&png, "x.png", &issue(id), &forensic_only(), &k, &limits).unwrap();
        let q = psnr(&original, &decode(&marked));
        table.push_str(&format!("(psnr of marked {kind}: {q:.1} dB)\n"));
        for a in ATTACKS {
            let attacked = attack(a, &marked);
            let r = detect_image(&attacked, &k, &limits).unwrap();
            let truth = mark::MarkId(id);
            let want: Vec<bool> = (0..64).rev().map(|i| (truth.0 >> i) & 1 == 1).collect();
            let errors = r.bits.iter().zip(&want).filter(|(a, b)| a != b).count();
            let ok = r.mark_id == Some(truth);
            table.push_str(&format!(
                "{a:<17} {kind:<9} {:>5.1}  {:>4.2}  {}\n",
                r.score,
                errors as f64 / 64.0,
                if ok { "yes" } else { "NO" }
            ));
            if !ok && !KNOWN_MISSES.contains(&(a, *kind)) {
                failures.push(format!("{a} on {kind}: {r:?}"));
            }
            assert!(
                r.mark_id.is_none() || r.mark_id == Some(truth),
                "wrong id read: {a} {kind}"
            );
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{failures:#?}\n{table}");
}

#[test]
fn marked_images_keep_quality_and_format() {
    // (format, file name) → the marked output is the same format and decodes to the same size.
    fn check(format: ImageFormat, name: &str) {
        let original = image::DynamicImage::ImageRgb8(generate("scene", 512, 384, 3));
        let input = encode(&original, format);
        let out = mark::mark(
            &input,
            name,
            &issue(42),
            &forensic_only(),
            &key(2),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(image::guess_format(&out).unwrap(), format, "{name}");
        let back = decode(&out);
        assert_eq!((back.width(), back.height()), (512, 384));
        let q = psnr(&decode(&input), &back);
        println!("{name}: psnr {q:.1} dB");
        assert!(q > 36.0, "{name}: psnr {q:.1}");
        let r = detect_image(&out, &key(2), &Limits::default()).unwrap();
        assert_eq!(r.mark_id, Some(MarkId(42)), "{name}");
    }
    check(ImageFormat::Png, "a.png");
    check(ImageFormat::Jpeg, "a.jpg");
    check(ImageFormat::WebP, "a.webp");
}

#[test]
fn unmarked_images_and_wrong_keys_stay_below_the_threshold() {
    // Null hypothesis: unmarked images of every kind, and marked images read with another key.
    let slow = std::env::var("CUSTODY_SLOW_TESTS").is_ok_and(|v| v == "1");
    let per_kind = if slow { 50 } else { 8 };
    let limits = Limits::default();
    let mut max = f32::NEG_INFINITY;
    let mut count = 0;
    for kind in KINDS {
        for i in 0..per_kind {
            let img = image::DynamicImage::ImageRgb8(generate(
                kind,
                256 + 64 * (i % 3),
                256,
                1000 + i as u64,
            ));
            let png = encode(&img, ImageFormat::Png);
            let r = detect_image(&png, &key(i as u8), &limits).unwrap();
            assert_eq!(r.mark_id, None, "{kind} {i}: {r:?}");
            max = max.max(r.score);
            count += 1;
        }
    }
    let marked = mark::mark(
        &encode(
            &image::DynamicImage::ImageRgb8(generate("scene", 512, 512, 5)),
            ImageFormat::Png,
        ),
        "m.png",
        &issue(77),
        &forensic_only(),
        &key(200),
        &limits,
    )
    .unwrap();
    for k in 0..per_kind as u8 {
        let r = detect_image(&marked, &key(k), &limits).unwrap();
        assert_eq!(r.mark_id, None, "key {k}: {r:?}");
        max = max.max(r.score);
        count += 1;
    }
    println!(
        "null trials: {count} images × at most {} offsets; highest score {max:.2} (threshold {THRESHOLD})",
        mark::image::forensic::offsets_tried()
    );
    // Under N(0, 1) the highest of count × 10⁶ scores is about 5.5–5.8 for these counts.
    assert!(max < THRESHOLD - 0.5, "highest null score {max}");
}

#[test]
fn visible_stamp_changes_pixels_in_every_placement() {
    // (placement) → share of changed pixels within a range.
    fn check(placement: Placement, min: f64, max: f64) {
        let original = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            400,
            300,
            image::Rgb([255, 255, 255]),
        ));
        let style = Style {
            placement,
            opacity: 0.5,
            color: [0, 0, 0],
            ..Style::default()
        };
        let p =
            mark::image::decode(&encode(&original, ImageFormat::Png), &Limits::default()).unwrap();
        let mut stamped = p;
        mark::image::stamp_visible(&mut stamped, &issue(1).lines(), &style).unwrap();
        let changed =
            stamped.data.chunks(3).filter(|c| c[0] < 200).count() as f64 / (400.0 * 300.0);
        assert!(changed > min && changed < max, "{placement:?}: {changed}");
    }
    check(Placement::Tiled, 0.05, 0.6);
    check(Placement::Center, 0.01, 0.4);
    check(Placement::Footer, 0.002, 0.1);
}
