//! Synthetic activity with planted scenarios, written as the SIEM export's
//! JSON lines, for evaluating the watcher.
//!
//! A world of one owner party and external parties, their users and rooms,
//! lives for a number of days: weekly rhythms (little on weekends), holidays,
//! vacations, new hires, busy weeks of a whole party, travel from other
//! countries, changing addresses, the odd benign big download, typos at
//! sign-in, refusals and DLP notices. Into it go planted scenarios, each with
//! its truth ([`Planted`]). Everything follows from the seed: the generator
//! has its own PRNG ([`Rng`], SplitMix64) and reads no clock.

use serde_json::{Value, json};

use crate::{DAY_MS, HOUR_MS, watcher::Geo};

/// A small deterministic PRNG (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi) (`lo` when empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A Poisson count of mean `mean` (inversion; means here are small, a
    /// normal approximation above 50).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 50.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, self.f64());
        while p > limit {
            k += 1;
            p *= self.f64();
        }
        k
    }

    /// A standard normal deviate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-12);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.range(0, items.len() as i64) as usize)
    }

    /// A fresh UUID-shaped id.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The kinds of planted scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// A departing party's users take many files in the days before its
    /// agreement ends.
    DepartingMassDownload,
    /// A user takes a few files more than usual, new ones, for weeks.
    SlowExfiltration,
    /// An account is signed into from a new country after failed tries and
    /// used to take files off hours.
    AccountTakeover,
    /// The viewer is scraped: hundreds of views in a few hours.
    ViewerScraping,
    /// A burst of refused requests probing rooms and files.
    ProbingDenials,
    /// A leaked copy is traced to a user by its mark.
    LeakTraced,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::DepartingMassDownload,
        Scenario::SlowExfiltration,
        Scenario::AccountTakeover,
        Scenario::ViewerScraping,
        Scenario::ProbingDenials,
        Scenario::LeakTraced,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::DepartingMassDownload => "departing_mass_download",
            Scenario::SlowExfiltration => "slow_exfiltration",
            Scenario::AccountTakeover => "account_takeover",
            Scenario::ViewerScraping => "viewer_scraping",
            Scenario::ProbingDenials => "probing_denials",
            Scenario::LeakTraced => "leak_traced",
        }
    }
}

/// A planted scenario and its truth.
#[derive(Clone, Debug, PartialEq)]
pub struct Planted {
    pub kind: Scenario,
    pub user: String,
    pub party: String,
    /// The first and last malicious event (for a traced leak: the trace).
    pub first_ms: i64,
    pub last_ms: i64,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub seed: u64,
    pub days: i64,
    pub external_parties: usize,
    /// Users per party, from..to.
    pub users: (i64, i64),
    pub rooms: usize,
    /// Activity multiplier (events per user-day scale with it).
    pub activity: f64,
    /// Scenarios of each kind.
    pub per_kind: usize,
    /// Whether file events carry `detail.room` (and downloads `detail.size`),
    /// as proposed in docs/watch.md; today's events do not, and the watcher
    /// then knows sizes from uploads only and no rooms.
    pub rooms_known: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 1,
            days: 120,
            external_parties: 14,
            users: (3, 14),
            rooms: 36,
            activity: 1.0,
            per_kind: 3,
            rooms_known: true,
        }
    }
}

/// The first day: Monday 5 January 2026 (days since the Unix epoch).
pub const START_DAY: i64 = 20_458;
const HOLIDAYS: [i64; 5] = [11, 46, 47, 88, 102];
const COUNTRIES: [&str; 12] = [
    "FR", "US", "GB", "NL", "JP", "IN", "PL", "SE", "IT", "ES", "CA", "CH",
];
const TRAVEL: [&str; 4] = ["PT", "AT", "BE", "SG"];
const HOSTILE: [(&str, &str); 3] = [
    ("198.51.100.0/24", "BR"),
    ("203.0.113.0/24", "VN"),
    ("192.0.2.0/24", "NG"),
];

struct Party {
    id: String,
    tz: i64,
    rooms: Vec<usize>,
    end_day: Option<i64>,
    busy: Vec<i64>,
}

