//! The search for the detectors' literal anchors. The anchors are shared out
//! among a few passes of a vectorised (Teddy) searcher, and how they are
//! shared out decides the speed: Teddy looks at the first bytes of every
//! pattern through bit masks of their low and high nybbles, one mask per
//! bucket of patterns, so a bucket of unlike patterns lets through many
//! positions that match none of them, each costing a verification. The plan
//! shares buckets among patterns whose masks stay narrow together (the case
//! variants of a word share one anyway), keeps apart patterns whose first
//! bytes are common in prose, and picks the number of passes that a model
//! of prose byte frequencies says is cheapest: on the benchmark corpus the
//! passes went from 2 to 19 GB/s each, depending on the grouping, before
//! the plan. The plan follows how aho-corasick 1.1 assigns buckets; should
//! that change, only the speed would.
//!
//! Anchors ending in a separator (`ghp_`, `glpat-`, `oauth:`, `://`) are not given
//! to the passes: a `memchr` search finds the separators, and the bytes
//! before each are looked up among those anchors' last three bytes. The
//! token formats brought some 130 of them; as Teddy patterns they took a
//! pass per 32 and the scan slowed threefold.
//!
//! Every occurrence of every anchor is reported, overlapping ones included,
//! and the search runs block by block (the caller's blocks) with the same
//! result as one search of the whole text.

use std::ops::Range;

use aho_corasick::packed::{self, MatchKind as PackedKind};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

/// The buckets of the (slim) Teddy searcher.
const BUCKETS: usize = 8;

/// The most patterns in one bucket: keeps a pass at 32 patterns or fewer,
/// where Teddy stays slim.
const BUCKET_DEPTH: usize = 4;

/// How many bytes of a pattern Teddy's masks look at, at most.
const MASK_BYTES: usize = 4;

/// The bytes of a pattern that decide its bucket: Teddy puts patterns with
/// the same low nybbles there in one bucket whatever we do.
const KEY_BYTES: usize = 3;

/// The modelled cost of a candidate position (its verification), in units
/// of one pass over one byte: a pass of Teddy with no candidates ran at
/// about 20 GB/s on the benchmark machine, and a candidate costs some 10 ns.
/// 50 to 5000 gave plans within 6 % of each other there.
const CANDIDATE_COST: f64 = 200.0;

/// Percent frequency of the letters a–z in English text.
const LETTERS: [f64; 26] = [
    8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4, 6.7, 7.5, 1.9, 0.095, 6.0,
    6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074,
];

/// A found anchor: which one, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// The index of the anchor in the list given to [`Anchors::new`].
    pub anchor: usize,
    pub start: usize,
    pub end: usize,
}

/// What runs one pass.
enum Finder {
    /// Teddy, where the CPU has it.
    Packed(packed::Searcher),
    /// An automaton otherwise.
    Automaton(AhoCorasick),
}

impl Finder {
    fn build(patterns: &[&[u8]]) -> Result<Self, aho_corasick::BuildError> {
        let teddy = packed::Config::new()
            .match_kind(PackedKind::LeftmostLongest)
            .builder()
            .extend(patterns)
            .build();
        match teddy {
            Some(s) => Ok(Finder::Packed(s)),
            None => AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns)
                .map(Finder::Automaton),
        }
    }

    /// The leftmost match in `bytes[span]`: (pattern, start, end).
    fn find_in(&self, bytes: &[u8], span: Range<usize>) -> Option<(usize, usize, usize)> {
        match self {
            Finder::Packed(s) => s
                .find_in(bytes, aho_corasick::Span::from(span))
                .map(|m| (m.pattern().as_usize(), m.start(), m.end())),
            Finder::Automaton(ac) => ac
                .find(Input::new(bytes).span(span))
                .map(|m| (m.pattern().as_usize(), m.start(), m.end())),
        }
    }
}

/// One pass: a searcher over some anchors.
struct Pass {
    finder: Finder,
    /// The anchor (index in the caller's list) of each pattern of the pass.
    anchors: Vec<usize>,
    /// The longest pattern's length.
    longest: usize,
}

/// The anchors, shared out among passes.
pub(crate) struct Anchors {
    passes: Vec<Pass>,
    tails: Tails,
}

/// The separators that end a token prefix (`ghp_`, `glpat-`, `oauth:`,
/// `8Q~`, `pass=`, `://`): anchors ending in one are found from the
/// separator, which is rare enough in text that a look at the bytes before
/// it costs less than a vectorised pass per 32 anchors. Not `.`: prose has
/// one every hundred bytes or so, and stopping at each cost a fifth of the
/// scan; anchors ending in `.` (`hvs.`, `SG.`) stay with the passes.
const SEPARATORS: [u8; 6] = [b'_', b'-', b':', b'~', b'=', b'/'];

