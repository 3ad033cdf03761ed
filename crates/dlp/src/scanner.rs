//! The scanning engine. A few vectorised passes find the literal anchors of
//! every detector (see `anchors`); a hand-written pass finds clusters of
//! digits (for numeric personal data) and a `memchr` pass the `@` of e-mail
//! addresses. All the passes run over one block of the text at a time, while
//! it is in the core's cache. Only the windows around those triggers are
//! handed to each detector's regular expression, so text without triggers
//! costs those passes alone. Overlapping findings are resolved by rank (the
//! more specific detector wins); values are checked (Luhn, mod-97, entropy,
//! placeholders) and redacted before anything leaves the engine.
//!
//! Memory stays bounded whatever the content: an item longer than [`SEGMENT`]
//! is scanned a segment at a time (with [`SEGMENT_OVERLAP`] of context either
//! side, each finding owned by the segment its value starts in), so the
//! triggers and matches held at once are those of one segment; every finding
//! is counted, but only the first [`DEFAULT_MAX_ITEM_FINDINGS`] of an item
//! and [`DEFAULT_MAX_FINDINGS`] of a file are kept with their location and
//! snippet (a zip of 64 members of 1 MiB of `ITAR` lines has 13 million
//! findings; kept whole they took 3.6 GB).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use crate::DlpError;
use crate::anchors::Anchors;
use crate::checks;
use crate::custom::{self, CustomKind, CustomRule, DEFAULT_REGEX_SIZE_LIMIT};
use crate::extract::{self, Limits};
use crate::finding::{Finding, Location, Severity, redact};
use crate::fingerprint::{DocMatch, Registry};
use crate::pattern::{self, Pattern};
use crate::rules::{Check, RULES, Rule, Trigger};

/// The least number of digits in a cluster that wakes the numeric detectors.
const MIN_CLUSTER_DIGITS: usize = 6;

/// The bytes the digit pass tests at once for a digit.
const DIGIT_RUN: usize = 64;

/// The bytes every trigger pass covers before the next one runs: small
/// enough to stay in the core's cache between passes, so the text is read
/// from memory once instead of once a pass, large enough that starting a
/// pass costs nothing much. On the 256 MiB benchmark corpus the scan ran
/// some 10–30 % faster than with whole-text passes (on a busy machine).
const BLOCK: usize = 64 << 10;

/// The longest text scanned at once: a longer item is scanned in segments of
/// this size, so the windows and matches of one segment are all that is held.
const SEGMENT: usize = 1 << 20;
/// Text scanned again either side of a segment, so a match that starts in
/// one segment and ends in the next (up to this long) is seen whole.
const SEGMENT_OVERLAP: usize = 16 << 10;

/// Findings of one item (a file, or one member of a container) kept with
/// their location unless configured otherwise; the rest are counted.
pub const DEFAULT_MAX_ITEM_FINDINGS: usize = 100;
/// Findings of one scan kept with their location unless configured
/// otherwise (extraction problems aside, which are all kept).
pub const DEFAULT_MAX_FINDINGS: usize = 1_000;

/// How a scanner is set up.
#[derive(Debug, Clone, Default)]
pub struct ScanConfig {
    /// Extraction limits.
    pub limits: Limits,
    /// Administrator-defined detectors.
    pub custom: Vec<CustomRule>,
    /// Compiled-size bound for custom regular expressions (0: the default, 1 MiB).
    pub regex_size_limit: usize,
    /// Findings kept with their location per item, a file or one member of a
    /// container (0: the default, [`DEFAULT_MAX_ITEM_FINDINGS`]); the rest
    /// are counted in [`Report::counts`].
    pub max_item_findings: usize,
    /// Findings kept with their location per scan (0: the default,
    /// [`DEFAULT_MAX_FINDINGS`]).
    pub max_findings: usize,
    /// The crown jewels' fingerprints: every item (and every piece of a
    /// stream) that overlaps a registered document beyond the registry's
    /// thresholds is a [`CROWN_JEWEL`] finding naming it.
    pub fingerprints: Option<Arc<Registry>>,
}

/// The detector id of an excerpt of a registered crown-jewel document.
pub const CROWN_JEWEL: &str = "fingerprint.crown_jewel";
/// The severity of a [`CROWN_JEWEL`] finding.
pub const CROWN_JEWEL_SEVERITY: Severity = Severity::High;
const CROWN_JEWEL_MESSAGE: &str = "an excerpt of a registered crown-jewel document";

/// A detector, as listed for reports (SARIF `rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectorInfo {
    /// The detector id.
    pub id: String,
    /// What it finds.
    pub message: String,
    /// The severity of its findings.
    pub severity: Severity,
}

/// The result of scanning one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The findings kept, by item and position: the first
    /// [`ScanConfig::max_item_findings`] of each item, at most
    /// [`ScanConfig::max_findings`] in all, then every extraction problem.
    pub findings: Vec<Finding>,
    /// How many text items were extracted and scanned.
    pub items: usize,
    /// Every finding counted per detector id, kept or not.
    pub counts: BTreeMap<String, u64>,
    /// How many findings there were, kept or not.
    pub total: u64,
    /// How many of them were counted but not kept (`total` less the findings kept).
    pub truncated: u64,
    /// The first finding of the highest severity of the detectors
    /// (extraction problems aside), kept or not.
    pub worst: Option<Finding>,
    /// The registered documents the content overlaps, each once with the
    /// largest share any item or piece had, largest first.
    pub jewels: Vec<DocMatch>,
}

impl Report {
    /// The highest severity found, if anything was.
    pub fn max_severity(&self) -> Option<Severity> {
        let worst = self.worst.as_ref().map(|f| f.severity);
        self.findings.iter().map(|f| f.severity).max().max(worst)
    }
}

/// Findings as a scan gathers them: every one counted, the first kept.
struct Tally {
    /// Findings per detector, by index (built-in then custom).
    counts: Vec<u64>,
    findings: Vec<Finding>,
    worst: Option<Finding>,
    total: u64,
    /// Findings kept under the cap (not those kept for their place).
    kept: usize,
    cap: usize,
    /// Crown-jewel findings, and the documents they name.
    jewel_count: u64,
    jewels: Vec<DocMatch>,
}

