//! The registry of formats that [`crate::mark`] marks besides PDF and images,
//! each with a marker that writes only where its format allows, and checked
//! in the tests by that format's own reference tool. A file is looked up by
//! its name (extension, or the whole name for `Makefile`, `README`, …) and
//! then its content must match the format; anything else — an unknown name,
//! content that does not match, a format that has no place for a mark (CSV,
//! JSON) — is [`MarkError::Unsupported`] and never altered: the room's
//! `unmarkable` action decides (deny, or the original).

use crate::source::{self, First, Lang};
use crate::text::CommentStyle;
use crate::{Issue, MarkError};

/// How a registered format is marked.
#[derive(Debug)]
pub(crate) enum Marker {
    /// Comments in the file's own syntax ([`crate::source`]).
    Source(Lang),
    /// Prose: banner lines and zero-width characters on every line ([`crate::text`]).
    Prose,
    /// Lightweight markup: as prose, on plain-text lines only
    /// ([`crate::text::mark_markup`]); the banner last where a title must
    /// come first (reStructuredText).
    Markup {
        /// The banner goes at the end.
        banner_last: bool,
    },
    /// STEP (ISO 10303-21): a comment after `HEADER;` ([`crate::cad`]).
    Step,
    /// DXF: 999 comment groups before the first section ([`crate::cad`]).
    Dxf,
    /// STL: the ASCII `solid` line, or the binary 80-byte header ([`crate::cad`]).
    Stl,
    /// SVG: a comment just inside the root element ([`crate::xml`]).
    Svg,
    /// XML: a comment after the prolog, before the root element ([`crate::xml`]).
    Xml,
    /// DOCX, XLSX, PPTX: custom document properties ([`crate::office`]).
    Office,
    /// Known, but without a place for a mark: why.
    Unmarkable(&'static str),
}

/// One registered format.
#[derive(Debug)]
pub struct Entry {
    /// A stable name (`python`, `step`, `docx`, …).
    pub name: &'static str,
    /// Extensions, lower case, without the dot.
    pub extensions: &'static [&'static str],
    /// Whole file names (case-insensitive) that are this format.
    pub file_names: &'static [&'static str],
    /// Where the mark goes, for people; empty when the format is not markable.
    pub placement: &'static str,
    pub(crate) marker: Marker,
}

impl Entry {
    /// Whether files of this format are marked (else they are unmarkable).
    pub fn markable(&self) -> bool {
        !matches!(self.marker, Marker::Unmarkable(_))
    }
}

const fn lang(comment: CommentStyle, first: First, lex: Option<source::Lex>) -> Marker {
    Marker::Source(Lang {
        comment,
        first,
        lex,
    })
}

const SLASH: CommentStyle = CommentStyle::Line("//");
const HASH: CommentStyle = CommentStyle::Line("#");
const HEADER: &str = "banner comment after the lines that must stay first";
const BODY: &str = "banner comment, and a compact `cm:` comment line before a blank line outside strings at most every 40 lines";

