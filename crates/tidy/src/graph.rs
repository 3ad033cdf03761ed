//! The crate graph drawn in ARCHITECTURE.md's code map against the workspace's.
//!
//! The drawing is a tree of crate names joined by `──`, forking with `┬`, `├`,
//! `└` and `│` (a child hangs from the name left of it on its line, or from the
//! `┬` above its `├`/`└`). It matches the workspace when it names every crate and
//! no other, every drawn edge is a real dependency, and every real dependency is
//! drawn or follows from drawn ones (the drawing may leave out `a → c` when it
//! shows `a → b → c`). Dependencies here are `[dependencies]` and
//! `[build-dependencies]` between workspace crates; tests may reach further.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{Kind, Package};

/// The nodes and edges of a drawing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drawing {
    /// Every crate named.
    pub nodes: BTreeSet<String>,
    /// `(from, to)`: `from` depends on `to`.
    pub edges: BTreeSet<(String, String)>,
}

/// The first fenced block after the `## Code map` heading.
pub fn code_map(architecture: &str) -> Option<&str> {
    let (_, after) = architecture.split_once("\n## Code map")?;
    let (_, fenced) = after.split_once("\n```")?;
    let (_, body) = fenced.split_once('\n')?;
    let (block, _) = body.split_once("\n```")?;
    Some(block)
}

/// The names of the `` ### `name` `` headings.
pub fn crate_headings(architecture: &str) -> BTreeSet<String> {
    architecture
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .map(str::to_owned)
        .collect()
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Reads a tree drawing, or says on which line it cannot be read.
pub fn parse_drawing(text: &str) -> Result<Drawing, String> {
    let mut drawing = Drawing::default();
    // Column of an open fork → the crate it forks from.
    let mut forks: BTreeMap<usize, String> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at =
            |what: &str, col: usize| format!("code map line {}, column {}: {what}", n + 1, col + 1);
        let chars: Vec<char> = line.chars().collect();
        // The crate the next name on this line hangs from, once a link is drawn.
        let mut left: Option<String> = None;
        let mut linked = false;
        let mut col = 0;
        while let Some(&c) = chars.get(col) {
            match c {
                ' ' => {}
                '─' => linked = left.is_some(),
                '┬' => {
                    let from = left.clone().ok_or_else(|| at("`┬` after no crate", col))?;
                    forks.insert(col, from);
                    linked = true;
                }
                '├' | '└' | '│' => {
                    let from = forks
                        .get(&col)
                        .cloned()
                        .ok_or_else(|| at("branch under no `┬`", col))?;
                    if c == '└' {
                        forks.remove(&col);
                    }
                    if c != '│' {
                        left = Some(from);
                        linked = true;
                    }
                }
                c if is_name(c) => {
                    let start = col;
                    while chars.get(col).is_some_and(|&c| is_name(c)) {
                        col += 1;
                    }
                    let name: String = chars[start..col].iter().collect();
                    if let (Some(from), true) = (left.take(), linked) {
                        drawing.edges.insert((from, name.clone()));
                    }
                    drawing.nodes.insert(name.clone());
                    left = Some(name);
                    linked = false;
                    continue;
                }
                other => return Err(at(&format!("unexpected `{other}`"), col)),
            }
            col += 1;
        }
    }
    if let Some((col, from)) = forks.first_key_value() {
        return Err(format!(
            "code map: the fork from `{from}` at column {} never ends in `└`",
            col + 1
        ));
    }
    Ok(drawing)
}

/// The dependencies between workspace crates that shape the architecture.
pub fn internal_edges(packages: &[Package]) -> BTreeSet<(String, String)> {
    let members: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    packages
        .iter()
        .flat_map(|p| {
            p.deps
                .iter()
                .filter(|d| d.kind != Kind::Dev && members.contains(d.name.as_str()))
                .map(|d| (p.name.clone(), d.name.clone()))
        })
        .collect()
}

/// Whether `to` is reachable from `from` along `edges`.
fn reaches(edges: &BTreeSet<(String, String)>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(at) = todo.pop() {
        for (_, next) in edges
            .range((at.to_owned(), String::new())..)
            .take_while(|(f, _)| f == at)
        {
            if next == to {
                return true;
            }
            if seen.insert(next.as_str()) {
                todo.push(next);
            }
        }
    }
    false
}

/// One message per difference between the drawing and the workspace.
pub fn drawing_matches(drawing: &Drawing, packages: &[Package]) -> Vec<String> {
    let members: BTreeSet<String> = packages.iter().map(|p| p.name.clone()).collect();
    let real = internal_edges(packages);
    let mut problems = Vec::new();
    for name in members.difference(&drawing.nodes) {
        problems.push(format!("code map: crate `{name}` is not drawn"));
    }
    for name in drawing.nodes.difference(&members) {
        problems.push(format!(
            "code map: `{name}` is drawn but is no workspace crate"
        ));
    }
    for (from, to) in drawing.edges.difference(&real) {
        problems.push(format!(
            "code map: `{from} ── {to}` is drawn but `{from}` does not depend on `{to}`"
        ));
    }
    for (from, to) in &real {
        if !reaches(&drawing.edges, from, to) {
            problems.push(format!(
                "code map: `{from}` depends on `{to}`, which the drawing does not show"
            ));
        }
    }
    problems
}

