//! What the watcher answers: alerts, the features that contributed to them
//! and the rules that fired.

use crate::features::Feature;

/// Whom an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    User,
    Party,
}

/// A scenario rule that needs no baseline, as it fired.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleHit {
    /// Many files taken while the party's agreement or grant ends soon.
    MassBeforeEnd {
        files: f64,
        days_left: f64,
        what: String,
    },
    /// Access from a country never seen for the entity.
    NewCountry { country: String },
    /// A leaked copy traced to the entity by its mark.
    Trace { mark: String },
    /// Many downloads and views in a short time.
    Burst { count: usize, seconds: f64 },
    /// Many refusals in a short time.
    Probing { count: usize, seconds: f64 },
    /// Failed sign-ins against many users from one address in a short time
    /// (password spraying), on each user tried.
    Spraying { address: String, users: usize },
}

impl RuleHit {
    /// The stable name of the rule.
    pub fn name(&self) -> &'static str {
        match self {
            RuleHit::MassBeforeEnd { .. } => "mass_before_end",
            RuleHit::NewCountry { .. } => "new_country",
            RuleHit::Trace { .. } => "trace",
            RuleHit::Burst { .. } => "burst",
            RuleHit::Probing { .. } => "probing",
            RuleHit::Spraying { .. } => "spraying",
        }
    }

    /// The points the rule adds to the day's score.
    pub fn points(&self) -> f64 {
        match self {
            RuleHit::Trace { .. } => 40.0,
            RuleHit::MassBeforeEnd { .. } => 25.0,
            RuleHit::Probing { .. } | RuleHit::Spraying { .. } => 15.0,
            RuleHit::NewCountry { .. } => 12.0,
            RuleHit::Burst { .. } => 8.0,
        }
    }

    pub(crate) fn bit(&self) -> u8 {
        match self {
            RuleHit::MassBeforeEnd { .. } => 1,
            RuleHit::NewCountry { .. } => 2,
            RuleHit::Trace { .. } => 4,
            RuleHit::Burst { .. } => 8,
            RuleHit::Probing { .. } => 16,
            RuleHit::Spraying { .. } => 32,
        }
    }
}

/// How one feature contributed to a score.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub feature: Feature,
    /// The day's value.
    pub value: f64,
    /// The entity's own median, once warmed up.
    pub median: Option<f64>,
    /// The peers' median that day, when there are enough peers.
    pub peer_median: Option<f64>,
    /// The robust deviation used (a mean of the entity's and the peers').
    pub z: f64,
    /// Points added to the score.
    pub points: f64,
}

/// An alert: an entity-day (or, raised as it happened, a rule) with its score
/// and the sentence that explains it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub day: i64,
    /// When it was raised: the event's time for a rule raised as it
    /// happened, else the end of the day.
    pub time_ms: i64,
    /// Raised by a rule as the event was observed (outside the budget).
    pub immediate: bool,
    pub entity: EntityKind,
    /// The user's or party's id as the events carry it.
    pub id: String,
    /// The user's party, if known.
    pub party: Option<String>,
    pub score: f64,
    /// The contributing features, the largest first.
    pub contributions: Vec<Contribution>,
    pub rules: Vec<RuleHit>,
    /// The nearest end of the entity's (or its party's) agreement or grant
    /// within the window, as context (said at the end of the sentence).
    pub end: Option<EndSoon>,
    pub sentence: String,
}

/// An agreement or grant that ends soon: days left and what it is (`nda`,
/// `grant`, `offboarding` …).
#[derive(Clone, Debug, PartialEq)]
pub struct EndSoon {
    pub days_left: f64,
    pub what: String,
}
