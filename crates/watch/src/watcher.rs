//! The incremental watcher: [`Watcher::observe`] each event as it is recorded,
//! [`Watcher::close_day`] at the end of each day for the day's alerts.
//!
//! Memory is bounded per entity: a ring of [`crate::HISTORY_DAYS`] daily
//! vectors, at most [`MAX_KNOWN`] recent addresses and countries, a fixed-size
//! Bloom filter of the files it has taken, and the day's sets (at most
//! [`MAX_DAY_ITEMS`] each). What grows with the data is global: one number
//! per distinct id (users, parties, files, rooms, addresses) and one entry per
//! issued mark (to find whose copy a traced mark is).

use std::collections::{BTreeMap, HashMap, VecDeque};

pub use crate::alert::{Alert, Contribution, EndSoon, EntityKind, RuleHit};
use crate::baseline::{History, median};
use crate::event::{Event, Kind, ParseError, parse_line};
use crate::explain;
use crate::features::{Feature, NF};
pub use crate::geo::Geo;
use crate::intern::Interner;
use crate::{DAY_MS, HOUR_MS, day_of};

/// Addresses, countries and zones remembered per entity.
pub const MAX_KNOWN: usize = 64;
/// Items (files, refused targets) remembered per entity-day.
pub const MAX_DAY_ITEMS: usize = 50_000;
const NONE: u32 = u32::MAX;
const BLOOM_WORDS: usize = 128;
/// Files recorded in one Bloom filter before the older one is dropped.
const BLOOM_FILL: u32 = 800;

/// What the watcher is told to do; every field has a default.
#[derive(Clone, Debug)]
pub struct Config {
    /// The alert budget: the share of the day's active entities alerted at
    /// most (the top ones), at least one a day when any scores enough.
    pub alert_rate: f64,
    /// The score below which no alert is raised at all.
    pub min_score: f64,
    /// Active days an entity is watched before its own baseline is used.
    pub warm_up_days: u32,
    /// How close to an agreement's or grant's end a mass download counts.
    pub end_window_days: f64,
    /// Distinct files in a day that make a mass download.
    pub mass_files: f64,
    /// Downloads and views within `burst_window_ms` that make a burst.
    pub burst_count: usize,
    pub burst_window_ms: i64,
    /// Refusals within `probe_window_ms` that make probing.
    pub probe_count: usize,
    pub probe_window_ms: i64,
    /// Distinct users whose sign-in failed from one address within
    /// `spray_window_ms` that make password spraying.
    pub spray_users: usize,
    pub spray_window_ms: i64,
    /// Working hours (UTC, start inclusive, end exclusive), Monday to Friday.
    pub work_hours: (i64, i64),
    /// Where addresses are (country), if known.
    pub geo: Geo,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            alert_rate: 0.01,
            min_score: 2.0,
            warm_up_days: 10,
            end_window_days: 14.0,
            mass_files: 40.0,
            burst_count: 30,
            burst_window_ms: 60_000,
            probe_count: 15,
            probe_window_ms: 600_000,
            spray_users: 5,
            spray_window_ms: 3_600_000,
            work_hours: (6, 20),
            geo: Geo::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Acc {
    v: [f64; NF],
    dl_files: Vec<u32>,
    files: Vec<u32>,
    denied: Vec<u64>,
    hours: [u32; 24],
    rules: Vec<RuleHit>,
    fired: u8,
    active: bool,
}

#[derive(Debug)]
struct End {
    id: u32,
    end_ms: i64,
    what: String,
}

#[derive(Debug)]
struct Entity {
    kind: EntityKind,
    name: u32,
    party: u32,
    role: u32,
    first_day: Option<i64>,
    history: History,
    today: Acc,
    sources: VecDeque<u32>,
    countries: VecDeque<u32>,
    zones: VecDeque<u32>,
    /// Files taken: the older and the newer Bloom filter.
    seen_files: [Box<[u64; BLOOM_WORDS]>; 2],
    filled: u32,
    recent: VecDeque<i64>,
    refusals: VecDeque<i64>,
    ends: Vec<End>,
    /// Distinct files downloaded in a day that make a mass download for
    /// this entity (the configured floor, or three times its median).
    mass_at: f64,
}

impl Entity {
    fn new(kind: EntityKind, name: u32) -> Entity {
        Entity {
            kind,
            name,
            party: NONE,
            role: NONE,
            first_day: None,
            history: History::default(),
            today: Acc::default(),
            sources: VecDeque::new(),
            countries: VecDeque::new(),
            zones: VecDeque::new(),
            seen_files: [Box::new([0; BLOOM_WORDS]), Box::new([0; BLOOM_WORDS])],
            filled: 0,
            recent: VecDeque::new(),
            refusals: VecDeque::new(),
            ends: Vec::new(),
            mass_at: 0.0,
        }
    }