struct User {
    id: String,
    party: usize,
    role: &'static str,
    rate: f64,
    ips: Vec<String>,
    start: i64,
    off: Option<(i64, i64)>,
    travel: Option<(i64, i64, String)>,
    working: Vec<usize>,
    marks: Vec<String>,
}

struct Room {
    id: String,
    files: Vec<usize>,
    marked: bool,
}

struct File {
    id: String,
    room: usize,
    size: u64,
}

struct Ev {
    time_ms: i64,
    user: Option<usize>,
    action: &'static str,
    allowed: bool,
    reason: Option<&'static str>,
    target: String,
    source: Option<String>,
    mark: Option<String>,
    detail: Value,
}

struct Plan {
    kind: Scenario,
    user: usize,
    day: i64,
    length: i64,
    extra: usize,
    first_ms: i64,
    last_ms: i64,
}

/// The generated world: write its lines with [`World::write`].
pub struct World {
    rng: Rng,
    spec: Spec,
    parties: Vec<Party>,
    users: Vec<User>,
    rooms: Vec<Room>,
    files: Vec<File>,
    plans: Vec<Plan>,
    seq: i64,
    geo: Geo,
}

impl World {
    pub fn new(spec: Spec) -> World {
        let rng = Rng::new(spec.seed);
        let mut geo = Geo::default();
        for (i, c) in TRAVEL.iter().enumerate() {
            let _ = geo.add(&format!("172.16.{i}.0/24"), c);
        }
        for (range, c) in HOSTILE {
            let _ = geo.add(range, c);
        }
        let mut world = World {
            rng,
            spec: spec.clone(),
            parties: Vec::new(),
            users: Vec::new(),
            rooms: Vec::new(),
            files: Vec::new(),
            plans: Vec::new(),
            seq: 0,
            geo,
        };
        world.build();
        world
    }

    /// Where the world's addresses are (give it to the watcher's config).
    pub fn geo(&self) -> &Geo {
        &self.geo
    }

    fn build(&mut self) {
        let spec = self.spec.clone();
        let r = &mut self.rng;
        for i in 0..spec.rooms {
            let n = (20.0 * (r.normal() * 0.7 + 1.0).exp()).clamp(12.0, 400.0) as usize;
            let room = self.rooms.len();
            let mut files = Vec::new();
            for _ in 0..n {
                files.push(self.files.len());
                let size = (2e6 * (r.normal() * 1.2).exp()) as u64 + 1000;
                self.files.push(File {
                    id: r.uuid(),
                    room,
                    size,
                });
            }
            self.rooms.push(Room {
                id: r.uuid(),
                files,
                marked: i % 2 == 0,
            });
        }
        for p in 0..=spec.external_parties {
            let internal = p == 0;
            let country = if internal {
                "DE"
            } else {
                COUNTRIES[(p - 1) % COUNTRIES.len()]
            };
            let _ = self.geo.add(&format!("10.{p}.0.0/16"), country);
            let rooms: Vec<usize> = if internal {
                (0..spec.rooms).collect()
            } else {
                let k = r.range(2, 6) as usize;
                (0..k)
                    .map(|_| r.range(0, spec.rooms as i64) as usize)
                    .collect()
            };
            // About half of the external agreements end within the period.
            let end_day = (!internal && r.chance(0.5)).then(|| r.range(45, spec.days));
            let busy = (0..r.range(0, 3))
                .map(|_| r.range(2, spec.days / 7))
                .collect();
            self.parties.push(Party {
                id: r.uuid(),
                tz: if internal { 1 } else { r.range(-8, 10) },
                rooms,
                end_day,
                busy,
            });
            for _ in 0..r.range(spec.users.0, spec.users.1 + 1) {
                let role = match r.range(0, 10) {
                    0..=5 => "member",
                    6..=7 => "viewer",
                    _ => "lead",
                };
                let start = if r.chance(0.1) {
                    r.range(20, spec.days)
                } else {
                    0
                };
                let off = r.chance(0.4).then(|| {
                    let s = r.range(10, spec.days);
                    (s, s + r.range(5, 15))
                });
                let travel = r.chance(0.15).then(|| {
                    let s = r.range(20, spec.days);
                    let c = r.range(0, TRAVEL.len() as i64);
                    (
                        s,
                        s + r.range(3, 8),
                        format!("172.16.{c}.{}", r.range(1, 250)),
                    )
                });
                let ips = vec![format!("10.{p}.{}.{}", r.range(0, 255), r.range(1, 255))];
                self.users.push(User {
                    id: r.uuid(),
                    party: p,
                    role,
                    rate: (r.normal() * 0.6).exp(),
                    ips,
                    start,
                    off,
                    travel,
                    working: Vec::new(),
                    marks: Vec::new(),
                });
            }
        }
        self.plan();
    }