struct Compiled {
    rule: Rule,
    regex: Regex,
    /// The groups holding the value (`s`, `s2`, … in alternatives): the
    /// first that took part in a match is the value.
    groups: Vec<usize>,
}

enum CustomMatcher {
    Keywords,
    Dictionary(usize),
    Regex(Regex),
    /// A pattern rule, and whether it has keywords (it runs only on text
    /// holding one).
    Pattern(Box<Pattern>, bool),
}

struct Custom {
    rule: CustomRule,
    matcher: CustomMatcher,
}

/// The keyword and dictionary terms of custom rules, and the rule of each term.
type Terms = (AhoCorasick, Vec<usize>);

/// A configured scanner: immutable, shareable between threads.
pub struct Scanner {
    rules: Vec<Compiled>,
    anchors: Anchors,
    /// The rules each anchor triggers.
    anchor_rules: Vec<Vec<usize>>,
    digit_rules: Vec<usize>,
    at_rules: Vec<usize>,
    custom: Vec<Custom>,
    /// Keyword and dictionary terms of the custom rules, and the rule of each.
    terms: Option<Terms>,
    /// The keywords of the pattern rules, and the rule of each.
    keywords: Option<Terms>,
    /// The pattern rules on paths alone.
    path_rules: Vec<usize>,
    limits: Limits,
    max_item_findings: usize,
    max_findings: usize,
    fingerprints: Option<Arc<Registry>>,
}

/// A confirmed match before it becomes a finding.
#[derive(Debug, Clone)]
struct Hit {
    detector: usize,
    start: usize,
    end: usize,
    value: (usize, usize),
    rank: u8,
}

