//! gitleaks configurations imported as pattern rules: what is imported,
//! skipped and reported, and what the imported rules find and allow.

use dlp::gitleaks::{Import, import};
use dlp::{CustomKind, CustomRule, ScanConfig, Scanner, Severity};

use crate::util;

/// A configuration with rules of every kind, allowlists of every kind, and
/// settings that cannot be honoured.
const CONFIG: &str = r#"
title = "acme secrets"

[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[allowlist]
description = "fixtures and documented examples"
paths = ['''(^|/)testdata/''']
regexes = ['''EXAMPLE''']

[[rules]]
id = "acme-api-key"
description = "Acme API key"
regex = '''(?i)acme[_-]?key\s*[:=]\s*["']?([a-z0-9]{32})'''
secretGroup = 1
entropy = 3.5
keywords = ["acme"]
tags = ["acme", "key"]

[[rules.allowlists]]
description = "documented samples"
regexTarget = "line"
regexes = ['''#\s*sample''']

[[rules.allowlists]]
stopwords = ["dummy"]

[[rules]]
id = "Internal-Token"
regex = '''itk_[A-Za-z0-9]{20}'''
path = '''\.(env|cfg)$'''
[rules.allowlist]
condition = "AND"
commits = ["0123abcd"]
paths = ['''prod''']

[[rules]]
id = "order-number"
regex = '''ORD-[0-9]{6}'''
keywords = ["purchase"]

[[rules.allowlists]]
condition = "AND"
regexTarget = "match"
regexes = ['''ORD-0''']
paths = ['''drafts/''']

[[rules]]
id = "pkcs12-file"
description = "PKCS #12 file"
path = '''(?i)\.p12$'''

[[rules]]
id = "go-only"
regex = '''\Qabc\E[0-9]+'''
[rules.allowlist]
commits = ["0123abcd"]

[[rules]]
id = "composite"
regex = '''x{3}'''
[[rules.required]]
id = "acme-api-key"

[[rules]]
id = "bad-group"
regex = '''(a)b+'''
secretGroup = 3

[[rules]]
id = "acme-api-key"
regex = "zz+"

[[rules]]
description = "no id"
regex = "qq+"

[[rules]]
id = "aws.access_key_id"
regex = "AKIA[0-9A-Z]{16}"
"#;

fn imported() -> Import {
    import(CONFIG, Severity::High).unwrap()
}

fn scanner() -> Scanner {
    Scanner::new(ScanConfig {
        custom: imported().rules,
        ..ScanConfig::default()
    })
    .unwrap()
}

#[test]
fn gitleaks_rules_are_imported_skipped_and_reported_by_name() {
    let got = imported();
    let ids: Vec<&str> = got.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "acme-api-key",
            "internal-token",
            "order-number",
            "pkcs12-file"
        ]
    );
    let check_skipped = |rule: &str, reason: &str| {
        let found = got
            .skipped
            .iter()
            .any(|s| s.rule == rule && s.reason.contains(reason));
        assert!(found, "{rule}: {reason}: {:#?}", got.skipped);
    };
    check_skipped("go-only", "invalid regular expression");
    check_skipped("composite", "`required`");
    check_skipped("bad-group", "secret group 3");
    check_skipped("acme-api-key", "duplicate rule id");
    check_skipped("rules[8]", "no `id`");
    check_skipped("aws.access_key_id", "duplicate rule id");
    assert_eq!(got.skipped.len(), 6, "{:#?}", got.skipped);

    let unsupported: Vec<(Option<&str>, &str)> = got
        .unsupported
        .iter()
        .map(|u| (u.rule.as_deref(), u.feature.as_str()))
        .collect();
    assert_eq!(
        unsupported,
        [
            (None, "extend.disabledRules"),
            (None, "extend.useDefault"),
            (Some("internal-token"), "allowlist.commits"),
            (Some("internal-token"), "id"),
        ],
        "{:#?}",
        got.unsupported
    );
    let commits = got
        .unsupported
        .iter()
        .find(|u| u.feature == "allowlist.commits")
        .unwrap();
    assert!(commits.detail.contains("condition AND"), "{commits:?}");

    let acme = &got.rules[0];
    assert_eq!(acme.message, "Acme API key");
    assert_eq!(acme.severity, Severity::High);
    let CustomKind::Pattern(p) = &acme.kind else {
        panic!("{acme:?}")
    };
    assert_eq!((p.secret_group, p.entropy), (1, 3.5));
    assert_eq!(p.keywords, ["acme"]);
    assert_eq!(p.tags, ["acme", "key"]);
    // Its two allowlists and the global one.
    assert_eq!(p.allowlists.len(), 3);
    assert_eq!(got.rules[3].message, "PKCS #12 file");
}

