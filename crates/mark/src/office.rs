//! Office Open XML documents (DOCX, XLSX, PPTX): the mark in the custom
//! document properties (ECMA-376 Part 1, §15.2.12.2, `docProps/custom.xml`):
//! `Custody mark` (the mark token) and `Custody issued to` (the recipient and
//! time). The package is rewritten member by member: every other member is
//! copied with its compressed bytes unchanged; `docProps/custom.xml` is
//! written (its other properties kept), and `[Content_Types].xml` and
//! `_rels/.rels` get the part's content type and relationship when they lack
//! them. Members read are bounded by [`MAX_PART`].
//!
//! Visible too: DOCX sections get the recipient line in their default footer
//! (appended to an existing one, or a new footer part), XLSX worksheets
//! without a header/footer of their own get it in the odd-page footer, PPTX
//! slide masters get a text box along the bottom (shown on every slide whose
//! layout shows the master's shapes).

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

/// A relationship id not yet in `rels`, starting with `base`.
fn fresh_id(rels: &str, base: &str) -> String {
    let mut id = base.to_owned();
    while rels.contains(&format!("Id=\"{id}\"")) {
        id.push('1');
    }
    id
}

/// Adds a relationship to a relationships part.
fn add_rel(rels: &str, id: &str, kind: &str, target: &str) -> Result<String, MarkError> {
    before_close(
        rels,
        "Relationships",
        &format!("<Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{target}\"/>"),
    )
    .ok_or_else(|| unsupported("a relationships part without </Relationships>"))
}

/// Adds a content-type override for `part` (`/…`) unless there is one.
fn add_override(types: &str, part: &str, kind: &str) -> Result<String, MarkError> {
    if types.contains(&format!("PartName=\"{part}\"")) {
        return Ok(types.to_owned());
    }
    before_close(
        types,
        "Types",
        &format!("<Override PartName=\"{part}\" ContentType=\"{kind}\"/>"),
    )
    .ok_or_else(|| unsupported(format!("{TYPES} without </Types>")))
}

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const DOC: &str = "word/document.xml";
const DOC_RELS: &str = "word/_rels/document.xml.rels";
/// The footer part added to a DOCX whose sections have no default footer.
pub const DOCX_FOOTER: &str = "word/custodyFooter.xml";
const FOOTER_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer";
const FOOTER_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml";

/// The footer line: recipient, party, time and token.
fn footer_text(issue: &Issue) -> String {
    let l = issue.lines();
    format!("{} · {} · {}", l[0], l[1], l[2])
}

fn footer_paragraph(issue: &Issue) -> String {
    format!(
        "<w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr><w:r><w:rPr><w:color w:val=\"808080\"/>\
         <w:sz w:val=\"16\"/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
        esc(&footer_text(issue))
    )
}

/// The byte ranges of `<w:sectPrChange>…</w:sectPrChange>` (tracked changes,
/// whose inner `w:sectPr` may not hold references).
fn change_ranges(doc: &str) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut from = 0;
    while let Some(p) = doc.get(from..).and_then(|d| d.find("<w:sectPrChange")) {
        let start = from + p;
        let end = doc
            .get(start..)
            .and_then(|d| d.find("</w:sectPrChange>"))
            .map_or(doc.len(), |e| start + e);
        v.push((start, end));
        from = end.max(start + 1);
    }
    v
}

