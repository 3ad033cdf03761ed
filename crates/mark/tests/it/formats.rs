//! The format registry through `mark::mark` and `mark::trace`: for every
//! registered format a sample (`tests/formats/`, with the traps of its
//! syntax: strings and heredocs spanning blank lines, raw strings, lifetimes,
//! doc strings, CDATA, doctypes) is marked, and
//! - the byte-level diff shows changes only where the marker writes (every
//!   original line present unchanged and in order, each added line holding
//!   the mark; prose: zero-width characters after each line; binary STL: the
//!   header's bytes 54–80; OOXML: only the properties, content types and
//!   relationships members, and DOCX footers, XLSX sheets and PPTX slide
//!   masters for the visible line);
//! - the mark traces from the file, and from a 100-line excerpt where the
//!   format puts marks through the body;
//! - the format's reference tool reads the marked file and finds the same
//!   content as in the original (`tests/formats/check.py`: Python's `ast`,
//!   gcc/g++, rustc, javac, node, TypeScript's compiler, bash, perl, ruby,
//!   php, lua, sqlite3, make, PyPI's
//!   `steputils`, `ezdxf`, `numpy-stl`, `tinycss2`, PyYAML, `python-docx`,
//!   `openpyxl`, `python-pptx`, and the standard library's XML, HTML, TOML and
//!   INI parsers) — it must be there under CI=true (scripts/test installs it).
//!
//! Unknown and unmarkable content comes back as `mark_unsupported`, unaltered.

use std::io::Read;
use std::path::{Path, PathBuf};

use mark::{Limits, MarkId, Style, TraceKind};

use crate::util::{issue, key};

/// What the marker may change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Diff {
    /// Lines inserted (each blank or holding the mark), none changed.
    Lines,
    /// Prose: banner lines inserted, zero-width characters after each line.
    Prose,
    /// ASCII STL: the first line extended.
    FirstLine,
    /// Binary STL: header bytes 54–80.
    StlHeader,
    /// OOXML: only the properties, content types and relationships members.
    Zip,
}

struct Case {
    /// Sample in tests/formats/ (and the file name it is marked under).
    file: &'static str,
    /// Repeated in place of the `@FILLER@` line, `{i}` numbered.
    filler: &'static str,
    copies: usize,
    diff: Diff,
    /// What a trace of the whole file reads.
    kind: TraceKind,
    /// A 100-line excerpt from the middle traces too (marks through the body).
    excerpt: bool,
}

const fn case(
    file: &'static str,
    filler: &'static str,
    copies: usize,
    diff: Diff,
    kind: TraceKind,
    excerpt: bool,
) -> Case {
    Case {
        file,
        filler,
        copies,
        diff,
        kind,
        excerpt,
    }
}

use Diff::{FirstLine, Lines, Prose, StlHeader, Zip};
use TraceKind::{OfficeProperties, StlHeader as StlTrace, TextBanner, TextComment, TextZeroWidth};