impl Scanner {
    /// Compiles the built-in detectors and the configured custom ones.
    pub fn new(config: ScanConfig) -> Result<Self, DlpError> {
        let mut rules = Vec::with_capacity(RULES.len());
        let mut patterns: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut anchor_rules: Vec<Vec<usize>> = Vec::new();
        let (mut digit_rules, mut at_rules) = (Vec::new(), Vec::new());
        for (i, rule) in RULES.iter().enumerate() {
            // The formats are ASCII: ASCII classes keep each automaton small
            // (a Unicode `\w{0,30}` alone is thousands of states).
            let regex = RegexBuilder::new(rule.pattern)
                .unicode(false)
                .build()
                .map_err(|e| DlpError::BadRegex {
                    rule: rule.id.to_owned(),
                    reason: e.to_string(),
                })?;
            let groups = regex
                .capture_names()
                .enumerate()
                .filter(|(_, n)| n.is_some_and(|n| n.starts_with('s')))
                .map(|(i, _)| i)
                .collect();
            rules.push(Compiled {
                rule: *rule,
                regex,
                groups,
            });
            match rule.trigger {
                Trigger::Digits => digit_rules.push(i),
                Trigger::At => at_rules.push(i),
                Trigger::Anchors(list) => {
                    for anchor in list.iter().flat_map(|a| variants(a)) {
                        let next = patterns.len();
                        let slot = *index.entry(anchor.clone()).or_insert(next);
                        if slot == next {
                            patterns.push(anchor);
                            anchor_rules.push(Vec::new());
                        }
                        if let Some(v) = anchor_rules.get_mut(slot)
                            && !v.contains(&i)
                        {
                            v.push(i);
                        }
                    }
                }
            }
        }
        // An anchor containing a shorter one is redundant: the shorter one
        // triggers its rules. Fewer anchors make a faster automaton.
        let (patterns, anchor_rules) = minimise(patterns, anchor_rules);
        // After that no anchor starts another, so the search reports every
        // occurrence of each (see `anchors`).
        let anchors = Anchors::new(&patterns).map_err(|e| DlpError::BadRegex {
            rule: "anchors".to_owned(),
            reason: e.to_string(),
        })?;

        let (custom, terms, keywords) = compile_custom(&config)?;
        let path_rules = custom
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(&c.matcher, CustomMatcher::Pattern(p, _) if p.path_only()))
            .map(|(i, _)| i)
            .collect();
        let or_default = |n: usize, default: usize| if n == 0 { default } else { n };
        Ok(Self {
            rules,
            anchors,
            anchor_rules,
            digit_rules,
            at_rules,
            custom,
            terms,
            keywords,
            path_rules,
            limits: config.limits,
            max_item_findings: or_default(config.max_item_findings, DEFAULT_MAX_ITEM_FINDINGS),
            max_findings: or_default(config.max_findings, DEFAULT_MAX_FINDINGS),
            fingerprints: config.fingerprints.filter(|r| !r.is_empty()),
        })
    }

    /// Every detector this scanner runs, built-in then custom, plus the
    /// extraction problems it reports.
    pub fn detectors(&self) -> Vec<DetectorInfo> {
        let builtin = self.rules.iter().map(|c| DetectorInfo {
            id: c.rule.id.to_owned(),
            message: c.rule.message.to_owned(),
            severity: c.rule.severity,
        });
        let custom = self.custom.iter().map(|c| DetectorInfo {
            id: c.rule.id.clone(),
            message: c.rule.message.clone(),
            severity: c.rule.severity,
        });
        let problems = PROBLEM_KINDS.iter().map(|k| DetectorInfo {
            id: k.detector().to_owned(),
            message: problem_message(*k).to_owned(),
            severity: problem_severity(*k),
        });
        let jewels = self.fingerprints.iter().map(|_| DetectorInfo {
            id: CROWN_JEWEL.to_owned(),
            message: CROWN_JEWEL_MESSAGE.to_owned(),
            severity: CROWN_JEWEL_SEVERITY,
        });
        builtin
            .chain(custom)
            .chain(jewels)
            .chain(problems)
            .collect()
    }

    /// Extracts the text of `bytes` (named `name`) and scans every item as
    /// it is extracted. Every finding is counted; the first of each item and
    /// of the file are kept (see [`ScanConfig::max_item_findings`]).
    pub fn scan(&self, name: &str, bytes: &[u8]) -> Report {
        let mut tally = self.tally(self.max_findings);
        let mut items = 0;
        // The files whose paths the path rules have seen (pages are in their file).
        let mut files: Vec<String> = Vec::new();
        let problems = extract::extract_each(name, bytes, &self.limits, &mut |item| {
            items += 1;
            let file = custom::strip_page(&item.path);
            let named = !self.path_rules.is_empty() && !files.iter().any(|f| f == file);
            if named {
                files.push(file.to_owned());
            }
            self.scan_item(
                &item.path,
                &item.text,
                &mut tally,
                self.max_item_findings,
                &[],
                named,
            );
            self.jewels_into(&item.path, &item.text, &mut tally);
        });
        if !self.path_rules.is_empty() && !files.iter().any(|f| f == name) {
            self.scan_path_into(name, &mut tally);
        }
        self.report(tally, items, &problems)
    }

    /// The findings of the rules on paths alone for a file at `path` (for
    /// callers that stream its text through [`Scanner::scan_piece`], which
    /// leaves them out).
    pub fn scan_path(&self, path: &str) -> Report {
        let mut tally = self.tally(self.max_item_findings);
        self.scan_path_into(path, &mut tally);
        self.report(tally, 0, &[])
    }

    /// Counts and keeps the findings of the path rules on `path`.
    fn scan_path_into(&self, path: &str, tally: &mut Tally) {
        let base = self.rules.len();
        for &i in &self.path_rules {
            let found = match self.custom.get(i).map(|c| &c.matcher) {
                Some(CustomMatcher::Pattern(p, _)) => p.finds_path(path),
                _ => false,
            };
            let Some(count) = tally.counts.get_mut(base + i).filter(|_| found) else {
                continue;
            };
            *count += 1;
            tally.total += 1;
            let Some((id, message, severity)) = self.detector(base + i) else {
                continue;
            };
            let f = Finding {
                detector: id.to_owned(),
                severity,
                confidence: 0.9,
                location: Location {
                    path: path.to_owned(),
                    line: 0,
                    column: 0,
                },
                message: message.to_owned(),
                snippet: String::new(),
            };
            if tally.worst.as_ref().is_none_or(|w| severity > w.severity) {
                tally.worst = Some(f.clone());
            }
            if tally.kept < tally.cap {
                tally.kept += 1;
                tally.findings.push(f);
            }
        }
    }

    /// Scans one text item, found at `path`, and returns every finding (none
    /// is dropped: the caller bounds the text).
    pub fn scan_text(&self, path: &str, text: &str) -> Vec<Finding> {
        let mut tally = self.tally(usize::MAX);
        self.scan_item(path, text, &mut tally, usize::MAX, &[], true);
        tally.findings
    }

    /// Scans one piece of a stream (see [`crate::stream_text`]), found at
    /// `path`: every finding counted, the first
    /// [`ScanConfig::max_item_findings`] kept, and kept as well those whose
    /// value starts in one of the byte ranges `whole` of `text` (a stream's
    /// overlap with the pieces before and after, to count a finding seen in
    /// both once).
    pub fn scan_piece(&self, path: &str, text: &str, whole: &[Range<usize>]) -> Report {
        let mut tally = self.tally(self.max_item_findings);
        self.scan_item(path, text, &mut tally, self.max_item_findings, whole, false);
        self.jewels_into(path, text, &mut tally);
        self.report(tally, 1, &[])
    }

    fn tally(&self, cap: usize) -> Tally {
        Tally {
            counts: vec![0; self.rules.len() + self.custom.len()],
            findings: Vec::new(),
            worst: None,
            total: 0,
            kept: 0,
            cap,
            jewel_count: 0,
            jewels: Vec::new(),
        }
    }

    /// The crown-jewel findings of `text` (the item at `path`): one for each
    /// registered document it overlaps, naming it and the share. A long item
    /// is matched a [`SEGMENT`] at a time (fingerprinting holds some 16
    /// bytes per character of what it reads).
    fn jewels_into(&self, path: &str, text: &str, tally: &mut Tally) {
        let Some(registry) = &self.fingerprints else {
            return;
        };
        let mut start = 0;
        while start < text.len() {
            let end = floor_char(text, start.saturating_add(SEGMENT).min(text.len()));
            let end = if end <= start { text.len() } else { end };
            let piece = text.get(start..end).unwrap_or_default();
            self.jewels_of(registry, path, piece, tally);
            start = end;
        }
    }

    fn jewels_of(&self, registry: &Registry, path: &str, text: &str, tally: &mut Tally) {
        for m in registry.matches(text) {
            tally.jewel_count += 1;
            tally.total += 1;
            let f = Finding {
                detector: CROWN_JEWEL.to_owned(),
                severity: CROWN_JEWEL_SEVERITY,
                confidence: m.share.clamp(0.0, 1.0) as f32,
                location: Location {
                    path: path.to_owned(),
                    line: 0,
                    column: 0,
                },
                message: jewel_message(&m),
                snippet: String::new(),
            };
            if tally.worst.as_ref().is_none_or(|w| f.severity > w.severity) {
                tally.worst = Some(f.clone());
            }
            if tally.kept < tally.cap {
                tally.kept += 1;
                tally.findings.push(f);
            }
            match tally.jewels.iter_mut().find(|j| j.doc_id == m.doc_id) {
                Some(j) if j.share < m.share => *j = m,
                Some(_) => {}
                None => tally.jewels.push(m),
            }
        }
    }

    /// The report of a tally, with the extraction problems.
    fn report(&self, tally: Tally, items: usize, problems: &[extract::Problem]) -> Report {
        let Tally {
            counts: by_index,
            mut findings,
            worst,
            mut total,
            jewel_count,
            mut jewels,
            ..
        } = tally;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        if jewel_count > 0 {
            counts.insert(CROWN_JEWEL.to_owned(), jewel_count);
        }
        jewels.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.doc_id.cmp(&b.doc_id))
        });
        for (i, n) in by_index.into_iter().enumerate() {
            if let (true, Some((id, _, _))) = (n > 0, self.detector(i)) {
                *counts.entry(id.to_owned()).or_default() += n;
            }
        }
        for p in problems {
            *counts.entry(p.kind.detector().to_owned()).or_default() += 1;
            total += 1;
            findings.push(Finding {
                detector: p.kind.detector().to_owned(),
                severity: problem_severity(p.kind),
                confidence: 1.0,
                location: Location {
                    path: p.path.clone(),
                    line: 0,
                    column: 0,
                },
                message: format!("{}: {}", problem_message(p.kind), p.detail),
                snippet: String::new(),
            });
        }
        let truncated = total.saturating_sub(findings.len() as u64);
        Report {
            findings,
            items,
            counts,
            total,
            truncated,
            worst,
            jewels,
        }
    }

    /// Scans one item a segment at a time into `tally`, keeping its first
    /// `item_cap` findings and those whose value starts in `whole`; `named`:
    /// with the findings of the rules on its path alone.
    fn scan_item(
        &self,
        path: &str,
        text: &str,
        tally: &mut Tally,
        item_cap: usize,
        whole: &[Range<usize>],
        named: bool,
    ) {
        if named && !self.path_rules.is_empty() {
            self.scan_path_into(custom::strip_page(path), tally);
        }
        let mut lines = LineCounter::new(text);
        let mut kept = 0;
        for (own, view) in segments(text) {
            let Some(slice) = text.get(view.clone()) else {
                continue;
            };
            let last = own.end == text.len();
            let mut hits: Vec<Hit> = self
                .hits(slice, path)
                .into_iter()
                .map(|h| h.shifted(view.start))
                .filter(|h| h.value.0 >= own.start && (h.value.0 < own.end || last))
                .collect();
            hits.sort_by_key(|h| (h.value.0, h.detector));
            for h in hits {
                let Some(count) = tally.counts.get_mut(h.detector) else {
                    continue;
                };
                *count += 1;
                tally.total += 1;
                let Some((_, _, severity)) = self.detector(h.detector) else {
                    continue;
                };
                let capped = kept < item_cap && tally.kept < tally.cap;
                let placed = whole.iter().any(|r| r.contains(&h.value.0));
                let worse = tally.worst.as_ref().is_none_or(|w| severity > w.severity);
                if !(capped || placed || worse) {
                    continue;
                }
                let Some(f) = self.finding(path, text, &mut lines, &h) else {
                    continue;
                };
                if worse {
                    tally.worst = Some(f.clone());
                }
                if capped {
                    kept += 1;
                    tally.kept += 1;
                }
                if capped || placed {
                    tally.findings.push(f);
                }
            }
        }
    }

    /// The confirmed, non-overlapping matches in `text`, of the item at `path`.
    fn hits(&self, text: &str, path: &str) -> Vec<Hit> {
        let windows = self.triggers(text.as_bytes(), BLOCK);
        let mut hits = self.confirm(text, windows);
        if !self.custom.is_empty() {
            hits.extend(self.custom_hits(text, path));
        }
        resolve_overlaps(hits)
    }

    /// The id, message and severity of detector `i` (built-in, then custom).
    fn detector(&self, i: usize) -> Option<(&str, &str, Severity)> {
        match self.rules.get(i) {
            Some(c) => Some((c.rule.id, c.rule.message, c.rule.severity)),
            None => self
                .custom
                .get(i - self.rules.len())
                .map(|c| (c.rule.id.as_str(), c.rule.message.as_str(), c.rule.severity)),
        }
    }

    /// The windows (rule, start, end) around every trigger, the passes run
    /// `block` bytes at a time.
    fn triggers(&self, bytes: &[u8], block: usize) -> Vec<(usize, usize, usize)> {
        let len = bytes.len();
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut cursor = self.anchors.cursor();
        let mut digits_from = 0;
        let mut start = 0;
        while start < len {
            let end = start.saturating_add(block.max(1)).min(len);
            self.anchors
                .find_in(bytes, start..end, &mut cursor, |found| {
                    for &r in self.anchor_rules.get(found.anchor).into_iter().flatten() {
                        push_window(&mut windows, &self.rules, r, found.start, found.end, len);
                    }
                });
            if !self.digit_rules.is_empty() {
                digits_from = digit_clusters(bytes, digits_from..end, |s, e| {
                    for &r in &self.digit_rules {
                        push_window(&mut windows, &self.rules, r, s, e, len);
                    }
                });
            }
            let at_signs = bytes.get(start..end).unwrap_or_default();
            for at in memchr::memchr_iter(b'@', at_signs).map(|at| start + at) {
                for &r in &self.at_rules {
                    push_window(&mut windows, &self.rules, r, at, at + 1, len);
                }
            }
            start = end;
        }
        windows
    }

    /// Runs each detector's pattern over its merged windows and checks values.
    fn confirm(&self, text: &str, mut windows: Vec<(usize, usize, usize)>) -> Vec<Hit> {
        windows.sort_unstable();
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        let mut i = 0;
        while let Some(&(rule, mut start, mut end)) = windows.get(i) {
            i += 1;
            while let Some(&(r2, s2, e2)) = windows.get(i) {
                if r2 != rule || s2 > end {
                    break;
                }
                end = end.max(e2);
                i += 1;
            }
            start = floor_char(text, start);
            end = ceil_char(text, end);
            let Some(compiled) = self.rules.get(rule) else {
                continue;
            };
            let Some(window) = bytes.get(start..end) else {
                continue;
            };
            for caps in compiled.regex.captures_iter(window) {
                let Some(whole) = caps.get(0) else { continue };
                let value = compiled
                    .groups
                    .iter()
                    .find_map(|&g| caps.get(g))
                    .unwrap_or(whole);
                let (vs, ve) = (start + value.start(), start + value.end());
                let Some(v) = text.get(vs..ve) else { continue };
                if passes(compiled.rule.check, v) && fits(compiled.rule.check, bytes, vs, ve) {
                    hits.push(Hit {
                        detector: rule,
                        start: start + whole.start(),
                        end: start + whole.end(),
                        value: (vs, ve),
                        rank: compiled.rule.rank,
                    });
                }
            }
        }
        hits.sort_by_key(|h| (h.detector, h.value));
        hits.dedup_by_key(|h| (h.detector, h.value));
        hits
    }

    /// Matches of the administrator's rules in `text`, of the item at `path`.
    fn custom_hits(&self, text: &str, path: &str) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let base = self.rules.len();
        let mut hits = Vec::new();
        let mut dictionary: HashMap<usize, Vec<(usize, usize, usize)>> = HashMap::new();
        if let Some((ac, owners)) = &self.terms {
            for m in ac.find_iter(bytes) {
                let word_start = m.start() == 0
                    || !bytes
                        .get(m.start() - 1)
                        .is_some_and(|b| b.is_ascii_alphanumeric());
                let word_end = !bytes.get(m.end()).is_some_and(u8::is_ascii_alphanumeric);
                let Some(&owner) = owners.get(m.pattern().as_usize()) else {
                    continue;
                };
                if !(word_start && word_end) {
                    continue;
                }
                match self.custom.get(owner).map(|c| &c.matcher) {
                    Some(CustomMatcher::Keywords) => {
                        hits.push(Hit {
                            detector: base + owner,
                            start: m.start(),
                            end: m.end(),
                            value: (m.start(), m.end()),
                            rank: 0,
                        });
                    }
                    Some(CustomMatcher::Dictionary(_)) => {
                        dictionary.entry(owner).or_default().push((
                            m.pattern().as_usize(),
                            m.start(),
                            m.end(),
                        ));
                    }
                    _ => {}
                }
            }
        }
        for (owner, found) in dictionary {
            let Some(CustomMatcher::Dictionary(min)) = self.custom.get(owner).map(|c| &c.matcher)
            else {
                continue;
            };
            let mut distinct: Vec<usize> = found.iter().map(|f| f.0).collect();
            distinct.sort_unstable();
            distinct.dedup();
            if let (true, Some(&(_, s, e))) = (distinct.len() >= *min, found.first()) {
                hits.push(Hit {
                    detector: base + owner,
                    start: s,
                    end: e,
                    value: (s, e),
                    rank: 0,
                });
            }
        }
        let keyworded = self.keyworded(bytes);
        for (owner, c) in self.custom.iter().enumerate() {
            match &c.matcher {
                CustomMatcher::Regex(re) => {
                    for m in re.find_iter(bytes) {
                        let (s, e) = (floor_char(text, m.start()), ceil_char(text, m.end()));
                        hits.push(Hit {
                            detector: base + owner,
                            start: s,
                            end: e,
                            value: (s, e),
                            rank: 0,
                        });
                    }
                }
                CustomMatcher::Pattern(p, keywords) => {
                    let on = !keywords || keyworded.get(owner).is_some_and(|&k| k);
                    if !on || p.path_only() || !p.applies_to(path) {
                        continue;
                    }
                    p.matches(text, path, |m| {
                        hits.push(Hit {
                            detector: base + owner,
                            start: floor_char(text, m.whole.start),
                            end: ceil_char(text, m.whole.end),
                            value: (
                                floor_char(text, m.secret.start),
                                ceil_char(text, m.secret.end),
                            ),
                            rank: 0,
                        });
                    });
                }
                CustomMatcher::Keywords | CustomMatcher::Dictionary(_) => {}
            }
        }
        hits
    }

    /// Which custom rules have a keyword in `bytes` (ASCII case-insensitive).
    fn keyworded(&self, bytes: &[u8]) -> Vec<bool> {
        let mut on = Vec::new();
        let Some((ac, owners)) = &self.keywords else {
            return on;
        };
        on.resize(self.custom.len(), false);
        let mut left = owners.clone();
        left.sort_unstable();
        left.dedup();
        let mut left = left.len();
        for m in ac.find_overlapping_iter(bytes) {
            let Some(slot) = owners
                .get(m.pattern().as_usize())
                .and_then(|&o| on.get_mut(o))
            else {
                continue;
            };
            if !*slot {
                *slot = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        on
    }

    /// A hit as a finding: position, message, redacted value. `lines` has
    /// not been asked about a later position.
    fn finding(
        &self,
        path: &str,
        text: &str,
        lines: &mut LineCounter<'_>,
        h: &Hit,
    ) -> Option<Finding> {
        let (line, column) = lines.at(h.value.0);
        let value = text.get(h.value.0..h.value.1).unwrap_or("");
        let (detector, message, severity) = self.detector(h.detector)?;
        let confidence = match self.rules.get(h.detector) {
            Some(c) => confidence(&c.rule, value),
            None => 0.9,
        };
        Some(Finding {
            detector: detector.to_owned(),
            severity,
            confidence,
            location: Location {
                path: path.to_owned(),
                line,
                column,
            },
            message: message.to_owned(),
            snippet: redact(value),
        })
    }
}

impl Hit {
    /// The hit with its offsets moved by `by` (from a segment to its item).
    fn shifted(self, by: usize) -> Hit {
        Hit {
            start: self.start + by,
            end: self.end + by,
            value: (self.value.0 + by, self.value.1 + by),
            ..self
        }
    }
}

/// The segments an item is scanned in: the part each owns (the findings whose
/// value starts there) and the part it reads (with the overlap either side).
/// A crown-jewel finding's message: the document and the overlap.
fn jewel_message(m: &DocMatch) -> String {
    format!(
        "{CROWN_JEWEL_MESSAGE}: `{}` ({:.0} % of this text's fingerprints are the document's, \
         covering {:.0} % of it)",
        m.name,
        m.share * 100.0,
        (m.doc_share * 100.0).min(100.0)
    )
}

fn segments(text: &str) -> Vec<(Range<usize>, Range<usize>)> {
    let len = text.len();
    let mut out = Vec::with_capacity(len / SEGMENT + 1);
    let mut start = 0;
    loop {
        let end = if len - start <= SEGMENT + SEGMENT_OVERLAP {
            len
        } else {
            ceil_char(text, start + SEGMENT)
        };
        let view = floor_char(text, start.saturating_sub(SEGMENT_OVERLAP))
            ..ceil_char(text, end.saturating_add(SEGMENT_OVERLAP).min(len));
        out.push((start..end, view));
        if end >= len {
            return out;
        }
        start = end;
    }
}

/// The confidence of a finding: the rule's, raised for generic findings with
/// a very random value.
fn confidence(rule: &Rule, value: &str) -> f32 {
    // GitHub and npm tokens end in a checksum of their random part: one
    // that holds leaves little doubt (a test value rarely computes it).
    if (rule.id.starts_with("github.") || rule.id == "npm.token") && checks::token_checksum(value) {
        return 0.99;
    }
    if rule.check == Check::Random && rule.rank == 2 {
        let e = checks::shannon(value);
        if e >= 4.5 {
            0.9
        } else if e >= 3.5 {
            0.8
        } else {
            rule.confidence
        }
    } else {
        rule.confidence
    }
}

/// Whether a value at `start..end` of `text` fits its surroundings: a phone,
/// card or social security number is not part of an IBAN; an unquoted
/// password is not a bare word (a variable, a type, a keyword).
fn fits(check: Check, text: &[u8], start: usize, end: usize) -> bool {
    match check {
        Check::Phone | Check::Card | Check::UsSsn => !checks::inside_iban(text, start, end),
        Check::Password => {
            let quoted = start
                .checked_sub(1)
                .and_then(|i| text.get(i))
                .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'));
            quoted || !checks::is_bare_word(text.get(start..end).unwrap_or_default())
        }
        _ => true,
    }
}

/// Whether a value passes its rule's check.
fn passes(check: Check, v: &str) -> bool {
    let placeholder = checks::is_placeholder(v);
    match check {
        Check::None => !placeholder,
        Check::Random => !placeholder && !checks::is_reference(v) && checks::looks_random(v),
        Check::Jwt => !placeholder && checks::jwt(v),
        Check::Card => checks::card(v),
        Check::Iban => checks::iban(v),
        Check::UsSsn => checks::us_ssn(v),
        Check::UkNino => checks::uk_nino(v),
        Check::FrNir => checks::fr_nir(v),
        Check::DeSteuerId => checks::de_steuer_id(v),
        Check::EsDni => checks::es_dni(v),
        Check::Email => checks::email(v),
        Check::Phone => checks::phone(v),
        Check::Marking => true,
        Check::Password => !placeholder && checks::password(v),
        Check::PemBody => checks::pem_body(v),
        Check::Base64Jwt => !placeholder && checks::base64_jwt(v),
        Check::Hex => !placeholder && checks::mixed_hex(v),
        Check::BasicAuth => checks::basic_auth(v),
    }
}

/// Keeps, of overlapping hits, the one of lowest rank (earlier detectors win ties).
fn resolve_overlaps(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(|h| (h.rank, h.detector, h.start));
    let mut kept: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let overlaps = kept
            .range(..h.end)
            .next_back()
            .is_some_and(|(_, &(end, detector))| end > h.start && detector != h.detector)
            || kept
                .range(h.start..h.end)
                .next()
                .is_some_and(|(_, &(_, detector))| detector != h.detector);
        if !overlaps {
            kept.insert(h.start, (h.end, h.detector));
            out.push(h);
        }
    }
    out
}