/// Anchors ending in a separator, by their last three bytes.
struct Tails {
    /// (last three bytes, anchor index), sorted.
    keys: Vec<(u32, usize)>,
    /// The anchors' bytes, by index in the caller's list.
    bytes: Vec<Vec<u8>>,
    /// The separators that end at least one anchor.
    seps: Vec<u8>,
    /// A bit per pair of bytes that comes before a separator in some anchor:
    /// most separators in text (`ed.`, `a-b`) are passed over on one look.
    pairs: Vec<u64>,
}

impl Tails {
    fn key(b: &[u8]) -> Option<u32> {
        match b {
            [x, y, z] => Some(u32::from(*x) << 16 | u32::from(*y) << 8 | u32::from(*z)),
            _ => None,
        }
    }

    /// Reports every anchor whose separator (last byte) is in `block`.
    fn find_in(&self, bytes: &[u8], block: Range<usize>, found: &mut impl FnMut(Found)) {
        if self.keys.is_empty() {
            return;
        }
        let Some(hay) = bytes.get(block.clone()) else {
            return;
        };
        for chunk in self.seps.chunks(3) {
            let (a, b, c) = match chunk {
                [a] => (*a, *a, *a),
                [a, b] => (*a, *b, *b),
                [a, b, c, ..] => (*a, *b, *c),
                [] => continue,
            };
            for i in memchr::memchr3_iter(a, b, c, hay) {
                let end = block.start + i + 1;
                let Some(key) = end
                    .checked_sub(3)
                    .and_then(|s| bytes.get(s..end))
                    .and_then(Self::key)
                else {
                    continue;
                };
                let pair = (key >> 8) as usize;
                if self
                    .pairs
                    .get(pair / 64)
                    .is_none_or(|w| w & (1 << (pair % 64)) == 0)
                {
                    continue;
                }
                let from = self.keys.partition_point(|&(k, _)| k < key);
                for &(k, anchor) in self.keys.get(from..).unwrap_or_default() {
                    if k != key {
                        break;
                    }
                    let Some(want) = self.bytes.get(anchor) else {
                        continue;
                    };
                    if let Some(start) = end.checked_sub(want.len())
                        && bytes.get(start..end) == Some(want.as_slice())
                    {
                        found(Found { anchor, start, end });
                    }
                }
            }
        }
    }
}

/// Where each pass of a block-by-block search has got to.
#[derive(Debug, Clone)]
pub(crate) struct Cursor(Vec<usize>);