    fn plan(&mut self) {
        let days = self.spec.days;
        let mut taken: Vec<usize> = Vec::new();
        for kind in Scenario::ALL {
            for n in 0..self.spec.per_kind {
                let candidates: Vec<usize> = (0..self.users.len())
                    .filter(|&u| {
                        let user = &self.users[u];
                        let party = &self.parties[user.party];
                        user.party != 0
                            && user.start == 0
                            && !taken.contains(&u)
                            && match kind {
                                Scenario::DepartingMassDownload => {
                                    party.end_day.is_some_and(|e| e >= 45)
                                        && !self
                                            .plans
                                            .iter()
                                            .any(|p| self.users[p.user].party == user.party)
                                }
                                _ => true,
                            }
                    })
                    .collect();
                let Some(&user) = self.rng.pick(&candidates) else {
                    // No departing party left: make one.
                    continue;
                };
                taken.push(user);
                let (day, length) = match kind {
                    Scenario::DepartingMassDownload => {
                        let end = self.parties[self.users[user].party].end_day.unwrap_or(days);
                        (end - self.rng.range(2, 8), self.rng.range(1, 3))
                    }
                    Scenario::SlowExfiltration => {
                        (self.rng.range(35, days - 28), self.rng.range(21, 29))
                    }
                    _ => (self.rng.range(35, days - 2), 1),
                };
                let _ = n;
                let extra = self.rng.range(0, 1000) as usize;
                self.plans.push(Plan {
                    kind,
                    user,
                    day,
                    length,
                    extra,
                    first_ms: i64::MAX,
                    last_ms: i64::MIN,
                });
            }
        }
    }

    /// The planted scenarios (their times once written).
    pub fn planted(&self) -> Vec<Planted> {
        self.plans
            .iter()
            .filter(|p| p.first_ms != i64::MAX)
            .map(|p| Planted {
                kind: p.kind,
                user: self.users[p.user].id.clone(),
                party: self.parties[self.users[p.user].party].id.clone(),
                first_ms: p.first_ms,
                last_ms: p.last_ms,
            })
            .collect()
    }

    /// Writes every line, day after day, in time order.
    pub fn write(&mut self, sink: &mut dyn FnMut(&str)) {
        for day in 0..self.spec.days {
            let mut evs = Vec::new();
            if day == 0 {
                self.setup(&mut evs);
            }
            self.normal_day(day, &mut evs);
            self.scenarios(day, &mut evs);
            evs.sort_by_key(|e| e.time_ms);
            for e in evs {
                let line = self.line(&e);
                sink(&line);
            }
        }
    }

    fn t(&self, day: i64) -> i64 {
        (START_DAY + day) * DAY_MS
    }