/// Drops every anchor that contains a shorter anchor, handing its rules to
/// the shortest anchor it contains.
fn minimise(patterns: Vec<String>, mut rules: Vec<Vec<usize>>) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut keep = vec![true; patterns.len()];
    for (i, p) in patterns.iter().enumerate() {
        let inner = patterns
            .iter()
            .enumerate()
            .filter(|(j, q)| *j != i && q.len() < p.len() && p.contains(q.as_str()))
            .min_by_key(|(_, q)| q.len())
            .map(|(j, _)| j);
        if let Some(j) = inner {
            let moved = rules.get(i).cloned().unwrap_or_default();
            if let Some(target) = rules.get_mut(j) {
                target.extend(moved);
                target.sort_unstable();
                target.dedup();
            }
            if let Some(k) = keep.get_mut(i) {
                *k = false;
            }
        }
    }
    let mut out = (Vec::new(), Vec::new());
    for ((p, r), k) in patterns.into_iter().zip(rules).zip(keep) {
        if k {
            out.0.push(p);
            out.1.push(r);
        }
    }
    out
}

/// Records the window a rule must examine around a trigger at `s..e`.
fn push_window(
    windows: &mut Vec<(usize, usize, usize)>,
    rules: &[Compiled],
    rule: usize,
    s: usize,
    e: usize,
    len: usize,
) {
    if let Some(c) = rules.get(rule) {
        let (back, ahead) = c.rule.reach;
        windows.push((rule, s.saturating_sub(back), (e + ahead).min(len)));
    }
}

