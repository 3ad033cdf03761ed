//! Training inside Custody: courses written by the owner's admins (pages of
//! Markdown, a quiz of single- and multiple-choice questions, a pass mark, a
//! validity period), published in versions; completions of users (passed
//! quizzes, or a course completed elsewhere recorded with evidence), each
//! valid for the course's period. A version may require retaking: from it on,
//! completions of older versions no longer count. Rooms and classifications
//! require courses by id (qualification kind `course`).
//!
//! The correct answers stay on the server: [`CourseContent::for_taker`] is
//! what a user taking the course is shown.

use serde::{Deserialize, Serialize};

use crate::{CompletionId, CourseId, ErrorCode, FileId, UserId};

/// Most pages a course may have.
pub const MAX_PAGES: usize = 50;
/// Longest page body (Markdown), in characters.
pub const MAX_PAGE_CHARS: usize = 20_000;
/// Most questions a quiz may have (at least one is needed).
pub const MAX_QUESTIONS: usize = 50;
/// Most choices a question may have (at least two).
pub const MAX_CHOICES: usize = 10;
/// Longest course or page title, in characters.
pub const MAX_COURSE_TITLE: usize = 200;
/// Longest question text, in characters.
pub const MAX_QUESTION_CHARS: usize = 2_000;
/// Longest choice text, in characters.
pub const MAX_CHOICE_CHARS: usize = 500;
/// Longest validity period of a completion, in days (ten years).
pub const MAX_VALIDITY_DAYS: i64 = 3_660;
/// Most courses a room or a classification may require.
pub const MAX_REQUIRED_COURSES: usize = 10;
/// Most quiz attempts a user may make at one course in an hour.
pub const MAX_ATTEMPTS_PER_HOUR: i64 = 5;

const DAY_MS: i64 = 86_400_000;

/// One page of a course: a title and a body in Markdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoursePage {
    pub title: String,
    pub body: String,
}

/// One quiz question: its choices and, server-side only, the correct ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    pub choices: Vec<String>,
    /// Whether several choices may be ticked (otherwise exactly one).
    #[serde(default)]
    pub multiple: bool,
    /// The indexes (from 0) of the correct choices, ascending.
    pub correct: Vec<usize>,
}

/// A question as a user taking the course sees it: no correct answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuestionForTaker {
    pub text: String,
    pub choices: Vec<String>,
    pub multiple: bool,
}

/// What an admin writes: one version of a course.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseContent {
    pub title: String,
    pub pages: Vec<CoursePage>,
    pub questions: Vec<Question>,
    /// The least score that passes, in percent (1 to 100).
    pub pass_percent: i64,
    /// How long a completion counts, in days.
    pub validity_days: i64,
    /// Whether completions of older versions stop counting from this one on.
    #[serde(default)]
    pub requires_retake: bool,
}

/// A course: its current version and since which version completions count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    pub id: CourseId,
    pub title: String,
    /// The latest published version (from 1).
    pub version: i64,
    /// Completions of versions before this one no longer count.
    pub retake_from: i64,
    pub created_by: UserId,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// One published version of a course.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseVersion {
    pub course_id: CourseId,
    pub version: i64,
    pub content: CourseContent,
    pub published_by: UserId,
    pub published_ms: i64,
}

/// A user's completion of a course: a passed quiz, or (with `recorded_by`) a
/// course completed elsewhere, recorded by the owner's staff with evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseCompletion {
    pub id: CompletionId,
    pub course_id: CourseId,
    pub version: i64,
    pub user_id: UserId,
    /// The quiz score in percent; `None` for an external completion.
    pub score_percent: Option<i64>,
    pub completed_ms: i64,
    /// The end of its validity (exclusive).
    pub valid_until_ms: i64,
    pub evidence: Option<FileId>,
    pub recorded_by: Option<UserId>,
}

impl CourseCompletion {
    /// Whether it counts for `course` (not superseded by a version that
    /// requires retaking).
    pub fn counts_for(&self, course: &Course) -> bool {
        self.course_id == course.id && self.version >= course.retake_from
    }

    /// Whether it counts for `course` at `now_ms`.
    pub fn in_term(&self, course: &Course, now_ms: i64) -> bool {
        self.counts_for(course) && self.completed_ms <= now_ms && now_ms < self.valid_until_ms
    }
}

/// The result of a quiz attempt (the correct answers are not in it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuizResult {
    pub correct: usize,
    pub questions: usize,
    pub score_percent: i64,
    pub passed: bool,
}

fn bad(m: impl Into<String>) -> (ErrorCode, String) {
    (ErrorCode::InvalidCourse, m.into())
}