    /// The room and file facts, agreements and grants at the start.
    fn setup(&mut self, evs: &mut Vec<Ev>) {
        let t0 = self.t(0);
        for f in &self.files {
            evs.push(Ev {
                time_ms: t0 + self.rng.range(0, HOUR_MS),
                user: None,
                action: "file.upload",
                allowed: true,
                reason: None,
                target: format!("file:{}", f.id),
                source: None,
                mark: None,
                detail: json!({"path": "x", "version": 1, "size": f.size, "room": self.rooms[f.room].id}),
            });
        }
        for u in &self.users {
            evs.push(Ev {
                time_ms: t0 + self.rng.range(0, HOUR_MS),
                user: None,
                action: "user.create",
                allowed: true,
                reason: None,
                target: format!("user:{}", u.id),
                source: None,
                mark: None,
                detail: json!({"role": u.role, "party": self.parties[u.party].id}),
            });
        }
        for p in self.parties.iter().skip(1) {
            let end = p.end_day.unwrap_or(self.spec.days + 200);
            evs.push(Ev {
                time_ms: t0 + HOUR_MS,
                user: None,
                action: "agreement.create",
                allowed: true,
                reason: None,
                target: format!("agreement:{}", self.rng.uuid()),
                source: None,
                mark: None,
                detail: json!({"party": p.id, "kind": "nda", "end_ms": self.t(end)}),
            });
            for &room in &p.rooms {
                evs.push(Ev {
                    time_ms: t0 + HOUR_MS,
                    user: None,
                    action: "grant.create",
                    allowed: true,
                    reason: None,
                    target: format!("grant:{}", self.rng.uuid()),
                    source: None,
                    mark: None,
                    detail: json!({"subject": format!("party:{}", p.id), "role": "reader", "room": self.rooms[room].id, "expires_ms": self.t(end)}),
                });
            }
        }
    }

    fn party_rooms(&self, u: usize) -> &[usize] {
        &self.parties[self.users[u].party].rooms
    }

    fn random_file(&mut self, u: usize) -> usize {
        let rooms = self.party_rooms(u).to_vec();
        let room = self.rng.pick(&rooms).copied().unwrap_or(0);
        let files = &self.rooms[room].files;
        let i = self.rng.range(0, files.len() as i64) as usize;
        files.get(i).copied().unwrap_or(0)
    }

    /// A time in `u`'s working hours on `day` (`off` hours otherwise).
    fn when(&mut self, u: usize, day: i64, off: bool) -> i64 {
        let tz = self.parties[self.users[u].party].tz;
        let local = if off {
            if self.rng.chance(0.5) {
                self.rng.range(19, 24)
            } else {
                self.rng.range(0, 6)
            }
        } else {
            self.rng.range(8, 18)
        };
        let hour = (local - tz).rem_euclid(24);
        self.t(day) + hour * HOUR_MS + self.rng.range(0, HOUR_MS)
    }

    fn access(&mut self, u: usize, time_ms: i64, file: usize, view: bool, source: &str) -> Ev {
        let f = &self.files[file];
        let room = &self.rooms[f.room];
        let marked = room.marked || view;
        let mark = marked.then(|| self.rng.uuid());
        if let Some(m) = &mark
            && !view
        {
            let marks = &mut self.users[u].marks;
            if marks.len() < 50 {
                marks.push(m.clone());
            }
        }
        let detail = if view {
            json!({"version": 1, "pages": self.rng.range(1, 40), "room": room.id})
        } else {
            json!({"version": 1, "size": f.size, "room": room.id,
                   "delivery": if marked { "marked" } else { "original" }})
        };
        Ev {
            time_ms,
            user: Some(u),
            action: if view { "file.view" } else { "file.download" },
            allowed: true,
            reason: None,
            target: format!("file:{}", f.id),
            source: Some(source.to_owned()),
            mark,
            detail,
        }
    }

    fn sign_in(&self, u: usize, time_ms: i64, source: &str, ok: bool) -> Ev {
        Ev {
            time_ms,
            user: None,
            action: "auth.login",
            allowed: ok,
            reason: (!ok).then_some("invalid_credentials"),
            target: format!("user:{}", self.users[u].id),
            source: Some(source.to_owned()),
            mark: None,
            detail: if ok {
                json!({"mfa": true, "kind": "password"})
            } else {
                Value::Null
            },
        }
    }

