//! The SCIM filter language (RFC 7644 §3.4.2.2): a parser from the text of a
//! `filter` query parameter (or a PATCH path's `[…]`) into a [`Filter`], and
//! its evaluation against a resource in its JSON representation. Attribute
//! names are compared without regard to case; string values too, except the
//! attributes the schemas call case-exact (`id`, `externalId`,
//! `meta.version`). Precedence: `not` over `and` over `or`; parentheses group.

use std::cmp::Ordering;

use serde_json::Value;

/// The core schemas: an attribute path naming one of them is a top-level attribute.
const CORE: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
];

/// An attribute path: an optional schema URI, a name, an optional sub-attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrPath {
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal a comparison compares with.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Lit),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some value of a multi-valued complex attribute matches.
    Value(AttrPath, Box<Filter>),
}

/// Why a filter does not parse (shown to the caller, as `invalidFilter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest filter accepted, in bytes.
pub const MAX_FILTER: usize = 4096;
/// Deepest nesting of parentheses, `not` and brackets accepted.
const MAX_DEPTH: usize = 32;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
}

fn lex(text: &str) -> Result<Vec<Tok>, FilterError> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                toks.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| FilterError("a string is not closed".into()))?;
                let s: String = serde_json::from_str(&text[at..=end]).map_err(|_| {
                    FilterError(format!("`{}` is not a valid string", &text[at..=end]))
                })?;
                toks.push(Tok::Str(s));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                toks.push(Tok::Word(word));
            }
        }
    }
    Ok(toks)
}

/// Parses a filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    if text.len() > MAX_FILTER {
        return Err(FilterError(format!(
            "the filter is longer than {MAX_FILTER} bytes"
        )));
    }
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(FilterError("the filter is empty".into()));
    }
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let f = p.or()?;
    match p.toks.get(p.at) {
        None => Ok(f),
        Some(t) => Err(FilterError(format!(
            "unexpected {} after the filter",
            show(t)
        ))),
    }
}