/// Calls `found(start, end)` for every cluster of at least
/// [`MIN_CLUSTER_DIGITS`] digits joined by single separators (` -./()`),
/// unless glued to an identifier (`index_123456`), that starts in `range`
/// (a cluster may run past its end). Returns where the next range starts:
/// ranges that follow one another from the returned position find what one
/// call over the whole text finds.
fn digit_clusters(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    mut found: impl FnMut(usize, usize),
) -> usize {
    let is_digit = |b: u8| b.wrapping_sub(b'0') < 10;
    let is_sep = |b: u8| matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')');
    let mut i = range.start;
    let n = range.end.min(bytes.len());
    while i < n {
        // Skip runs without digits quickly (the test of a run vectorises),
        // then go to the run's first digit.
        while let Some(run) = bytes.get(i..i + DIGIT_RUN).filter(|_| i + DIGIT_RUN <= n) {
            if run.iter().fold(0u8, |acc, &b| acc | u8::from(is_digit(b))) != 0 {
                i += run.iter().position(|&b| is_digit(b)).unwrap_or(0);
                break;
            }
            i += DIGIT_RUN;
        }
        let Some(&b) = bytes.get(i) else { break };
        if !is_digit(b) {
            i += 1;
            continue;
        }
        let glued = i > 0
            && bytes
                .get(i - 1)
                .is_some_and(|&p| p == b'_' || p.is_ascii_lowercase());
        let start = i;
        let mut digits = 0;
        let mut end = i;
        while let Some(&c) = bytes.get(i) {
            if is_digit(c) {
                digits += 1;
                i += 1;
                end = i;
            } else if is_sep(c)
                && bytes.get(i + 1).is_some_and(|&d| {
                    is_digit(d)
                        || (is_sep(d) && d != c && bytes.get(i + 2).is_some_and(|&x| is_digit(x)))
                })
            {
                i += 1;
            } else {
                break;
            }
        }
        if digits >= MIN_CLUSTER_DIGITS && !glued {
            found(start, end);
        }
        i = i.max(end + 1);
    }
    i.max(range.start)
}

