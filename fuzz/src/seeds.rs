//! The seed corpora: small valid samples of every format, in the form each
//! target reads (for the Office and OpenDocument targets, a selector byte and
//! an XML part; for the text target, a selector byte and the text). Values
//! that look like secrets are made up here and are valid for nothing.

use std::io::Write;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

/// The seeds of `target`, as (file name, bytes).
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let list: Vec<Vec<u8>> = match target {
        "dlp_text" => texts(),
        "dlp_scan" => texts().into_iter().chain(containers()).collect(),
        "dlp_pdf" => vec![
            pdf(&[&["hello pdf", "line two"]], true),
            pdf(&[&["a"], &["b"]], false),
            object_stream_pdf(),
        ],
        "dlp_office" => office_parts(),
        "dlp_opendocument" => odf_parts(),
        "dlp_eml" => vec![eml(), nested_eml()],
        "dlp_zip" => vec![
            deflated_zip(),
            crate::stored_zip(&[("a.txt", b"stored text")]).unwrap_or_default(),
        ],
        "dlp_tar" => vec![tar()],
        "dlp_gzip" => vec![
            gzip(b"compressed text\n", None),
            gzip(&tar(), Some("inner.tar")),
            [gzip(b"one", None), gzip(b"two", None)].concat(),
        ],
        "dlp_extract" => containers()
            .into_iter()
            .enumerate()
            .map(|(i, c)| [vec![u8::try_from(i % 8).unwrap_or(0)], c].concat())
            .collect(),
        "mark_image" => images(),
        "mark_image_detect" => images().into_iter().chain(marked_images()).collect(),
        "mark_pdf_stamp" => pdfs(),
        "mark_pdf_trace" => pdfs().into_iter().chain(stamped_pdfs()).collect(),
        "mark_text" => mark_texts(),
        _ => Vec::new(),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, b)| (format!("seed-{i:02}"), b))
        .collect()
}

fn texts() -> Vec<Vec<u8>> {
    let ascii = "config:\n  aws_access_key_id = AKIAQ3FZ7XK2MB4LNP6R\n  contact: jane.doe@example.org\n  iban DE44500105175407324931\n  card 4111 1111 1111 1111\nSTRICTLY CONFIDENTIAL\n";
    let le: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("wide ünï text".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = "no bom big endian"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    vec![
        ascii.as_bytes().to_vec(),
        [
            b"\xef\xbb\xbf".as_slice(),
            "café ☕ password=Hunter2Hunter2!".as_bytes(),
        ]
        .concat(),
        le,
        be,
        b"caf\xe9 cr\xe8me".to_vec(),
        b"\x00\x01\x02secret_in_binary\x00\xff\x00ab\x00".to_vec(),
    ]
}

fn containers() -> Vec<Vec<u8>> {
    vec![
        texts().swap_remove(0),
        eml(),
        gzip(b"gz text", None),
        gzip(&tar(), Some("x.tar")),
        pdf(&[&["page text"]], true),
        deflated_zip(),
        tar(),
        eml(),
    ]
}

fn deflated_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let members: [(&str, Vec<u8>); 3] = [
        (
            "dir/a.txt",
            b"member text with token ghp_0123456789abcdefghijABCDEFGHIJ012345".to_vec(),
        ),
        ("inner.gz", gzip(b"nested", None)),
        ("dir/", Vec::new()),
    ];
    for (name, bytes) in &members {
        if w.start_file(*name, options).is_err() || w.write_all(bytes).is_err() {
            return Vec::new();
        }
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

fn tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("a.txt", b"tar member".as_slice()),
        ("d/b.csv", b"x,y\n1,2\n"),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        if b.append_data(&mut h, name, bytes).is_err() {
            return Vec::new();
        }
    }
    b.into_inner().unwrap_or_default()
}

fn gzip(bytes: &[u8], filename: Option<&str>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(f) = filename {
        builder = builder.filename(f);
    }
    let mut e = builder.write(Vec::new(), flate2::Compression::default());
    if e.write_all(bytes).is_err() {
        return Vec::new();
    }
    e.finish().unwrap_or_default()
}

fn office_parts() -> Vec<Vec<u8>> {
    let parts: [(u8, &str); 4] = [
        (
            0,
            r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>Hello &amp; &#65;</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">two </w:t></w:r><w:tab/></w:p></w:body></w:document>"#,
        ),
        (
            1,
            "<sst><si><t>cell</t></si><si><t><![CDATA[raw]]></t></si></sst>",
        ),
        (
            2,
            "<p:sld><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>slide</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>",
        ),
        (3, "embedded text object"),
    ];
    parts
        .iter()
        .map(|(k, x)| [&[*k][..], x.as_bytes()].concat())
        .collect()
}

fn odf_parts() -> Vec<Vec<u8>> {
    let content = "<office:document-content><office:body><office:text><text:h>Title</text:h><text:p>para<text:line-break/>next</text:p><table:table-row><table:table-cell>c</table:table-cell></table:table-row></office:text></office:body></office:document-content>";
    vec![
        [&[0u8][..], content.as_bytes()].concat(),
        [&[4u8][..], b"<meta><dc:title>t</dc:title></meta>"].concat(),
        [&[7u8][..], content.as_bytes()].concat(),
    ]
}

fn eml() -> Vec<u8> {
    b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: drawings\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\npreamble\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 soft=\r\nbreak\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gYXR0YWNobWVudA==\r\n--XYZ--\r\n".to_vec()
}

fn nested_eml() -> Vec<u8> {
    b"From: a@example.org\nTo: b@example.org\nSubject: fwd\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain\n\ninner\n--b2--\n--b1\nContent-Type: message/rfc822\n\nFrom: c@example.org\nTo: d@example.org\nSubject: orig\n\nbody\n--b1--\n".to_vec()
}

