//! Due diligence, pure: questionnaire templates (sections of questions, each
//! with a score rule and optional knock-out answers, tier thresholds on the
//! total), their validation, the checking and scoring of a party's answers,
//! the risk tier computed from the score and the knock-outs, the sharing risk
//! matrix (classification × tier → allowed, allowed with controls, refused)
//! with its seeded default, and the re-assessment period of each tier. No
//! clock: times are passed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::{Classification, UnknownName};

/// Most sections of a template.
pub const MAX_SECTIONS: usize = 20;
/// Most questions of a template, over all its sections.
pub const MAX_QUESTIONS: usize = 200;
/// Most choices of a choice question; most numeric ranges of a rule.
pub const MAX_CHOICES: usize = 20;
/// Longest title (template, section, choice), in characters.
pub const MAX_TITLE: usize = 200;
/// Longest question text or help, in characters.
pub const MAX_QUESTION_TEXT: usize = 2_000;
/// Longest text answer (and follow-up question or answer), in characters.
pub const MAX_ANSWER: usize = 10_000;
/// Largest number of points one answer may score (either sign).
pub const MAX_POINTS: i64 = 1_000_000;

macro_rules! vocab {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable name, as stored and as sent over the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the stable name.
            pub fn parse(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownName { kind: $kind, value: s.chars().take(64).collect() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocab!(
    /// How much risk sharing with a party carries, in increasing order.
    RiskTier, "risk tier" { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
);
vocab!(
    /// What a question asks for.
    QuestionKind, "question kind" {
        YesNo = "yes_no", Choice = "choice", Text = "text", Number = "number", Date = "date",
        File = "file",
    }
);
vocab!(
    /// What the sharing risk matrix says of a room's classification for a tier.
    MatrixVerdict, "matrix verdict" { Allowed = "allowed", Controls = "controls", Refused = "refused" }
);
vocab!(
    /// A control Custody enforces when the matrix allows sharing with controls:
    /// no download (`view_only`), downloads only as marked copies (`marked`), a
    /// second factor in this session (`mfa`), a request from a network zone (`zone`).
    MatrixControl, "matrix control" { ViewOnly = "view_only", Marked = "marked", Mfa = "mfa", Zone = "zone" }
);

/// The tier name the policy sees for a party with no tier in term.
pub const UNASSESSED: &str = "unassessed";

/// The tier of a party at `now_ms`: `None` when it has none or it lapsed
/// (`until_ms` is exclusive).
pub fn tier_in_term(
    tier: Option<RiskTier>,
    until_ms: Option<i64>,
    now_ms: i64,
) -> Option<RiskTier> {
    tier.filter(|_| until_ms.is_some_and(|u| now_ms < u))
}

/// The tier's name, or `unassessed`.
pub fn tier_name(tier: Option<RiskTier>) -> &'static str {
    tier.map_or(UNASSESSED, RiskTier::as_str)
}

/// A template (or its input) refused, with the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// An answer refused, with the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// Points for a number in `[min, max]` (either bound open when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    pub points: i64,
}

impl NumberRange {
    fn contains(&self, x: f64) -> bool {
        self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m)
    }
}

/// How an answer scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScoreRule {
    /// Scores nothing (text, dates, evidence, or an unscored question).
    #[default]
    None,
    /// Points for `yes` and for `no`.
    YesNo { yes: i64, no: i64 },
    /// Points per choice, in the order of the question's choices.
    Choices { points: Vec<i64> },
    /// Points for the first range containing the number (none: 0).
    Ranges { ranges: Vec<NumberRange> },
    /// Points for giving any answer at all (e.g. an evidence file).
    Answered { points: i64 },
}

/// Answers that set a minimum tier whatever the score: listed answers (`yes`,
/// `no`, a choice) or, for numbers, below `below` or above `above`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnockOut {
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub above: Option<f64>,
    /// The least tier such an answer leaves (e.g. `high`: "at least high").
    pub min_tier: RiskTier,
}

/// One question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable within the template: `a-z`, `0-9`, `_`, `-`, 1 to 64.
    pub key: String,
    pub text: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub score: ScoreRule,
    #[serde(default)]
    pub knock_out: Option<KnockOut>,
}

/// A section of questions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub title: String,
    pub questions: Vec<Question>,
}

/// The least score of each better tier: a score of at least `low` is low
/// risk, of at least `medium` medium, of at least `high` high; below that,
/// critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub low: i64,
    pub medium: i64,
    pub high: i64,
}