const CASES: &[Case] = &[
    case(
        "sample.py",
        "def f{i}():\n    \"\"\"Doc {i}.\n\n    More.\n    \"\"\"\n    return {i}\n\n",
        60,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.c",
        "int f{i}(void)\n{\n    return {i};\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.cpp",
        "int f{i}() {\n    return {i};\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.rs",
        "fn f{i}() -> u32 {\n    {i}\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "Main.java",
        "    static int f{i}() {\n        return {i};\n    }\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.js",
        "function f{i}() {\n  return {i};\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.ts",
        "function f{i}(): number {\n  return {i};\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.rb",
        "def f{i}\n  {i}\nend\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.php",
        "function f{i}(): int { return {i}; }\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.lua",
        "local function f{i}() return {i} end\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.sh",
        "f{i}() {\n  echo \"${name} {i}\"\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.sql",
        "INSERT INTO t VALUES ({i}0, 'row {i}');\n\n",
        150,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.css",
        ".c{i} {\n  margin: {i}px;\n}\n\n",
        80,
        Lines,
        TextComment,
        true,
    ),
    case(
        "sample.pl",
        "sub f{i} { return {i}; }\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.html",
        "<p>Paragraph {i}</p>\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.yaml",
        "key{i}: value {i}\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "sample.toml",
        "key{i} = {i}\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case("sample.ini", "k{i} = {i}\n", 20, Lines, TextBanner, false),
    case(
        "Makefile",
        "t{i}:\n\t@echo {i}\n\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "Dockerfile",
        "RUN echo {i} >> /steps\n",
        20,
        Lines,
        TextBanner,
        false,
    ),
    case(
        "notes.md",
        "Paragraph {i} of the notes.\n\n",
        150,
        Prose,
        TextZeroWidth,
        true,
    ),
    case(
        "guide.rst",
        "Paragraph {i} of the guide.\n\n",
        150,
        Prose,
        TextZeroWidth,
        true,
    ),
    case(
        "memo.txt",
        "Line {i} of the memo.\n",
        300,
        Prose,
        TextZeroWidth,
        true,
    ),
    case("drawing.step", "", 0, Lines, TextBanner, false),
    case("bracket.dxf", "", 0, Lines, TextBanner, false),
    case("tetra-ascii.stl", "", 0, FirstLine, TextBanner, false),
    case("tetra-binary.stl", "", 0, StlHeader, StlTrace, false),
    case("bracket.svg", "", 0, Lines, TextBanner, false),
    case("catalog.xml", "", 0, Lines, TextBanner, false),
    case("agreement.docx", "", 0, Zip, OfficeProperties, false),
    case("sections.docx", "", 0, Zip, OfficeProperties, false),
    case("prices.xlsx", "", 0, Zip, OfficeProperties, false),
    case("roadmap.pptx", "", 0, Zip, OfficeProperties, false),
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats")
}

/// The sample with its filler expanded.
fn sample(c: &Case) -> Vec<u8> {
    let raw = std::fs::read(samples().join(c.file)).unwrap();
    if c.filler.is_empty() {
        return raw;
    }
    let text = String::from_utf8(raw).unwrap();
    let filler: String = (0..c.copies)
        .map(|i| c.filler.replace("{i}", &i.to_string()))
        .collect();
    text.replace("@FILLER@\n", &filler).into_bytes()
}

/// Whether an added line holds the mark (or is one of the marker's blank or
/// DXF group-code lines).
fn holds_mark(line: &str, id: MarkId) -> bool {
    let l = line.trim_end_matches(['\r', '\n']);
    l.trim().is_empty()
        || l.trim() == "999"
        || l.contains(&id.token())
        || l.contains(&mark::source::compact(id))
        || l.contains("issued to Zo")
        || l.contains("Vendor GmbH")
}

/// Checks that `marked` is `original` changed only where `diff` allows.
fn check_diff(name: &str, original: &[u8], marked: &[u8], diff: Diff, id: MarkId) {
    match diff {
        Lines | Prose | FirstLine => {
            let (o, m) = (
                std::str::from_utf8(original).unwrap(),
                std::str::from_utf8(marked).unwrap(),
            );
            let strip = |l: &str| -> String {
                if diff == Prose {
                    l.replace(['\u{200B}', '\u{200C}'], "")
                } else {
                    l.to_owned()
                }
            };
            let olines: Vec<&str> = o.split_inclusive('\n').collect();
            let mlines: Vec<&str> = m.split_inclusive('\n').collect();
            let mut oi = 0;
            for (mi, ml) in mlines.iter().enumerate() {
                let want = olines.get(oi).copied();
                let same = match want {
                    Some(w) if diff == FirstLine && oi == 0 => {
                        let (w, ml) = (w.trim_end(), ml.trim_end());
                        ml.starts_with(w) && ml[w.len()..] == format!(" {}", id.token())
                    }
                    Some(w) => strip(ml) == w,
                    None => false,
                };
                if same {
                    oi += 1;
                } else {
                    assert!(
                        holds_mark(&strip(ml), id),
                        "{name}: line {} was changed or added without the mark: {ml:?} (expected {want:?})",
                        mi + 1
                    );
                }
            }
            assert_eq!(
                oi,
                olines.len(),
                "{name}: original line {} is missing",
                oi + 1
            );
        }
        StlHeader => {
            assert_eq!(original.len(), marked.len(), "{name}");
            for (i, (a, b)) in original.iter().zip(marked).enumerate() {
                assert!(a == b || (54..80).contains(&i), "{name}: byte {i} changed");
            }
        }
        Zip => {
            let members = |bytes: &[u8]| {
                let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
                (0..z.len())
                    .map(|i| {
                        let mut f = z.by_index(i).unwrap();
                        let mut data = Vec::new();
                        f.read_to_end(&mut data).unwrap();
                        (f.name().unwrap().to_string(), data)
                    })
                    .collect::<Vec<_>>()
            };
            let (o, m) = (members(original), members(marked));
            // Properties, content types and relationships; DOCX: the body's
            // section properties, its relationships and footers; XLSX: sheets.
            let writes = |n: &str| {
                [
                    "docProps/custom.xml",
                    "[Content_Types].xml",
                    "_rels/.rels",
                    "word/document.xml",
                    "word/_rels/document.xml.rels",
                    mark::office::DOCX_FOOTER,
                ]
                .contains(&n)
                    || n.starts_with("word/footer")
                    || n.starts_with("xl/worksheets/sheet")
                    || n.starts_with("ppt/slideMasters/slideMaster")
            };
            for (n, data) in &o {
                let got = m.iter().find(|(mn, _)| mn == n);
                assert!(got.is_some(), "{name}: member {n} is missing");
                if !writes(n) {
                    assert!(got.is_some_and(|(_, d)| d == data), "{name}: {n} changed");
                }
            }
            for (n, _) in &m {
                assert!(
                    o.iter().any(|(on, _)| on == n) || writes(n),
                    "{name}: unexpected member {n}"
                );
            }
        }
    }
}

/// The interpreter of the formats venv (scripts/test makes it).
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("CUSTODY_FORMATS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/custody-formats-venv/bin/python"));
    p.exists().then_some(p)
}