/// A visible footer in a DOCX: each default footer part a section uses gets a
/// paragraph (an existing part is appended to; leading sections without a
/// footer point to a new part, later ones keep inheriting the previous
/// section's). First-page and even-page footers are left alone.
/// Returns the parts to replace and to add, or nothing when the document's
/// markup is not the usual (no `w:`/`r:` prefixes on the root).
fn docx_footer(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    issue: &Issue,
    types: &mut String,
) -> Result<Vec<(String, String)>, MarkError> {
    let (Some(doc), Some(rels)) = (read_part(zip, DOC)?, read_part(zip, DOC_RELS)?) else {
        return Ok(Vec::new());
    };
    let root_end = doc.find("<w:body").unwrap_or(0);
    let root = doc.get(..root_end).unwrap_or_default();
    if !root.contains(&format!("xmlns:w=\"{W_NS}\""))
        || !root.contains(&format!("xmlns:r=\"{R_NS}\""))
    {
        return Ok(Vec::new());
    }
    let skip = change_ranges(&doc);
    let new_id = fresh_id(&rels, "rIdCustodyFooter");
    let reference = format!("<w:footerReference w:type=\"default\" r:id=\"{new_id}\"/>");
    let mut out_doc = String::with_capacity(doc.len() + 200);
    let mut existing: Vec<String> = Vec::new();
    let mut added = false;
    let mut inherited = false;
    let mut at = 0;
    while let Some(p) = doc.get(at..).and_then(|d| d.find("<w:sectPr")) {
        let start = at + p;
        let after = doc.get(start + 9..).unwrap_or_default();
        let is_sect = after.starts_with([' ', '>', '/', '\t', '\r', '\n']);
        let tag_end = after.find('>').map(|e| start + 9 + e + 1);
        let Some(tag_end) =
            tag_end.filter(|_| is_sect && !skip.iter().any(|&(a, b)| a <= start && start < b))
        else {
            out_doc.push_str(doc.get(at..start + 9).unwrap_or_default());
            at = start + 9;
            continue;
        };
        let tag = doc.get(start..tag_end).unwrap_or_default();
        out_doc.push_str(doc.get(at..start).unwrap_or_default());
        if tag.ends_with("/>") && inherited {
            out_doc.push_str(tag);
            at = tag_end;
            continue;
        }
        if tag.ends_with("/>") {
            // `<w:sectPr …/>`: open it to hold the reference.
            out_doc.push_str(tag.trim_end_matches("/>").trim_end());
            out_doc.push('>');
            out_doc.push_str(&reference);
            out_doc.push_str("</w:sectPr>");
            added = true;
            inherited = true;
            at = tag_end;
            continue;
        }
        let body_end = doc
            .get(tag_end..)
            .and_then(|d| d.find("</w:sectPr>"))
            .map_or(doc.len(), |e| tag_end + e);
        let body = doc.get(tag_end..body_end).unwrap_or_default();
        let default = body.split("<w:footerReference").skip(1).find(|r| {
            r.split('>')
                .next()
                .is_some_and(|a| a.contains("w:type=\"default\""))
        });
        out_doc.push_str(tag);
        match default.and_then(|r| {
            let a = r.split('>').next()?;
            let id = a.split("r:id=\"").nth(1)?.split('"').next()?;
            let rel = rels
                .split("<Relationship ")
                .find(|x| x.contains(&format!("Id=\"{id}\"")))?;
            let target = rel.split("Target=\"").nth(1)?.split('"').next()?;
            Some(format!(
                "word/{}",
                target.trim_start_matches('/').trim_start_matches("word/")
            ))
        }) {
            Some(part) => {
                existing.push(part);
                inherited = true;
            }
            // A section without a default footer shows the previous
            // section's: only the first ones (no footer at all) get ours.
            None if !inherited => {
                out_doc.push_str(&reference);
                added = true;
                inherited = true;
            }
            None => {}
        }
        at = tag_end;
    }
    out_doc.push_str(doc.get(at..).unwrap_or_default());
    let mut parts = Vec::new();
    existing.sort();
    existing.dedup();
    for part in existing {
        let Some(old) = read_part(zip, &part)? else {
            continue;
        };
        if old.contains(&format!("xmlns:w=\"{W_NS}\""))
            && let Some(new) = before_close(&old, "w:ftr", &footer_paragraph(issue))
        {
            parts.push((part, new));
        }
    }
    if added {
        let footer = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
             <w:ftr xmlns:w=\"{W_NS}\" xmlns:r=\"{R_NS}\">{}</w:ftr>",
            footer_paragraph(issue)
        );
        parts.push((DOC.to_owned(), out_doc));
        parts.push((
            DOC_RELS.to_owned(),
            add_rel(&rels, &new_id, FOOTER_REL, "custodyFooter.xml")?,
        ));
        parts.push((DOCX_FOOTER.to_owned(), footer));
        *types = add_override(types, &format!("/{DOCX_FOOTER}"), FOOTER_TYPE)?;
    }
    Ok(parts)
}