impl Anchors {
    /// Plans and builds the passes for `anchors`: none empty, none the
    /// start of another (the longer one would hide it).
    pub(crate) fn new(anchors: &[String]) -> Result<Self, aho_corasick::BuildError> {
        let bytes: Vec<&[u8]> = anchors.iter().map(|a| a.as_bytes()).collect();
        let is_tail = |b: &[u8]| b.len() >= 3 && b.last().is_some_and(|l| SEPARATORS.contains(l));
        let mut tails = Tails {
            keys: Vec::new(),
            bytes: bytes.iter().map(|b| b.to_vec()).collect(),
            seps: Vec::new(),
            pairs: vec![0; 1 << 10],
        };
        // The anchors the passes search, by index in the caller's list.
        let mut packed: Vec<usize> = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            let key = b.get(b.len().saturating_sub(3)..).and_then(Tails::key);
            match (is_tail(b), key, b.last()) {
                (true, Some(key), Some(&sep)) => {
                    tails.keys.push((key, i));
                    let pair = (key >> 8) as usize;
                    if let Some(w) = tails.pairs.get_mut(pair / 64) {
                        *w |= 1 << (pair % 64);
                    }
                    if !tails.seps.contains(&sep) {
                        tails.seps.push(sep);
                    }
                }
                _ => packed.push(i),
            }
        }
        tails.keys.sort_unstable();
        let subset: Vec<&[u8]> = packed
            .iter()
            .filter_map(|&i| bytes.get(i).copied())
            .collect();
        let mut passes = Vec::new();
        for group in plan(&subset) {
            let group: Vec<usize> = group
                .iter()
                .filter_map(|&i| packed.get(i).copied())
                .collect();
            let patterns: Vec<&[u8]> = group
                .iter()
                .filter_map(|&i| bytes.get(i).copied())
                .collect();
            passes.push(Pass {
                finder: Finder::build(&patterns)?,
                longest: patterns.iter().map(|p| p.len()).max().unwrap_or(0),
                anchors: group,
            });
        }
        Ok(Self { passes, tails })
    }

    /// Whether every pass runs the vectorised searcher (none fell back to
    /// the automaton, several times slower: a pass of more than 64
    /// patterns, or of patterns too short for Teddy's masks).
    #[cfg(test)]
    pub(crate) fn all_packed(&self) -> bool {
        self.passes
            .iter()
            .all(|p| matches!(p.finder, Finder::Packed(_)))
    }

    /// A cursor for a search from the start of a text.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor(vec![0; self.passes.len()])
    }

    /// Reports every anchor that starts in `block` of `bytes` (or, for an
    /// anchor ending in a separator, ends in it), each occurrence once, in
    /// no particular order. Blocks must follow one another from the start of
    /// the text with the same cursor; a match may run past the block's end.
    pub(crate) fn find_in(
        &self,
        bytes: &[u8],
        block: Range<usize>,
        cursor: &mut Cursor,
        mut found: impl FnMut(Found),
    ) {
        for (pass, at) in self.passes.iter().zip(cursor.0.iter_mut()) {
            // Every match starting before the block's end ends before `stop`.
            let stop = (block.end + pass.longest.saturating_sub(1)).min(bytes.len());
            let mut from = (*at).max(block.start);
            while from < block.end {
                let Some((p, start, end)) = pass.finder.find_in(bytes, from..stop) else {
                    break;
                };
                if start >= block.end {
                    break;
                }
                if let Some(&anchor) = pass.anchors.get(p) {
                    found(Found { anchor, start, end });
                }
                // No anchor starts another, so one starting later may overlap
                // this one: look again from the next byte.
                from = start + 1;
            }
            *at = from.max(block.end);
        }
        self.tails.find_in(bytes, block, &mut found);
    }
}

/// The modelled share of prose bytes equal to `b`.
fn weight(b: u8) -> f64 {
    let letter = |c: u8| {
        LETTERS
            .get(usize::from(c.to_ascii_lowercase().wrapping_sub(b'a')))
            .copied()
            .unwrap_or(0.0)
            / 100.0
    };
    match b {
        b' ' => 0.15,
        b'a'..=b'z' => 0.72 * letter(b),
        b'A'..=b'Z' => 0.03 * letter(b),
        b'0'..=b'9' => 0.002,
        b'\n' | b',' | b'.' => 0.01,
        0x21..=0x7e => 0.001,
        _ => 0.0002,
    }
}

/// The modelled share of bytes whose low nybble is in the set `lo` and high
/// nybble in `hi` (bit sets).
fn mass(weights: &[f64; 256], lo: u16, hi: u16) -> f64 {
    let mut sum = 0.0;
    for h in bits(hi) {
        for l in bits(lo) {
            sum += weights.get(h << 4 | l).copied().unwrap_or(0.0);
        }
    }
    sum
}

/// The members of a bit set.
fn bits(mut set: u16) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (set != 0).then(|| {
            let b = set.trailing_zeros();
            set &= set - 1;
            b as usize
        })
    })
}

/// A bucket's masks: for each of the first bytes, the set of low and of
/// high nybbles of its patterns' bytes there.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Masks {
    lo: [u16; MASK_BYTES],
    hi: [u16; MASK_BYTES],
}

impl Masks {
    fn add(&mut self, pattern: &[u8]) {
        for ((lo, hi), &b) in self.lo.iter_mut().zip(&mut self.hi).zip(pattern) {
            *lo |= 1 << (b & 15);
            *hi |= 1 << (b >> 4);
        }
    }

    fn union(mut self, other: &Masks) -> Masks {
        for (a, b) in self.lo.iter_mut().zip(other.lo) {
            *a |= b;
        }
        for (a, b) in self.hi.iter_mut().zip(other.hi) {
            *a |= b;
        }
        self
    }

    /// The modelled share of positions the bucket lets through, looking at
    /// `len` bytes.
    fn pass_rate(&self, weights: &[f64; 256], len: usize) -> f64 {
        self.lo
            .iter()
            .zip(&self.hi)
            .take(len)
            .map(|(&lo, &hi)| mass(weights, lo, hi))
            .product()
    }
}

/// Patterns that Teddy keeps in one bucket anyway: the same low nybbles.
struct Unit {
    patterns: Vec<usize>,
    masks: Masks,
    shortest: usize,
}