/// Parses an attribute path (`name`, `name.sub`, `urn:…:name.sub`).
pub fn parse_path(text: &str) -> Result<AttrPath, FilterError> {
    let (uri, rest) = match text.rfind(':') {
        Some(i) => (Some(text[..i].to_owned()), &text[i + 1..]),
        None => (None, text),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let good = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if !good(name)
        || sub.is_some_and(|s| !good(s))
        || uri.as_deref().is_some_and(|u| !u.starts_with("urn:"))
    {
        return Err(FilterError(format!("`{text}` is not an attribute path")));
    }
    Ok(AttrPath {
        uri,
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Str(s) => format!("string `{s}`"),
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
    }
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.at), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn nest(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError(format!(
                "the filter nests deeper than {MAX_DEPTH}"
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn expect(&mut self, want: Tok) -> Result<(), FilterError> {
        match self.toks.get(self.at) {
            Some(t) if *t == want => {
                self.at += 1;
                Ok(())
            }
            Some(t) => Err(FilterError(format!(
                "expected {} but found {}",
                show(&want),
                show(t)
            ))),
            None => Err(FilterError(format!("expected {} at the end", show(&want)))),
        }
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_word("not") && matches!(self.toks.get(self.at + 1), Some(Tok::Open)) {
            self.at += 1;
            self.nest()?;
            self.expect(Tok::Open)?;
            let inner = self.or()?;
            self.expect(Tok::Close)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.toks.get(self.at).cloned() {
            Some(Tok::Open) => {
                self.at += 1;
                self.nest()?;
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Tok::Word(w)) => {
                self.at += 1;
                self.attr_expr(&w)
            }
            Some(t) => Err(FilterError(format!(
                "expected an attribute but found {}",
                show(&t)
            ))),
            None => Err(FilterError(
                "the filter ends where an expression was expected".into(),
            )),
        }
    }

    fn attr_expr(&mut self, word: &str) -> Result<Filter, FilterError> {
        let path = parse_path(word)?;
        if matches!(self.toks.get(self.at), Some(Tok::LBracket)) {
            if path.sub.is_some() {
                return Err(FilterError(format!(
                    "`{word}[` needs an attribute without a sub-attribute"
                )));
            }
            self.at += 1;
            self.nest()?;
            let inner = self.or()?;
            self.expect(Tok::RBracket)?;
            self.depth -= 1;
            return Ok(Filter::Value(path, Box::new(inner)));
        }
        let op = match self.toks.get(self.at) {
            Some(Tok::Word(op)) => op.to_ascii_lowercase(),
            Some(t) => {
                return Err(FilterError(format!(
                    "expected an operator after `{word}` but found {}",
                    show(t)
                )));
            }
            None => return Err(FilterError(format!("`{word}` has no operator"))),
        };
        self.at += 1;
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(FilterError(format!("`{other}` is not an operator"))),
        };
        let lit = match self.toks.get(self.at).cloned() {
            Some(Tok::Str(s)) => Lit::Str(s),
            Some(Tok::Word(w)) => match w.as_str() {
                "true" => Lit::Bool(true),
                "false" => Lit::Bool(false),
                "null" => Lit::Null,
                n => Lit::Num(
                    n.parse::<f64>()
                        .ok()
                        .filter(|f| {
                            f.is_finite() && n.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                        })
                        .ok_or_else(|| {
                            FilterError(format!("`{n}` is not a value (strings are quoted)"))
                        })?,
                ),
            },
            Some(t) => {
                return Err(FilterError(format!(
                    "expected a value but found {}",
                    show(&t)
                )));
            }
            None => {
                return Err(FilterError(format!(
                    "`{word}` has no value to compare with"
                )));
            }
        };
        self.at += 1;
        if matches!(lit, Lit::Bool(_) | Lit::Null) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(FilterError(
                "`true`, `false` and `null` are compared with `eq` or `ne` only".into(),
            ));
        }
        Ok(Filter::Compare(path, op, lit))
    }
}

/// Whether a string attribute is compared case-exactly.
fn case_exact(name: &str, sub: Option<&str>) -> bool {
    name.eq_ignore_ascii_case("id")
        || name.eq_ignore_ascii_case("externalId")
        || (name.eq_ignore_ascii_case("meta")
            && sub.is_some_and(|s| s.eq_ignore_ascii_case("version")))
}

/// An object's member, by name without regard to case.
pub fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The object an attribute path's name is looked up in: the resource for
/// the core schemas, the extension's object for an extension URI.
fn scope<'a>(resource: &'a Value, uri: Option<&str>) -> Option<&'a Value> {
    match uri {
        None => Some(resource),
        Some(u) if CORE.iter().any(|c| c.eq_ignore_ascii_case(u)) => Some(resource),
        Some(u) => member(resource, u),
    }
}

/// The values an attribute path reaches (several for multi-valued attributes).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(top) = scope(resource, path.uri.as_deref()).and_then(|s| member(s, &path.name)) else {
        return vec![];
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        Some(sub) => items.into_iter().filter_map(|v| member(v, sub)).collect(),
        // A complex multi-valued attribute compares by its `value`.
        None => items
            .into_iter()
            .map(|v| {
                if v.is_object() {
                    member(v, "value").unwrap_or(v)
                } else {
                    v
                }
            })
            .collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(v: &Value, op: Op, lit: &Lit, exact: bool) -> bool {
    match (v, lit) {
        (Value::String(s), Lit::Str(l)) => {
            let (s, l) = if exact {
                (s.clone(), l.clone())
            } else {
                (s.to_lowercase(), l.to_lowercase())
            };
            match op {
                Op::Eq => s == l,
                Op::Ne => s != l,
                Op::Co => s.contains(&l),
                Op::Sw => s.starts_with(&l),
                Op::Ew => s.ends_with(&l),
                Op::Gt => s > l,
                Op::Ge => s >= l,
                Op::Lt => s < l,
                Op::Le => s <= l,
            }
        }
        (Value::Number(n), Lit::Num(l)) => {
            let Some(n) = n.as_f64() else { return false };
            let ord = n.partial_cmp(l);
            match op {
                Op::Eq => ord == Some(Ordering::Equal),
                Op::Ne => ord != Some(Ordering::Equal),
                Op::Gt => ord == Some(Ordering::Greater),
                Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => ord == Some(Ordering::Less),
                Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                Op::Co | Op::Sw | Op::Ew => false,
            }
        }
        (Value::Bool(b), Lit::Bool(l)) => match op {
            Op::Eq => b == l,
            Op::Ne => b != l,
            _ => false,
        },
        (_, Lit::Null) => match op {
            Op::Eq => !present(v),
            Op::Ne => present(v),
            _ => false,
        },
        _ => op == Op::Ne,
    }
}

impl Filter {
    /// Whether `resource` (a SCIM resource as JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(a) => !a.matches(resource),
            Filter::Present(path) => values(resource, path).into_iter().any(present),
            Filter::Compare(path, op, lit) => {
                let found = values(resource, path);
                let exact = case_exact(&path.name, path.sub.as_deref());
                if found.is_empty() {
                    return match lit {
                        Lit::Null => *op == Op::Eq,
                        _ => false,
                    };
                }
                found.into_iter().any(|v| compare(v, *op, lit, exact))
            }
            Filter::Value(path, inner) => {
                let Some(top) =
                    scope(resource, path.uri.as_deref()).and_then(|s| member(s, &path.name))
                else {
                    return false;
                };
                match top {
                    Value::Array(items) => items.iter().any(|item| inner.matches(item)),
                    item => inner.matches(item),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "Abc-1",
            "externalId": "00u1",
            "userName": "Bjensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs Jensen",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@home.example", "type": "home"}
            ],
            "meta": {"lastModified": "2026-12-07T10:00:00Z", "version": "W/\"3\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tooling"},
            "count": 5
        })
    }

    /// One row: a filter and whether it matches the user above, or the
    /// piece of the error it must give.
    fn check(filter: &str, want: Result<bool, &str>) {
        let got = parse(filter).map(|f| f.matches(&user()));
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{filter}"),
            (Err(e), Err(w)) => assert!(e.0.contains(w), "{filter}: `{}` lacks `{w}`", e.0),
            (got, want) => panic!("{filter}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn filters_match_as_the_rfc_says() {
        for (filter, want) in [
            (r#"userName eq "bjensen@example.com""#, true),
            (r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#, true),
            (r#"userName ne "bjensen@example.com""#, false),
            (r#"userName co "jensen""#, true),
            (r#"userName sw "bj""#, true),
            (r#"userName ew "example.com""#, true),
            (r#"userName ew "example.org""#, false),
            (r#"name.familyName co "ens""#, true),
            (r#"name.FAMILYNAME eq "jensen""#, true),
            ("title pr", false),
            ("name pr", true),
            ("emails pr", true),
            (r#"emails co "home.example""#, true),
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (r#"emails[type eq "other"]"#, false),
            (r#"emails.type eq "home""#, true),
            ("active eq true", true),
            ("active ne true", false),
            ("active eq false", false),
            (r#"id eq "Abc-1""#, true),
            (r#"id eq "abc-1""#, false),
            (r#"externalId eq "00U1""#, false),
            (r#"meta.lastModified gt "2026-01-01T00:00:00Z""#, true),
            (r#"meta.lastModified lt "2026-01-01T00:00:00Z""#, false),
            (r#"meta.lastModified ge "2026-12-07T10:00:00Z""#, true),
            (r#"meta.lastModified le "2026-12-07T09:00:00Z""#, false),
            ("count gt 4", true),
            ("count ge 5.0", true),
            ("count lt 5", false),
            ("count le 5", true),
            ("title eq null", true),
            ("userName ne null", true),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjensen""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tooling""#,
                true,
            ),
            (r#"userName eq "x" or userName co "jensen""#, true),
            (
                r#"userName eq "x" or userName eq "y" and active eq true"#,
                false,
            ),
            (
                r#"(userName eq "x" or userName co "jensen") and active eq true"#,
                true,
            ),
            (r#"not (userName eq "x")"#, true),
            (r#"not (userName co "jensen") or active eq false"#, false),
            (r#"userName eq "a \"quoted\" name""#, false),
            (r#"title eq "x" or not (emails[type eq "work"])"#, false),
        ] {
            check(filter, Ok(want));
        }
    }

    #[test]
    fn invalid_filters_say_why() {
        for (filter, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("userName", "no operator"),
            (r#"userName xx "a""#, "not an operator"),
            ("userName eq", "no value"),
            ("userName eq bjensen", "not a value"),
            (r#"userName eq "open"#, "not closed"),
            (r#"(userName eq "a""#, "expected `)`"),
            (r#"userName eq "a")"#, "unexpected `)`"),
            (r#"userName eq "a" and"#, "ends where"),
            (r#"userName eq "a" xor title pr"#, "unexpected `xor`"),
            (r#"emails[type eq "work""#, "expected `]`"),
            (r#"emails.type[value pr]"#, "without a sub-attribute"),
            ("active gt true", "`eq` or `ne` only"),
            (r#"1name eq "a""#, "not an attribute path"),
            (r#"name.given.x eq "a""#, "not an attribute path"),
            (r#"http://x:userName eq "a""#, "not an attribute path"),
            (r#"eq eq"#, "no value"),
            (r#"userName eq "\q""#, "not a valid string"),
            ("count eq NaN", "not a value"),
            (r#"not userName eq "a""#, "not an operator"),
        ] {
            check(filter, Err(why));
        }
        let deep = format!("{}title pr{}", "(".repeat(40), ")".repeat(40));
        check(&deep, Err("nests deeper"));
        let long = format!("title eq \"{}\"", "x".repeat(MAX_FILTER));
        check(&long, Err("longer than"));
    }
}