/// A trimmed single-line text of 1 to `max` characters without control characters.
fn line(what: &str, raw: &str, max: usize) -> Result<String, (ErrorCode, String)> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(bad(format!(
            "{what} must be 1 to {max} characters without control characters"
        )));
    }
    Ok(t.to_owned())
}

impl CourseContent {
    /// Checks and normalises what an admin wrote: bounded sizes, at least one
    /// page and one question, two or more choices per question, correct
    /// answers that name choices (exactly one for a single-choice question).
    pub fn validated(self) -> Result<CourseContent, (ErrorCode, String)> {
        let title = line("the course title", &self.title, MAX_COURSE_TITLE)?;
        if self.pages.is_empty() || self.pages.len() > MAX_PAGES {
            return Err(bad(format!("a course has 1 to {MAX_PAGES} pages")));
        }
        let mut pages = Vec::with_capacity(self.pages.len());
        for (i, p) in self.pages.into_iter().enumerate() {
            let n = i + 1;
            let title = line(
                &format!("the title of page {n}"),
                &p.title,
                MAX_COURSE_TITLE,
            )?;
            let body = p.body.replace("\r\n", "\n");
            if body.trim().is_empty()
                || body.chars().count() > MAX_PAGE_CHARS
                || body
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(bad(format!(
                    "page {n} must hold 1 to {MAX_PAGE_CHARS} characters without control characters"
                )));
            }
            pages.push(CoursePage { title, body });
        }
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            return Err(bad(format!("a quiz has 1 to {MAX_QUESTIONS} questions")));
        }
        let mut questions = Vec::with_capacity(self.questions.len());
        for (i, q) in self.questions.into_iter().enumerate() {
            let n = i + 1;
            let text = line(&format!("question {n}"), &q.text, MAX_QUESTION_CHARS)?;
            if q.choices.len() < 2 || q.choices.len() > MAX_CHOICES {
                return Err(bad(format!(
                    "question {n} must have 2 to {MAX_CHOICES} choices"
                )));
            }
            let choices = q
                .choices
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    line(
                        &format!("choice {} of question {n}", j + 1),
                        c,
                        MAX_CHOICE_CHARS,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut correct = q.correct.clone();
            correct.sort_unstable();
            correct.dedup();
            if correct.len() != q.correct.len()
                || correct.is_empty()
                || correct.iter().any(|&c| c >= choices.len())
                || (!q.multiple && correct.len() != 1)
            {
                return Err(bad(format!(
                    "question {n} must name its correct choices once each (exactly one unless several may be ticked)"
                )));
            }
            questions.push(Question {
                text,
                choices,
                multiple: q.multiple,
                correct,
            });
        }
        if !(1..=100).contains(&self.pass_percent) {
            return Err(bad("the pass mark is a percentage from 1 to 100"));
        }
        if !(1..=MAX_VALIDITY_DAYS).contains(&self.validity_days) {
            return Err(bad(format!(
                "a completion is valid for 1 to {MAX_VALIDITY_DAYS} days"
            )));
        }
        Ok(CourseContent {
            title,
            pages,
            questions,
            pass_percent: self.pass_percent,
            validity_days: self.validity_days,
            requires_retake: self.requires_retake,
        })
    }

    /// The questions as a user taking the course sees them.
    pub fn for_taker(&self) -> Vec<QuestionForTaker> {
        self.questions
            .iter()
            .map(|q| QuestionForTaker {
                text: q.text.clone(),
                choices: q.choices.clone(),
                multiple: q.multiple,
            })
            .collect()
    }

    /// Scores `answers` (the ticked choices of each question, in order): a
    /// question counts when exactly its correct choices are ticked. Malformed
    /// answers (a question left out, a choice that does not exist, several
    /// for a single-choice question) are refused with `invalid_quiz_answers`.
    pub fn score(&self, answers: &[Vec<usize>]) -> Result<QuizResult, (ErrorCode, String)> {
        let wrong = |m: String| (ErrorCode::InvalidQuizAnswers, m);
        if answers.len() != self.questions.len() {
            return Err(wrong(format!(
                "answer each of the {} questions",
                self.questions.len()
            )));
        }
        let mut correct = 0;
        for (i, (q, a)) in self.questions.iter().zip(answers).enumerate() {
            let n = i + 1;
            let mut a = a.clone();
            a.sort_unstable();
            a.dedup();
            if a.is_empty() || a.iter().any(|&c| c >= q.choices.len()) {
                return Err(wrong(format!("question {n} has no valid choice ticked")));
            }
            if !q.multiple && a.len() != 1 {
                return Err(wrong(format!("question {n} takes exactly one choice")));
            }
            if a == q.correct {
                correct += 1;
            }
        }
        let questions = self.questions.len();
        // Whole percent, rounded down: 2 of 3 is 66.
        let score_percent = (correct * 100 / questions) as i64;
        Ok(QuizResult {
            correct,
            questions,
            score_percent,
            passed: score_percent >= self.pass_percent,
        })
    }

    /// The end of a completion at `now_ms` (exclusive).
    pub fn valid_until(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.validity_days.saturating_mul(DAY_MS))
    }
}

