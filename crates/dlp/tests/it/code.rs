//! Generated source files with varied structure (random statements and
//! expression trees), and the renaming of every identifier in an excerpt,
//! for the fingerprint tests.

use crate::util::Rng;

const NAMES: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "index", "count", "buffer", "offset", "total", "value",
    "node", "edge", "width", "height", "speed", "torque", "angle", "radius", "load", "stress",
    "layer", "cell", "frame", "slot",
];
const OPS: &[&str] = &[
    "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "<", ">", "&&", "||",
];
const KEYWORDS: &[&str] = &[
    "let", "mut", "if", "else", "for", "in", "while", "return", "fn", "match", "struct", "Some",
    "None", "true", "false", "self",
];

fn ident(rng: &mut Rng) -> String {
    let name = rng.pick(NAMES).to_owned();
    if rng.below(3) == 0 {
        format!("{name}_{}", rng.pick(NAMES))
    } else {
        name
    }
}

fn expr(rng: &mut Rng, depth: usize) -> String {
    match if depth > 2 {
        rng.below(3)
    } else {
        rng.below(8)
    } {
        0 => ident(rng),
        1 => format!("{}", rng.below(1000)),
        2 => format!("{}.{}", ident(rng), ident(rng)),
        3 | 4 => format!(
            "{} {} {}",
            expr(rng, depth + 1),
            rng.pick(OPS),
            expr(rng, depth + 1)
        ),
        5 => {
            let args: Vec<String> = (0..rng.below(4)).map(|_| expr(rng, depth + 1)).collect();
            format!("{}({})", ident(rng), args.join(", "))
        }
        6 => format!("{}[{}]", ident(rng), expr(rng, depth + 1)),
        _ => format!("({})", expr(rng, depth + 1)),
    }
}

fn statement(rng: &mut Rng, indent: usize, out: &mut Vec<String>) {
    let pad = "    ".repeat(indent);
    match if indent > 2 {
        rng.below(4)
    } else {
        rng.below(8)
    } {
        0 | 1 => out.push(format!("{pad}let {} = {};", ident(rng), expr(rng, 0))),
        2 => out.push(format!("{pad}{} = {};", ident(rng), expr(rng, 0))),
        3 => out.push(format!(
            "{pad}{}.{}({});",
            ident(rng),
            ident(rng),
            expr(rng, 1)
        )),
        4 | 5 => {
            out.push(format!("{pad}if {} {{", expr(rng, 0)));
            for _ in 0..1 + rng.below(3) {
                statement(rng, indent + 1, out);
            }
            out.push(format!("{pad}}}"));
        }
        6 => {
            out.push(format!(
                "{pad}for {} in {}..{} {{",
                ident(rng),
                rng.below(10),
                expr(rng, 1)
            ));
            for _ in 0..1 + rng.below(3) {
                statement(rng, indent + 1, out);
            }
            out.push(format!("{pad}}}"));
        }
        _ => out.push(format!("{pad}return {};", expr(rng, 0))),
    }
}

/// A source file of about `lines` lines.
pub fn source(rng: &mut Rng, lines: usize) -> String {
    let mut out = Vec::new();
    while out.len() < lines {
        let params: Vec<String> = (0..rng.below(4))
            .map(|_| format!("{}: u{}", ident(rng), 8 << rng.below(3)))
            .collect();
        out.push(format!(
            "fn {}({}) -> u64 {{",
            ident(rng),
            params.join(", ")
        ));
        for _ in 0..3 + rng.below(6) {
            statement(rng, 1, &mut out);
        }
        out.push("}".to_owned());
        out.push(String::new());
    }
    out.join("\n")
}

/// Renames every identifier consistently (keywords kept).
pub fn rename(rng: &mut Rng, code: &str) -> String {
    let mut map = std::collections::HashMap::new();
    let mut out = String::new();
    let mut word = String::new();
    let mut flush = |word: &mut String, out: &mut String, rng: &mut Rng| {
        if !word.is_empty() {
            if KEYWORDS.contains(&word.as_str())
                || word.starts_with(|c: char| c.is_ascii_digit())
                || (word.starts_with('u')
                    && word[1..].chars().all(|c| c.is_ascii_digit())
                    && word.len() > 1)
            {
                out.push_str(word);
            } else {
                let new = map
                    .entry(word.clone())
                    .or_insert_with(|| format!("v{}", rng.below(1_000_000)))
                    .clone();
                out.push_str(&new);
            }
            word.clear();
        }
    };
    for c in code.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out, rng);
            out.push(c);
        }
    }
    flush(&mut word, &mut out, rng);
    out
}
