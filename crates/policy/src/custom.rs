//! Custom policy text as an administrator writes it: every problem found while
//! loading it — a parse error, a missing or reused `@id`, a bad annotation, a
//! name the schema does not declare, a permit that would switch off
//! deny-by-default — located by line and column in that text, so that an
//! editor (or the API caller) can point at it.

use std::fmt;

use cedar_policy::Policy;
use miette::Diagnostic;

/// One problem in custom policy text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the custom text.
    pub line: usize,
    /// 1-based column (in characters) in that line.
    pub column: usize,
    /// The `@id` of the policy at fault, when known.
    pub policy: Option<String>,
    /// What is wrong, with Cedar's hint when it has one.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl Problem {
    /// A problem at byte `offset` of `text`.
    pub(crate) fn at(
        text: &str,
        offset: usize,
        policy: Option<String>,
        message: String,
    ) -> Problem {
        let (line, column) = line_column(text, offset);
        Problem {
            line,
            column,
            policy,
            message,
        }
    }

    /// A problem described by a Cedar diagnostic, located by its first label.
    pub(crate) fn of(text: &str, d: &dyn Diagnostic, policy: Option<String>) -> Problem {
        let offset = d
            .labels()
            .and_then(|mut labels| labels.next())
            .map_or(0, |label| label.offset());
        let mut message = d.to_string();
        if let Some(help) = d.help() {
            message = format!("{message} ({help})");
        }
        Problem::at(text, offset, policy, message)
    }

    /// A problem with a whole policy, located where its text starts in `text`.
    pub(crate) fn on(text: &str, policy: &Policy, id: Option<String>, message: String) -> Problem {
        let offset = text.find(&policy.to_string()).unwrap_or(0);
        Problem::at(text, offset, id, message)
    }
}

/// The 1-based line and column of byte `offset` in `text` (clamped to its end).
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

/// Whether `policy` permits every principal every action on every resource,
/// unconditionally: that would switch off deny-by-default, which no change may.
pub(crate) fn permits_everything(policy: &Policy) -> bool {
    let Ok(json) = policy.to_json() else {
        return false;
    };
    let all = |key: &str| json.get(key).and_then(|c| c.get("op")) == Some(&"All".into());
    json.get("effect") == Some(&"permit".into())
        && all("principal")
        && all("action")
        && all("resource")
        && json
            .get("conditions")
            .and_then(|c| c.as_array())
            .is_none_or(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based_and_count_characters() {
        let text = "ab\nçd\n\nxyz";
        let table = [
            (0, (1, 1)),
            (2, (1, 3)),
            (3, (2, 1)),
            (5, (2, 2)),
            (7, (3, 1)),
            (10, (4, 3)),
            (99, (4, 4)),
        ];
        for (offset, want) in table {
            assert_eq!(line_column(text, offset), want, "offset {offset}");
        }
    }
}