impl Thresholds {
    /// The tier of a score.
    pub fn tier(&self, score: i64) -> RiskTier {
        if score >= self.low {
            RiskTier::Low
        } else if score >= self.medium {
            RiskTier::Medium
        } else if score >= self.high {
            RiskTier::High
        } else {
            RiskTier::Critical
        }
    }
}

/// The body of one template version: its sections and thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub sections: Vec<Section>,
    pub thresholds: Thresholds,
}

fn bad<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Checks a title-like text: 1 to `max` characters after trimming, no control characters.
pub fn check_text(what: &str, s: &str, max: usize) -> Result<String, TemplateError> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return bad(format!("`{what}` must be 1 to {max} characters"));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return bad(format!("`{what}` contains control characters"));
    }
    Ok(t.to_owned())
}

/// A question key: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn is_key(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_points(key: &str, p: i64) -> Result<(), TemplateError> {
    if p.abs() > MAX_POINTS {
        return bad(format!(
            "question `{key}`: points must be within ±{MAX_POINTS}"
        ));
    }
    Ok(())
}

fn check_number(key: &str, x: Option<f64>) -> Result<(), TemplateError> {
    if x.is_some_and(|x| !x.is_finite()) {
        return bad(format!("question `{key}`: numbers must be finite"));
    }
    Ok(())
}

impl Question {
    /// Checks the question: its key, text, choices, and that its score rule
    /// and knock-out fit its kind.
    fn validate(mut self) -> Result<Question, TemplateError> {
        if !is_key(&self.key) {
            return bad(format!(
                "question key `{}` must be 1 to 64 of a-z, 0-9, `_`, `-`",
                shown(&self.key)
            ));
        }
        let key = self.key.clone();
        self.text = check_text(&format!("{key}.text"), &self.text, MAX_QUESTION_TEXT)?;
        if self.kind == QuestionKind::Choice {
            if self.choices.is_empty() || self.choices.len() > MAX_CHOICES {
                return bad(format!(
                    "question `{key}` must offer 1 to {MAX_CHOICES} choices"
                ));
            }
            let mut seen: Vec<String> = Vec::with_capacity(self.choices.len());
            for c in &self.choices {
                let c = check_text(&format!("{key}.choice"), c, MAX_TITLE)?;
                if seen.contains(&c) {
                    return bad(format!("question `{key}` offers `{}` twice", shown(&c)));
                }
                seen.push(c);
            }
            self.choices = seen;
        } else if !self.choices.is_empty() {
            return bad(format!(
                "question `{key}` is not a choice and offers choices"
            ));
        }
        match (&self.score, self.kind) {
            (ScoreRule::None, _) => {}
            (ScoreRule::YesNo { yes, no }, QuestionKind::YesNo) => {
                check_points(&key, *yes)?;
                check_points(&key, *no)?;
            }
            (ScoreRule::Choices { points }, QuestionKind::Choice) => {
                if points.len() != self.choices.len() {
                    return bad(format!(
                        "question `{key}` must give points for each of its choices"
                    ));
                }
                for p in points {
                    check_points(&key, *p)?;
                }
            }
            (ScoreRule::Ranges { ranges }, QuestionKind::Number) => {
                if ranges.is_empty() || ranges.len() > MAX_CHOICES {
                    return bad(format!(
                        "question `{key}` must have 1 to {MAX_CHOICES} ranges"
                    ));
                }
                for r in ranges {
                    check_number(&key, r.min)?;
                    check_number(&key, r.max)?;
                    check_points(&key, r.points)?;
                    if let (Some(lo), Some(hi)) = (r.min, r.max)
                        && lo > hi
                    {
                        return bad(format!("question `{key}`: a range's min is above its max"));
                    }
                }
            }
            (ScoreRule::Answered { points }, _) => check_points(&key, *points)?,
            (_, kind) => {
                return bad(format!(
                    "question `{key}`: that score rule does not fit a `{kind}` question"
                ));
            }
        }
        if let Some(k) = &mut self.knock_out {
            check_number(&key, k.below)?;
            check_number(&key, k.above)?;
            let by_number = k.below.is_some() || k.above.is_some();
            match self.kind {
                QuestionKind::YesNo | QuestionKind::Choice if !by_number => {
                    if k.answers.is_empty() || k.answers.len() > MAX_CHOICES {
                        return bad(format!(
                            "question `{key}`: a knock-out lists 1 to {MAX_CHOICES} answers"
                        ));
                    }
                    for a in &k.answers {
                        check_answer(&self_view(&self.kind, &self.choices), a).map_err(|e| {
                            TemplateError(format!("question `{key}`: knock-out answer: {e}"))
                        })?;
                    }
                }
                QuestionKind::Number if by_number && k.answers.is_empty() => {}
                kind => {
                    return bad(format!(
                        "question `{key}`: a knock-out needs answers (yes/no, choice) or bounds (number), not a `{kind}` question"
                    ));
                }
            }
        }
        Ok(self)
    }
}

