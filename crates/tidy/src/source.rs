//! Rules on the text of every `.rs` file: it opens with a `//!` paragraph saying
//! what it is for, and no test is switched off or passes by panicking.

/// Attributes that make a test not run, or pass by panicking: a test that cannot
/// run fails under `CI=true` instead, and a panic is asserted on its message.
/// (Spelled in two halves so that this file does not match itself.)
pub const FORBIDDEN_ATTRIBUTES: &[&str] = &[concat!("#[", "ignore"), concat!("#[", "should_panic")];

/// A message when `text` does not open with a `//!` line that says something.
pub fn missing_module_doc(path: &str, text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("");
    let said = first
        .strip_prefix("//!")
        .is_some_and(|rest| !rest.trim().is_empty());
    (!said).then(|| format!("{path}: does not start with a `//!` paragraph"))
}

/// One message per forbidden attribute outside a comment.
pub fn forbidden_attributes(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for attribute in FORBIDDEN_ATTRIBUTES {
            let found = code.match_indices(attribute).any(|(at, _)| {
                let next = code[at + attribute.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if found {
                problems.push(format!("{path}:{}: `{attribute}]` is not allowed", n + 1));
            }
        }
    }
    problems
}

/// Every rule of this module on one file.
pub fn check_file(path: &str, text: &str) -> Vec<String> {
    let mut problems: Vec<String> = missing_module_doc(path, text).into_iter().collect();
    problems.extend(forbidden_attributes(path, text));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(check_file("f.rs", text), expected, "{text}");
    }

    #[test]
    fn file_with_a_module_doc_passes() {
        check("//! What this is for.\n\nfn f() {}\n", &[]);
        check("//! What this is for.\n#![no_std]\n", &[]);
        let comment = format!(
            "//! Mentions it.\n// {} in a comment\n",
            concat!("#[", "ignore]")
        );
        check(&comment, &[]);
        check("//! Ok.\n#[ignored_by_nothing]\nfn f() {}\n", &[]);
    }

    #[test]
    fn file_without_a_module_doc_fails() {
        let missing = "f.rs: does not start with a `//!` paragraph";
        check("fn f() {}\n", &[missing]);
        check("", &[missing]);
        check("//!\n//! Late.\n", &[missing]);
        check("/// Outer doc.\nfn f() {}\n", &[missing]);
        check("#![no_std]\n//! After the attribute.\n", &[missing]);
        check("\n//! After a blank line.\n", &[missing]);
    }

    #[test]
    fn switched_off_test_fails() {
        let ignore = concat!("#[", "ignore]");
        let ignore_reason = concat!("#[", "ignore = \"slow\"]");
        let should_panic = concat!("#[", "should_panic(expected = \"boom\")]");
        let file = |attribute: &str| format!("//! Tests.\n\n#[test]\n{attribute}\nfn t() {{}}\n");
        let ignored = format!("f.rs:4: `{}` is not allowed", ignore);
        let panics = format!(
            "f.rs:4: `{}]` is not allowed",
            concat!("#[", "should_panic")
        );
        check(&file(ignore), &[&ignored]);
        check(&file(ignore_reason), &[&ignored]);
        check(&file(&format!("    {should_panic}")), &[&panics]);
    }
}