/// Converts byte offsets, in increasing order, to 1-based lines and columns.
struct LineCounter<'t> {
    text: &'t str,
    pos: usize,
    line: u32,
    line_start: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn at(&mut self, offset: usize) -> (u32, u32) {
        let bytes = self.text.as_bytes();
        if offset >= self.pos {
            if let Some(chunk) = bytes.get(self.pos..offset) {
                // Counting is vectorised; stopping at each newline is not.
                let newlines = memchr::memchr_iter(b'\n', chunk).count();
                self.line = self
                    .line
                    .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
                if let Some(last) = memchr::memrchr(b'\n', chunk) {
                    self.line_start = self.pos + last + 1;
                }
            }
            self.pos = offset;
        }
        let column = self
            .text
            .get(self.line_start..offset)
            .map_or(0, |s| s.chars().count());
        (self.line, u32::try_from(column + 1).unwrap_or(u32::MAX))
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}

/// Expands an anchor: `~word` into its lower, UPPER and Title forms.
fn variants(anchor: &str) -> Vec<String> {
    match anchor.strip_prefix('~') {
        None => vec![anchor.to_owned()],
        Some(word) => {
            let lower = word.to_ascii_lowercase();
            let upper = word.to_ascii_uppercase();
            let mut title = lower.clone();
            if let Some(first) = title.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            let mut v = vec![lower, upper, title];
            v.dedup();
            v
        }
    }
}