/// Every registered format.
pub static REGISTRY: &[Entry] = &[
    Entry {
        name: "c",
        extensions: &["c", "h"],
        file_names: &[],
        placement: BODY,
        marker: lang(
            CommentStyle::Block("/*", "*/"),
            First::Shebang,
            Some(source::C),
        ),
    },
    Entry {
        name: "cpp",
        extensions: &["cpp", "cc", "cxx", "hpp", "hh", "hxx"],
        file_names: &[],
        placement: BODY,
        marker: lang(SLASH, First::Shebang, Some(source::C)),
    },
    Entry {
        name: "rust",
        extensions: &["rs"],
        file_names: &[],
        placement: BODY,
        marker: lang(SLASH, First::Shebang, Some(source::RUST)),
    },
    Entry {
        name: "java",
        extensions: &["java"],
        file_names: &[],
        placement: BODY,
        marker: lang(SLASH, First::Shebang, Some(source::JAVA)),
    },
    Entry {
        name: "javascript",
        extensions: &["js", "mjs", "cjs"],
        file_names: &[],
        placement: BODY,
        marker: lang(SLASH, First::Shebang, Some(source::JS)),
    },
    Entry {
        name: "typescript",
        extensions: &["ts", "mts", "cts"],
        file_names: &[],
        placement: BODY,
        marker: lang(SLASH, First::Shebang, Some(source::JS)),
    },
    Entry {
        name: "python",
        extensions: &["py", "pyw"],
        file_names: &[],
        placement: BODY,
        marker: lang(HASH, First::Coding, Some(source::PYTHON)),
    },
    Entry {
        name: "shell",
        extensions: &["sh", "bash"],
        file_names: &[],
        placement: BODY,
        marker: lang(HASH, First::Shebang, Some(source::SHELL)),
    },
    Entry {
        name: "perl",
        extensions: &["pl", "pm"],
        file_names: &[],
        placement: HEADER,
        marker: lang(HASH, First::Shebang, None),
    },
    Entry {
        name: "ruby",
        extensions: &["rb", "rake", "gemspec"],
        file_names: &["rakefile", "gemfile"],
        placement: HEADER,
        marker: lang(HASH, First::Magic, None),
    },
    Entry {
        name: "php",
        extensions: &["php"],
        file_names: &[],
        placement: "banner comment after the opening `<?php` line",
        marker: lang(SLASH, First::Php, None),
    },
    Entry {
        name: "lua",
        extensions: &["lua"],
        file_names: &[],
        placement: HEADER,
        marker: lang(CommentStyle::Line("--"), First::Shebang, None),
    },
    Entry {
        name: "sql",
        extensions: &["sql"],
        file_names: &[],
        placement: BODY,
        marker: lang(CommentStyle::Line("--"), First::Shebang, Some(source::SQL)),
    },
    Entry {
        name: "css",
        extensions: &["css"],
        file_names: &[],
        placement: BODY,
        marker: lang(
            CommentStyle::Block("/*", "*/"),
            First::Charset,
            Some(source::CSS),
        ),
    },
    Entry {
        name: "html",
        extensions: &["html", "htm"],
        file_names: &[],
        placement: "banner comment after the doctype",
        marker: lang(CommentStyle::Block("<!--", "-->"), First::Doctype, None),
    },
    Entry {
        name: "yaml",
        extensions: &["yaml", "yml"],
        file_names: &[],
        placement: HEADER,
        marker: lang(HASH, First::Shebang, None),
    },
    Entry {
        name: "toml",
        extensions: &["toml"],
        file_names: &[],
        placement: HEADER,
        marker: lang(HASH, First::Shebang, None),
    },
    Entry {
        name: "ini",
        extensions: &["ini"],
        file_names: &[],
        placement: HEADER,
        marker: lang(CommentStyle::Line(";"), First::Shebang, None),
    },
    Entry {
        name: "makefile",
        extensions: &["mk"],
        file_names: &["makefile", "gnumakefile"],
        placement: HEADER,
        marker: lang(HASH, First::Shebang, None),
    },
    Entry {
        name: "dockerfile",
        extensions: &["dockerfile"],
        file_names: &["dockerfile", "containerfile"],
        placement: "banner comment after the parser directives",
        marker: lang(HASH, First::Directives, None),
    },
    Entry {
        name: "prose",
        extensions: &["txt", "text"],
        file_names: &[
            "readme",
            "license",
            "licence",
            "notice",
            "authors",
            "changelog",
            "copying",
            "install",
            "todo",
        ],
        placement: "banner lines before the text, zero-width characters at the end of every line",
        marker: Marker::Prose,
    },
    Entry {
        name: "markdown",
        extensions: &["md", "markdown"],
        file_names: &[],
        placement: "banner lines after any front matter, zero-width characters at the end of plain-text lines",
        marker: Marker::Markup { banner_last: false },
    },
    Entry {
        name: "rst",
        extensions: &["rst"],
        file_names: &[],
        placement: "banner lines at the end (a paragraph before the title would demote it), zero-width characters at the end of plain-text lines",
        marker: Marker::Markup { banner_last: true },
    },
    Entry {
        name: "step",
        extensions: &["step", "stp", "p21"],
        file_names: &[],
        placement: "comment after `HEADER;`",
        marker: Marker::Step,
    },
    Entry {
        name: "dxf",
        extensions: &["dxf"],
        file_names: &[],
        placement: "999 comment groups before the first section",
        marker: Marker::Dxf,
    },
    Entry {
        name: "stl",
        extensions: &["stl"],
        file_names: &[],
        placement: "ASCII: the `solid` line; binary: bytes 54–80 of the header",
        marker: Marker::Stl,
    },
    Entry {
        name: "svg",
        extensions: &["svg"],
        file_names: &[],
        placement: "comment just inside the root element",
        marker: Marker::Svg,
    },
    Entry {
        name: "xml",
        extensions: &["xml", "xsd", "xsl", "xslt"],
        file_names: &[],
        placement: "comment after the prolog, before the root element",
        marker: Marker::Xml,
    },
    Entry {
        name: "ooxml",
        extensions: &["docx", "xlsx", "pptx"],
        file_names: &[],
        placement: "custom document properties (docProps/custom.xml)",
        marker: Marker::Office,
    },
    Entry {
        name: "csv",
        extensions: &["csv", "tsv"],
        file_names: &[],
        placement: "",
        marker: Marker::Unmarkable("csv has no comments, and a line more is a record more"),
    },
    Entry {
        name: "json",
        extensions: &["json", "ipynb", "geojson"],
        file_names: &[],
        placement: "",
        marker: Marker::Unmarkable("json has no comments, and a field more changes the data"),
    },
];