#[test]
fn every_registered_format_is_marked_where_it_allows_and_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Vec::new();
    let mut covered = Vec::new();
    for (n, c) in CASES.iter().enumerate() {
        let id = MarkId(0x0f0e_0000_0000_0000 + n as u64 * 0x1_0001);
        let original = sample(c);
        let marked = mark::mark(
            &original,
            c.file,
            &issue(id.0),
            &Style::default(),
            &key(1),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_ne!(marked, original, "{}: not marked", c.file);
        check_diff(c.file, &original, &marked, c.diff, id);
        // What must stay first does.
        for first in [
            &b"#!"[..],
            b"<?xml",
            b"ISO-10303-21;",
            b"@charset",
            b"<!DOCTYPE",
            b"# syntax=",
            b"---\n",
        ] {
            if original.starts_with(first) && !original.starts_with(b"#![") {
                let line = |b: &[u8]| b.split(|&x| x == b'\n').next().unwrap().to_vec();
                assert_eq!(line(&marked), line(&original), "{}: first line", c.file);
            }
        }
        let t = mark::trace(&marked, None, &Limits::default())
            .unwrap()
            .unwrap_or_else(|| panic!("{}: no mark read", c.file));
        assert_eq!((t.mark_id, t.kind), (id, c.kind), "{}", c.file);
        if c.excerpt {
            let text = String::from_utf8(marked.clone()).unwrap();
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            assert!(lines.len() >= 300, "{}: {} lines", c.file, lines.len());
            let excerpt: String = lines[lines.len() / 2 - 50..lines.len() / 2 + 50].concat();
            let t = mark::trace(excerpt.as_bytes(), None, &Limits::default())
                .unwrap()
                .unwrap_or_else(|| panic!("{}: excerpt reads no mark", c.file));
            assert_eq!(t.mark_id, id, "{} excerpt", c.file);
        }
        let entry = mark::formats::by_name(c.file).unwrap();
        covered.push(entry.name);
        let sub = dir.path().join(n.to_string());
        for (side, bytes) in [("original", &original), ("marked", &marked)] {
            let d = sub.join(side);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(c.file), bytes).unwrap();
        }
        manifest.push(format!(
            "{}\t{}\t{}\t{}",
            entry.name,
            sub.join("original").join(c.file).display(),
            sub.join("marked").join(c.file).display(),
            id.token()
        ));
    }
    // Every markable format of the registry has a case.
    for e in mark::formats::REGISTRY.iter().filter(|e| e.markable()) {
        assert!(covered.contains(&e.name), "no case for {}", e.name);
    }

    let Some(py) = python() else {
        assert!(
            std::env::var("CI").is_err(),
            "the formats venv (/var/tmp/custody-formats-venv, made by scripts/test) is missing"
        );
        eprintln!(
            "NOT RUN: reference tools (no /var/tmp/custody-formats-venv; scripts/test makes it)"
        );
        return;
    };
    let list = dir.path().join("manifest.tsv");
    std::fs::write(&list, manifest.join("\n")).unwrap();
    let out = std::process::Command::new(py)
        .arg(samples().join("check.py"))
        .arg(&list)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "reference tools:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for c in CASES {
        assert!(
            stdout.contains(&format!("ok {}\n", c.file))
                || std::env::var("CI").is_err() && stdout.contains(&format!("NOT RUN {}", c.file)),
            "{}: not checked by its reference tool:\n{stdout}",
            c.file
        );
    }
}