/// Elements that follow `headerFooter` in a worksheet (ECMA-376 `CT_Worksheet`).
const AFTER_HEADER_FOOTER: [&str; 15] = [
    "<rowBreaks",
    "<colBreaks",
    "<customProperties",
    "<cellWatches",
    "<ignoredErrors",
    "<smartTags",
    "<drawing",
    "<legacyDrawing",
    "<drawingHF",
    "<picture",
    "<oleObjects",
    "<controls",
    "<webPublishItems",
    "<tableParts",
    "<extLst",
];

/// A visible footer in each XLSX worksheet without a header/footer of its own
/// (the centre of the odd-page footer; `&` doubled as Excel requires).
fn xlsx_footers(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    issue: &Issue,
) -> Result<Vec<(String, String)>, MarkError> {
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| {
            n.strip_prefix("xl/worksheets/")
                .is_some_and(|r| r.ends_with(".xml") && !r.contains('/'))
        })
        .map(|n| n.into_owned())
        .collect();
    let text = esc(&footer_text(issue).replace('&', "&&"));
    let element = format!("<headerFooter><oddFooter>&amp;C{text}</oddFooter></headerFooter>");
    let mut parts = Vec::new();
    for name in names {
        let Some(sheet) = read_part(zip, &name)? else {
            continue;
        };
        if sheet.contains("<headerFooter") || !sheet.contains("<worksheet ") {
            continue;
        }
        let at = AFTER_HEADER_FOOTER
            .iter()
            .filter_map(|t| sheet.find(t))
            .min()
            .or_else(|| sheet.rfind("</worksheet>"));
        if let Some(at) = at {
            let new = format!(
                "{}{element}{}",
                sheet.get(..at).unwrap_or_default(),
                sheet.get(at..).unwrap_or_default()
            );
            parts.push((name, new));
        }
    }
    Ok(parts)
}

const A_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const P_NS: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
/// Height of the PPTX mark line, in EMU (0.3 inch).
const PPTX_LINE: u64 = 274_320;

/// A number attribute `name="…"` of the first `tag` in `xml`.
fn attr_u64(xml: &str, tag: &str, name: &str) -> Option<u64> {
    let t = xml.get(xml.find(tag)?..)?;
    let t = t.get(..t.find('>')?)?;
    let v = t.split(&format!(" {name}=\"")).nth(1)?;
    v.get(..v.find('"')?)?.parse().ok()
}

