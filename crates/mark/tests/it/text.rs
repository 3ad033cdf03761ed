//! Text and source code through the crate's entry points: the banner, the
//! invisible mark read back from a 100-line excerpt, and what each trace reports.

use mark::{Limits, MarkId, Style, TraceKind};

use crate::util::{issue, key};

#[test]
fn text_files_trace_from_a_hundred_line_excerpt() {
    // (file name, expected kind) → mark 1,000 lines, keep lines 500..600, trace.
    fn check(name: &str, kind: TraceKind) {
        let body: String = (0..1000)
            .map(|i| format!("line {i} of the specification\n"))
            .collect();
        let id = 0x5555_0000_0000_0000 + name.len() as u64;
        let out = mark::mark(
            body.as_bytes(),
            name,
            &issue(id),
            &Style::default(),
            &key(1),
            &Limits::default(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&MarkId(id).token()), "{name}: banner");
        let excerpt: String = text.split_inclusive('\n').skip(500).take(100).collect();
        let t = mark::trace(excerpt.as_bytes(), None, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!((t.mark_id, t.kind), (MarkId(id), kind), "{name}");
        // Trailing whitespace stripped: the banner token is what is left, in the full file.
        let stripped: String = text
            .lines()
            .map(|l| {
                format!(
                    "{}\n",
                    l.trim_end().trim_end_matches(['\u{200B}', '\u{200C}'])
                )
            })
            .collect();
        let t = mark::trace(stripped.as_bytes(), None, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.mark_id, t.kind),
            (MarkId(id), TraceKind::TextBanner),
            "{name} stripped"
        );
    }
    check("main.rs", TraceKind::TextWhitespace);
    check("query.sql", TraceKind::TextWhitespace);
    check("notes.txt", TraceKind::TextZeroWidth);
    check("README.md", TraceKind::TextZeroWidth);
}

#[test]
fn unmarked_text_traces_nothing() {
    let body: String = (0..300)
        .map(|i| format!("fn f{i}() {{}}    \t\n"))
        .collect();
    assert_eq!(
        mark::trace(body.as_bytes(), None, &Limits::default()).unwrap(),
        None
    );
}