#[test]
fn unknown_and_unmarkable_content_is_never_altered() {
    // (file name, content) → mark_unsupported, and nothing comes back to deliver.
    fn check(name: &str, content: &[u8]) {
        let got = mark::mark(
            content,
            name,
            &issue(3),
            &Style::default(),
            &key(1),
            &Limits::default(),
        );
        assert_eq!(
            got.as_ref().map_err(mark::MarkError::code),
            Err("mark_unsupported"),
            "{name}"
        );
        assert_eq!(
            mark::text::mark_text(&String::from_utf8_lossy(content), name, &issue(3)).as_bytes(),
            String::from_utf8_lossy(content).as_bytes(),
            "{name}: mark_text"
        );
    }
    check("data.bin", &[0, 159, 146, 150, 255, 0, 1, 2]);
    check("drawing.xyz", b"some text in a format nobody registered\n");
    check("no-extension", b"plain words, but not a known file name\n");
    check("table.csv", b"part,price\nbracket,42\n");
    check("data.json", b"{\"part\": \"bracket\"}\n");
    check("drawing.step", b"not a step file\n");
    check("drawing.step", &[0x00, 0x01, 0x02]);
    check("model.stl", b"binary-looking but the wrong size\0\0");
    check("archive.zip", b"PK\x03\x04 not really a zip");
    check("agreement.docx", b"PK\x03\x04 not really a zip");
    check("page.php", b"<html><?php echo 1; ?></html>\n");
    check("rules.pl", b"likes(mary, wine) :- true.\n");
    check("bracket.svg", b"<?xml version=\"1.0\"?>\n<html/>\n");
    check("bracket.dxf", b"not a dxf\n");
    check("program.go", b"package main\n");
    check(
        "app_de.ts",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE TS>\n<TS version=\"2.1\"></TS>\n",
    );
    check("Gemfile.lock", b"GEM\n  remote: https://rubygems.org/\n");
    check("heredoc.php", b"<?php $a = <<<EOT\nx\nEOT;\n");
    check("inline.php", b"<?php echo 1; ?>\n<p>html</p>\n");
    // A digitally signed Office document: a mark would invalidate the signature.
    let docx = std::fs::read(samples().join("agreement.docx")).unwrap();
    let mut r = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..r.len() {
        w.raw_copy_file(r.by_index_raw(i).unwrap()).unwrap();
    }
    w.start_file(
        "_xmlsignatures/sig1.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut w, b"<Signature/>").unwrap();
    check("signed.docx", &w.finish().unwrap().into_inner());
}

#[test]
fn truncated_and_garbled_samples_give_a_result_or_a_client_error() {
    // Every sample cut at seven points and with bytes flipped at seven
    // points, marked under its own name and traced: never a panic, only a
    // marked copy or an error caused by the input.
    let mut tried = 0;
    for c in CASES {
        let whole = sample(c);
        let mut inputs = Vec::new();
        for k in 1..8 {
            let at = whole.len() * k / 8;
            inputs.push(whole[..at].to_vec());
            let mut flipped = whole.clone();
            flipped[at] ^= 0x5a;
            inputs.push(flipped);
        }
        for input in inputs {
            let marked = mark::mark(
                &input,
                c.file,
                &issue(9),
                &Style::default(),
                &key(1),
                &Limits::default(),
            );
            for bytes in [Some(&input), marked.as_ref().ok()].into_iter().flatten() {
                if let Err(e) = mark::trace(bytes, None, &Limits::default()) {
                    assert!(e.is_client_error(), "{}: {e}", c.file);
                }
            }
            if let Err(e) = marked {
                assert!(e.is_client_error(), "{}: {e}", c.file);
            }
            tried += 1;
        }
    }
    assert_eq!(tried, CASES.len() * 14);
}

#[test]
fn docs_marks_lists_every_registered_format() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/MARKS.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    for e in mark::formats::REGISTRY {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", e.name)))
            .unwrap_or_else(|| panic!("docs/MARKS.md has no row for {}", e.name));
        for ext in e.extensions {
            assert!(row.contains(&format!("`.{ext}`")), "{}: .{ext}", e.name);
        }
        assert_eq!(row.contains("not markable"), !e.markable(), "{}", e.name);
    }
}
