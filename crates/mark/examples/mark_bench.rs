//! Measures the mark crate for `bench/mark.sh` (run in release): forensic
//! embed and detect on a 1920×1080 image, the null distribution of the
//! detector on many unmarked images and keys, and stamping a 100-page PDF.
//! Writes `key=value` lines on standard output and sample files into OUT_DIR
//! (`stamp.pdf` — the stamp alone on a blank page, for `qpdf --overlay` —,
//! `plain100.pdf`, `stamped100.pdf`, `scene.png` — the 1920×1080 image the
//! forensic figures are measured on, for the comparison with another
//! watermarker —, `marked.png`).
//!
//! Usage: `mark_bench OUT_DIR [NULL_IMAGES]`, or `mark_bench trace FILE`
//! (prints `kind=… mark_id=…` of the mark a file carries, `kind=none` if none).

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use lopdf::{Document, Object, Stream, dictionary};
use mark::image::forensic;
use mark::{Issue, Limits, MarkId, MarkKey, Recipient, Style};

/// SplitMix64, for generated test content only.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A photo-like scene: sky gradient, wavy horizon, textured ground, soft discs, grain.
fn scene(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let discs: Vec<[f32; 6]> = (0..10)
        .map(|_| {
            [
                rng.unit() * w as f32,
                rng.unit() * h as f32,
                20.0 + rng.unit() * w as f32 / 6.0,
                rng.unit() * 255.0,
                rng.unit() * 255.0,
                rng.unit() * 255.0,
            ]
        })
        .collect();
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let horizon = h as f32 * 0.45 + 25.0 * (fx / 37.0).sin();
            let mut c = if fy < horizon {
                let t = fy / horizon;
                [90.0 + 100.0 * t, 140.0 + 80.0 * t, 230.0 - 20.0 * t]
            } else {
                let tex = 20.0 * ((fx / 3.0).sin() * (fy / 5.0).cos());
                [80.0 + tex, 120.0 + tex, 40.0 + tex]
            };
            for d in &discs {
                let r = ((fx - d[0]).powi(2) + (fy - d[1]).powi(2)).sqrt();
                if r < d[2] {
                    let a = 0.7 * (1.0 - r / d[2]).sqrt();
                    for (i, v) in c.iter_mut().enumerate() {
                        *v = *v * (1.0 - a) + d[3 + i] * a;
                    }
                }
            }
            let n = (rng.unit() - 0.5) * 12.0;
            px.extend(c.map(|v| (v + n).clamp(0.0, 255.0) as u8));
        }
    }
    px
}

fn pdf(pages: usize, text: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" },
    );
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let kids: Vec<Object> = (0..pages)
        .map(|i| {
            let body = if text {
                (0..50).map(|l| format!("BT /F1 10 Tf 40 {} Td (Line {l} of page {i}: design notes) Tj ET\n", 760 - l * 14)).collect()
            } else {
                String::new()
            };
            let c = doc.add_object(Stream::new(dictionary! {}, body.into_bytes()));
            let page = dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c, "Resources" => resources };
            Object::Reference(doc.add_object(page))
        })
        .collect();
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
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

