//! Table-driven tests of templates, answers, scores, tiers and the matrix.

use super::*;

/// A template of three questions: encryption at rest (yes 40 / no 0, `no`
/// knocks out to at least high), the ISO status (choice), staff count
/// (ranges), and an evidence file (10 points when given).
fn template() -> TemplateBody {
    let json = serde_json::json!({
        "sections": [
            {"title": "Security", "questions": [
                {"key": "encrypts", "text": "Do you encrypt data at rest?", "kind": "yes_no",
                 "required": true, "score": {"rule": "yes_no", "yes": 40, "no": 0},
                 "knock_out": {"answers": ["no"], "min_tier": "high"}},
                {"key": "iso", "text": "ISO/IEC 27001?", "kind": "choice",
                 "choices": ["certified", "in progress", "no"],
                 "score": {"rule": "choices", "points": [30, 10, 0]}},
            ]},
            {"title": "Company", "questions": [
                {"key": "staff", "text": "How many staff?", "kind": "number",
                 "score": {"rule": "ranges", "ranges": [
                     {"max": 9, "points": 0}, {"min": 10, "max": 499, "points": 10},
                     {"min": 500, "points": 20}]},
                 "knock_out": {"below": 2, "min_tier": "critical"}},
                {"key": "policy", "text": "Your security policy", "kind": "file",
                 "score": {"rule": "answered", "points": 10}},
                {"key": "founded", "text": "Founded on", "kind": "date"},
                {"key": "notes", "text": "Anything else?", "kind": "text"},
            ]},
        ],
        "thresholds": {"low": 80, "medium": 50, "high": 20},
    });
    serde_json::from_value::<TemplateBody>(json)
        .unwrap()
        .validate()
        .unwrap()
}

fn answers(pairs: &[(&str, &str)]) -> Answers {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const FILE: &str = "0b0c6b1e-8d1a-4f44-9a53-0d4b1b6a2f10";

#[test]
fn scores_and_tiers_follow_points_and_knock_outs() {
    use RiskTier::*;
    // (case, answers, score, tier of the score, knock-outs, tier)
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        i64,
        RiskTier,
        Vec<&'a str>,
        RiskTier,
    );
    let cases: Vec<Case> = vec![
        ("nothing answered", vec![], 0, Critical, vec![], Critical),
        (
            "all best",
            vec![
                ("encrypts", "yes"),
                ("iso", "certified"),
                ("staff", "800"),
                ("policy", FILE),
            ],
            100,
            Low,
            vec![],
            Low,
        ),
        (
            "a knock-out raises a low score tier to high",
            vec![
                ("encrypts", "no"),
                ("iso", "certified"),
                ("staff", "800"),
                ("policy", FILE),
            ],
            60,
            Medium,
            vec!["encrypts"],
            High,
        ),
        (
            "a knock-out never lowers the tier",
            vec![("encrypts", "no")],
            0,
            Critical,
            vec!["encrypts"],
            Critical,
        ),
        (
            "numeric range and knock-out below 2",
            vec![("encrypts", "yes"), ("iso", "certified"), ("staff", "1")],
            70,
            Medium,
            vec!["staff"],
            Critical,
        ),
        (
            "range boundaries are inclusive",
            vec![("encrypts", "yes"), ("iso", "in progress"), ("staff", "10")],
            60,
            Medium,
            vec![],
            Medium,
        ),
        (
            "exactly the threshold",
            vec![("encrypts", "yes"), ("iso", "certified"), ("staff", "10")],
            80,
            Low,
            vec![],
            Low,
        ),
        (
            "unscored questions count nothing",
            vec![
                ("encrypts", "yes"),
                ("founded", "2001-02-03"),
                ("notes", "fine"),
            ],
            40,
            High,
            vec![],
            High,
        ),
    ];
    let body = template();
    assert_eq!(body.max_score(), 100);
    for (case, given, want_score, want_score_tier, want_ko, want_tier) in cases {
        let checked = check_answers(&body, &answers(&given), false).unwrap();
        let got = score(&body, &checked);
        let ko: Vec<&str> = got.knock_outs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            (got.score, got.score_tier, ko, got.tier),
            (want_score, want_score_tier, want_ko, want_tier),
            "{case}"
        );
    }
}