    fn denial(&mut self, u: usize, time_ms: i64, source: &str) -> Ev {
        let (action, target, reason) = match self.rng.range(0, 3) {
            0 => (
                "room.view",
                format!("room:{}", self.rng.uuid()),
                "not_found",
            ),
            1 => {
                let room = self.rng.range(0, self.rooms.len() as i64) as usize;
                (
                    "file.list",
                    format!("room:{}", self.rooms[room].id),
                    "no_grant",
                )
            }
            _ => {
                let f = self.rng.range(0, self.files.len() as i64) as usize;
                (
                    "file.download",
                    format!("file:{}", self.files[f].id),
                    "no_grant",
                )
            }
        };
        Ev {
            time_ms,
            user: Some(u),
            action,
            allowed: false,
            reason: Some(reason),
            target,
            source: Some(source.to_owned()),
            mark: None,
            detail: Value::Null,
        }
    }

    fn normal_day(&mut self, day: i64, evs: &mut Vec<Ev>) {
        let weekday = (START_DAY + day + 3).rem_euclid(7);
        let quiet = weekday >= 5 || HOLIDAYS.contains(&day);
        for u in 0..self.users.len() {
            let user = &self.users[u];
            let party = &self.parties[user.party];
            if day < user.start
                || party.end_day.is_some_and(|e| day >= e)
                || user
                    .off
                    .as_ref()
                    .is_some_and(|(a, b)| (*a..*b).contains(&day))
            {
                continue;
            }
            if !self.rng.chance(if quiet { 0.04 } else { 0.85 }) {
                continue;
            }
            let busy = if party.busy.contains(&(day / 7)) {
                2.5
            } else {
                1.0
            };
            let rate = user.rate * busy * self.spec.activity;
            let role = user.role;
            let source = match &user.travel {
                Some((a, b, ip)) if (*a..*b).contains(&day) => ip.clone(),
                _ => {
                    if self.rng.chance(0.02) {
                        let p = user.party;
                        let ip = format!(
                            "10.{p}.{}.{}",
                            self.rng.range(0, 255),
                            self.rng.range(1, 255)
                        );
                        self.users[u].ips = vec![ip];
                    }
                    self.users[u].ips.first().cloned().unwrap_or_default()
                }
            };
            let t = self.when(u, day, false);
            if self.rng.chance(0.03) {
                for k in 0..self.rng.range(1, 3) {
                    evs.push(self.sign_in(u, t - 60_000 + k * 5_000, &source, false));
                }
            }
            evs.push(self.sign_in(u, t, &source, true));
            // The working set drifts.
            if self.users[u].working.is_empty() {
                for _ in 0..15 {
                    let f = self.random_file(u);
                    self.users[u].working.push(f);
                }
            }
            for i in 0..self.users[u].working.len() {
                if self.rng.chance(0.05) {
                    let f = self.random_file(u);
                    self.users[u].working[i] = f;
                }
            }
            let (dl, vw) = match role {
                "viewer" => (1.0, 10.0),
                "lead" => (4.0, 3.0),
                _ => (6.0, 4.0),
            };
            let downloads = self.rng.poisson(rate * dl);
            let views = self.rng.poisson(rate * vw);
            for i in 0..(downloads + views) {
                let off = self.rng.chance(0.05);
                let time = self.when(u, day, off);
                let file = if self.rng.chance(0.85) {
                    let w = &self.users[u].working;
                    self.rng.pick(w).copied().unwrap_or(0)
                } else {
                    self.random_file(u)
                };
                let ev = self.access(u, time, file, i >= downloads, &source);
                evs.push(ev);
            }
            if user_uploads(role) {
                for _ in 0..self.rng.poisson(rate * 0.4) {
                    let time = self.when(u, day, false);
                    let file = self.random_file(u);
                    let dlp = self.rng.chance(0.02);
                    let f = &self.files[file];
                    evs.push(Ev {
                        time_ms: time,
                        user: Some(u),
                        action: "file.upload",
                        allowed: true,
                        reason: None,
                        target: format!("file:{}", f.id),
                        source: Some(source.clone()),
                        mark: None,
                        detail: json!({"version": 2, "size": f.size, "room": self.rooms[f.room].id}),
                    });
                    if dlp {
                        evs.push(Ev {
                            time_ms: time,
                            user: Some(u),
                            action: "dlp.notify",
                            allowed: true,
                            reason: None,
                            target: format!("file:{}", f.id),
                            source: Some(source.clone()),
                            mark: None,
                            detail: json!({"direction": "inbound"}),
                        });
                    }
                }
            }
            if self.rng.chance(0.05) {
                for _ in 0..self.rng.range(1, 4) {
                    let time = self.when(u, day, false);
                    let ev = self.denial(u, time, &source);
                    evs.push(ev);
                }
            }
            // Now and then a grant made (the owner's side) or a file deleted.
            if self.users[u].party == 0 && self.rng.chance(0.03) {
                let time = self.when(u, day, false);
                let grant = self.rng.uuid();
                let subject = self.rng.uuid();
                evs.push(Ev {
                    time_ms: time,
                    user: Some(u),
                    action: "grant.create",
                    allowed: true,
                    reason: None,
                    target: format!("grant:{grant}"),
                    source: Some(source.clone()),
                    mark: None,
                    detail: json!({"subject": format!("user:{subject}"), "role": "reader"}),
                });
            }
            if user_uploads(role) && self.rng.chance(0.03) {
                for _ in 0..self.rng.range(1, 4) {
                    let time = self.when(u, day, false);
                    let file = self.random_file(u);
                    evs.push(Ev {
                        time_ms: time,
                        user: Some(u),
                        action: "file.delete",
                        allowed: true,
                        reason: None,
                        target: format!("file:{}", self.files[file].id),
                        source: Some(source.clone()),
                        mark: None,
                        detail: json!({"path": "x"}),
                    });
                }
            }
            // A benign big download: a new project's room taken at once.
            if self.rng.chance(0.004) {
                let rooms = self.party_rooms(u).to_vec();
                let room = self.rng.pick(&rooms).copied().unwrap_or(0);
                let files = self.rooms[room].files.clone();
                let take = self.rng.range(20, 80).min(files.len() as i64);
                let t = self.when(u, day, false);
                for (k, &f) in files.iter().take(take as usize).enumerate() {
                    let ev = self.access(u, t + k as i64 * 4_000, f, false, &source);
                    evs.push(ev);
                }
            }
        }
    }