/// Checks a list of required courses (ids): no repeats, bounded.
pub fn required_courses(raw: &[String]) -> Result<Vec<CourseId>, (ErrorCode, String)> {
    if raw.len() > MAX_REQUIRED_COURSES {
        return Err((
            ErrorCode::InvalidCourse,
            format!("at most {MAX_REQUIRED_COURSES} courses may be required"),
        ));
    }
    let mut out: Vec<CourseId> = Vec::with_capacity(raw.len());
    for r in raw {
        let id: CourseId = r.trim().parse().map_err(|_| {
            let shown: String = r.chars().take(64).collect();
            (
                ErrorCode::UnknownCourse,
                format!("`{shown}` is not a course id"),
            )
        })?;
        if out.contains(&id) {
            return Err((
                ErrorCode::InvalidCourse,
                format!("the course `{id}` is required twice"),
            ));
        }
        out.push(id);
    }
    Ok(out)
}

// ---- Markdown, rendered on the server with an allow-list

/// Escapes text for HTML (element content and quoted attribute values).
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Whether a link target may be rendered as a link: `http:`, `https:` or
/// `mailto:`, or relative (no scheme at all). Anything else (`javascript:`,
/// `data:`, a scheme hidden behind control characters) is shown as text.
pub fn link_allowed(url: &str) -> bool {
    if url.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    // A scheme is what precedes the first `:` when no `/`, `?` or `#` comes first.
    let end = url.find(['/', '?', '#']).unwrap_or(url.len());
    match url[..end].find(':') {
        None => !url.starts_with("//"),
        Some(i) => {
            let scheme = url[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// Renders inline Markdown: `**strong**`, `*emphasis*`, `` `code` `` and
/// `[text](url)` links (allowed targets only); everything else is text.
fn inline(s: &str, out: &mut String) {
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('`')
            && let Some(end) = r.find('`')
        {
            out.push_str("<code>");
            escape(&r[..end], out);
            out.push_str("</code>");
            rest = &r[end + 1..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("**")
            && let Some(end) = r.find("**")
            && end > 0
        {
            out.push_str("<strong>");
            inline(&r[..end], out);
            out.push_str("</strong>");
            rest = &r[end + 2..];
            continue;
        }
        if let Some(r) = rest.strip_prefix('*')
            && let Some(end) = r.find('*')
            && end > 0
        {
            out.push_str("<em>");
            inline(&r[..end], out);
            out.push_str("</em>");
            rest = &r[end + 1..];
            continue;
        }
        if let Some(r) = rest.strip_prefix('[')
            && let Some(close) = r.find("](")
            && let Some(end) = r[close + 2..].find(')')
        {
            let text = &r[..close];
            let url = &r[close + 2..close + 2 + end];
            if link_allowed(url) {
                out.push_str("<a href=\"");
                escape(url, out);
                out.push_str("\" rel=\"noopener noreferrer\">");
                escape(text, out);
                out.push_str("</a>");
            } else {
                escape(text, out);
            }
            rest = &r[close + 3 + end..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        let mut buf = [0; 4];
        escape(c.encode_utf8(&mut buf), out);
        rest = &rest[c.len_utf8()..];
    }
}

/// Renders a page body (Markdown) to HTML with an allow-list: headings (`#`
/// to `###`, rendered one level below the page's title), paragraphs, bullet
/// (`-`, `*`) and numbered (`1.`) lists, and the inline forms of
/// [`inline`]. Raw HTML is escaped, never passed through. Images are not
/// rendered (their Markdown shows as text).
pub fn render_markdown(src: &str) -> String {
    #[derive(PartialEq)]
    enum Block {
        None,
        Para,
        Bullets,
        Numbers,
    }
    let mut out = String::with_capacity(src.len() + src.len() / 4);
    let mut open = Block::None;
    let close = |open: &mut Block, out: &mut String| {
        match open {
            Block::Para => out.push_str("</p>\n"),
            Block::Bullets => out.push_str("</ul>\n"),
            Block::Numbers => out.push_str("</ol>\n"),
            Block::None => {}
        }
        *open = Block::None;
    };
    for raw in src.lines() {
        let l = raw.trim();
        if l.is_empty() {
            close(&mut open, &mut out);
            continue;
        }
        let hashes = l.bytes().take_while(|&b| b == b'#').count();
        if (1..=3).contains(&hashes) && l[hashes..].starts_with(' ') {
            close(&mut open, &mut out);
            let level = hashes + 2;
            out.push_str(&format!("<h{level}>"));
            inline(l[hashes..].trim(), &mut out);
            out.push_str(&format!("</h{level}>\n"));
            continue;
        }
        if let Some(item) = l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")) {
            if open != Block::Bullets {
                close(&mut open, &mut out);
                out.push_str("<ul>\n");
                open = Block::Bullets;
            }
            out.push_str("<li>");
            inline(item.trim(), &mut out);
            out.push_str("</li>\n");
            continue;
        }
        let digits = l.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=4).contains(&digits) && l[digits..].starts_with(". ") {
            if open != Block::Numbers {
                close(&mut open, &mut out);
                out.push_str("<ol>\n");
                open = Block::Numbers;
            }
            out.push_str("<li>");
            inline(l[digits + 2..].trim(), &mut out);
            out.push_str("</li>\n");
            continue;
        }
        match open {
            Block::Para => out.push('\n'),
            _ => {
                close(&mut open, &mut out);
                out.push_str("<p>");
                open = Block::Para;
            }
        }
        inline(l, &mut out);
    }
    close(&mut open, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> CourseContent {
        CourseContent {
            title: " Handling drawings ".into(),
            pages: vec![CoursePage {
                title: "Why".into(),
                body: "Drawings are *confidential*.".into(),
            }],
            questions: vec![
                Question {
                    text: "Share drawings by e-mail?".into(),
                    choices: vec!["Yes".into(), "No".into()],
                    multiple: false,
                    correct: vec![1],
                },
                Question {
                    text: "Which are allowed?".into(),
                    choices: vec!["Custody".into(), "USB stick".into(), "Viewer".into()],
                    multiple: true,
                    correct: vec![2, 0],
                },
            ],
            pass_percent: 100,
            validity_days: 365,
            requires_retake: false,
        }
    }

    /// `validated` of `content()` changed by `change`: Ok, or the error code.
    fn check(case: &str, change: impl FnOnce(&mut CourseContent), want: Result<(), ErrorCode>) {
        let mut c = content();
        change(&mut c);
        let got = c.validated().map(|_| ()).map_err(|e| e.0);
        assert_eq!(got, want, "{case}");
    }

    #[test]
    fn course_content_is_bounded() {
        let bad = Err(ErrorCode::InvalidCourse);
        check("as written", |_| {}, Ok(()));
        check("no title", |c| c.title = " ".into(), bad);
        check(
            "long title",
            |c| c.title = "x".repeat(MAX_COURSE_TITLE + 1),
            bad,
        );
        check("no pages", |c| c.pages.clear(), bad);
        check(
            "too many pages",
            |c| c.pages = vec![c.pages[0].clone(); MAX_PAGES + 1],
            bad,
        );
        check(
            "long page",
            |c| c.pages[0].body = "x".repeat(MAX_PAGE_CHARS + 1),
            bad,
        );
        check(
            "control in page",
            |c| c.pages[0].body = "a\u{0}b".into(),
            bad,
        );
        check("no questions", |c| c.questions.clear(), bad);
        check(
            "too many questions",
            |c| c.questions = vec![c.questions[0].clone(); MAX_QUESTIONS + 1],
            bad,
        );
        check("one choice", |c| c.questions[0].choices.truncate(1), bad);
        check(
            "too many choices",
            |c| c.questions[0].choices = vec!["a".into(); MAX_CHOICES + 1],
            bad,
        );
        check("no correct", |c| c.questions[0].correct.clear(), bad);
        check(
            "correct out of range",
            |c| c.questions[0].correct = vec![2],
            bad,
        );
        check(
            "two correct, single choice",
            |c| c.questions[0].correct = vec![0, 1],
            bad,
        );
        check(
            "correct twice",
            |c| c.questions[1].correct = vec![0, 0],
            bad,
        );
        check("pass mark 0", |c| c.pass_percent = 0, bad);
        check("pass mark 101", |c| c.pass_percent = 101, bad);
        check("validity 0", |c| c.validity_days = 0, bad);
        check(
            "validity too long",
            |c| c.validity_days = MAX_VALIDITY_DAYS + 1,
            bad,
        );
        let ok = content().validated().unwrap();
        assert_eq!(ok.title, "Handling drawings");
        assert_eq!(ok.questions[1].correct, vec![0, 2]);
    }

    #[test]
    fn quizzes_are_scored_on_the_server() {
        let c = content().validated().unwrap();
        // (answers, (correct, score, passed) or the refusal)
        type Case<'a> = (&'a [&'a [usize]], Result<(usize, i64, bool), ErrorCode>);
        let cases: &[Case] = &[
            (&[&[1], &[0, 2]], Ok((2, 100, true))),
            (&[&[1], &[2, 0]], Ok((2, 100, true))),
            (&[&[0], &[0, 2]], Ok((1, 50, false))),
            (&[&[1], &[0]], Ok((1, 50, false))),
            (&[&[1], &[0, 1, 2]], Ok((1, 50, false))),
            (&[&[1]], Err(ErrorCode::InvalidQuizAnswers)),
            (&[&[0, 1], &[0, 2]], Err(ErrorCode::InvalidQuizAnswers)),
            (&[&[], &[0, 2]], Err(ErrorCode::InvalidQuizAnswers)),
            (&[&[1], &[3]], Err(ErrorCode::InvalidQuizAnswers)),
        ];
        for (answers, want) in cases {
            let answers: Vec<Vec<usize>> = answers.iter().map(|a| a.to_vec()).collect();
            let got = c
                .score(&answers)
                .map(|r| (r.correct, r.score_percent, r.passed))
                .map_err(|e| e.0);
            assert_eq!(&got, want, "{answers:?}");
        }
        let mut lenient = c.clone();
        lenient.pass_percent = 50;
        assert!(lenient.score(&[vec![0], vec![0, 2]]).unwrap().passed);
    }

    #[test]
    fn markdown_renders_an_allow_list_only() {
        let cases = [
            ("Hello *you*", "<p>Hello <em>you</em></p>\n"),
            ("# Title\ntext", "<h3>Title</h3>\n<p>text</p>\n"),
            (
                "- a\n- **b**\n\n1. c",
                "<ul>\n<li>a</li>\n<li><strong>b</strong></li>\n</ul>\n<ol>\n<li>c</li>\n</ol>\n",
            ),
            (
                "<script>alert(1)</script>",
                "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
            ),
            ("[x](javascript:alert(1))", "<p>x)</p>\n"),
            ("[x](JavaScript:alert)", "<p>x</p>\n"),
            ("[x](data:text/html,hi)", "<p>x</p>\n"),
            (
                "[x](https://example.com/a?b=\"c\")",
                "<p><a href=\"https://example.com/a?b=&quot;c&quot;\" rel=\"noopener noreferrer\">x</a></p>\n",
            ),
            (
                "[mail](mailto:a@example.com)",
                "<p><a href=\"mailto:a@example.com\" rel=\"noopener noreferrer\">mail</a></p>\n",
            ),
            (
                "[rel](/rooms)",
                "<p><a href=\"/rooms\" rel=\"noopener noreferrer\">rel</a></p>\n",
            ),
            ("[proto](//evil.example)", "<p>proto</p>\n"),
            (
                "![img](https://example.com/i.png)",
                "<p>!<a href=\"https://example.com/i.png\" rel=\"noopener noreferrer\">img</a></p>\n",
            ),
            ("`<b>`", "<p><code>&lt;b&gt;</code></p>\n"),
            ("a\nb", "<p>a\nb</p>\n"),
        ];
        for (src, want) in cases {
            assert_eq!(render_markdown(src), want, "{src}");
        }
    }

    #[test]
    fn completions_of_versions_before_a_retake_do_not_count() {
        let course = Course {
            id: CourseId::from_random([1; 16]),
            title: "t".into(),
            version: 3,
            retake_from: 2,
            created_by: UserId::from_random([2; 16]),
            created_ms: 0,
            updated_ms: 0,
        };
        let done = |version, until| CourseCompletion {
            id: CompletionId::from_random([3; 16]),
            course_id: course.id,
            version,
            user_id: UserId::from_random([4; 16]),
            score_percent: Some(100),
            completed_ms: 10,
            valid_until_ms: until,
            evidence: None,
            recorded_by: None,
        };
        assert!(!done(1, 100).in_term(&course, 50));
        assert!(done(2, 100).in_term(&course, 50));
        assert!(!done(3, 100).in_term(&course, 100));
        assert!(!done(3, 100).in_term(&course, 5));
    }
}
