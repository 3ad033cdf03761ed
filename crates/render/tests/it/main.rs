//! The integration tests of the render crate, in one binary: PDF pages through
//! poppler's `pdftoppm` (scripts/test installs poppler-utils and qpdf), images,
//! text pages, the marks carried by a rendered page, and hostile input, every
//! case through one table-driven helper.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use mark::image::{ImageFormat, Pixels};
use mark::{Issue, MarkId, MarkKey, Recipient, Style};
use render::{PageKind, RenderLimits, Renderer, for_screen, mark_page, to_png};

/// One page of a generated PDF.
#[derive(Clone, Copy, Default)]
struct Page {
    media: Option<[f64; 4]>,
    crop: Option<[f64; 4]>,
    rotate: Option<i64>,
    /// More of the page's content stream, drawn after the text.
    ink: &'static str,
}

/// A PDF written by hand (A4 inherited from the page tree, 40 lines of
/// Helvetica on each page), with a correct cross-reference table.
fn pdf(pages: &[Page]) -> Vec<u8> {
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(), // the page tree, filled in below
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut kids = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let mut content = String::from("BT /F1 11 Tf 72 780 Td 14 TL\n");
        for l in 0..40 {
            content.push_str(&format!(
                "(Page {} line {l}: the quick brown fox jumps over the lazy dog) '\n",
                i + 1
            ));
        }
        content.push_str("ET\n");
        content.push_str(p.ink);
        let page_id = objects.len() + 1;
        let rect = |r: [f64; 4]| format!("[{} {} {} {}]", r[0], r[1], r[2], r[3]);
        let mut dict = format!(
            "<< /Type /Page /Parent 2 0 R /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >>",
            page_id + 1
        );
        if let Some(m) = p.media {
            dict.push_str(&format!(" /MediaBox {}", rect(m)));
        }
        if let Some(c) = p.crop {
            dict.push_str(&format!(" /CropBox {}", rect(c)));
        }
        if let Some(r) = p.rotate {
            dict.push_str(&format!(" /Rotate {r}"));
        }
        dict.push_str(" >>");
        objects.push(dict);
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
        kids.push(format!("{page_id} 0 R"));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} /MediaBox [0 0 595 842] >>",
        kids.join(" "),
        pages.len()
    );
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).into_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

fn a4_pages(n: usize) -> Vec<u8> {
    pdf(&vec![Page::default(); n])
}

/// The PDF encrypted by qpdf with a user password.
fn encrypted(plain: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.pdf"), dir.path().join("b.pdf"));
    std::fs::write(&a, plain).unwrap();
    let out = std::process::Command::new("qpdf")
        .args(["--encrypt", "u", "o", "256", "--"])
        .args([&a, &b])
        .output()
        .unwrap_or_else(|e| {
            panic!("`qpdf` is needed by this test (scripts/test installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(b).unwrap()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    let mut c = kind.to_vec();
    c.extend(data);
    out.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
    out.extend(&c);
    out.extend(crc32(&c).to_be_bytes());
}

/// A PNG whose header declares `w`×`h` RGB pixels, with an empty image-data stream.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A `w`×`h` PNG with a gradient and a few dark bars.
fn png(w: usize, h: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let bar = (x / 7) % 5 == 0 && y % 40 < 30;
            let v = if bar { 30 } else { (100 + (x + y) % 120) as u8 };
            data.extend([v, v / 2 + 60, 200 - v / 2]);
        }
    }
    let p = Pixels {
        width: w,
        height: h,
        channels: 3,
        data,
        format: ImageFormat::Png,
    };
    mark::image::encode(&p, ImageFormat::Png).unwrap()
}

/// `n` lines of source code, indented with tabs.
fn text_lines(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("\tlet value_{i} = compute({i}, \"text\"); // line {i} of the source\n"))
        .collect::<String>()
        .into_bytes()
}