    fn scenarios(&mut self, day: i64, evs: &mut Vec<Ev>) {
        for i in 0..self.plans.len() {
            let (kind, u, start, length, extra) = {
                let p = &self.plans[i];
                (p.kind, p.user, p.day, p.length, p.extra)
            };
            if !(start..start + length).contains(&day) {
                continue;
            }
            let before = evs.len();
            let home = self.users[u].ips.first().cloned().unwrap_or_default();
            match kind {
                Scenario::DepartingMassDownload => {
                    let n = self.rng.range(40, 250);
                    let mut t = self.when(u, day, false);
                    for _ in 0..n {
                        let f = self.random_file(u);
                        evs.push(self.access(u, t, f, false, &home));
                        t += self.rng.range(2_000, 90_000);
                    }
                }
                Scenario::SlowExfiltration => {
                    let weekday = (START_DAY + day + 3).rem_euclid(7);
                    if weekday < 5 {
                        for _ in 0..self.rng.range(3, 9) {
                            let off = self.rng.chance(0.3);
                            let t = self.when(u, day, off);
                            let f = self.random_file(u);
                            evs.push(self.access(u, t, f, false, &home));
                        }
                    }
                }
                Scenario::AccountTakeover => {
                    let (range, _) = HOSTILE[extra % HOSTILE.len()];
                    let prefix = range.trim_end_matches(".0/24");
                    let ip = format!("{prefix}.{}", self.rng.range(1, 250));
                    let mut t = self.when(u, day, true);
                    for _ in 0..self.rng.range(2, 8) {
                        evs.push(self.sign_in(u, t, &ip, false));
                        t += self.rng.range(5_000, 60_000);
                    }
                    evs.push(self.sign_in(u, t, &ip, true));
                    for _ in 0..self.rng.range(15, 60) {
                        t += self.rng.range(5_000, 120_000);
                        let f = self.random_file(u);
                        let view = self.rng.chance(0.3);
                        evs.push(self.access(u, t, f, view, &ip));
                    }
                }
                Scenario::ViewerScraping => {
                    let mut t = self.when(u, day, false);
                    for _ in 0..self.rng.range(120, 500) {
                        t += self.rng.range(8_000, 40_000);
                        let f = self.random_file(u);
                        evs.push(self.access(u, t, f, true, &home));
                    }
                }
                Scenario::ProbingDenials => {
                    let mut t = self.when(u, day, false);
                    for _ in 0..self.rng.range(20, 80) {
                        t += self.rng.range(5_000, 60_000);
                        let ev = self.denial(u, t, &home);
                        evs.push(ev);
                    }
                }
                Scenario::LeakTraced => {
                    let mark = self.users[u].marks.first().cloned();
                    let officer = (0..self.users.len()).find(|&o| self.users[o].party == 0);
                    if let (Some(mark), Some(o)) = (mark, officer) {
                        let t = self.when(o, day, false);
                        evs.push(Ev {
                            time_ms: t,
                            user: Some(o),
                            action: "mark.trace",
                            allowed: true,
                            reason: None,
                            target: "system".into(),
                            source: self.users[o].ips.first().cloned(),
                            mark: None,
                            detail: json!({"mark_id": mark, "kind": "pdf", "issues_found": 1}),
                        });
                    } else if let Some(p) = self.plans.get_mut(i) {
                        // Nothing downloaded yet to leak: try the next day.
                        p.day += 1;
                    }
                }
            }
            let times = evs.get(before..).unwrap_or(&[]).iter().map(|e| e.time_ms);
            let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
            if let Some(p) = self.plans.get_mut(i)
                && lo != i64::MAX
            {
                p.first_ms = p.first_ms.min(lo);
                p.last_ms = p.last_ms.max(hi);
            }
        }
    }