/// A pass being planned: its buckets of units (indices into the units).
#[derive(Debug, Clone)]
struct Draft {
    buckets: [Vec<usize>; BUCKETS],
    masks: [Masks; BUCKETS],
    /// Patterns in each bucket.
    depth: [usize; BUCKETS],
    /// The shortest pattern so far (Teddy's masks look at no more bytes).
    shortest: usize,
}

impl Draft {
    fn new() -> Self {
        Self {
            buckets: Default::default(),
            masks: [Masks::default(); BUCKETS],
            depth: [0; BUCKETS],
            shortest: usize::MAX,
        }
    }

    /// The modelled cost of the pass, with `extra` added to bucket `at`.
    fn cost(&self, weights: &[f64; 256], extra: Option<(&Unit, usize)>) -> f64 {
        let shortest = extra.map_or(self.shortest, |(u, _)| self.shortest.min(u.shortest));
        let len = shortest.min(MASK_BYTES);
        let mut rate = 0.0;
        for (b, (masks, depth)) in self.masks.iter().zip(self.depth).enumerate() {
            let masks = match extra {
                Some((u, at)) if at == b => masks.union(&u.masks),
                _ if depth == 0 => continue,
                _ => *masks,
            };
            rate += masks.pass_rate(weights, len);
        }
        1.0 + CANDIDATE_COST * rate
    }

    fn add(&mut self, unit: &Unit, index: usize, bucket: usize) {
        if let (Some(b), Some(m), Some(d)) = (
            self.buckets.get_mut(bucket),
            self.masks.get_mut(bucket),
            self.depth.get_mut(bucket),
        ) {
            b.push(index);
            *m = m.union(&unit.masks);
            *d += unit.patterns.len();
        }
        self.shortest = self.shortest.min(unit.shortest);
    }
}

/// Shares `patterns` out among passes: each pass is a list of pattern
/// indices in the order to give the searcher, so that Teddy's buckets are
/// the planned ones (a pattern whose index is `i` in its pass goes to bucket
/// `7 - i % 8` unless its low nybbles put it with an earlier one). Gaps in
/// that layout are filled with repeats of a pattern of the pass.
fn plan(patterns: &[&[u8]]) -> Vec<Vec<usize>> {
    let mut weights = [0.0; 256];
    for (b, w) in (0u8..=255).zip(weights.iter_mut()) {
        *w = weight(b);
    }
    let units = units(patterns);
    // The hardest units (the most candidates alone) are placed first.
    let alone: Vec<f64> = units
        .iter()
        .map(|u| u.masks.pass_rate(&weights, u.shortest.min(MASK_BYTES)))
        .collect();
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        let rate = |i: usize| alone.get(i).copied().unwrap_or(0.0);
        rate(b).total_cmp(&rate(a)).then(a.cmp(&b))
    });
    let fewest = patterns.len().div_ceil(BUCKETS * BUCKET_DEPTH).max(1);
    let most = patterns.len().div_ceil(BUCKETS).max(fewest);
    let mut best: Option<(f64, Vec<Draft>)> = None;
    for count in fewest..=most {
        let Some(drafts) = place(&units, &order, count, &weights) else {
            continue;
        };
        let cost: f64 = drafts.iter().map(|d| d.cost(&weights, None)).sum();
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, drafts));
        }
    }
    match best {
        Some((_, drafts)) => drafts
            .iter()
            .map(|d| layout(d, &units))
            .filter(|p| !p.is_empty())
            .collect(),
        None if patterns.is_empty() => Vec::new(),
        None => vec![(0..patterns.len()).collect()],
    }
}

/// Groups patterns by the low nybbles of their first bytes.
fn units(patterns: &[&[u8]]) -> Vec<Unit> {
    let key_len = patterns
        .iter()
        .map(|p| p.len())
        .min()
        .unwrap_or(0)
        .min(KEY_BYTES);
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        let key: Vec<u8> = p.iter().take(key_len).map(|b| b & 15).collect();
        let slot = match keys.iter().position(|k| *k == key) {
            Some(s) => s,
            None => {
                keys.push(key);
                units.push(Unit {
                    patterns: Vec::new(),
                    masks: Masks::default(),
                    shortest: usize::MAX,
                });
                units.len() - 1
            }
        };
        if let Some(u) = units.get_mut(slot) {
            u.patterns.push(i);
            u.masks.add(p);
            u.shortest = u.shortest.min(p.len());
        }
    }
    units
}