fn renderer() -> Renderer {
    Renderer::new(150, RenderLimits::default(), "pdftoppm")
}

/// A stand-in for pdftoppm that never answers.
fn sleeper(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("slow-pdftoppm");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// What a case asks for.
#[derive(Clone, Copy)]
enum Ask {
    Count,
    Page(u32),
}

/// What a case must give.
#[derive(Debug, PartialEq)]
enum Want {
    Pages(u32),
    Size(usize, usize),
    Code(&'static str),
}

/// Runs one case and compares; a rendered page must also have ink on it.
async fn check(case: &str, r: &Renderer, content: &[u8], ask: Ask, want: Want) {
    let got = match ask {
        Ask::Count => r.page_count(content).await.map(Want::Pages),
        Ask::Page(n) => r.render_page(content, "notes.rs", n).await.map(|p| {
            assert_eq!(p.data.len(), p.width * p.height * p.channels, "{case}");
            let dark = p.data.iter().filter(|&&v| v < 128).count();
            assert!(
                dark > 100,
                "{case}: the page is blank ({dark} dark samples)"
            );
            Want::Size(p.width, p.height)
        }),
    };
    let got = got.unwrap_or_else(|e| Want::Code(e.code()));
    assert_eq!(got, want, "{case}");
}

#[tokio::test]
async fn pages_render_at_their_size_and_bad_input_gives_its_code() {
    let r = renderer();
    let doc = pdf(&[
        Page::default(),
        Page {
            rotate: Some(90),
            ..Page::default()
        },
        Page {
            crop: Some([50.0, 50.0, 350.0, 450.0]),
            ..Page::default()
        },
        Page {
            media: Some([0.0, 0.0, 612.0, 792.0]),
            rotate: Some(-270),
            ..Page::default()
        },
    ]);
    let huge = pdf(&[Page {
        media: Some([0.0, 0.0, 14400.0, 14400.0]),
        ..Page::default()
    }]);
    let absurd = pdf(&[Page {
        media: Some([0.0, 0.0, 1e7, 1e7]),
        ..Page::default()
    }]);
    let truncated = a4_pages(2)[..120].to_vec();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = text_lines(130);
    let cases: Vec<(&str, Vec<u8>, Ask, Want)> = vec![
        ("pdf: page count", doc.clone(), Ask::Count, Want::Pages(4)),
        // A4 at 150 dpi, rounded up per side as pdftoppm does.
        (
            "pdf: page 1, A4",
            doc.clone(),
            Ask::Page(1),
            Want::Size(1240, 1755),
        ),
        (
            "pdf: page 2, turned",
            doc.clone(),
            Ask::Page(2),
            Want::Size(1755, 1240),
        ),
        (
            "pdf: page 3, crop box 300×400 pt",
            doc.clone(),
            Ask::Page(3),
            Want::Size(625, 834),
        ),
        (
            "pdf: page 4, letter turned",
            doc.clone(),
            Ask::Page(4),
            Want::Size(1650, 1275),
        ),
        (
            "pdf: page 0",
            doc.clone(),
            Ask::Page(0),
            Want::Code("render_no_such_page"),
        ),
        (
            "pdf: page n+1",
            doc.clone(),
            Ask::Page(5),
            Want::Code("render_no_such_page"),
        ),
        // 30000×30000 at 150 dpi: drawn at the 16 Mi pixel cap instead.
        (
            "pdf: 14400 pt square page",
            huge.clone(),
            Ask::Page(1),
            Want::Size(4096, 4096),
        ),
        (
            "pdf: 10⁷ pt square page",
            absurd.clone(),
            Ask::Page(1),
            Want::Code("render_too_large"),
        ),
        (
            "pdf: truncated",
            truncated.clone(),
            Ask::Page(1),
            Want::Code("render_malformed"),
        ),
        (
            "pdf: truncated, count",
            truncated.clone(),
            Ask::Count,
            Want::Code("render_malformed"),
        ),
        (
            "pdf: header only",
            b"%PDF-1.7\n%%EOF\n".to_vec(),
            Ask::Page(1),
            Want::Code("render_malformed"),
        ),
        (
            "garbage bytes",
            garbage.clone(),
            Ask::Page(1),
            Want::Code("render_unsupported"),
        ),
        (
            "garbage bytes, count",
            garbage.clone(),
            Ask::Count,
            Want::Code("render_unsupported"),
        ),
        ("png: count", png(300, 200), Ask::Count, Want::Pages(1)),
        (
            "png: page 1",
            png(300, 200),
            Ask::Page(1),
            Want::Size(300, 200),
        ),
        (
            "png: page 2",
            png(300, 200),
            Ask::Page(2),
            Want::Code("render_no_such_page"),
        ),
        (
            "png: declares 10⁵×10⁵",
            png_bomb(100_000, 100_000),
            Ask::Page(1),
            Want::Code("render_too_large"),
        ),
        (
            "png: no pixel data",
            png_bomb(10, 10),
            Ask::Page(1),
            Want::Code("render_malformed"),
        ),
        ("text: 130 lines", text.clone(), Ask::Count, Want::Pages(3)),
        (
            "text: page 3",
            text.clone(),
            Ask::Page(3),
            Want::Size(1240, 1754),
        ),
        (
            "text: page 4",
            text.clone(),
            Ask::Page(4),
            Want::Code("render_no_such_page"),
        ),
        ("text: empty", b"".to_vec(), Ask::Count, Want::Pages(1)),
    ];
    for (case, content, ask, want) in cases {
        check(case, &r, &content, ask, want).await;
    }
    let enc = encrypted(&a4_pages(2));
    check(
        "pdf: encrypted, count",
        &r,
        &enc,
        Ask::Count,
        Want::Code("render_encrypted"),
    )
    .await;
    check(
        "pdf: encrypted",
        &r,
        &enc,
        Ask::Page(1),
        Want::Code("render_encrypted"),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let limits = RenderLimits {
        timeout: Duration::from_millis(300),
        ..RenderLimits::default()
    };
    let slow = Renderer::new(150, limits, sleeper(dir.path()));
    check(
        "pdf: renderer hangs",
        &slow,
        &doc,
        Ask::Page(1),
        Want::Code("render_timeout"),
    )
    .await;
    let missing = Renderer::new(
        150,
        RenderLimits::default(),
        dir.path().join("no-such-tool"),
    );
    check(
        "pdf: no renderer",
        &missing,
        &doc,
        Ask::Page(1),
        Want::Code("render_tool_missing"),
    )
    .await;
}

fn issue(id: u64) -> Issue {
    Issue {
        recipient: Recipient {
            name: "Zoë Ångström".into(),
            email: "zoe@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: mark::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        mark_id: MarkId(id),
    }
}

#[tokio::test]
async fn marked_pages_trace_back_to_their_mark_id() {
    let r = renderer();
    let key = MarkKey::derive(b"render test key");
    let cases: Vec<(&str, Vec<u8>, u32)> = vec![
        ("pdf page 2", a4_pages(3), 2),
        ("text page 1", text_lines(130), 1),
        ("png", png(640, 480), 1),
    ];
    for (i, (case, content, page)) in cases.into_iter().enumerate() {
        let id = 0x0123_4567_89ab_cd00 + i as u64;
        let mut p = r.render_page(&content, "notes.rs", page).await.unwrap();
        let before = p.data.clone();
        mark_page(&mut p, &issue(id), &Style::default(), &key).unwrap();
        assert_ne!(p.data, before, "{case}: nothing was marked");
        let png = to_png(&p).unwrap();
        let trace = mark::trace(&png, Some(&key), &mark::Limits::default())
            .unwrap()
            .unwrap_or_else(|| panic!("{case}: no mark found"));
        assert_eq!(trace.mark_id, MarkId(id), "{case}");
        let other = mark::trace(
            &png,
            Some(&MarkKey::derive(b"other")),
            &mark::Limits::default(),
        );
        assert_eq!(
            other.unwrap().map(|t| t.mark_id),
            None,
            "{case}: read with the wrong key"
        );
    }
}

/// Red and blue lines across the page: a drawing's centre lines and dimensions.
const COLOUR_LINES: &str = "1 0 0 RG 0.6 w 40 400 m 800 400 l S 0 0 0.8 RG 40 200 m 800 260 l S \
    0 0 0 RG 1 w 100 100 400 300 re S\n";
/// A page covered with graded tones: a picture.
fn picture_ink() -> &'static str {
    let mut ink = String::new();
    for row in 0..42 {
        for col in 0..30 {
            let (r, g) = (f64::from(col) / 30.0, f64::from(row) / 42.0);
            ink.push_str(&format!(
                "{r:.3} {g:.3} 0.5 rg {} {} 20 20 re f\n",
                col * 20,
                row * 20
            ));
        }
    }
    Box::leak(ink.into_boxed_str())
}

/// Scales encoded pixels to `width` (as a browser shows a fitted or zoomed
/// page) and re-encodes them as PNG, as a screenshot is.
fn screenshot_at(bytes: &[u8], width: u32) -> Vec<u8> {
    let img = image::load_from_memory(bytes).unwrap();
    let height = (f64::from(img.height()) * f64::from(width) / f64::from(img.width())).round();
    let scaled = img.resize_exact(width, height as u32, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    scaled
        .to_rgb8()
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn pages_for_a_screen_are_sized_and_encoded_by_kind_and_trace_from_a_screenshot() {
    let r = renderer();
    let key = MarkKey::derive(b"screen test key");
    let a3 = Some([0.0, 0.0, 1191.0, 842.0]);
    struct Case {
        name: &'static str,
        content: Vec<u8>,
        kind: PageKind,
        size: (usize, usize),
        mime: &'static str,
        grey: bool,
        /// Most bytes the page may take as sent.
        max_bytes: usize,
    }
    let case = |name, content, kind, size, mime, grey, max_bytes| Case {
        name,
        content,
        kind,
        size,
        mime,
        grey,
        max_bytes,
    };
    let cases = [
        // A4 text at the reading resolution: 992 px, the viewer's column.
        // Defect 4 of issue 14: a text page was a 2.3 MB PNG; now at most 300 KB.
        case(
            "pdf: text",
            a4_pages(2),
            PageKind::Text,
            (992, 1404),
            "image/jpeg",
            true,
            300_000,
        ),
        case(
            "pdf: colour lines on A4, drawn again for detail",
            pdf(&[Page {
                ink: COLOUR_LINES,
                ..Page::default()
            }]),
            PageKind::Drawing,
            (1240, 1755),
            "image/jpeg",
            false,
            600_000,
        ),
        case(
            "pdf: grey A3 sheet",
            pdf(&[Page {
                media: a3,
                ..Page::default()
            }]),
            PageKind::Drawing,
            (2482, 1755),
            "image/jpeg",
            true,
            900_000,
        ),
        case(
            "pdf: picture",
            pdf(&[Page {
                ink: picture_ink(),
                ..Page::default()
            }]),
            PageKind::Picture,
            (1240, 1755),
            "image/jpeg",
            false,
            900_000,
        ),
        case(
            "png",
            png(640, 480),
            PageKind::Picture,
            (640, 480),
            "image/jpeg",
            false,
            300_000,
        ),
        case(
            "text file",
            text_lines(130),
            PageKind::Text,
            (992, 1403),
            "image/jpeg",
            true,
            300_000,
        ),
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let id = MarkId(0x0bad_cafe_0000_0000 + i as u64);
        let (mut p, kind) = r
            .render_screen_page(&c.content, "notes.rs", 1)
            .await
            .unwrap();
        assert_eq!((kind, (p.width, p.height)), (c.kind, c.size), "{}", c.name);
        mark_page(&mut p, &issue(id.0), &Style::default(), &key).unwrap();
        let shown = for_screen(&p, kind).unwrap();
        assert_eq!(shown.mime, c.mime, "{}", c.name);
        assert!(
            shown.bytes.len() <= c.max_bytes,
            "{}: {} bytes > {}",
            c.name,
            shown.bytes.len(),
            c.max_bytes
        );
        let decoded = image::load_from_memory(&shown.bytes).unwrap();
        assert_eq!(
            decoded.color() == image::ColorType::L8,
            c.grey,
            "{}: {:?}",
            c.name,
            decoded.color()
        );
        // As sent, fitted to a 990-px column, and zoomed in 1.5 times.
        let w = u32::try_from(c.size.0).unwrap();
        for width in [w, 990.min(w), w * 3 / 2] {
            let shot = if width == w {
                shown.bytes.clone()
            } else {
                screenshot_at(&shown.bytes, width)
            };
            let found = mark::trace(&shot, Some(&key), &mark::Limits::default())
                .unwrap()
                .unwrap_or_else(|| panic!("{}: no mark at {width} px", c.name));
            assert_eq!(found.mark_id, id, "{} at {width} px", c.name);
        }
    }
    // Page sizes are known before drawing: a document's pages at the reading
    // resolution, larger sheets at the detail resolution.
    let doc = pdf(&[
        Page::default(),
        Page {
            media: a3,
            ..Page::default()
        },
        Page {
            rotate: Some(90),
            ..Page::default()
        },
    ]);
    assert_eq!(
        r.page_sizes(&doc).unwrap(),
        vec![(992, 1404), (2482, 1755), (1404, 992)]
    );
    assert_eq!(
        r.page_sizes(&text_lines(130)).unwrap(),
        vec![(992, 1403); 3]
    );
    assert_eq!(r.page_sizes(&png(640, 480)).unwrap(), vec![(640, 480)]);
    let codes: Vec<_> = [
        r.page_sizes(b"%PDF-1.7\n%%EOF\n"),
        r.page_sizes(&[0xff; 64]),
    ]
    .into_iter()
    .map(|got| got.unwrap_err().code())
    .collect();
    assert_eq!(codes, ["render_malformed", "render_unsupported"]);
}

#[tokio::test]
async fn the_pdf_renderer_is_checked_before_it_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let version = renderer().check_pdf().await.unwrap();
    assert!(version.starts_with("pdftoppm version "), "{version}");
    let cases: Vec<(&str, Renderer)> = vec![
        (
            "no such program",
            Renderer::new(
                150,
                RenderLimits::default(),
                dir.path().join("no-such-tool"),
            ),
        ),
        (
            "not pdftoppm",
            Renderer::new(150, RenderLimits::default(), "true"),
        ),
        (
            "hangs",
            Renderer::new(
                150,
                RenderLimits {
                    timeout: Duration::from_millis(300),
                    ..RenderLimits::default()
                },
                sleeper(dir.path()),
            ),
        ),
        ("turned off", renderer().without_pdf()),
    ];
    for (case, r) in cases {
        let got = r.check_pdf().await.map_err(|e| e.code());
        assert_eq!(got, Err("render_tool_missing"), "{case}");
    }
    // Without the PDF renderer, a PDF is refused and images and text are drawn.
    let off = renderer().without_pdf();
    let got = off.render_screen_page(&a4_pages(1), "a.pdf", 1).await;
    assert_eq!(
        got.map(|_| ()).map_err(|e| e.code()),
        Err("render_tool_missing")
    );
    for content in [png(64, 48), text_lines(3)] {
        off.render_screen_page(&content, "a", 1).await.unwrap();
    }
}