    /// Whether `file` is in one of the two Bloom filters of files taken.
    fn has_taken(&self, file: u32) -> bool {
        let bits = bloom_bits(file);
        self.seen_files.iter().any(|filter| {
            bits.iter().all(|&bit| {
                filter
                    .get(bit / 64)
                    .is_some_and(|word| word & (1u64 << (bit % 64)) != 0)
            })
        })
    }

    /// Records `file` as taken. After [`BLOOM_FILL`] files the older
    /// filter is dropped, so false positives stay rare (about 3 %) and
    /// "never taken before" means: not among the last 800 to 1,600 files.
    fn take(&mut self, file: u32) {
        if self.has_taken(file) {
            return;
        }
        if self.filled >= BLOOM_FILL {
            let [old, new] = &mut self.seen_files;
            std::mem::swap(old, new);
            **new = [0; BLOOM_WORDS];
            self.filled = 0;
        }
        let [_, new] = &mut self.seen_files;
        for bit in bloom_bits(file) {
            if let Some(word) = new.get_mut(bit / 64) {
                *word |= 1u64 << (bit % 64);
            }
        }
        self.filled += 1;
    }

    fn warm(&self, days: u32) -> bool {
        self.history.seen >= days
    }
}

/// The three bits of `file` in a Bloom filter.
fn bloom_bits(file: u32) -> [usize; 3] {
    let h = fnv(&file.to_le_bytes());
    let bits = BLOOM_WORDS as u64 * 64;
    [0, 1, 2].map(|k| (h.rotate_left(21 * k) % bits) as usize)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn remember(known: &mut VecDeque<u32>, id: u32) -> bool {
    if known.contains(&id) {
        return false;
    }
    if known.len() >= MAX_KNOWN {
        known.pop_front();
    }
    known.push_back(id);
    true
}

/// The incremental watcher. Feed it events in time order (events of an
/// earlier day than the open one count in the open day).
#[derive(Debug)]
pub struct Watcher {
    config: Config,
    users: Interner,
    parties: Interner,
    files: Interner,
    rooms: Interner,
    sources: Interner,
    countries: Interner,
    zones: Interner,
    roles: Interner,
    user_entity: Vec<usize>,
    party_entity: Vec<usize>,
    entities: Vec<Entity>,
    file_room: Vec<u32>,
    file_size: Vec<f64>,
    room_files: Vec<u32>,
    marks: HashMap<u64, usize>,
    agreements: HashMap<u64, usize>,
    /// Recent failed sign-ins per address: (time, target, user entity if
    /// known).
    failures: HashMap<u32, VecDeque<(i64, u64, Option<usize>)>>,
    open_day: Option<i64>,
    pending: Vec<Alert>,
    malformed: BTreeMap<&'static str, u64>,
    observed: u64,
    entity_days: u64,
    credit: f64,
    mean_active: f64,
    days_closed: u64,
}

impl Watcher {
    pub fn new(config: Config) -> Watcher {
        Watcher {
            config,
            users: Interner::default(),
            parties: Interner::default(),
            files: Interner::default(),
            rooms: Interner::default(),
            sources: Interner::default(),
            countries: Interner::default(),
            zones: Interner::default(),
            roles: Interner::default(),
            user_entity: Vec::new(),
            party_entity: Vec::new(),
            entities: Vec::new(),
            file_room: Vec::new(),
            file_size: Vec::new(),
            room_files: Vec::new(),
            marks: HashMap::new(),
            agreements: HashMap::new(),
            failures: HashMap::new(),
            open_day: None,
            pending: Vec::new(),
            malformed: BTreeMap::new(),
            observed: 0,
            entity_days: 0,
            credit: 0.0,
            mean_active: 0.0,
            days_closed: 0,
        }
    }

    /// Malformed lines skipped, by [`ParseError::kind`].
    pub fn malformed(&self) -> &BTreeMap<&'static str, u64> {
        &self.malformed
    }

    /// Entity-days scored so far (the active entities of each closed day).
    pub fn entity_days(&self) -> u64 {
        self.entity_days
    }

    /// Events observed.
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// Reads and observes one export line; a malformed line is counted and
    /// skipped. Answers the alerts raised as it happened.
    pub fn observe_line(&mut self, line: &str) -> Vec<Alert> {
        match parse_line(line) {
            Ok(Some(e)) => self.observe(&e),
            Ok(None) => Vec::new(),
            Err(e) => {
                let kind: &'static str = ParseError::kind(&e);
                *self.malformed.entry(kind).or_default() += 1;
                Vec::new()
            }
        }
    }

    /// Observes one event; answers the alerts its rules raise at once (a
    /// burst, probing, a mass download before an end, a new country, a
    /// trace), each at most once per entity and day.
    pub fn observe(&mut self, e: &Event<'_>) -> Vec<Alert> {
        self.observed += 1;
        let day = day_of(e.time_ms);
        match self.open_day {
            Some(open) if day > open => {
                let closed = self.close(open);
                self.pending.extend(closed);
                self.open_day = Some(day);
            }
            None => self.open_day = Some(day),
            _ => {}
        }
        let mut out = Vec::new();
        self.global_facts(e, &mut out);
        let user = self.actor_of(e);
        if e.kind == Kind::SignInFailed
            && let Some(source) = e.source.as_deref()
        {
            self.spraying(source, fnv(e.target.as_bytes()), user, e.time_ms, &mut out);
        }
        let Some(user) = user else {
            return out;
        };
        let party = self.entities.get(user).map_or(NONE, |u| u.party);
        let party = self.party_entity.get(party as usize).copied();
        for ent in std::iter::once(user).chain(party) {
            self.count(ent, e, &mut out);
        }
        out
    }

    /// Remembers a failed sign-in for `target` (a user known or not) from
    /// `source`; when enough distinct targets failed from it lately, each
    /// known user among them gets the rule.
    fn spraying(
        &mut self,
        source: &str,
        target: u64,
        user: Option<usize>,
        time_ms: i64,
        out: &mut Vec<Alert>,
    ) {
        let window = self.config.spray_window_ms;
        let sym = self.sources.intern(source);
        if self.failures.len() >= 50_000 {
            self.failures
                .retain(|_, q| q.back().is_some_and(|(t, _, _)| time_ms - t <= window));
        }
        let recent = self.failures.entry(sym).or_default();
        while recent.front().is_some_and(|(t, _, _)| time_ms - t > window) {
            recent.pop_front();
        }
        if recent.len() >= 64 {
            recent.pop_front();
        }
        recent.push_back((time_ms, target, user));
        let mut targets: Vec<u64> = recent.iter().map(|(_, t, _)| *t).collect();
        targets.sort_unstable();
        targets.dedup();
        if targets.len() >= self.config.spray_users {
            let mut users: Vec<usize> = recent.iter().filter_map(|(_, _, u)| *u).collect();
            users.sort_unstable();
            users.dedup();
            for u in &users {
                let hit = RuleHit::Spraying {
                    address: source.to_owned(),
                    users: targets.len(),
                };
                self.touch(*u, day_of(time_ms));
                self.fire(*u, hit, time_ms, out);
            }
        }
    }

    /// Closes every open day up to `day`: answers the alerts within the
    /// budget (the day's top entity-days by score), then records the day in
    /// each entity's baseline.
    pub fn close_day(&mut self, day: i64) -> Vec<Alert> {
        let mut out = std::mem::take(&mut self.pending);
        if let Some(open) = self.open_day
            && open <= day
        {
            out.extend(self.close(open));
            self.open_day = Some(day + 1);
        }
        out
    }

    /// Closes the open day (at the end of a replay): the alerts of every
    /// day not yet answered.
    pub fn finish(&mut self) -> Vec<Alert> {
        match self.open_day {
            Some(day) => self.close_day(day),
            None => std::mem::take(&mut self.pending),
        }
    }

    /// The alerts of days closed because a later day's event arrived, not
    /// yet answered by [`Watcher::close_day`].
    pub fn take_closed(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.pending)
    }