/// What checking an answer needs of its question.
struct QuestionView<'a> {
    kind: QuestionKind,
    choices: &'a [String],
}

fn self_view<'a>(kind: &QuestionKind, choices: &'a [String]) -> QuestionView<'a> {
    QuestionView {
        kind: *kind,
        choices,
    }
}

impl TemplateBody {
    /// Checks a template: bounded sizes, unique keys, each rule fitting its
    /// question, thresholds in order (low ≥ medium ≥ high).
    pub fn validate(self) -> Result<TemplateBody, TemplateError> {
        if self.sections.is_empty() || self.sections.len() > MAX_SECTIONS {
            return bad(format!("a questionnaire has 1 to {MAX_SECTIONS} sections"));
        }
        let total: usize = self.sections.iter().map(|s| s.questions.len()).sum();
        if total == 0 || total > MAX_QUESTIONS {
            return bad(format!(
                "a questionnaire has 1 to {MAX_QUESTIONS} questions"
            ));
        }
        let t = self.thresholds;
        if !(t.low >= t.medium && t.medium >= t.high) {
            return bad("the thresholds must be in order: low ≥ medium ≥ high");
        }
        let mut keys: Vec<String> = Vec::with_capacity(total);
        let mut sections = Vec::with_capacity(self.sections.len());
        for s in self.sections {
            let title = check_text("section", &s.title, MAX_TITLE)?;
            let mut questions = Vec::with_capacity(s.questions.len());
            for q in s.questions {
                let q = q.validate()?;
                if keys.contains(&q.key) {
                    return bad(format!("question key `{}` is used twice", q.key));
                }
                keys.push(q.key.clone());
                questions.push(q);
            }
            sections.push(Section { title, questions });
        }
        Ok(TemplateBody {
            sections,
            thresholds: t,
        })
    }

    /// Every question, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    /// The question of `key`.
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().find(|q| q.key == key)
    }

    /// The most points the template can give.
    pub fn max_score(&self) -> i64 {
        self.questions().map(|q| q.score.best()).sum()
    }
}

impl ScoreRule {
    fn best(&self) -> i64 {
        match self {
            ScoreRule::None => 0,
            ScoreRule::YesNo { yes, no } => (*yes).max(*no).max(0),
            ScoreRule::Choices { points } => points.iter().copied().max().unwrap_or(0).max(0),
            ScoreRule::Ranges { ranges } => {
                ranges.iter().map(|r| r.points).max().unwrap_or(0).max(0)
            }
            ScoreRule::Answered { points } => (*points).max(0),
        }
    }
}

/// Checks one answer to a question of `kind` and gives it in its stored
/// form: `yes`/`no`; one of the choices; text (1 to 10,000 characters); a
/// finite number; a date `YYYY-MM-DD`; a file id (a UUID).
fn check_answer(q: &QuestionView<'_>, value: &str) -> Result<String, AnswerError> {
    let v = value.trim();
    let fail = |m: String| Err(AnswerError(m));
    match q.kind {
        QuestionKind::YesNo => match v {
            "yes" | "no" => Ok(v.to_owned()),
            _ => fail(format!("`{}` is not `yes` or `no`", shown(v))),
        },
        QuestionKind::Choice => match q.choices.iter().find(|c| c.as_str() == v) {
            Some(c) => Ok(c.clone()),
            None => fail(format!("`{}` is not one of the choices", shown(v))),
        },
        QuestionKind::Text => {
            let n = v.chars().count();
            if n == 0 || n > MAX_ANSWER {
                return fail(format!("a text answer has 1 to {MAX_ANSWER} characters"));
            }
            Ok(v.to_owned())
        }
        QuestionKind::Number => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && v.len() <= 32 => Ok(v.to_owned()),
            _ => fail(format!("`{}` is not a number", shown(v))),
        },
        QuestionKind::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(v, &format) {
                Ok(_) => Ok(v.to_owned()),
                Err(_) => fail(format!("`{}` is not a date (YYYY-MM-DD)", shown(v))),
            }
        }
        QuestionKind::File => match uuid::Uuid::parse_str(v) {
            Ok(id) => Ok(id.to_string()),
            Err(_) => fail(format!("`{}` is not a file id", shown(v))),
        },
    }
}