/// Whether `id` is taken by a built-in detector or an extraction problem.
pub(crate) fn is_reserved(id: &str) -> bool {
    RULES.iter().any(|r| r.id == id) || PROBLEM_KINDS.iter().any(|k| k.detector() == id)
}

/// The custom rules compiled, the automaton of their keyword and dictionary
/// terms, and that of the pattern rules' keywords.
type CompiledCustom = (Vec<Custom>, Option<Terms>, Option<Terms>);

fn compile_custom(config: &ScanConfig) -> Result<CompiledCustom, DlpError> {
    let limit = if config.regex_size_limit == 0 {
        DEFAULT_REGEX_SIZE_LIMIT
    } else {
        config.regex_size_limit
    };
    let mut seen: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    seen.extend(PROBLEM_KINDS.iter().map(|k| k.detector()));
    let mut custom = Vec::new();
    let (mut terms, mut owners) = (Vec::new(), Vec::new());
    let (mut keywords, mut keyword_owners) = (Vec::new(), Vec::new());
    for (i, rule) in config.custom.iter().enumerate() {
        custom::check_id(&rule.id)?;
        if seen.contains(&rule.id.as_str()) {
            return Err(DlpError::DuplicateRule(rule.id.clone()));
        }
        seen.push(&rule.id);
        let matcher = match &rule.kind {
            CustomKind::Keywords(list) => {
                for t in custom::terms(&rule.id, list)? {
                    terms.push(t);
                    owners.push(i);
                }
                CustomMatcher::Keywords
            }
            CustomKind::Dictionary {
                terms: list,
                min_distinct,
            } => {
                for t in custom::terms(&rule.id, list)? {
                    terms.push(t);
                    owners.push(i);
                }
                CustomMatcher::Dictionary((*min_distinct).max(1))
            }
            CustomKind::Regex(p) => CustomMatcher::Regex(custom::compile(&rule.id, p, limit)?),
            CustomKind::Pattern(p) => {
                let compiled = pattern::compile(&rule.id, p, limit)?;
                let before = keywords.len();
                for k in p
                    .keywords
                    .iter()
                    .map(|k| k.trim())
                    .filter(|k| !k.is_empty())
                {
                    keywords.push(k.to_owned());
                    keyword_owners.push(i);
                }
                CustomMatcher::Pattern(Box::new(compiled), keywords.len() > before)
            }
        };
        custom.push(Custom {
            rule: rule.clone(),
            matcher,
        });
    }
    let terms = automaton(terms, owners, MatchKind::LeftmostLongest)?;
    let keywords = automaton(keywords, keyword_owners, MatchKind::Standard)?;
    Ok((custom, terms, keywords))
}