    fn entity_of_user(&mut self, id: &str) -> usize {
        let sym = self.users.intern(id) as usize;
        if let Some(&e) = self.user_entity.get(sym) {
            return e;
        }
        let e = self.entities.len();
        self.entities
            .push(Entity::new(EntityKind::User, sym as u32));
        self.user_entity.push(e);
        e
    }

    fn entity_of_party(&mut self, id: &str) -> usize {
        let sym = self.parties.intern(id) as usize;
        if let Some(&e) = self.party_entity.get(sym) {
            return e;
        }
        let e = self.entities.len();
        self.entities
            .push(Entity::new(EntityKind::Party, sym as u32));
        self.party_entity.push(e);
        e
    }

    /// The user entity an event is about: its actor, or the target of a
    /// sign-in (which has none) if that user is known already — a failed
    /// sign-in for any name makes no entity, so guessing names grows no
    /// state; its party learned on the way.
    fn actor_of(&mut self, e: &Event<'_>) -> Option<usize> {
        let user = match (&e.actor, e.kind) {
            (Some(a), _) => self.entity_of_user(a),
            (None, Kind::SignIn | Kind::SignInFailed) => {
                let sym = self.users.get(e.target.strip_prefix("user:")?)?;
                *self.user_entity.get(sym as usize)?
            }
            _ => return None,
        };
        if let Some(p) = e.party.as_deref() {
            let psym = self.parties.intern(p);
            self.entity_of_party(p);
            if let Some(u) = self.entities.get_mut(user) {
                u.party = psym;
            }
        }
        Some(user)
    }