impl Question {
    /// Checks an answer to this question (see [`QuestionKind`]) and returns
    /// its stored form.
    pub fn check(&self, value: &str) -> Result<String, AnswerError> {
        check_answer(&self_view(&self.kind, &self.choices), value)
            .map_err(|e| AnswerError(format!("question `{}`: {e}", self.key)))
    }

    /// The points of a (checked) answer.
    pub fn points(&self, value: &str) -> i64 {
        match &self.score {
            ScoreRule::None => 0,
            ScoreRule::YesNo { yes, no } => match value {
                "yes" => *yes,
                "no" => *no,
                _ => 0,
            },
            ScoreRule::Choices { points } => self
                .choices
                .iter()
                .position(|c| c == value)
                .and_then(|i| points.get(i).copied())
                .unwrap_or(0),
            ScoreRule::Ranges { ranges } => value
                .parse::<f64>()
                .ok()
                .and_then(|x| ranges.iter().find(|r| r.contains(x)))
                .map_or(0, |r| r.points),
            ScoreRule::Answered { points } => *points,
        }
    }

    /// The least tier a (checked) answer leaves, when it is a knock-out.
    pub fn knocks_out(&self, value: &str) -> Option<RiskTier> {
        let k = self.knock_out.as_ref()?;
        let hit = if k.answers.is_empty() {
            value
                .parse::<f64>()
                .is_ok_and(|x| k.below.is_some_and(|b| x < b) || k.above.is_some_and(|a| x > a))
        } else {
            k.answers.iter().any(|a| a.trim() == value)
        };
        hit.then_some(k.min_tier)
    }
}

/// A party's answers: question key → stored answer.
pub type Answers = BTreeMap<String, String>;

/// Checks a set of answers against `body`: every key a question of it, each
/// answer valid for its question; with `complete`, every required question
/// answered. Returns the answers in stored form.
pub fn check_answers(
    body: &TemplateBody,
    answers: &Answers,
    complete: bool,
) -> Result<Answers, AnswerError> {
    let mut out = Answers::new();
    for (key, value) in answers {
        let Some(q) = body.question(key) else {
            return Err(AnswerError(format!(
                "`{}` is not a question of this questionnaire",
                shown(key)
            )));
        };
        if value.trim().is_empty() {
            continue;
        }
        out.insert(key.clone(), q.check(value)?);
    }
    if complete
        && let Some(q) = body
            .questions()
            .find(|q| q.required && !out.contains_key(&q.key))
    {
        return Err(AnswerError(format!(
            "question `{}` must be answered",
            q.key
        )));
    }
    Ok(out)
}

/// The outcome of scoring a set of answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scored {
    pub score: i64,
    pub max_score: i64,
    /// The tier of the score alone.
    pub score_tier: RiskTier,
    /// Each knock-out answer: its question and the least tier it leaves.
    pub knock_outs: Vec<(String, RiskTier)>,
    /// The computed tier: the score's, raised by every knock-out.
    pub tier: RiskTier,
}

/// Scores (checked) answers: the points of each, the tier of the total, and
/// the tier raised to the highest knock-out's least tier.
pub fn score(body: &TemplateBody, answers: &Answers) -> Scored {
    let mut total = 0i64;
    let mut knock_outs = Vec::new();
    for q in body.questions() {
        let Some(value) = answers.get(&q.key) else {
            continue;
        };
        total = total.saturating_add(q.points(value));
        if let Some(t) = q.knocks_out(value) {
            knock_outs.push((q.key.clone(), t));
        }
    }
    let score_tier = body.thresholds.tier(total);
    let tier = knock_outs
        .iter()
        .map(|(_, t)| *t)
        .fold(score_tier, RiskTier::max);
    Scored {
        score: total,
        max_score: body.max_score(),
        score_tier,
        knock_outs,
        tier,
    }
}

// ------------------------------------------------------------ the matrix