/// The registered format of `file_name` (by extension, then by whole name).
pub fn by_name(file_name: &str) -> Option<&'static Entry> {
    let lower = file_name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if let Some((_, ext)) = base.rsplit_once('.')
        && let Some(e) = REGISTRY.iter().find(|e| e.extensions.contains(&ext))
    {
        return Some(e);
    }
    // Whole names only: `Gemfile.lock` is no Ruby, `Makefile.am` no Makefile.
    REGISTRY.iter().find(|e| e.file_names.contains(&base))
}

/// The registered format of a file whose name says nothing, by content
/// alone: only strong signatures (STEP, an XML declaration).
fn by_content(content: &[u8]) -> Option<&'static Entry> {
    let named = |n: &str| REGISTRY.iter().find(|e| e.name == n);
    if crate::cad::is_step(content) {
        return named("step");
    }
    if let Ok(text) = std::str::from_utf8(content)
        && text.trim_start_matches('\u{feff}').starts_with("<?xml")
        && let Some(root) = crate::xml::root(text)
    {
        return if root.is_svg {
            named("svg")
        } else {
            named("xml")
        };
    }
    None
}

fn unsupported(file_name: &str, why: &str) -> MarkError {
    MarkError::Unsupported(format!("`{file_name}`: {why}"))
}

/// Marks a file of a registered format; anything else is
/// [`MarkError::Unsupported`] and left alone.
pub(crate) fn mark_registered(
    content: &[u8],
    file_name: &str,
    issue: &Issue,
) -> Result<Vec<u8>, MarkError> {
    let entry = by_name(file_name)
        .or_else(|| by_content(content))
        .ok_or_else(|| unsupported(file_name, "not a format custody knows how to mark"))?;
    let text = || {
        std::str::from_utf8(content)
            .ok()
            .filter(|_| !content.contains(&0))
            .ok_or_else(|| unsupported(file_name, &format!("not {} text", entry.name)))
    };
    match &entry.marker {
        Marker::Unmarkable(why) => Err(unsupported(file_name, why)),
        Marker::Source(lang) => {
            let t = text()?;
            // A `.pl` file with `:-` clauses is Prolog, where `#` is no comment;
            // a `.ts` file in XML is a Qt translation, not TypeScript.
            if !source::accepts(lang, t)
                || entry.name == "perl" && t.contains(":-")
                || entry.name == "typescript"
                    && t.trim_start_matches('\u{feff}')
                        .trim_start()
                        .starts_with('<')
            {
                return Err(unsupported(
                    file_name,
                    &format!("does not read as {}", entry.name),
                ));
            }
            Ok(source::mark_source(t, lang, issue).into_bytes())
        }
        Marker::Prose => Ok(crate::text::mark_prose(text()?, issue).into_bytes()),
        Marker::Markup { banner_last } => {
            Ok(crate::text::markup(text()?, issue, *banner_last).into_bytes())
        }
        Marker::Step => crate::cad::mark_step(text()?, issue)
            .map(String::into_bytes)
            .ok_or_else(|| unsupported(file_name, "not an ISO 10303-21 file with a header")),
        Marker::Dxf => crate::cad::mark_dxf(text()?, issue)
            .map(String::into_bytes)
            .ok_or_else(|| unsupported(file_name, "not an ASCII DXF file")),
        Marker::Stl => crate::cad::mark_stl(content, issue)
            .ok_or_else(|| unsupported(file_name, "neither an ASCII nor a binary STL file")),
        Marker::Svg => crate::xml::mark_xml(text()?, issue, true)
            .map(String::into_bytes)
            .ok_or_else(|| unsupported(file_name, "not an SVG document")),
        Marker::Xml => crate::xml::mark_xml(text()?, issue, false)
            .map(String::into_bytes)
            .ok_or_else(|| unsupported(file_name, "not a well-formed XML prolog and root")),
        Marker::Office => crate::office::mark_office(content, issue, file_name),
    }
}