#[test]
fn imported_rules_find_what_they_should_and_allow_the_rest() {
    let scanner = scanner();
    let secret = "k3j9x8q2m5n7b4v6c1z0a8s7d6f5g4h3";
    let ours = ["acme-api-key", "internal-token", "order-number"];
    let check = |path: &str, text: &str, expected: &[&str]| {
        let got: Vec<String> = scanner
            .scan_text(path, text)
            .into_iter()
            .map(|f| f.detector)
            .filter(|d| ours.contains(&d.as_str()))
            .collect();
        assert_eq!(got, expected, "{path}: {text}");
    };
    // Regex, secret group, entropy, keywords (case-insensitive).
    check(
        "app.cfg",
        &format!("ACME_KEY = \"{secret}\""),
        &["acme-api-key"],
    );
    check("app.cfg", &format!("acme-key: {}", "ab".repeat(16)), &[]);
    check("app.cfg", "order ORD-123456", &[]);
    check("app.cfg", "PURCHASE order ORD-123456", &["order-number"]);
    // Rule allowlists: a line regex, a stopword.
    check("app.cfg", &format!("acme_key={secret} # sample"), &[]);
    check("app.cfg", "acme_key=dummyk3j9x8q2m5n7b4v6c1z0a8s7d", &[]);
    // The global allowlist: a path, a regex on the secret.
    check("testdata/app.cfg", &format!("acme_key={secret}"), &[]);
    check("app.cfg", "acme_key=EXAMPLEk3j9x8q2m5n7b4v6c1z0a8s", &[]);
    // A path filter; the allowlist with commits left out (AND) allows nothing.
    let token = "itk_Zq7Xw2Lp9Rt4Yb8Nc3Vd";
    check("notes.txt", token, &[]);
    check("prod.env", token, &["internal-token"]);
    check("bundle.zip!/conf/app.cfg", token, &["internal-token"]);
    // An AND allowlist: the match and the path.
    check("drafts/po.txt", "purchase ORD-012345", &[]);
    check("final/po.txt", "purchase ORD-012345", &["order-number"]);
    check("drafts/po.txt", "purchase ORD-112345", &["order-number"]);
}

#[test]
fn findings_of_imported_rules_carry_the_rule_id_and_the_secret_s_place() {
    let scanner = scanner();
    let secret = "k3j9x8q2m5n7b4v6c1z0a8s7d6f5g4h3";
    let text = format!("# settings\n  acme_key = '{secret}'\n");
    let f = scanner
        .scan_text("app.cfg", &text)
        .into_iter()
        .find(|f| f.detector == "acme-api-key")
        .unwrap();
    assert_eq!((f.location.line, f.location.column), (2, 15));
    assert_eq!(f.snippet, "k3j9…(32 chars)");
    assert_eq!(f.message, "Acme API key");
    assert!(!format!("{f:?}").contains(secret));
}

