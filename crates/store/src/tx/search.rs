//! Queries whose conditions depend on the request (an event search, a search
//! of files by path): assembled from fixed fragments, every value bound.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// A query text assembled from fixed fragments and its bound values, numbered
/// `$1, $2 …` in order (a value used twice is bound twice).
#[derive(Default)]
pub(super) struct Search {
    text: String,
    values: Vec<Bound>,
}

pub(super) enum Bound {
    Text(String),
    Int(i64),
}

impl Search {
    /// The query: only the fixed fragments pushed make up its text; values are bound.
    pub(super) fn query(self) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for value in self.values {
            query = match value {
                Bound::Text(t) => query.bind(t),
                Bound::Int(i) => query.bind(i),
            };
        }
        query
    }

    /// Appends `fragment`; each of its `?` marks stands for the next of `values`.
    pub(super) fn push(&mut self, fragment: &'static str, values: Vec<Bound>) {
        let start = self.values.len();
        self.values.extend(values);
        self.text.push_str(&numbered(fragment, start));
    }
}

/// Replaces the `?` marks of `text` by `$n` placeholders, numbered from `after + 1`.
pub(super) fn numbered(text: &str, after: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = after;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
