//! PDF stamps: structure of the stamped file, what each page shows (rendered
//! with Ghostscript), the token's survival through `qpdf` and Ghostscript
//! re-saving, and limits.

use mark::pdf::{PdfSource, detect_pdf, stamp_pdf};
use mark::{Limits, MarkId, Placement, Style};

use crate::util::{issue, pdf, run};

fn stamp(bytes: &[u8], style: &Style) -> Vec<u8> {
    stamp_pdf(
        bytes,
        &issue(0xabcd_ef01_2345_6789),
        style,
        &Limits::default(),
    )
    .unwrap()
}

#[test]
fn every_page_is_wrapped_and_stamped_and_the_rest_preserved() {
    let original = pdf(6);
    let out = stamp(&original, &Style::default());
    let doc = lopdf::Document::load_mem(&out).unwrap();
    assert_eq!(doc.get_pages().len(), 6);
    for (n, page) in doc.get_pages() {
        let contents = doc
            .get_dictionary(page)
            .unwrap()
            .get(b"Contents")
            .unwrap()
            .as_array()
            .unwrap();
        let text = |o: &lopdf::Object| {
            let s = doc
                .get_object(o.as_reference().unwrap())
                .unwrap()
                .as_stream()
                .unwrap();
            String::from_utf8(s.decompressed_content().unwrap()).unwrap()
        };
        assert_eq!(contents.len(), 3, "page {n}");
        assert_eq!(text(&contents[0]), "q\n");
        assert!(
            text(&contents[1]).contains(&format!("Secret design page {}", n - 1)),
            "original kept"
        );
        let tail = text(&contents[2]);
        assert!(
            tail.starts_with("\nQ\n") && tail.matches(" Do Q").count() == 3,
            "{tail}"
        );
    }
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .unwrap();
    let info = doc.get_dictionary(info).unwrap();
    assert_eq!(
        info.get(b"Title").unwrap().as_str().unwrap(),
        b"Design spec"
    );
    assert_eq!(
        detect_pdf(&out, &Limits::default()).unwrap(),
        Some((MarkId(0xabcd_ef01_2345_6789), PdfSource::Metadata))
    );
    // A second stamp (a re-share) adds a second form and keeps the document valid.
    let twice = stamp(&out, &Style::default());
    run_qpdf_check(&twice);
}

fn run_qpdf_check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pdf");
    std::fs::write(&p, bytes).unwrap();
    run("qpdf", &["--check", p.to_str().unwrap()]);
}

#[test]
fn stamp_is_visible_on_every_page_shape() {
    // Render the original and the stamped file with Ghostscript; the stamp must
    // change pixels on every page (plain, cropped, rotated), in each placement.
    let dir = tempfile::tempdir().unwrap();
    let original = pdf(3);
    let render = |bytes: &[u8], name: &str| -> Vec<image::RgbImage> {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let pattern = dir.path().join(format!("{name}-%d.png"));
        run(
            "gs",
            &[
                "-q",
                "-dNOPAUSE",
                "-dBATCH",
                "-dSAFER",
                "-sDEVICE=png16m",
                "-r36",
                "-dUseCropBox",
                &format!("-sOutputFile={}", pattern.display()),
                p.to_str().unwrap(),
            ],
        );
        (1..=3)
            .map(|i| {
                image::open(dir.path().join(format!("{name}-{i}.png")))
                    .unwrap()
                    .to_rgb8()
            })
            .collect()
    };
    let before = render(&original, "orig");
    for (placement, min_share) in [
        (Placement::Center, 0.01),
        (Placement::Tiled, 0.01),
        (Placement::Footer, 0.001),
    ] {
        let style = Style {
            placement,
            opacity: 0.6,
            color: [255, 0, 0],
            ..Style::default()
        };
        let after = render(&stamp(&original, &style), &format!("{placement:?}"));
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            assert_eq!(a.dimensions(), b.dimensions(), "page {i} size changed");
            let reddish = b
                .pixels()
                .zip(a.pixels())
                .filter(|(p, q)| p != q && p.0[0] > p.0[1] + 40)
                .count();
            let share = reddish as f64 / f64::from(b.width() * b.height());
            assert!(share > min_share, "{placement:?} page {i}: {share}");
        }
    }
}