/// Best (lowest) wall time of `runs` calls, in milliseconds.
fn best_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let first = args
        .next()
        .ok_or("usage: mark_bench OUT_DIR [NULL_IMAGES] | trace FILE")?;
    if first == "trace" {
        let bytes = std::fs::read(args.next().ok_or("usage: mark_bench trace FILE")?)?;
        match mark::trace(&bytes, None, &Limits::default())? {
            Some(t) => println!("kind={} mark_id={}", t.kind.name(), t.mark_id),
            None => println!("kind=none"),
        }
        return Ok(());
    }
    let out = PathBuf::from(first);
    let null_images: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    std::fs::create_dir_all(&out)?;
    let key = MarkKey::derive(b"bench key");
    let issue = Issue {
        recipient: Recipient {
            name: "Zoë Ångström".into(),
            email: "zoe@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: time::OffsetDateTime::from_unix_timestamp(1_795_000_000)?,
        mark_id: MarkId(0x0123_4567_89ab_cdef),
    };
    let limits = Limits::default();

    // Forensic embed / detect on 1920×1080 pixels (no codec), and the whole file path with PNG.
    let (w, h) = (1920, 1080);
    let original = scene(w, h, 1);
    let mut marked = original.clone();
    let embed = best_ms(5, || {
        marked.clone_from(&original);
        forensic::embed(
            &mut marked,
            w,
            h,
            3,
            &key,
            issue.mark_id,
            Style::default().forensic_strength,
        );
    });
    let luma = forensic::luma(&marked, 3);
    let mut reading = None;
    let detect = best_ms(5, || reading = Some(forensic::detect(&luma, w, h, &key)));
    let reading = reading.ok_or("no reading")?;
    let plain_luma = forensic::luma(&original, 3);
    let detect_unmarked = best_ms(5, || {
        let _ = forensic::detect(&plain_luma, w, h, &key);
    });
    let img = image::RgbImage::from_raw(w as u32, h as u32, original.clone()).ok_or("size")?;
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    let png = png.into_inner();
    let mut marked_png = Vec::new();
    let file_mark = best_ms(3, || {
        marked_png =
            mark::mark(&png, "a.png", &issue, &Style::default(), &key, &limits).unwrap_or_default();
    });
    let file_trace = best_ms(3, || {
        let _ = mark::trace(&marked_png, Some(&key), &limits);
    });
    std::fs::write(out.join("scene.png"), &png)?;
    std::fs::write(out.join("marked.png"), &marked_png)?;
    println!("embed_ms={embed:.1}");
    println!("detect_ms={detect:.1}");
    println!("detect_unmarked_ms={detect_unmarked:.1}");
    println!("detect_score={:.1}", reading.score);
    println!("detect_ok={}", reading.mark_id == Some(issue.mark_id));
    println!("file_mark_png_ms={file_mark:.1}");
    println!("file_trace_png_ms={file_trace:.1}");

    // Null distribution: unmarked 512×512 scenes, one key each.
    let t = Instant::now();
    let mut max = f32::NEG_INFINITY;
    let mut false_ids = 0;
    for i in 0..null_images {
        let px = scene(512, 512, 10_000 + i as u64);
        let k = MarkKey::derive(&(i as u64).to_be_bytes());
        let r = forensic::detect(&forensic::luma(&px, 3), 512, 512, &k);
        max = max.max(r.score);
        false_ids += usize::from(r.mark_id.is_some());
    }
    println!("null_images={null_images}");
    println!("null_offsets={}", null_images * forensic::offsets_tried());
    // The per-image bound at the threshold 7.0: n · Q(7), Q(7) = 1.28e-12;
    // with the CRC-16 (two checks per grid found: its own bits, the pool's),
    // times 2 · 2^-16.
    let sync_bound = forensic::offsets_tried() as f64 * 1.28e-12;
    println!("null_bound_sync={sync_bound:.1e}");
    println!("null_bound_crc={:.1e}", 2.0 * sync_bound / 65536.0);
    println!("null_max_score={max:.2}");
    println!("null_ids_read={false_ids}");
    println!("null_seconds={:.1}", t.elapsed().as_secs_f64());

    // PDF: stamp 100 text pages; the stamp alone on a blank page for qpdf --overlay.
    let plain = pdf(100, true);
    let mut stamped = Vec::new();
    let stamp = best_ms(5, || {
        stamped =
            mark::pdf::stamp_pdf(&plain, &issue, &Style::default(), &limits).unwrap_or_default();
    });
    std::fs::write(out.join("plain100.pdf"), &plain)?;
    std::fs::write(out.join("stamped100.pdf"), &stamped)?;
    std::fs::write(
        out.join("stamp.pdf"),
        mark::pdf::stamp_pdf(&pdf(1, false), &issue, &Style::default(), &limits)?,
    )?;
    println!("pdf_stamp_100_ms={stamp:.1}");
    println!("pdf_plain_bytes={}", plain.len());
    println!("pdf_stamped_bytes={}", stamped.len());
    Ok(())
}