/// Places the units, in `order`, each where it adds the least modelled cost
/// among `count` passes. `None` when they do not fit.
fn place(
    units: &[Unit],
    order: &[usize],
    count: usize,
    weights: &[f64; 256],
) -> Option<Vec<Draft>> {
    let mut drafts = vec![Draft::new(); count];
    let mut costs: Vec<f64> = drafts.iter().map(|d| d.cost(weights, None)).collect();
    for &u in order {
        let unit = units.get(u)?;
        let mut choice: Option<(f64, usize, usize)> = None;
        for (d, (draft, &now)) in drafts.iter().zip(&costs).enumerate() {
            for (bucket, &depth) in draft.depth.iter().enumerate() {
                // A unit deeper than a bucket still takes an empty one.
                if depth > 0 && depth + unit.patterns.len() > BUCKET_DEPTH {
                    continue;
                }
                let added = draft.cost(weights, Some((unit, bucket))) - now;
                if choice.is_none_or(|(c, ..)| added < c) {
                    choice = Some((added, d, bucket));
                }
                if depth == 0 {
                    // Buckets fill in order: the rest are empty too, alike.
                    break;
                }
            }
        }
        let (_, d, bucket) = choice?;
        if let (Some(draft), Some(c)) = (drafts.get_mut(d), costs.get_mut(d)) {
            draft.add(unit, u, bucket);
            *c = draft.cost(weights, None);
        }
    }
    Some(drafts)
}