    fn file_sym(&mut self, target: &str) -> Option<u32> {
        let id = target.strip_prefix("file:")?;
        let sym = self.files.intern(id);
        if sym as usize >= self.file_room.len() {
            self.file_room.push(NONE);
            self.file_size.push(0.0);
        }
        Some(sym)
    }

    /// Facts about files, rooms, agreements, grants, roles and marks.
    fn global_facts(&mut self, e: &Event<'_>, out: &mut Vec<Alert>) {
        let d = &e.detail;
        match e.kind {
            Kind::Upload | Kind::Download | Kind::View => {
                let Some(file) = self.file_sym(&e.target) else {
                    return;
                };
                let f = file as usize;
                if let Some(size) = d.size
                    && let Some(s) = self.file_size.get_mut(f)
                {
                    *s = size;
                }
                if let Some(room) = d.room.as_deref() {
                    let r = self.rooms.intern(room);
                    if r as usize >= self.room_files.len() {
                        self.room_files.push(0);
                    }
                    if let Some(slot) = self.file_room.get_mut(f)
                        && *slot != r
                    {
                        *slot = r;
                        if let Some(n) = self.room_files.get_mut(r as usize) {
                            *n += 1;
                        }
                    }
                }
            }
            Kind::AgreementCreate => {
                if let (Some(p), Some(end)) = (d.party.as_deref(), d.end_ms) {
                    let what = d.kind.as_deref().unwrap_or("agreement").to_owned();
                    let party = self.entity_of_party(p);
                    self.add_end(party, fnv(e.target.as_bytes()), end as i64, what);
                }
            }
            Kind::AgreementEnd => {
                let key = fnv(e.target.as_bytes());
                if let Some(&party) = self.agreements.get(&key)
                    && let Some(ent) = self.entities.get_mut(party)
                {
                    ent.ends.retain(|x| u64::from(x.id) != key & 0xffff_ffff);
                }
            }
            Kind::GrantCreate => {
                let (Some(subject), Some(end)) = (d.subject.as_deref(), d.expires_ms) else {
                    return;
                };
                let key = fnv(e.target.as_bytes());
                if let Some(p) = subject.strip_prefix("party:") {
                    let party = self.entity_of_party(p);
                    self.add_end(party, key, end as i64, "grant".into());
                } else if let Some(u) = subject.strip_prefix("user:") {
                    let user = self.entity_of_user(u);
                    self.add_end(user, key, end as i64, "grant".into());
                }
            }
            Kind::PartyUpdate => {
                if let (Some(p), Some(status)) = (e.target.strip_prefix("party:"), &d.status)
                    && status != "active"
                {
                    let party = self.entity_of_party(p);
                    let end = e.time_ms + 30 * DAY_MS;
                    self.add_end(party, fnv(e.target.as_bytes()), end, "offboarding".into());
                }
            }
            Kind::UserCreate => {
                if let Some(u) = e.target.strip_prefix("user:") {
                    let user = self.entity_of_user(u);
                    let role = d.role.as_deref().map(|r| self.roles.intern(r));
                    let party = d.party.as_deref().map(|p| {
                        self.entity_of_party(p);
                        self.parties.intern(p)
                    });
                    if let Some(ent) = self.entities.get_mut(user) {
                        ent.role = role.unwrap_or(ent.role);
                        ent.party = party.unwrap_or(ent.party);
                    }
                }
            }
            Kind::Trace => {
                let Some(mark) = d.mark_id.as_deref() else {
                    return;
                };
                if let Some(&user) = self.marks.get(&fnv(mark.as_bytes())) {
                    let party = self.entities.get(user).map(|u| u.party);
                    let party = party.and_then(|p| self.party_entity.get(p as usize).copied());
                    for ent in std::iter::once(user).chain(party) {
                        self.touch(ent, day_of(e.time_ms));
                        if let Some(x) = self.entities.get_mut(ent) {
                            x.today.v[Feature::TraceHits.index()] += 1.0;
                        }
                        let hit = RuleHit::Trace {
                            mark: mark.to_owned(),
                        };
                        self.fire(ent, hit, e.time_ms, out);
                    }
                }
            }
            _ => {}
        }
    }

    fn add_end(&mut self, ent: usize, key: u64, end_ms: i64, what: String) {
        self.agreements.insert(key, ent);
        if let Some(x) = self.entities.get_mut(ent) {
            let id = (key & 0xffff_ffff) as u32;
            x.ends.retain(|e| e.id != id);
            if x.ends.len() >= 8 {
                x.ends.remove(0);
            }
            x.ends.push(End { id, end_ms, what });
        }
    }