/// One cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixCell {
    pub classification: Classification,
    /// A tier name, or `unassessed`.
    pub tier: String,
    pub verdict: MatrixVerdict,
    #[serde(default)]
    pub controls: Vec<MatrixControl>,
}

/// The sharing risk matrix: one cell per classification × tier (and
/// `unassessed`). It decides nothing for the owner party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskMatrix {
    pub cells: Vec<MatrixCell>,
}

/// The tier columns of the matrix, in order.
pub const TIER_COLUMNS: [&str; 5] = ["low", "medium", "high", "critical", UNASSESSED];

impl Default for RiskMatrix {
    /// The seeded matrix (docs/policy.md, "The sharing risk matrix"): public
    /// rooms open to every tier; the more sensitive the room and the less
    /// trusted the party, the more controls, up to refusal.
    fn default() -> Self {
        use MatrixControl::*;
        use MatrixVerdict::*;
        let cell =
            |c: Classification, tier: &str, verdict, controls: &[MatrixControl]| MatrixCell {
                classification: c,
                tier: tier.to_owned(),
                verdict,
                controls: controls.to_vec(),
            };
        let mut cells = Vec::with_capacity(20);
        for tier in TIER_COLUMNS {
            cells.push(cell(Classification::Public, tier, Allowed, &[]));
        }
        /// A row of the matrix: its verdict and controls per tier column.
        type Row<'a> = [(MatrixVerdict, &'a [MatrixControl]); 5];
        let rows: [(Classification, Row); 3] = [
            (
                Classification::Internal,
                [
                    (Allowed, &[]),
                    (Allowed, &[]),
                    (Allowed, &[]),
                    (Controls, &[Marked]),
                    (Allowed, &[]),
                ],
            ),
            (
                Classification::Confidential,
                [
                    (Allowed, &[]),
                    (Allowed, &[]),
                    (Controls, &[Marked]),
                    (Refused, &[]),
                    (Controls, &[Marked]),
                ],
            ),
            (
                Classification::Restricted,
                [
                    (Allowed, &[]),
                    (Controls, &[Marked]),
                    (Controls, &[ViewOnly]),
                    (Refused, &[]),
                    (Refused, &[]),
                ],
            ),
        ];
        for (c, verdicts) in rows {
            for (tier, (verdict, controls)) in TIER_COLUMNS.iter().zip(verdicts) {
                cells.push(cell(c, tier, verdict, controls));
            }
        }
        RiskMatrix { cells }
    }
}

impl RiskMatrix {
    /// Checks a matrix: exactly one cell per classification × tier column,
    /// controls named only (and at least one) when the verdict is `controls`,
    /// no control twice. Cells come back in order.
    pub fn validate(self) -> Result<RiskMatrix, TemplateError> {
        let mut out = Vec::with_capacity(20);
        for c in Classification::ALL {
            for tier in TIER_COLUMNS {
                let mut found = self
                    .cells
                    .iter()
                    .filter(|x| x.classification == *c && x.tier == tier);
                let Some(cell) = found.next() else {
                    return bad(format!("the matrix has no cell for `{c}` × `{tier}`"));
                };
                if found.next().is_some() {
                    return bad(format!("the matrix has two cells for `{c}` × `{tier}`"));
                }
                let mut cell = cell.clone();
                cell.controls.sort();
                let n = cell.controls.len();
                cell.controls.dedup();
                if cell.controls.len() != n {
                    return bad(format!("`{c}` × `{tier}` names a control twice"));
                }
                match (cell.verdict, cell.controls.is_empty()) {
                    (MatrixVerdict::Controls, true) => {
                        return bad(format!(
                            "`{c}` × `{tier}` is allowed with controls but names none"
                        ));
                    }
                    (MatrixVerdict::Allowed | MatrixVerdict::Refused, false) => {
                        return bad(format!(
                            "`{c}` × `{tier}` names controls but is not allowed with controls"
                        ));
                    }
                    _ => {}
                }
                out.push(cell);
            }
        }
        if self.cells.len() != out.len() {
            let stray = self
                .cells
                .iter()
                .find(|x| !TIER_COLUMNS.contains(&x.tier.as_str()))
                .map_or_else(String::new, |x| shown(&x.tier));
            return bad(format!(
                "the matrix has a cell for an unknown tier `{stray}`"
            ));
        }
        Ok(RiskMatrix { cells: out })
    }