    fn line(&mut self, e: &Ev) -> String {
        self.seq += 1;
        let mut detail = e.detail.clone();
        if !self.spec.rooms_known
            && e.action.starts_with("file.")
            && let Some(d) = detail.as_object_mut()
        {
            d.remove("room");
            if e.action != "file.upload" {
                d.remove("size");
            }
        }
        let user = e.user.and_then(|u| self.users.get(u));
        let party = user.and_then(|u| self.parties.get(u.party));
        let value = json!({
            "schema": "custody.event/1",
            "seq": self.seq,
            "ledger_index": self.seq - 1,
            "time": rfc3339(e.time_ms),
            "time_ms": e.time_ms,
            "severity": if e.allowed { "informational" } else { "warning" },
            "action": e.action,
            "outcome": if e.allowed { "allowed" } else { "denied" },
            "reason": e.reason,
            "actor": user.map(|u| u.id.as_str()),
            "party": party.map(|p| p.id.as_str()),
            "target": e.target,
            "request_id": Value::Null,
            "source": e.source,
            "user_agent": Value::Null,
            "mark_id": e.mark,
            "detail": detail,
        });
        value.to_string()
    }
}

fn user_uploads(role: &str) -> bool {
    role != "viewer"
}

/// RFC 3339 UTC with milliseconds of a time after 1970.
pub fn rfc3339(time_ms: i64) -> String {
    let days = time_ms.div_euclid(DAY_MS);
    let ms = time_ms.rem_euclid(DAY_MS);
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / HOUR_MS,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_by_hand() {
        let table = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (START_DAY * DAY_MS, "2026-01-05T00:00:00.000Z"),
        ];
        for (t, want) in table {
            assert_eq!(rfc3339(t), want);
        }
    }

    #[test]
    fn same_seed_same_lines() {
        let spec = Spec {
            days: 10,
            per_kind: 0,
            ..Spec::default()
        };
        let run = |seed| {
            let mut lines = Vec::new();
            World::new(Spec {
                seed,
                ..spec.clone()
            })
            .write(&mut |l| lines.push(l.to_owned()));
            lines
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let lines = run(3);
        assert!(lines.len() > 1000, "{}", lines.len());
        for l in &lines {
            crate::parse_line(l).unwrap().unwrap();
        }
    }
}