    /// The nearest end (days left, what) of `ent`'s own and its party's
    /// agreements and grants within the window.
    fn end_soon(&self, ent: usize, now_ms: i64) -> Option<(f64, String)> {
        let x = self.entities.get(ent)?;
        let party = self.party_entity.get(x.party as usize).copied();
        let window = self.config.end_window_days;
        std::iter::once(ent)
            .chain(party)
            .filter_map(|i| self.entities.get(i))
            .flat_map(|x| x.ends.iter())
            .map(|end| ((end.end_ms - now_ms) as f64 / DAY_MS as f64, end))
            .filter(|(left, _)| (0.0..=window).contains(left))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(left, end)| (left, end.what.clone()))
    }

    fn touch(&mut self, ent: usize, day: i64) {
        if let Some(x) = self.entities.get_mut(ent) {
            x.today.active = true;
            x.first_day.get_or_insert(day);
        }
    }

    /// Adds the event to the day of entity `ent`.
    fn count(&mut self, ent: usize, e: &Event<'_>, out: &mut Vec<Alert>) {
        let day = day_of(e.time_ms);
        self.touch(ent, day);
        let file = match e.kind {
            Kind::Download | Kind::View => e
                .target
                .strip_prefix("file:")
                .and_then(|f| self.files.get(f)),
            _ => None,
        };
        let source = e.source.as_deref().map(|s| (self.sources.intern(s), s));
        let country = e
            .detail
            .country
            .as_deref()
            .or_else(|| source.and_then(|(_, s)| self.config.geo.country(s)))
            .map(|c| (self.countries.intern(c), c.to_owned()));
        let zone = source
            .and_then(|(_, s)| self.config.geo.zone(s))
            .map(|z| self.zones.intern(z));
        let size = file.and_then(|f| self.file_size.get(f as usize).copied());
        let (work_from, work_to) = self.config.work_hours;
        let warm_up = self.config.warm_up_days;
        let mass = self.config.mass_files;
        let mark = e.mark_id.as_deref().map(|m| fnv(m.as_bytes()));
        let Some(x) = self.entities.get_mut(ent) else {
            return;
        };
        let mut hits = Vec::new();
        let v = &mut x.today.v;
        let hour = e.time_ms.rem_euclid(DAY_MS) / HOUR_MS;
        let weekday = (day + 3).rem_euclid(7);
        let off = weekday >= 5 || hour < work_from || hour >= work_to;
        match e.kind {
            Kind::Download | Kind::View => {
                if e.kind == Kind::Download {
                    v[Feature::Downloads.index()] += 1.0;
                    v[Feature::DownloadMb.index()] += e.detail.size.or(size).unwrap_or(0.0) / 1e6;
                } else {
                    v[Feature::Views.index()] += 1.0;
                    v[Feature::ViewPages.index()] += e.detail.pages.unwrap_or(1.0);
                }
                if off {
                    v[Feature::OffHours.index()] += 1.0;
                }
                if let Some(h) = x.today.hours.get_mut(hour as usize) {
                    *h += 1;
                }
                if let Some(f) = file {
                    insert(&mut x.today.files, f);
                    if e.kind == Kind::Download {
                        insert(&mut x.today.dl_files, f);
                    }
                }
                if x.kind == EntityKind::User
                    && let Some(m) = mark
                {
                    self.marks.insert(m, ent);
                }
                if let Some(hit) = window(
                    &mut x.recent,
                    e.time_ms,
                    self.config.burst_count,
                    self.config.burst_window_ms,
                ) {
                    hits.push(RuleHit::Burst {
                        count: hit.0,
                        seconds: hit.1,
                    });
                }
            }
            Kind::Upload => v[Feature::Uploads.index()] += 1.0,
            Kind::GrantCreate | Kind::Share => v[Feature::Shares.index()] += 1.0,
            Kind::Delete => v[Feature::Deletes.index()] += 1.0,
            Kind::Admin | Kind::PartyUpdate => v[Feature::AdminChanges.index()] += 1.0,
            Kind::Denied => {
                v[Feature::Denials.index()] += 1.0;
                if e.reason.as_deref().is_some_and(|r| r.starts_with("dlp")) {
                    v[Feature::DlpHits.index()] += 1.0;
                }
                let target = fnv(e.target.as_bytes());
                if x.today.denied.len() < MAX_DAY_ITEMS
                    && let Err(at) = x.today.denied.binary_search(&target)
                {
                    x.today.denied.insert(at, target);
                }
                if let Some(hit) = window(
                    &mut x.refusals,
                    e.time_ms,
                    self.config.probe_count,
                    self.config.probe_window_ms,
                ) {
                    hits.push(RuleHit::Probing {
                        count: hit.0,
                        seconds: hit.1,
                    });
                }
            }
            Kind::Dlp => v[Feature::DlpHits.index()] += 1.0,
            Kind::SignInFailed => v[Feature::FailedSignIns.index()] += 1.0,
            _ => {}
        }
        if e.detail.dlp && e.kind != Kind::Dlp {
            v[Feature::DlpHits.index()] += 1.0;
        }
        let seen_before = x.first_day.is_some_and(|d| d < day);
        if let Some((s, _)) = source
            && remember(&mut x.sources, s)
            && seen_before
        {
            v[Feature::NewSources.index()] += 1.0;
        }
        if let Some(z) = zone {
            let had = !x.zones.is_empty();
            if remember(&mut x.zones, z) && had && x.history.seen >= warm_up {
                v[Feature::NewZones.index()] += 1.0;
            }
        }
        if let Some((c, name)) = country {
            let had = !x.countries.is_empty();
            let warm = x.history.seen >= warm_up;
            if remember(&mut x.countries, c) && had && warm {
                v[Feature::NewCountries.index()] += 1.0;
                hits.push(RuleHit::NewCountry { country: name });
            }
        }
        let mass_hit = e.kind == Kind::Download
            && x.today.dl_files.len() as f64 >= mass.max(x.mass_at)
            && x.today.fired & 1 == 0;
        if mass_hit && let Some((left, what)) = self.end_soon(ent, e.time_ms) {
            let files = self
                .entities
                .get(ent)
                .map_or(0.0, |x| x.today.dl_files.len() as f64);
            hits.push(RuleHit::MassBeforeEnd {
                files,
                days_left: left,
                what,
            });
        }
        for hit in hits {
            self.fire(ent, hit, e.time_ms, out);
        }
    }

    /// Records a rule's hit on `ent`'s day; the first of its kind that day
    /// is also answered as an immediate alert.
    fn fire(&mut self, ent: usize, hit: RuleHit, time_ms: i64, out: &mut Vec<Alert>) {
        let Some(x) = self.entities.get_mut(ent) else {
            return;
        };
        if x.today.fired & hit.bit() != 0 {
            return;
        }
        x.today.fired |= hit.bit();
        x.today.rules.push(hit.clone());
        let (id, party) = self.names(ent);
        let kind = self.entities.get(ent).map_or(EntityKind::User, |x| x.kind);
        let rules = vec![hit];
        let end = self
            .end_soon(ent, time_ms)
            .map(|(days_left, what)| EndSoon { days_left, what });
        let contributions = self.so_far(ent);
        let sentence = explain::sentence(kind, &id, &contributions, &rules, end.as_ref());
        out.push(Alert {
            day: day_of(time_ms),
            time_ms,
            immediate: true,
            entity: kind,
            id,
            party,
            score: rules.iter().map(RuleHit::points).sum(),
            contributions,
            rules,
            end,
            sentence,
        });
    }

    /// The features of `ent`'s day so far that stand out most, for the
    /// sentence of a rule raised at once: against its own baseline once it
    /// is warmed up, else by how many times the feature's floor they are.
    /// They add no points (the day's close scores the whole day).
    fn so_far(&self, ent: usize) -> Vec<Contribution> {
        let Some(x) = self.entities.get(ent) else {
            return Vec::new();
        };
        let v = self.day_values(ent);
        let warm = x.warm(self.config.warm_up_days);
        let mut out: Vec<Contribution> = Feature::ALL
            .iter()
            .filter_map(|&f| {
                let value = v.get(f.index()).copied().filter(|v| *v > 0.0)?;
                let own = warm.then(|| x.history.baseline(f.index()));
                let z = match own {
                    Some((m, d)) => (value - m) / (1.4826 * d).max(f.floor()).max(0.25 * m),
                    None => value / f.floor(),
                };
                Some(Contribution {
                    feature: f,
                    value,
                    median: own.map(|o| o.0),
                    peer_median: None,
                    z,
                    points: 0.0,
                })
            })
            .filter(|c| c.z > 1.0)
            .collect();
        out.sort_by(|a, b| b.z.total_cmp(&a.z));
        out.truncate(explain::TOP);
        out
    }

    fn names(&self, ent: usize) -> (String, Option<String>) {
        match self.entities.get(ent) {
            Some(x) if x.kind == EntityKind::User => (
                self.users.name(x.name).to_owned(),
                (x.party != NONE).then(|| self.parties.name(x.party).to_owned()),
            ),
            Some(x) => (self.parties.name(x.name).to_owned(), None),
            None => (String::new(), None),
        }
    }

    /// The final feature vector of `ent`'s day (sets counted, files marked
    /// as seen).
    fn day_values(&self, ent: usize) -> [f64; NF] {
        let room_files = &self.room_files;
        let file_room = &self.file_room;
        let Some(x) = self.entities.get(ent) else {
            return [0.0; NF];
        };
        let files = &x.today.files;
        let mut v = x.today.v;
        v[Feature::DownloadFiles.index()] = x.today.dl_files.len() as f64;
        let mut per_room: BTreeMap<u32, u32> = BTreeMap::new();
        let mut new = 0.0;
        for &f in files {
            if !x.has_taken(f) {
                new += 1.0;
            }
            let room = file_room.get(f as usize).copied().unwrap_or(NONE);
            if room != NONE {
                *per_room.entry(room).or_default() += 1;
            }
        }
        v[Feature::NewFiles.index()] = new;
        v[Feature::NewFilesWeek.index()] = new + x.history.last_sum(Feature::NewFiles.index(), 6);
        v[Feature::Rooms.index()] = per_room.len() as f64;
        v[Feature::RoomShare.index()] = per_room
            .iter()
            .filter_map(|(r, n)| {
                let total = room_files.get(*r as usize).copied().unwrap_or(0);
                (total >= 10).then(|| 100.0 * f64::from(*n) / f64::from(total))
            })
            .fold(0.0, f64::max);
        v[Feature::PeakHour.index()] = f64::from(x.today.hours.iter().copied().max().unwrap_or(0));
        v[Feature::DeniedTargets.index()] = x.today.denied.len() as f64;
        v
    }

    /// Today's feature values of a user or party so far (`None` if it was
    /// not active today).
    pub fn today(&self, kind: EntityKind, id: &str) -> Option<[f64; NF]> {
        let ent = match kind {
            EntityKind::User => self.user_entity.get(self.users.get(id)? as usize),
            EntityKind::Party => self.party_entity.get(self.parties.get(id)? as usize),
        };
        let ent = *ent?;
        self.entities
            .get(ent)
            .filter(|x| x.today.active)
            .map(|_| self.day_values(ent))
    }

    fn close(&mut self, day: i64) -> Vec<Alert> {
        let active: Vec<usize> = (0..self.entities.len())
            .filter(|&i| self.entities.get(i).is_some_and(|x| x.today.active))
            .collect();
        self.entity_days += active.len() as u64;
        let mut values: HashMap<usize, [f64; NF]> = HashMap::new();
        for &i in &active {
            let v = self.day_values(i);
            values.insert(i, v);
        }
        // Peer groups: users by (party, role), or by party when fewer than
        // four of the role are active; parties together. Groups of fewer
        // than four give no peers.
        let mut groups: HashMap<(EntityKind, u32, u32), Vec<usize>> = HashMap::new();
        for &i in &active {
            if let Some(x) = self.entities.get(i) {
                let (role, party) = match x.kind {
                    EntityKind::User => ((x.kind, x.party, x.role), (x.kind, x.party, NONE)),
                    EntityKind::Party => ((x.kind, NONE, NONE), (x.kind, NONE, NONE)),
                };
                groups.entry(role).or_default().push(i);
                if role != party {
                    groups.entry(party).or_default().push(i);
                }
            }
        }
        let stats_of = |members: &[usize]| {
            let mut stats = [(0.0, 0.0); NF];
            for (f, s) in stats.iter_mut().enumerate() {
                let mut col: Vec<f64> = members
                    .iter()
                    .filter_map(|i| values.get(i).and_then(|v| v.get(f)).copied())
                    .collect();
                let m = median(&mut col);
                *s = (m, crate::baseline::mad(&col, m));
            }
            stats
        };
        let mut peer: HashMap<usize, [(f64, f64); NF]> = HashMap::new();
        let mut cache: HashMap<(EntityKind, u32, u32), [(f64, f64); NF]> = HashMap::new();
        for &i in &active {
            let Some(x) = self.entities.get(i) else {
                continue;
            };
            let keys = match x.kind {
                EntityKind::User => [(x.kind, x.party, x.role), (x.kind, x.party, NONE)],
                EntityKind::Party => [(x.kind, NONE, NONE), (x.kind, NONE, NONE)],
            };
            let chosen = keys
                .into_iter()
                .find(|k| groups.get(k).is_some_and(|m| m.len() >= 4));
            if let Some(key) = chosen {
                let stats = *cache
                    .entry(key)
                    .or_insert_with(|| stats_of(groups.get(&key).map_or(&[][..], |m| m)));
                peer.insert(i, stats);
            }
        }
        let end_ms = (day + 1) * DAY_MS;
        let mut scored: Vec<Alert> = Vec::new();
        for &i in &active {
            let Some(v) = values.get(&i) else { continue };
            if let Some(alert) = self.score(i, day, end_ms, v, peer.get(&i)) {
                scored.push(alert);
            }
        }
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        // The budget is the same on every day (a weekend's attack is as
        // worth an alert as a Monday's): `alert_rate` of the mean number of
        // active entities a day (a moving mean over about four weeks, all
        // days counted), its fractions carried over.
        let n = active.len() as f64;
        self.mean_active = match self.days_closed {
            0 => n,
            d => {
                let a = 1.0 / (d as f64 + 1.0).min(28.0);
                (1.0 - a) * self.mean_active + a * n
            }
        };
        self.days_closed += 1;
        self.credit += self.config.alert_rate * self.mean_active;
        let budget = self.credit.ceil().max(0.0) as usize;
        self.credit -= budget as f64;
        scored.retain(|a| a.score >= self.config.min_score);
        scored.truncate(budget);
        // Record the day in the baselines of the active (a baseline says
        // what the entity does on a day it is active; quiet days are not
        // scored).
        for &i in &active {
            if let (Some(x), Some(v)) = (self.entities.get_mut(i), values.get(&i)) {
                x.history.push(v.map(|f| f as f32));
                for f in std::mem::take(&mut x.today.files) {
                    x.take(f);
                }
                x.mass_at = 3.0 * x.history.baseline(Feature::DownloadFiles.index()).0;
                x.today = Acc::default();
            }
        }
        scored
    }

    /// The scored entity-day of `ent`, if anything contributed.
    fn score(
        &self,
        ent: usize,
        day: i64,
        end_ms: i64,
        v: &[f64; NF],
        peer: Option<&[(f64, f64); NF]>,
    ) -> Option<Alert> {
        let x = self.entities.get(ent)?;
        let warm = x.warm(self.config.warm_up_days);
        let mut contributions = Vec::new();
        for f in Feature::ALL {
            let value = v.get(f.index()).copied().unwrap_or(0.0);
            if value <= 0.0 {
                continue;
            }
            let own = warm.then(|| x.history.baseline(f.index()));
            let group = peer.and_then(|p| p.get(f.index()).copied());
            let z_of = |(m, d): (f64, f64)| (value - m) / (1.4826 * d).max(f.floor()).max(0.25 * m);
            let z = match (own.map(z_of), group.map(z_of)) {
                (Some(a), Some(b)) => (a + b) / 2.0,
                (Some(a), None) => a,
                (None, Some(b)) => 0.7 * b,
                (None, None) => 0.0,
            };
            let points = f.weight() * (z - 1.0).max(0.0).ln_1p();
            if points > 0.0 {
                contributions.push(Contribution {
                    feature: f,
                    value,
                    median: own.map(|o| o.0),
                    peer_median: group.map(|g| g.0),
                    z,
                    points,
                });
            }
        }
        contributions.sort_by(|a, b| b.points.total_cmp(&a.points));
        let mut rules = x.today.rules.clone();
        let files = v[Feature::DownloadFiles.index()];
        if x.today.fired & 1 == 0
            && files >= self.config.mass_files.max(x.mass_at)
            && let Some((left, what)) = self.end_soon(ent, end_ms - 1)
        {
            rules.push(RuleHit::MassBeforeEnd {
                files,
                days_left: left,
                what,
            });
        }
        let score: f64 = contributions.iter().map(|c| c.points).sum::<f64>()
            + rules.iter().map(RuleHit::points).sum::<f64>();
        if score <= 0.0 {
            return None;
        }
        if contributions.is_empty() {
            // No baseline and no peers yet (a new user, a lone party): the
            // rules scored it; the sentence still says what the day was.
            contributions = self.so_far(ent);
        }
        let (id, party) = self.names(ent);
        let end = self
            .end_soon(ent, end_ms - 1)
            .map(|(days_left, what)| EndSoon { days_left, what });
        let sentence = explain::sentence(x.kind, &id, &contributions, &rules, end.as_ref());
        Some(Alert {
            day,
            time_ms: end_ms,
            immediate: false,
            entity: x.kind,
            id,
            party,
            score,
            contributions,
            rules,
            end,
            sentence,
        })
    }
}

/// Inserts `f` into the sorted set `set` (bounded by [`MAX_DAY_ITEMS`]).
fn insert(set: &mut Vec<u32>, f: u32) {
    if set.len() < MAX_DAY_ITEMS
        && let Err(at) = set.binary_search(&f)
    {
        set.insert(at, f);
    }
}

/// Pushes `t` into a window of the last `count` times; when full and spanning
/// at most `span_ms`, answers the count and the seconds it took.
fn window(times: &mut VecDeque<i64>, t: i64, count: usize, span_ms: i64) -> Option<(usize, f64)> {
    if times.len() >= count.max(1) {
        times.pop_front();
    }
    times.push_back(t);
    let first = *times.front()?;
    (times.len() >= count && t - first <= span_ms)
        .then(|| (times.len(), (t - first) as f64 / 1000.0))
}

#[cfg(test)]
mod tests;
