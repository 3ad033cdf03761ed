//! Text and source code through the crate's entry points: the banner, the
//! mark read back from a 100-line excerpt (compact comments in source code,
//! zero-width characters in prose), and what each trace reports.

use mark::{Limits, MarkId, Style, TraceKind};

use crate::util::{issue, key};

#[test]
fn text_files_trace_from_a_hundred_line_excerpt() {
    // (file name, kind read from the excerpt, kind read once trailing white
    // space and zero-width characters are stripped) → mark 1,000 lines (a
    // blank line every fifth), keep lines 500..600, trace.
    fn check(name: &str, kind: TraceKind, stripped_kind: TraceKind) {
        let body: String = (0..1000)
            .map(|i| {
                if i % 5 == 4 {
                    "\n".to_owned()
                } else {
                    format!("line_{i} = {i};\n")
                }
            })
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
        // Trailing white space and zero-width characters stripped: comments
        // stay in source code; the banner token is what is left in prose.
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
            (MarkId(id), stripped_kind),
            "{name} stripped"
        );
    }
    use TraceKind::{TextBanner, TextComment, TextZeroWidth};
    check("main.rs", TextComment, TextComment);
    check("query.sql", TextComment, TextComment);
    check("notes.txt", TextZeroWidth, TextBanner);
    check("README.md", TextZeroWidth, TextBanner);
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