#[test]
fn token_survives_qpdf_and_ghostscript_resaving() {
    let dir = tempfile::tempdir().unwrap();
    let stamped = dir.path().join("stamped.pdf");
    // Horizontal, so that pdftotext reads the token in order (it splits rotated text).
    let style = Style {
        angle_deg: 0.0,
        placement: Placement::Center,
        ..Style::default()
    };
    std::fs::write(&stamped, stamp(&pdf(3), &style)).unwrap();
    let s = stamped.to_str().unwrap();
    let out = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (qpdf_out, qdf_out, gs_out) = (out("qpdf.pdf"), out("qdf.pdf"), out("gs.pdf"));
    run("qpdf", &["--object-streams=generate", s, &qpdf_out]);
    run("qpdf", &["--qdf", "--object-streams=disable", s, &qdf_out]);
    run(
        "gs",
        &[
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=pdfwrite",
            &format!("-sOutputFile={gs_out}"),
            s,
        ],
    );
    let id = MarkId(0xabcd_ef01_2345_6789);
    for (name, want) in [
        (&qpdf_out, PdfSource::Metadata),
        (&qdf_out, PdfSource::Metadata),
        (&gs_out, PdfSource::StampText),
    ] {
        let bytes = std::fs::read(name).unwrap();
        let got = detect_pdf(&bytes, &Limits::default()).unwrap();
        println!("{name}: {got:?}");
        assert_eq!(got.map(|g| g.0), Some(id), "{name}");
        // The source that answers first; Ghostscript keeps the text, not our metadata entry.
        assert_eq!(got.map(|g| g.1), Some(want), "{name}");
    }
    // Without the metadata entry, the stamp text alone names the mark.
    for file in [s, gs_out.as_str()] {
        let text = run("pdftotext", &[file, "-"]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains(&id.token()), "{file}: {text}");
    }
}

/// A marked PDF's pages rendered by poppler at 100, 150 and 300 dpi and saved
/// as JPEG at quality 75 (a page printed to an image, a screenshot of a
/// reader): each page image traces to the copy's id, the unmarked document's
/// pages do not, the text stays extractable, and the file grows by the
/// pattern's few kilobytes only.
#[test]
fn pages_rasterised_and_saved_as_jpeg_trace() {
    let original = pdf(4);
    let id = 0x5eed_0fc0_ffee_0042;
    let key = crate::util::key(9);
    let marked = mark::pdf::mark_pdf(
        &original,
        &issue(id),
        &Style::default(),
        &key,
        &Limits::default(),
    )
    .unwrap();
    let plain = stamp(&original, &Style::default());
    assert!(
        marked.len() < plain.len() + 24 * 1024,
        "{} bytes more than the stamped file",
        marked.len() - plain.len()
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("marked", &marked), ("plain", &original)] {
        let path = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&path, bytes).unwrap();
        let text = run("pdftotext", &[path.to_str().unwrap(), "-"]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("Secret design page 3"));
        for dpi in ["100", "150", "300"] {
            let prefix = dir.path().join(format!("{name}-{dpi}"));
            run(
                "pdftoppm",
                &[
                    "-r",
                    dpi,
                    "-gray",
                    "-png",
                    path.to_str().unwrap(),
                    prefix.to_str().unwrap(),
                ],
            );
            for page in 1..=4 {
                let png = std::fs::read(format!("{}-{page}.png", prefix.display())).unwrap();
                let img = image::load_from_memory(&png).unwrap().to_rgb8();
                let mut jpeg = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75)
                    .encode_image(&img)
                    .unwrap();
                let reading = mark::image::detect_image(&jpeg, &key, &Limits::default()).unwrap();
                let want = (name == "marked").then_some(MarkId(id));
                assert_eq!(
                    reading.mark_id, want,
                    "{name} page {page} at {dpi} dpi: {reading:?}"
                );
            }
        }
    }
}
