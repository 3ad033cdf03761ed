//! Hostile and broken input: every case is a clear error with a stable code, never a panic.

use mark::{Limits, MarkError, Style};

use crate::util::{issue, key, pdf, run};

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
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(&c);
    out.extend(crc32(&c).to_be_bytes());
}

/// A PNG declaring `w`×`h` RGB pixels; with `idat`, an empty image-data chunk and the end chunk.
fn png_header(w: u32, h: u32, idat: bool) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    if idat {
        chunk(
            &mut out,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut out, b"IEND", &[]);
    }
    out
}

fn encrypted_pdf() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.pdf"), dir.path().join("b.pdf"));
    std::fs::write(&a, pdf(1)).unwrap();
    run(
        "qpdf",
        &[
            "--encrypt",
            "user",
            "owner",
            "256",
            "--",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    std::fs::read(b).unwrap()
}

#[test]
fn hostile_inputs_give_clear_errors() {
    // (case, content, limits, expected code)
    fn check(case: &str, content: &[u8], limits: &Limits, code: &str) {
        let marked = mark::mark(content, "f", &issue(1), &Style::default(), &key(1), limits);
        let traced = mark::trace(content, Some(&key(1)), limits);
        for r in [marked.err(), traced.err()] {
            let e: MarkError = r.unwrap_or_else(|| panic!("{case}: accepted"));
            assert_eq!(e.code(), code, "{case}: {e}");
            assert!(e.is_client_error(), "{case}");
        }
    }
    let png = {
        let img = image::DynamicImage::ImageRgb8(crate::util::generate("scene", 64, 64, 1));
        crate::util::encode(&img, image::ImageFormat::Png)
    };
    let small = Limits {
        max_pages: 2,
        max_input_bytes: 1 << 20,
        ..Limits::default()
    };
    check(
        "truncated png",
        &png[..png.len() / 2],
        &Limits::default(),
        "mark_bad_image",
    );
    check(
        "decompression bomb header",
        &png_header(100_000, 100_000, true),
        &Limits::default(),
        "mark_too_large",
    );
    check(
        "no pixel data",
        &png_header(64, 64, true),
        &Limits::default(),
        "mark_bad_image",
    );
    check(
        "header only",
        &png_header(64, 64, false),
        &Limits::default(),
        "mark_bad_image",
    );
    check(
        "jpeg signature only",
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0],
        &Limits::default(),
        "mark_bad_image",
    );
    check(
        "encrypted pdf",
        &encrypted_pdf(),
        &Limits::default(),
        "mark_encrypted_pdf",
    );
    check("too many pages", &pdf(3), &small, "mark_too_large");
    check(
        "pdf garbage",
        b"%PDF-1.7\n garbage garbage",
        &Limits::default(),
        "mark_bad_pdf",
    );
    check(
        "input too large",
        &vec![b'a'; (1 << 20) + 1],
        &small,
        "mark_too_large",
    );
    check(
        "binary",
        &[0u8, 159, 146, 150, 0, 1],
        &Limits::default(),
        "mark_unsupported",
    );
}

#[test]
fn bad_styles_are_refused() {
    // (style change) → mark_bad_style
    fn check(style: Style) {
        let e = mark::mark(
            b"hello\n",
            "a.txt",
            &issue(1),
            &style,
            &key(1),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "mark_bad_style", "{style:?}");
    }
    check(Style {
        opacity: 0.0,
        ..Style::default()
    });
    check(Style {
        opacity: 1.5,
        ..Style::default()
    });
    check(Style {
        angle_deg: f32::NAN,
        ..Style::default()
    });
    check(Style {
        forensic_strength: 0.0,
        ..Style::default()
    });
}

#[test]
fn images_need_the_key_to_be_traced() {
    let img = image::DynamicImage::ImageRgb8(crate::util::generate("scene", 300, 300, 1));
    let png = crate::util::encode(&img, image::ImageFormat::Png);
    let e = mark::trace(&png, None, &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "mark_unsupported");
}
