//! Office Open XML (DOCX, XLSX, PPTX) and OpenDocument files are ZIPs of XML
//! parts: the parts that carry content are reduced to their text nodes, with
//! a line break after each paragraph or row and a tab after each cell, so that
//! line numbers mean something. Layout-only parts are skipped; embedded files
//! are expanded like any other member.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Whether the member names are those of an Office or OpenDocument file.
pub(super) fn is_office(names: &[String]) -> bool {
    names.iter().any(|n| n == "[Content_Types].xml")
        || (names.iter().any(|n| n == "mimetype") && names.iter().any(|n| n == "content.xml"))
}

/// Parts with no user content: relationships, styles, themes, settings.
pub(super) fn is_boilerplate(name: &str) -> bool {
    const SKIP: [&str; 22] = [
        "[Content_Types].xml",
        ".rels",
        "styles.xml",
        "fontTable.xml",
        "settings.xml",
        "webSettings.xml",
        "numbering.xml",
        "manifest.xml",
        "mimetype",
        "app.xml",
        "calcChain.xml",
        "presProps.xml",
        "viewProps.xml",
        "tableStyles.xml",
        "manifest.rdf",
        "theme1.xml",
        "endnotes.xml.rels",
        "meta.xml.rels",
        "document.xml.rels",
        "workbook.xml.rels",
        "presentation.xml.rels",
        "thumbnail.png",
    ];
    const SKIP_DIRS: [&str; 7] = [
        "_rels/",
        "theme/",
        "slideLayouts/",
        "slideMasters/",
        "printerSettings/",
        "Thumbnails/",
        "Configurations2/",
    ];
    let file = name.rsplit('/').next().unwrap_or(name);
    SKIP.iter().any(|s| file == *s || file.ends_with(".rels"))
        || SKIP_DIRS.iter().any(|d| name.contains(d))
}

/// Whether a member is an XML part whose text nodes are extracted.
pub(super) fn is_xml_part(name: &str) -> bool {
    name.ends_with(".xml")
}

/// Elements after which a line ends.
fn ends_line(local: &[u8]) -> bool {
    matches!(
        local,
        b"p" | b"br"
            | b"tr"
            | b"row"
            | b"si"
            | b"h"
            | b"cr"
            | b"list-item"
            | b"table-row"
            | b"line-break"
    )
}

/// Elements after which a tab separates cells.
fn ends_cell(local: &[u8]) -> bool {
    matches!(local, b"c" | b"tc" | b"table-cell" | b"tab" | b"s")
}

/// The text nodes of an XML part, malformed or not (what was read before an
/// error is kept).
pub(super) fn xml_text(bytes: &[u8]) -> String {
    let source = String::from_utf8_lossy(bytes);
    let mut reader = Reader::from_str(&source);
    let mut out = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Text(t)) => out.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)),
            Ok(Event::CData(t)) => out.push_str(&t.into_inner()),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => out.push_str(entity(&r.into_inner())),
            },
            Ok(Event::End(e)) => separator(&mut out, e.local_name().as_ref().as_bytes()),
            Ok(Event::Empty(e)) => separator(&mut out, e.local_name().as_ref().as_bytes()),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

fn separator(out: &mut String, local: &[u8]) {
    if ends_line(local) {
        out.push('\n');
    } else if ends_cell(local) {
        out.push('\t');
    }
}

fn entity(name: &str) -> &'static str {
    match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nodes_keep_paragraphs_and_cells() {
        let check =
            |xml: &str, expected: &str| assert_eq!(xml_text(xml.as_bytes()), expected, "{xml}");
        check(
            r#"<w:document><w:body><w:p><w:r><w:t>Hello </w:t></w:r><w:r><w:t>world</w:t></w:r></w:p><w:p><w:r><w:t>a &amp; b &#65;</w:t></w:r></w:p></w:body></w:document>"#,
            "Hello world\na & b A\n",
        );
        check(
            r#"<sheetData><row><c><v>1</v></c><c t="inlineStr"><is><t>x</t></is></c></row></sheetData>"#,
            "1\tx\t\n",
        );
        check("<a><b>unterminated", "unterminated");
    }
}