/// A visible line along the bottom of each PPTX slide master (a text box
/// shown on every slide whose layout shows the master's shapes).
fn pptx_masters(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    issue: &Issue,
) -> Result<Vec<(String, String)>, MarkError> {
    let Some(pres) = read_part(zip, "ppt/presentation.xml")? else {
        return Ok(Vec::new());
    };
    let (Some(cx), Some(cy)) = (
        attr_u64(&pres, "<p:sldSz", "cx"),
        attr_u64(&pres, "<p:sldSz", "cy"),
    ) else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| {
            n.strip_prefix("ppt/slideMasters/")
                .is_some_and(|r| r.ends_with(".xml") && !r.contains('/'))
        })
        .map(|n| n.into_owned())
        .collect();
    let mut parts = Vec::new();
    for name in names {
        let Some(master) = read_part(zip, &name)? else {
            continue;
        };
        let root = master
            .get(..master.find("<p:cSld").unwrap_or(0))
            .unwrap_or_default();
        if !root.contains(&format!("xmlns:a=\"{A_NS}\""))
            || !root.contains(&format!("xmlns:p=\"{P_NS}\""))
        {
            continue;
        }
        let id = master
            .match_indices("<p:cNvPr id=\"")
            .filter_map(|(p, m)| {
                let v = master.get(p + m.len()..)?;
                v.get(..v.find('"')?)?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(1)
            + 1;
        let shape = format!(
            "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"Custody mark\"/><p:cNvSpPr txBox=\"1\"/><p:nvPr userDrawn=\"1\"/></p:nvSpPr>\
             <p:spPr><a:xfrm><a:off x=\"0\" y=\"{}\"/><a:ext cx=\"{cx}\" cy=\"{PPTX_LINE}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom><a:noFill/></p:spPr>\
             <p:txBody><a:bodyPr wrap=\"none\" lIns=\"0\" tIns=\"0\" rIns=\"0\" bIns=\"0\" anchor=\"ctr\"/><a:lstStyle/>\
             <a:p><a:pPr algn=\"ctr\"/><a:r><a:rPr lang=\"en-US\" sz=\"800\"><a:solidFill><a:srgbClr val=\"808080\"/></a:solidFill></a:rPr>\
             <a:t>{}</a:t></a:r></a:p></p:txBody></p:sp>",
            cy.saturating_sub(PPTX_LINE),
            esc(&footer_text(issue))
        );
        if let Some(new) = before_close(&master, "p:spTree", &shape) {
            parts.push((name, new));
        }
    }
    Ok(parts)
}

/// Marks an OOXML package: custom properties, and a visible line in DOCX
/// footers, XLSX footers and PPTX slide masters; every other member unchanged.
pub(crate) fn mark_office(
    content: &[u8],
    issue: &Issue,
    file_name: &str,
) -> Result<Vec<u8>, MarkError> {
    let mut zip = ZipArchive::new(Cursor::new(content))
        .map_err(|e| MarkError::Unsupported(format!("`{file_name}` is not a zip package: {e}")))?;
    if zip
        .file_names()
        .any(|n| n.is_ok_and(|n| n.starts_with("_xmlsignatures/")))
    {
        return Err(MarkError::Unsupported(format!(
            "`{file_name}` is digitally signed: a mark would invalidate its signature"
        )));
    }
    let mut types = read_part(&mut zip, TYPES)?
        .ok_or_else(|| unsupported(format!("`{file_name}` has no {TYPES}")))?;
    let rels = read_part(&mut zip, RELS)?
        .ok_or_else(|| unsupported(format!("`{file_name}` has no {RELS}")))?;
    let old_custom = read_part(&mut zip, CUSTOM)?;
    let custom = custom_xml(old_custom.as_deref(), issue)?;
    types = add_override(&types, "/docProps/custom.xml", CUSTOM_TYPE)?;
    let rels = if rels.contains(CUSTOM_REL) {
        rels
    } else {
        add_rel(
            &rels,
            &fresh_id(&rels, "rIdCustodyMark"),
            CUSTOM_REL,
            "docProps/custom.xml",
        )?
    };
    let lower = file_name.to_ascii_lowercase();
    let mut parts = if lower.ends_with(".docx") {
        docx_footer(&mut zip, issue, &mut types)?
    } else if lower.ends_with(".xlsx") {
        xlsx_footers(&mut zip, issue)?
    } else if lower.ends_with(".pptx") {
        pptx_masters(&mut zip, issue)?
    } else {
        Vec::new()
    };
    parts.push((CUSTOM.to_owned(), custom));
    parts.push((TYPES.to_owned(), types));
    parts.push((RELS.to_owned(), rels));

    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(content.len() + 4096)));
    let encode = |e: zip::result::ZipError| MarkError::Encode(e.to_string());
    let write = |out: &mut ZipWriter<Cursor<Vec<u8>>>, name: &str, data: &str| {
        out.start_file(name, opts).map_err(encode)?;
        out.write_all(data.as_bytes())
            .map_err(|e| MarkError::Encode(e.to_string()))
    };
    let mut written = vec![false; parts.len()];
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(unsupported)?;
        let name = f.name().map_err(unsupported)?.into_owned();
        match parts.iter().position(|(n, _)| *n == name) {
            Some(k) => {
                if let (Some((n, data)), Some(w)) = (parts.get(k), written.get_mut(k)) {
                    write(&mut out, n, data)?;
                    *w = true;
                }
            }
            None => out.raw_copy_file(f).map_err(encode)?,
        }
    }
    for ((n, data), w) in parts.iter().zip(&written) {
        if !w {
            write(&mut out, n, data)?;
        }
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