/// The pattern order that makes Teddy's buckets the draft's: bucket `b`
/// takes the indices `8r + 7 - b`. Patterns with the same low nybbles share
/// a unit and so a column, whatever order Teddy visits them in; gaps are
/// filled with a repeat of a pattern of the pass (it joins that pattern's
/// bucket, or takes its unit to the empty bucket of the gap, and reports the
/// same anchor).
fn layout(draft: &Draft, units: &[Unit]) -> Vec<usize> {
    let columns: Vec<Vec<usize>> = draft
        .buckets
        .iter()
        .map(|b| {
            b.iter()
                .filter_map(|&u| units.get(u))
                .flat_map(|u| u.patterns.iter().copied())
                .collect()
        })
        .collect();
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let mut slots: Vec<Option<usize>> = Vec::with_capacity(rows * BUCKETS);
    for r in 0..rows {
        for slot in 0..BUCKETS {
            let bucket = BUCKETS - 1 - slot;
            slots.push(columns.get(bucket).and_then(|c| c.get(r)).copied());
        }
    }
    while slots.last().is_some_and(Option::is_none) {
        slots.pop();
    }
    let Some(filler) = slots.iter().flatten().next().copied() else {
        return Vec::new();
    };
    slots.into_iter().map(|s| s.unwrap_or(filler)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (anchor, start) in `text`, found naively.
    fn naive(anchors: &[&str], text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for start in 0..text.len() {
            for (i, a) in anchors.iter().enumerate() {
                if text
                    .as_bytes()
                    .get(start..)
                    .is_some_and(|t| t.starts_with(a.as_bytes()))
                {
                    out.push((i, start));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The search, block by block, finds what the naive search finds, for
    /// blocks of every size from 1 byte to the whole text.
    fn check(anchors: &[&str], text: &str) {
        let owned: Vec<String> = anchors.iter().map(|a| (*a).to_owned()).collect();
        let set = Anchors::new(&owned).unwrap();
        let expected = naive(anchors, text);
        for block in [1, 2, 3, 5, 8, 31, 64, 1000, text.len().max(1)] {
            let mut got = Vec::new();
            let mut cursor = set.cursor();
            let mut start = 0;
            while start < text.len() {
                let end = (start + block).min(text.len());
                set.find_in(text.as_bytes(), start..end, &mut cursor, |f| {
                    assert_eq!(f.end - f.start, anchors[f.anchor].len());
                    got.push((f.anchor, f.start));
                });
                start = end;
            }
            got.sort_unstable();
            assert_eq!(got, expected, "{anchors:?} in {text:?}, blocks of {block}");
        }
    }

    #[test]
    fn every_occurrence_is_found_in_blocks_of_any_size() {
        check(&["ghp_", "xox"], "a ghp_x xox ghp_ghp_");
        // Overlapping anchors, and an anchor overlapping itself.
        check(&["sk-", "-us", "k-u"], "task-user sk-us-");
        check(&["aba"], "abababa aba");
        // Non-ASCII text and anchors.
        check(&["clé", "Key", "€="], "la clé Key été €=€= clé");
        // Anchors at the very start and end, a text shorter than an anchor.
        check(&["start", "end"], "start in the middle end");
        check(&["longer"], "lon");
        check(&["abc"], "");
    }

    #[test]
    fn anchors_ending_in_a_separator_are_found_from_it() {
        // Separator anchors alone, mixed with pass anchors, overlapping one
        // another, at the text's edges, and separators with nothing before.
        check(
            &[
                "ghp_", "glpat-", "hvs.", "oauth:", "8Q~", "pass=", "p_", "xox",
            ],
            "ghp_x glpat-glpat- hvs.hvs. oauth:oauth: a8Q~b pass=pass= _ - . : ~ = xoxghp_",
        );
        check(&["abc_", "bc_", "c__"], "abc_ bc_ c__ abc__");
        check(&["ghp_"], "_ghp");
        check(&["long-anchor-"], "a long-anchor-long-anchor-");
    }

    #[test]
    fn many_anchors_are_shared_among_passes() {
        // Case variants, shared prefixes, and more anchors than one pass holds.
        let words: Vec<String> = (0..70)
            .map(|i| format!("{}{:02}_", ["key", "KEY", "Key", "tok", "gh"][i % 5], i))
            .collect();
        let anchors: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = format!("x {} Key07_ KEY06_ key00_ xKEY66_", words.join(" - "));
        check(&anchors, &text);
    }

    /// The plan's passes for `anchors`, as text.
    fn planned(anchors: &[&str]) -> Vec<Vec<String>> {
        let bytes: Vec<&[u8]> = anchors.iter().map(|a| a.as_bytes()).collect();
        plan(&bytes)
            .into_iter()
            .map(|p| p.into_iter().map(|i| anchors[i].to_owned()).collect())
            .collect()
    }

    #[test]
    fn the_plan_covers_every_anchor() {
        // `slim`: every pass within what slim Teddy takes.
        let check = |anchors: &[&str], slim: bool| {
            let passes = planned(anchors);
            for a in anchors {
                let holding = passes.iter().filter(|p| p.iter().any(|x| x == a)).count();
                assert_eq!(holding, 1, "{a} in {passes:?}");
            }
            for p in &passes {
                assert!(!p.is_empty(), "{passes:?}");
                assert!(!slim || p.len() <= BUCKETS * BUCKET_DEPTH, "{p:?}");
            }
        };
        check(&["one"], true);
        check(
            &["secret", "SECRET", "Secret", "token", "TOKEN", "Token"],
            true,
        );
        let varied: Vec<String> = (0u8..100)
            .map(|i| {
                format!(
                    "{}{}q_",
                    char::from(b'a' + i % 26),
                    char::from(b'a' + i / 26)
                )
            })
            .collect();
        check(&varied.iter().map(String::as_str).collect::<Vec<_>>(), true);
        // Ten patterns alike in their first bytes (a000 to a009) share a
        // bucket, deeper than slim Teddy allows: still covered.
        let alike: Vec<String> = (0..100).map(|i| format!("a{i:03}")).collect();
        check(&alike.iter().map(String::as_str).collect::<Vec<_>>(), false);
        check(&[], true);
    }

    #[test]
    fn alike_anchors_share_a_bucket() {
        // The bucket of the pattern at index i of a pass is 7 - i % 8 (Teddy
        // gives it to the first pattern of each set of low nybbles).
        let check = |anchors: &[&str], together: &[&str]| {
            let passes = planned(anchors);
            let buckets: Vec<(usize, usize)> = together
                .iter()
                .flat_map(|a| {
                    passes.iter().enumerate().flat_map(move |(n, p)| {
                        p.iter().position(|x| x == a).map(|i| (n, i % BUCKETS))
                    })
                })
                .collect();
            assert_eq!(buckets.len(), together.len(), "{passes:?}");
            assert!(
                buckets.iter().all(|b| *b == buckets[0]),
                "{together:?}: {passes:?}"
            );
        };
        let anchors = [
            "token", "TOKEN", "Token", "ghp_", "gho_", "xox", "sk-", "Key", "key-",
        ];
        check(&anchors, &["token", "TOKEN", "Token"]);
        check(&anchors, &["Key", "key-"]);
    }

    #[test]
    fn common_prose_letters_weigh_more_than_rare_bytes() {
        assert!(weight(b'e') > weight(b'E'));
        assert!(weight(b' ') > weight(b'_'));
        assert!(weight(b'_') > weight(0xc3));
    }
}