#[test]
fn rules_on_paths_alone_find_files_and_members() {
    let scanner = scanner();
    let check = |name: &str, bytes: &[u8], expected: &[&str]| {
        let got: Vec<String> = scanner
            .scan(name, bytes)
            .findings
            .into_iter()
            .filter(|f| f.detector == "pkcs12-file")
            .map(|f| f.location.path)
            .collect();
        assert_eq!(got, expected, "{name}");
    };
    let p12 = b"\x30\x82\x0a\x2b\x02\x01\x03\x30\x82\x09\xf1\x06\x09";
    check("cert.P12", p12, &["cert.P12"]);
    check("cert.pem", p12, &[]);
    check("notes.txt", b"see cert.p12", &[]);
    let zip = util::zip(&[("keys/cert.p12", p12), ("readme.txt", b"keys")]);
    check("bundle.zip", &zip, &["bundle.zip!/keys/cert.p12"]);
    check("testdata/cert.p12", p12, &[]);
    // A document's pages are in its file: one finding, at the file.
    let pdf = util::pdf(&[&["page one"], &["page two"]]);
    check("scan.p12", &pdf, &["scan.p12"]);
    // Streamed content gets them once, from `scan_path`.
    let piece = scanner.scan_piece("cert.p12", "text", &[]);
    assert!(!piece.counts.contains_key("pkcs12-file"));
    assert_eq!(scanner.scan_path("cert.p12").counts["pkcs12-file"], 1);
}

#[test]
fn stored_rules_of_every_kind_still_deserialize() {
    let check = |json: &str, kind: CustomKind| {
        let rule: CustomRule = serde_json::from_str(json).unwrap();
        assert_eq!(rule.kind, kind, "{json}");
        let again: CustomRule =
            serde_json::from_str(&serde_json::to_string(&rule).unwrap()).unwrap();
        assert_eq!(again, rule);
    };
    check(
        r#"{"id":"a","message":"m","severity":"high","kind":{"keywords":["x"]}}"#,
        CustomKind::Keywords(vec!["x".into()]),
    );
    check(
        r#"{"id":"a","message":"m","severity":"low","kind":{"dictionary":{"terms":["x","y"],"min_distinct":2}}}"#,
        CustomKind::Dictionary {
            terms: vec!["x".into(), "y".into()],
            min_distinct: 2,
        },
    );
    check(
        r#"{"id":"a","message":"m","severity":"high","kind":{"regex":"PN-\\d+"}}"#,
        CustomKind::Regex(r"PN-\d+".into()),
    );
    check(
        r#"{"id":"a","message":"m","severity":"high","kind":{"pattern":{"path":"\\.p12$"}}}"#,
        CustomKind::Pattern(dlp::PatternRule {
            path: Some(r"\.p12$".into()),
            ..dlp::PatternRule::default()
        }),
    );
    for rule in imported().rules {
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<CustomRule>(&json).unwrap(), rule);
    }
}

#[test]
fn pattern_rules_that_cannot_be_honoured_are_refused() {
    let refuse = |p: dlp::PatternRule, code: &str| {
        let rule = CustomRule {
            id: "r".into(),
            message: "m".into(),
            severity: Severity::High,
            kind: CustomKind::Pattern(p),
        };
        let got = Scanner::new(ScanConfig {
            custom: vec![rule],
            ..ScanConfig::default()
        })
        .err()
        .map(|e| e.code());
        assert_eq!(got, Some(code));
    };
    let regex = |r: &str| Some(r.to_owned());
    refuse(dlp::PatternRule::default(), "dlp_bad_pattern_rule");
    refuse(
        dlp::PatternRule {
            regex: regex("(a)b"),
            secret_group: 2,
            ..Default::default()
        },
        "dlp_bad_pattern_rule",
    );
    refuse(
        dlp::PatternRule {
            regex: regex("ab"),
            entropy: 9.0,
            ..Default::default()
        },
        "dlp_bad_pattern_rule",
    );
    refuse(
        dlp::PatternRule {
            regex: regex(r"(?:[a-z0-9]{1000}){100}"),
            ..Default::default()
        },
        "dlp_regex_too_large",
    );
    refuse(
        dlp::PatternRule {
            regex: regex("x*"),
            ..Default::default()
        },
        "dlp_bad_regex",
    );
}