#[test]
fn answers_are_checked_against_their_question() {
    let body = template();
    // (case, answers, complete, Ok(stored value of the first) or the error's start)
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        bool,
        Result<&'a str, &'a str>,
    );
    let cases: Vec<Case> = vec![
        ("yes", vec![("encrypts", " yes ")], false, Ok("yes")),
        (
            "not yes/no",
            vec![("encrypts", "maybe")],
            false,
            Err("question `encrypts`: `maybe` is not"),
        ),
        (
            "a choice",
            vec![("iso", "in progress")],
            false,
            Ok("in progress"),
        ),
        (
            "not a choice",
            vec![("iso", "soon")],
            false,
            Err("question `iso`: `soon` is not one"),
        ),
        ("a number", vec![("staff", "12.5")], false, Ok("12.5")),
        (
            "not a number",
            vec![("staff", "NaN")],
            false,
            Err("question `staff`: `NaN` is not a number"),
        ),
        (
            "infinite",
            vec![("staff", "1e999")],
            false,
            Err("question `staff`"),
        ),
        (
            "a date",
            vec![("founded", "2020-02-29")],
            false,
            Ok("2020-02-29"),
        ),
        (
            "not a date",
            vec![("founded", "2021-02-29")],
            false,
            Err("question `founded`: `2021-02-29` is not a date"),
        ),
        ("a file id", vec![("policy", FILE)], false, Ok(FILE)),
        (
            "not a file id",
            vec![("policy", "../etc/passwd")],
            false,
            Err("question `policy`: `../etc/passwd` is not a file id"),
        ),
        (
            "unknown question",
            vec![("nope", "yes")],
            false,
            Err("`nope` is not a question"),
        ),
        ("empty is unanswered", vec![("notes", "  ")], false, Ok("")),
        (
            "draft may miss required",
            vec![("iso", "no")],
            false,
            Ok("no"),
        ),
        (
            "submission may not",
            vec![("iso", "no")],
            true,
            Err("question `encrypts` must be answered"),
        ),
    ];
    for (case, given, complete, want) in cases {
        let got = check_answers(&body, &answers(&given), complete);
        match (got, want) {
            (Ok(a), Ok(v)) => {
                let first = given.first().map(|(k, _)| *k).unwrap_or_default();
                assert_eq!(a.get(first).map_or("", String::as_str), v, "{case}");
            }
            (Err(e), Err(start)) => assert!(e.0.starts_with(start), "{case}: {e}"),
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
    let long = "x".repeat(MAX_ANSWER + 1);
    assert!(check_answers(&body, &answers(&[("notes", &long)]), false).is_err());
}

#[test]
fn templates_are_validated() {
    let base = serde_json::to_value(template()).unwrap();
    // (case, a change to the valid template, the error's start)
    type Change = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "no sections",
            |v| v["sections"] = serde_json::json!([]),
            "a questionnaire has 1 to 20 sections",
        ),
        (
            "empty section title",
            |v| v["sections"][0]["title"] = "  ".into(),
            "`section` must be 1 to 200",
        ),
        (
            "bad key",
            |v| v["sections"][0]["questions"][0]["key"] = "Bad Key".into(),
            "question key `Bad Key`",
        ),
        (
            "duplicate key",
            |v| v["sections"][1]["questions"][0]["key"] = "iso".into(),
            "question key `iso` is used twice",
        ),
        (
            "choices on yes/no",
            |v| v["sections"][0]["questions"][0]["choices"] = serde_json::json!(["a"]),
            "question `encrypts` is not a choice",
        ),
        (
            "choice without choices",
            |v| v["sections"][0]["questions"][1]["choices"] = serde_json::json!([]),
            "question `iso` must offer 1 to 20",
        ),
        (
            "repeated choice",
            |v| v["sections"][0]["questions"][1]["choices"] = serde_json::json!(["a", "a", "b"]),
            "question `iso` offers `a` twice",
        ),
        (
            "points per choice",
            |v| v["sections"][0]["questions"][1]["score"]["points"] = serde_json::json!([1]),
            "question `iso` must give points",
        ),
        (
            "rule of another kind",
            |v| {
                v["sections"][1]["questions"][3]["score"] =
                    serde_json::json!({"rule": "yes_no", "yes": 1, "no": 0})
            },
            "question `notes`: that score rule",
        ),
        (
            "huge points",
            |v| v["sections"][0]["questions"][0]["score"]["yes"] = 10_000_000.into(),
            "question `encrypts`: points",
        ),
        (
            "range upside down",
            |v| {
                v["sections"][1]["questions"][0]["score"]["ranges"][1] =
                    serde_json::json!({"min": 5, "max": 1, "points": 1})
            },
            "question `staff`: a range's min",
        ),
        (
            "knock-out of an unknown answer",
            |v| {
                v["sections"][0]["questions"][0]["knock_out"]["answers"] =
                    serde_json::json!(["perhaps"])
            },
            "question `encrypts`: knock-out answer",
        ),
        (
            "knock-out on text",
            |v| {
                v["sections"][1]["questions"][3]["knock_out"] =
                    serde_json::json!({"answers": ["x"], "min_tier": "high"})
            },
            "question `notes`: a knock-out needs",
        ),
        (
            "thresholds out of order",
            |v| v["thresholds"]["medium"] = 90.into(),
            "the thresholds must be in order",
        ),
    ];
    for (case, change, want) in cases {
        let mut v = base.clone();
        change(&mut v);
        let got = serde_json::from_value::<TemplateBody>(v)
            .unwrap()
            .validate();
        match got {
            Err(e) => assert!(e.0.starts_with(want), "{case}: {e}"),
            Ok(_) => panic!("{case}: accepted"),
        }
    }
    let mut many = base.clone();
    let q = many["sections"][0]["questions"][0].clone();
    many["sections"][0]["questions"] = (0..=MAX_QUESTIONS)
        .map(|i| {
            let mut q = q.clone();
            q["key"] = format!("q{i}").into();
            q
        })
        .collect();
    let got = serde_json::from_value::<TemplateBody>(many)
        .unwrap()
        .validate();
    assert!(
        got.unwrap_err()
            .0
            .starts_with("a questionnaire has 1 to 200 questions")
    );
}

