//! Office Open XML documents (DOCX, XLSX, PPTX): the mark in the custom
//! document properties (ECMA-376 Part 1, §15.2.12.2, `docProps/custom.xml`):
//! `Custody mark` (the mark token) and `Custody issued to` (the recipient and
//! time). The package is rewritten member by member: every other member is
//! copied with its compressed bytes unchanged; `docProps/custom.xml` is
//! written (its other properties kept), and `[Content_Types].xml` and
//! `_rels/.rels` get the part's content type and relationship when they lack
//! them. Members read are bounded by [`MAX_PART`].
//!
//! Not done: a visible header or footer in the document body.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::{Issue, MarkError, MarkId};

/// Largest member read and rewritten (content types, relationships, properties).
pub const MAX_PART: u64 = 4 << 20;

const CUSTOM: &str = "docProps/custom.xml";
const TYPES: &str = "[Content_Types].xml";
const RELS: &str = "_rels/.rels";
const CUSTOM_TYPE: &str = "application/vnd.openxmlformats-officedocument.custom-properties+xml";
const CUSTOM_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties";
/// The format id every custom property carries.
const FMTID: &str = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}";
/// The names of the properties written (an earlier mark's are replaced).
pub const PROP_MARK: &str = "Custody mark";
const PROP_ISSUED: &str = "Custody issued to";

fn unsupported(why: impl std::fmt::Display) -> MarkError {
    MarkError::Unsupported(format!("not an office open xml package: {why}"))
}

fn read_part<R: Read + std::io::Seek>(
    zip: &mut ZipArchive<R>,
    name: &str,
) -> Result<Option<String>, MarkError> {
    let Some(i) = zip.index_for_name(name) else {
        return Ok(None);
    };
    let f = zip.by_index(i).map_err(unsupported)?;
    if f.size() > MAX_PART {
        return Err(MarkError::TooLarge {
            what: "office package part",
            limit: MAX_PART,
            actual: f.size(),
        });
    }
    let mut s = String::new();
    f.take(MAX_PART + 1)
        .read_to_string(&mut s)
        .map_err(unsupported)?;
    if s.len() as u64 > MAX_PART {
        return Err(MarkError::TooLarge {
            what: "office package part",
            limit: MAX_PART,
            actual: s.len() as u64,
        });
    }
    Ok(Some(s))
}

/// `s` escaped for XML character data.
fn esc(s: &str) -> String {
    crate::source::comment_safe(s, crate::text::CommentStyle::Plain)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inserts `add` before the last `</tag>` of `xml`.
fn before_close(xml: &str, tag: &str, add: &str) -> Option<String> {
    let close = format!("</{tag}>");
    let at = xml.rfind(&close)?;
    Some(format!("{}{add}{}", xml.get(..at)?, xml.get(at..)?))
}

/// Removes the `<property …>…</property>` elements named `names`.
fn without_props(xml: &str, names: &[&str]) -> String {
    let mut out = xml.to_owned();
    for name in names {
        let needle = format!("name=\"{name}\"");
        while let Some(p) = out.find(&needle) {
            let (Some(start), Some(end)) = (
                out.get(..p).and_then(|h| h.rfind("<property")),
                out.get(p..)
                    .and_then(|t| t.find("</property>"))
                    .map(|e| p + e + 11),
            ) else {
                break;
            };
            out.replace_range(start..end, "");
        }
    }
    out
}

fn custom_xml(old: Option<&str>, issue: &Issue) -> Result<String, MarkError> {
    let lines = issue.lines();
    let props = |first_pid: u32| {
        format!(
            "<property fmtid=\"{FMTID}\" pid=\"{first_pid}\" name=\"{PROP_MARK}\"><vt:lpwstr>{}</vt:lpwstr></property>\
             <property fmtid=\"{FMTID}\" pid=\"{}\" name=\"{PROP_ISSUED}\"><vt:lpwstr>{}</vt:lpwstr></property>",
            esc(&lines[2]),
            first_pid + 1,
            esc(&format!("{} · {}", lines[0], lines[1])),
        )
    };
    match old {
        None => Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
             <Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties\" \
             xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">{}</Properties>",
            props(2)
        )),
        Some(old) => {
            let kept = without_props(old, &[PROP_MARK, PROP_ISSUED]);
            // pids start at 2 and are unique.
            let max_pid = kept
                .match_indices("pid=\"")
                .filter_map(|(p, m)| {
                    let v = kept.get(p + m.len()..)?;
                    v.get(..v.find('"')?)?.parse::<u32>().ok()
                })
                .max()
                .unwrap_or(1);
            // The default namespace must be the custom-properties one with a `vt` prefix.
            if !kept.contains("docPropsVTypes") {
                return Err(unsupported("custom properties without the vt namespace"));
            }
            before_close(&kept, "Properties", &props(max_pid.max(1) + 1))
                .ok_or_else(|| unsupported("custom properties without </Properties>"))
        }
    }
}