    /// The verdict and controls for a room of `classification` and a party
    /// whose tier in term is `tier` (`None`: unassessed). A cell missing from
    /// an unchecked matrix refuses.
    pub fn verdict(
        &self,
        classification: Classification,
        tier: Option<RiskTier>,
    ) -> (MatrixVerdict, &[MatrixControl]) {
        let name = tier_name(tier);
        self.cells
            .iter()
            .find(|c| c.classification == classification && c.tier == name)
            .map_or((MatrixVerdict::Refused, &[][..]), |c| {
                (c.verdict, c.controls.as_slice())
            })
    }
}

/// How long a decided tier stays in term before re-assessment, per tier, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPeriods {
    pub low: i64,
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

/// Longest re-assessment period, in days (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3_650;

impl Default for TierPeriods {
    /// Yearly for low, twice a year for medium, quarterly for high, monthly for critical.
    fn default() -> Self {
        TierPeriods {
            low: 365,
            medium: 180,
            high: 90,
            critical: 30,
        }
    }
}

impl TierPeriods {
    /// Checks every period is 1 to 3,650 days.
    pub fn validate(self) -> Result<TierPeriods, TemplateError> {
        for (tier, days) in [
            ("low", self.low),
            ("medium", self.medium),
            ("high", self.high),
            ("critical", self.critical),
        ] {
            if !(1..=MAX_PERIOD_DAYS).contains(&days) {
                return bad(format!(
                    "the period of `{tier}` must be 1 to {MAX_PERIOD_DAYS} days"
                ));
            }
        }
        Ok(self)
    }

    /// Until when a tier decided at `decided_ms` is in term (exclusive).
    pub fn until(&self, tier: RiskTier, decided_ms: i64) -> i64 {
        let days = match tier {
            RiskTier::Low => self.low,
            RiskTier::Medium => self.medium,
            RiskTier::High => self.high,
            RiskTier::Critical => self.critical,
        };
        decided_ms.saturating_add(days.saturating_mul(86_400_000))
    }
}

// ------------------------------------------------------------ the records

/// One version of a questionnaire template; never changed once stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Questionnaire {
    pub id: crate::QuestionnaireId,
    /// Stable over versions: 1 to 64 of `a-z`, `0-9`, `-`.
    pub name: String,
    /// 1, 2, … per name.
    pub version: i64,
    pub title: String,
    pub body: TemplateBody,
    pub created_by: crate::UserId,
    pub created_ms: i64,
}

vocab!(
    /// Where an assessment stands.
    AssessmentStatus, "assessment status" {
        Sent = "sent", Submitted = "submitted", FollowUp = "follow_up", Decided = "decided",
    }
);

/// A reviewer's question about one answer, and the contact's reply. A reply
/// may replace the scored answer (a remediation); the answer it replaced is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub key: String,
    pub question: String,
    pub asked_by: crate::UserId,
    pub asked_ms: i64,
    #[serde(default)]
    pub reply: Option<String>,
    /// The new answer that replaced the scored one, if the reply gave one.
    #[serde(default)]
    pub remediation: Option<String>,
    /// The answer the remediation replaced.
    #[serde(default)]
    pub replaced: Option<String>,
    #[serde(default)]
    pub replied_ms: Option<i64>,
}

/// The reviewer's sign-off: the decided tier (which may differ from the
/// computed one), the reasons, and until when it is in term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierDecision {
    pub tier: RiskTier,
    pub reasons: String,
    pub decided_by: crate::UserId,
    pub decided_ms: i64,
    pub until_ms: i64,
}

/// A questionnaire version sent to a party's contact, with the answers
/// (bound to that version), the follow-ups and the review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub id: crate::AssessmentId,
    pub party_id: crate::PartyId,
    pub questionnaire_id: crate::QuestionnaireId,
    pub contact_id: crate::UserId,
    pub status: AssessmentStatus,
    pub answers: Answers,
    pub follow_ups: Vec<FollowUp>,
    pub sent_by: crate::UserId,
    pub sent_ms: i64,
    pub submitted_ms: Option<i64>,
    /// The score and tier computed when last submitted or remediated.
    pub score: Option<i64>,
    pub computed_tier: Option<RiskTier>,
    pub decision: Option<TierDecision>,
}

/// Most follow-ups one assessment may carry.
pub const MAX_FOLLOW_UPS: usize = 200;

/// What admins set about risk: the matrix and the re-assessment periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RiskSettings {
    pub matrix: RiskMatrix,
    pub periods: TierPeriods,
}

#[cfg(test)]
mod tests;