#[test]
fn the_default_matrix_is_valid_and_decides_as_documented() {
    use Classification::*;
    use MatrixControl::*;
    use MatrixVerdict::*;
    use RiskTier::*;
    let m = RiskMatrix::default().validate().unwrap();
    // (classification, tier, verdict, controls)
    let cases: [(
        Classification,
        Option<RiskTier>,
        MatrixVerdict,
        &[MatrixControl],
    ); 10] = [
        (Public, None, Allowed, &[]),
        (Public, Some(Critical), Allowed, &[]),
        (Internal, None, Allowed, &[]),
        (Internal, Some(Critical), Controls, &[Marked]),
        (Confidential, None, Controls, &[Marked]),
        (Confidential, Some(Critical), Refused, &[]),
        (Restricted, Some(Low), Allowed, &[]),
        (Restricted, Some(Medium), Controls, &[Marked]),
        (Restricted, Some(High), Controls, &[ViewOnly]),
        (Restricted, None, Refused, &[]),
    ];
    for (c, tier, verdict, controls) in cases {
        assert_eq!(m.verdict(c, tier), (verdict, controls), "{c} × {tier:?}");
    }
}

#[test]
fn matrices_are_validated() {
    let base = serde_json::to_value(RiskMatrix::default()).unwrap();
    type Change = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "a cell missing",
            |v| {
                v["cells"].as_array_mut().unwrap().pop();
            },
            "the matrix has no cell for `restricted` × `unassessed`",
        ),
        (
            "a cell twice",
            |v| {
                let c = v["cells"][0].clone();
                v["cells"].as_array_mut().unwrap().push(c);
            },
            "the matrix has two cells for `public` × `low`",
        ),
        (
            "unknown tier",
            |v| {
                let mut c = v["cells"][0].clone();
                c["tier"] = "meh".into();
                v["cells"].as_array_mut().unwrap().push(c);
            },
            "the matrix has a cell for an unknown tier `meh`",
        ),
        (
            "controls without any",
            |v| v["cells"][0]["verdict"] = "controls".into(),
            "`public` × `low` is allowed with controls but names none",
        ),
        (
            "controls when allowed",
            |v| v["cells"][0]["controls"] = serde_json::json!(["mfa"]),
            "`public` × `low` names controls",
        ),
        (
            "a control twice",
            |v| {
                v["cells"][0]["verdict"] = "controls".into();
                v["cells"][0]["controls"] = serde_json::json!(["mfa", "mfa"]);
            },
            "`public` × `low` names a control twice",
        ),
    ];
    for (case, change, want) in cases {
        let mut v = base.clone();
        change(&mut v);
        let got = serde_json::from_value::<RiskMatrix>(v).unwrap().validate();
        match got {
            Err(e) => assert!(e.0.starts_with(want), "{case}: {e}"),
            Ok(_) => panic!("{case}: accepted"),
        }
    }
}

#[test]
fn a_tier_lapses_at_its_end() {
    const DAY: i64 = 86_400_000;
    let periods = TierPeriods::default().validate().unwrap();
    let until = periods.until(RiskTier::High, 10 * DAY);
    assert_eq!(until, 100 * DAY);
    let cases = [
        (
            Some(RiskTier::High),
            Some(until),
            until - 1,
            Some(RiskTier::High),
        ),
        (Some(RiskTier::High), Some(until), until, None),
        (Some(RiskTier::High), None, 0, None),
        (None, Some(until), 0, None),
    ];
    for (tier, end, now, want) in cases {
        assert_eq!(
            tier_in_term(tier, end, now),
            want,
            "{tier:?} until {end:?} at {now}"
        );
    }
    assert_eq!(tier_name(None), "unassessed");
    let zero = TierPeriods { low: 0, ..periods };
    assert!(zero.validate().is_err());
}