/// Marks an OOXML package: custom properties, every other member unchanged.
pub(crate) fn mark_office(
    content: &[u8],
    issue: &Issue,
    file_name: &str,
) -> Result<Vec<u8>, MarkError> {
    let mut zip = ZipArchive::new(Cursor::new(content))
        .map_err(|e| MarkError::Unsupported(format!("`{file_name}` is not a zip package: {e}")))?;
    let types = read_part(&mut zip, TYPES)?
        .ok_or_else(|| unsupported(format!("`{file_name}` has no {TYPES}")))?;
    let rels = read_part(&mut zip, RELS)?
        .ok_or_else(|| unsupported(format!("`{file_name}` has no {RELS}")))?;
    let old_custom = read_part(&mut zip, CUSTOM)?;
    let custom = custom_xml(old_custom.as_deref(), issue)?;
    let types = if types.contains("PartName=\"/docProps/custom.xml\"") {
        types
    } else {
        before_close(
            &types,
            "Types",
            &format!("<Override PartName=\"/docProps/custom.xml\" ContentType=\"{CUSTOM_TYPE}\"/>"),
        )
        .ok_or_else(|| unsupported(format!("{TYPES} without </Types>")))?
    };
    let rels = if rels.contains(CUSTOM_REL) {
        rels
    } else {
        let mut id = String::from("rIdCustodyMark");
        while rels.contains(&format!("Id=\"{id}\"")) {
            id.push('1');
        }
        before_close(
            &rels,
            "Relationships",
            &format!(
                "<Relationship Id=\"{id}\" Type=\"{CUSTOM_REL}\" Target=\"docProps/custom.xml\"/>"
            ),
        )
        .ok_or_else(|| unsupported(format!("{RELS} without </Relationships>")))?
    };
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(content.len() + 2048)));
    let encode = |e: zip::result::ZipError| MarkError::Encode(e.to_string());
    let write = |out: &mut ZipWriter<Cursor<Vec<u8>>>, name: &str, data: &str| {
        out.start_file(name, opts).map_err(encode)?;
        out.write_all(data.as_bytes())
            .map_err(|e| MarkError::Encode(e.to_string()))
    };
    let mut wrote_custom = false;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(unsupported)?;
        let name = f.name().map_err(unsupported)?.into_owned();
        match name.as_str() {
            TYPES => write(&mut out, TYPES, &types)?,
            RELS => write(&mut out, RELS, &rels)?,
            CUSTOM => {
                write(&mut out, CUSTOM, &custom)?;
                wrote_custom = true;
            }
            _ => out.raw_copy_file(f).map_err(encode)?,
        }
    }
    if !wrote_custom {
        write(&mut out, CUSTOM, &custom)?;
    }
    Ok(out.finish().map_err(encode)?.into_inner())
}

/// Whether `content` starts like a zip file.
pub(crate) fn is_zip(content: &[u8]) -> bool {
    content.starts_with(b"PK\x03\x04")
}

/// The mark token in an OOXML package's custom properties.
pub(crate) fn detect_office(content: &[u8]) -> Result<Option<MarkId>, MarkError> {
    let mut zip = ZipArchive::new(Cursor::new(content)).map_err(unsupported)?;
    if zip.index_for_name(TYPES).is_none() {
        return Err(unsupported("a zip file without [Content_Types].xml"));
    }
    Ok(read_part(&mut zip, CUSTOM)?.and_then(|s| MarkId::find_token(s.as_bytes())))
}