/// One message per workspace crate without a `` ### `name` `` heading, and per
/// such heading that names no crate.
pub fn every_crate_has_a_heading(architecture: &str, packages: &[Package]) -> Vec<String> {
    let members: BTreeSet<String> = packages.iter().map(|p| p.name.clone()).collect();
    let headings = crate_headings(architecture);
    let missing = members
        .difference(&headings)
        .map(|n| format!("ARCHITECTURE.md: no \"### `{n}`\" heading"));
    let extra = headings
        .difference(&members)
        .map(|n| format!("ARCHITECTURE.md: heading \"### `{n}`\" names no workspace crate"));
    missing.chain(extra).collect()
}

/// Every rule of this module on ARCHITECTURE.md's text and the workspace.
pub fn check_architecture(architecture: &str, packages: &[Package]) -> Vec<String> {
    let mut problems = every_crate_has_a_heading(architecture, packages);
    match code_map(architecture).map(parse_drawing) {
        None => problems.push("ARCHITECTURE.md: no fenced drawing under \"## Code map\"".into()),
        Some(Err(e)) => problems.push(e),
        Some(Ok(drawing)) => problems.extend(drawing_matches(&drawing, packages)),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Dep;

    /// A workspace from `(crate, [normal dependencies])`.
    fn workspace(crates: &[(&str, &[&str])]) -> Vec<Package> {
        crates
            .iter()
            .map(|(name, deps)| Package {
                name: (*name).to_owned(),
                deps: deps
                    .iter()
                    .map(|d| Dep {
                        name: (*d).to_owned(),
                        kind: Kind::Normal,
                    })
                    .collect(),
            })
            .collect()
    }

    const DRAWING: &str = "\
bin ─┬─ server ── app ─┬─ store ── model
     ├─ client         ├─ ledger
     │                 └─ model
     └─ ledger
tidy";

    const ARCHITECTURE: &str =
        "# A\n\n## Code map\n\nText.\n\n```\na ── b\n```\n\n### `a`\n### `b`\n";

    fn check(architecture: &str, crates: &[(&str, &[&str])], expected: &[&str]) {
        assert_eq!(
            check_architecture(architecture, &workspace(crates)),
            expected,
            "{architecture}"
        );
    }

    fn edges(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn drawing_reads_as_a_tree() {
        let drawing = parse_drawing(DRAWING).unwrap();
        assert_eq!(
            drawing.edges,
            edges(&[
                ("bin", "server"),
                ("bin", "client"),
                ("bin", "ledger"),
                ("server", "app"),
                ("app", "store"),
                ("app", "ledger"),
                ("app", "model"),
                ("store", "model"),
            ])
        );
        assert!(drawing.nodes.contains("tidy"));
        assert_eq!(drawing.nodes.len(), 8);
    }

    #[test]
    fn unreadable_drawing_fails() {
        let cases = [
            ("a\n├─ b", "code map line 2, column 1: branch under no `┬`"),
            (
                "a ─┬─ b\n   ├─ c",
                "code map: the fork from `a` at column 4 never ends in `└`",
            ),
            ("a => b", "code map line 1, column 3: unexpected `=`"),
            ("┬─ a", "code map line 1, column 1: `┬` after no crate"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_drawing(text), Err(expected.to_owned()), "{text}");
        }
    }

    #[test]
    fn architecture_matching_the_workspace_passes() {
        check(ARCHITECTURE, &[("a", &["b", "serde"]), ("b", &[])], &[]);
        // A dependency implied by a drawn path need not be drawn.
        check(
            &ARCHITECTURE
                .replace("a ── b", "a ── b ── c")
                .replace("### `b`", "### `b`\n### `c`"),
            &[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])],
            &[],
        );
    }

    #[test]
    fn architecture_not_matching_the_workspace_fails() {
        check(
            ARCHITECTURE,
            &[("a", &["b"]), ("b", &[]), ("c", &["a"])],
            &[
                "ARCHITECTURE.md: no \"### `c`\" heading",
                "code map: crate `c` is not drawn",
                "code map: `c` depends on `a`, which the drawing does not show",
            ],
        );
        check(
            ARCHITECTURE,
            &[("a", &[]), ("b", &["a"])],
            &[
                "code map: `a ── b` is drawn but `a` does not depend on `b`",
                "code map: `b` depends on `a`, which the drawing does not show",
            ],
        );
        check(
            ARCHITECTURE,
            &[("a", &[])],
            &[
                "ARCHITECTURE.md: heading \"### `b`\" names no workspace crate",
                "code map: `b` is drawn but is no workspace crate",
                "code map: `a ── b` is drawn but `a` does not depend on `b`",
            ],
        );
        check(
            "# A\n### `a`\n",
            &[("a", &[])],
            &["ARCHITECTURE.md: no fenced drawing under \"## Code map\""],
        );
    }
}