/// A PDF with one page per entry of `pages`.
fn pdf(pages: &[&[&str]], compress: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" },
    );
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for (n, lines) in pages.iter().enumerate() {
        let mut ops = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            ops.push(Operation::new("BT", vec![]));
            ops.push(Operation::new("Tf", vec!["F1".into(), 9.into()]));
            ops.push(Operation::new(
                "Td",
                vec![40.into(), (760 - 12 * i64::try_from(i).unwrap_or(0)).into()],
            ));
            ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
            ops.push(Operation::new("ET", vec![]));
        }
        let content = Content { operations: ops }.encode().unwrap_or_default();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "MediaBox" => vec![0.into(), 0.into(), 300.into(), 400.into()],
        };
        if n % 2 == 1 {
            page.set("Rotate", 90);
            page.set(
                "CropBox",
                vec![10.into(), 10.into(), 290.into(), 390.into()],
            );
        }
        kids.push(Object::from(doc.add_object(page)));
    }
    let count = i64::try_from(kids.len()).unwrap_or(0);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    if compress {
        doc.compress();
    }
    let mut out = Vec::new();
    if doc.save_to(&mut out).is_err() {
        return Vec::new();
    }
    out
}

fn pdfs() -> Vec<Vec<u8>> {
    vec![
        pdf(&[&["one page"]], false),
        pdf(&[&["first"], &["second, rotated"]], true),
        object_stream_pdf(),
    ]
}

/// A PDF whose page tree, page and font are members of an uncompressed
/// object stream (what `qpdf --object-streams=generate` writes, compressed).
fn object_stream_pdf() -> Vec<u8> {
    let members = [
        (2, "<< /Type /Pages /Kids [6 0 R] /Count 1 >>"),
        (
            6,
            "<< /Type /Page /Parent 2 0 R /Contents 3 0 R /Resources << /Font << /F1 7 0 R >> >> /MediaBox [0 0 200 200] >>",
        ),
        (7, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
    ];
    let (mut index, mut body) = (String::new(), String::new());
    for (n, m) in members {
        index.push_str(&format!("{n} {} ", body.len()));
        body.push_str(m);
        body.push('\n');
    }
    let text = "BT /F1 12 Tf 20 100 Td (in an object stream) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        format!(
            "<< /Type /ObjStm /N {} /First {} /Length {} >>\nstream\n{index}{body}\nendstream",
            members.len(),
            index.len(),
            index.len() + body.len()
        ),
    ];
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (number, o) in [1, 3, 4].iter().zip(&objects) {
        offsets.push((*number, out.len()));
        out.extend(format!("{number} 0 obj\n{o}\nendobj\n").bytes());
    }
    let xref = out.len();
    out.extend(b"xref\n0 2\n0000000000 65535 f \n");
    out.extend(format!("{:010} 00000 n \n3 2\n", offsets[0].1).bytes());
    for (_, o) in &offsets[1..] {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(format!("trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").bytes());
    out
}

fn stamped_pdfs() -> Vec<Vec<u8>> {
    pdfs()
        .iter()
        .filter_map(|p| {
            mark::pdf::stamp_pdf(
                p,
                &crate::mark_issue(),
                &mark::Style::default(),
                &crate::mark_limits(),
            )
            .ok()
        })
        .collect()
}

fn image_pixels(w: u32, h: u32, alpha: bool) -> image::DynamicImage {
    let rgb = image::RgbImage::from_fn(w, h, |x, y| {
        let v = u8::try_from((x * 7 + y * 3) % 256).unwrap_or(0);
        image::Rgb([v, 255 - v, u8::try_from((x ^ y) % 256).unwrap_or(0)])
    });
    let img = image::DynamicImage::ImageRgb8(rgb);
    if alpha {
        image::DynamicImage::ImageRgba8(img.to_rgba8())
    } else {
        img
    }
}

fn encoded(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    match img.write_to(&mut out, format) {
        Ok(()) => out.into_inner(),
        Err(_) => Vec::new(),
    }
}

fn images() -> Vec<Vec<u8>> {
    vec![
        encoded(&image_pixels(48, 40, false), image::ImageFormat::Png),
        encoded(&image_pixels(40, 48, true), image::ImageFormat::Png),
        encoded(&image_pixels(64, 64, false), image::ImageFormat::Jpeg),
        encoded(&image_pixels(32, 32, false), image::ImageFormat::WebP),
    ]
}

fn marked_images() -> Vec<Vec<u8>> {
    images()
        .iter()
        .filter_map(|i| {
            mark::image::mark_image(
                i,
                &crate::mark_issue(),
                &mark::Style::default(),
                &crate::mark_key(),
                &crate::mark_limits(),
            )
            .ok()
        })
        .collect()
}

fn mark_texts() -> Vec<Vec<u8>> {
    let texts: [(u8, String); 5] = [
        (0, "Some prose.\nSecond line.\n".to_owned()),
        (
            1,
            "fn main() {\r\n    println!(\"hi\");\r\n}\r\n".to_owned(),
        ),
        (
            2,
            "#!/usr/bin/env python\nimport os\nprint(os.name)  \t\n".to_owned(),
        ),
        (3, "<?xml version=\"1.0\"?>\n<a>\n<b/>\n</a>".to_owned()),
        (
            1,
            mark::text::mark_text(
                "line one\nline two\nline three\nline four\nline five\n",
                "main.rs",
                &crate::mark_issue(),
            ),
        ),
    ];
    texts
        .iter()
        .map(|(k, t)| [&[*k][..], t.as_bytes()].concat())
        .collect()
}