/// An ASCII case-insensitive automaton of `terms`, none when there are none.
fn automaton(
    terms: Vec<String>,
    owners: Vec<usize>,
    kind: MatchKind,
) -> Result<Option<Terms>, DlpError> {
    if terms.is_empty() {
        return Ok(None);
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(kind)
        .build(&terms)
        .map_err(|e| DlpError::BadRegex {
            rule: "keywords".to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Some((ac, owners)))
}

const PROBLEM_KINDS: [extract::ProblemKind; 7] = [
    extract::ProblemKind::Bomb,
    extract::ProblemKind::Depth,
    extract::ProblemKind::Entries,
    extract::ProblemKind::TotalBytes,
    extract::ProblemKind::ItemBytes,
    extract::ProblemKind::Encrypted,
    extract::ProblemKind::Corrupt,
];

fn problem_severity(kind: extract::ProblemKind) -> Severity {
    match kind {
        extract::ProblemKind::Bomb => Severity::High,
        extract::ProblemKind::Depth
        | extract::ProblemKind::Entries
        | extract::ProblemKind::TotalBytes
        | extract::ProblemKind::ItemBytes
        | extract::ProblemKind::Encrypted => Severity::Medium,
        extract::ProblemKind::Corrupt => Severity::Low,
    }
}

fn problem_message(kind: extract::ProblemKind) -> &'static str {
    match kind {
        extract::ProblemKind::Bomb => "compression bomb not expanded",
        extract::ProblemKind::Depth => "nesting too deep, not expanded",
        extract::ProblemKind::Entries => "too many entries, the rest not scanned",
        extract::ProblemKind::TotalBytes => "too much extracted content, the rest not scanned",
        extract::ProblemKind::ItemBytes => "a member too large to inspect, not scanned",
        extract::ProblemKind::Encrypted => "encrypted content cannot be inspected",
        extract::ProblemKind::Corrupt => "malformed content, partly or not scanned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_clusters_need_six_digits() {
        let check = |text: &str, expected: &[&str]| {
            let mut got = Vec::new();
            digit_clusters(text.as_bytes(), 0..text.len(), |s, e| {
                got.push(text.get(s..e).unwrap_or("").to_owned())
            });
            assert_eq!(got, expected, "{text}");
        };
        check("in 2024 we had 12345 items", &[]);
        check("card 4111 1111 1111 1111 ok", &["4111 1111 1111 1111"]);
        check("call (212) 555-0100 now", &["212) 555-0100"]);
        check("ssn 536-22-1234.", &["536-22-1234"]);
        check(&format!("{} 123456", "x".repeat(70)), &["123456"]);
        check("fn index_123456() and abc123456", &[]);
        check("AB123456C", &["123456"]);
    }

    #[test]
    fn digit_clusters_do_not_depend_on_the_ranges() {
        let check = |text: &str| {
            let bytes = text.as_bytes();
            let mut whole = Vec::new();
            digit_clusters(bytes, 0..bytes.len(), |s, e| whole.push((s, e)));
            for step in [1, 2, 3, 5, 63, 64, 65] {
                let (mut got, mut from, mut start) = (Vec::new(), 0, 0);
                while start < bytes.len() {
                    let end = (start + step).min(bytes.len());
                    from = digit_clusters(bytes, from..end, |s, e| got.push((s, e)));
                    start = end;
                }
                assert_eq!(got, whole, "{text:?} in steps of {step}");
            }
            whole.len()
        };
        assert_eq!(check("card 4111 1111 1111 1111 ok, 536-22-1234."), 2);
        assert_eq!(
            check(&format!("{}4111-1111-1111-1111 x", " ".repeat(61))),
            1
        );
        assert_eq!(check("été 123 456 789 – 12.34.56.78 ü"), 2);
        assert_eq!(check("fn index_123456() 12345"), 0);
    }

    #[test]
    fn triggers_do_not_depend_on_the_block_size() {
        let scanner = Scanner::new(ScanConfig::default()).unwrap();
        let check = |text: &str, rules: &[&str]| {
            let bytes = text.as_bytes();
            let mut whole = scanner.triggers(bytes, usize::MAX);
            whole.sort_unstable();
            for block in [1, 2, 7, 64, 4096] {
                let mut got = scanner.triggers(bytes, block);
                got.sort_unstable();
                assert_eq!(got, whole, "{text:?} in blocks of {block}");
            }
            let mut triggered: Vec<&str> = whole
                .iter()
                .filter_map(|w| scanner.rules.get(w.0).map(|c| c.rule.id))
                .collect();
            triggered.sort_unstable();
            triggered.dedup();
            for r in rules {
                assert!(
                    triggered.contains(r),
                    "{r} not triggered by {text:?}: {triggered:?}"
                );
            }
        };
        check(
            "token=abc ghp_x 4111 1111 1111 1111 mail a@b.example",
            &[
                "generic.secret_assignment",
                "github.classic_pat",
                "pii.card_number",
                "pii.email",
            ],
        );
        // Overlapping anchors (`sk-` and `-us`), non-ASCII text around them.
        check(
            "clé: sk-us été — ünïcode@ö",
            &["openai.api_key", "mailchimp.api_key", "pii.email"],
        );
        check(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END",
            &["pem.rsa_private_key"],
        );
        check("", &[]);
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "aé\nbcd\n\nxyz";
        let mut lc = LineCounter::new(text);
        let check = |lc: &mut LineCounter<'_>, offset: usize, expected: (u32, u32)| {
            assert_eq!(lc.at(offset), expected, "{offset}")
        };
        check(&mut lc, 0, (1, 1));
        check(&mut lc, 3, (1, 3));
        check(&mut lc, 5, (2, 2));
        check(&mut lc, 9, (4, 1));
    }

    #[test]
    fn anchors_containing_shorter_ones_are_merged_into_them() {
        let patterns = ["passw", "password=", "://", "postgres://", "xox"]
            .map(String::from)
            .to_vec();
        let rules = vec![vec![1], vec![2], vec![3], vec![4], vec![5]];
        let (p, r) = minimise(patterns, rules);
        assert_eq!(p, ["passw", "://", "xox"]);
        assert_eq!(r, [vec![1, 2], vec![3, 4], vec![5]]);
    }

    /// Two-byte anchors (`SK`, `Q~`) once made the plan's passes too large
    /// for Teddy, and the automaton that replaced it scanned ten times
    /// slower: every anchor has three bytes or more, and every pass of the
    /// built-in ruleset is vectorised where the CPU has SSSE3.
    #[test]
    fn regression_two_byte_anchors_slowed_the_anchor_search() {
        for rule in RULES {
            if let Trigger::Anchors(list) = rule.trigger {
                for a in list.iter().flat_map(|a| variants(a)) {
                    assert!(a.len() >= 3, "{}: anchor {a:?}", rule.id);
                }
            }
        }
        let scanner = Scanner::new(ScanConfig::default()).unwrap();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            assert!(scanner.anchors.all_packed());
        }
    }

    #[test]
    fn anchors_expand_case_variants() {
        assert_eq!(variants("~token"), ["token", "TOKEN", "Token"]);
        assert_eq!(variants("AKIA"), ["AKIA"]);
    }
}
