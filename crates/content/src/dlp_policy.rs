//! Data-loss prevention policies: per room and per direction (`inbound`
//! uploads; `outbound` downloads and views) an action for each severity of
//! finding and one for content that cannot be inspected — `allow`, `notify`
//! (an event), `justify` (the caller must give a reason, recorded), `quarantine`
//! (inbound only: stored but held for a security officer) or `block`. A room
//! that set no policy gets the default for whether it is shared with an
//! external party.
//!
//! Every scanned version has a stored verdict (highest severity, findings per
//! detector, whether it was inspectable) under the digest of the ruleset it
//! was scanned with; outbound actions use it while the digest matches the
//! current scanner's, and rescan the stored content otherwise. The ruleset is
//! the built-in detectors, the administrators' custom rules (in the store,
//! changed at runtime), the extraction limits and the crown-jewel registry
//! (`jewels`: its generation in the store, which every registration and
//! removal moves, is in the digest; each node reloads its copy of the
//! registry when it sees the generation move).
//!
//! Quarantine review and the custom rules' administration are in
//! `dlp_policy/review.rs` and `dlp_policy/rules.rs`.

mod review;
mod rules;

use std::sync::{Arc, Mutex};

use kernel::authz::Principal;
use kernel::events::{Fact, RequestMeta, record};
use kernel::{Action, App, AppError, Authorized, EventName, RoomInfo, act};
use model::{File, Justification, RoomId, Version};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Rooms;
use crate::inspect::{Inspector, JewelHit, Scanned, TOO_LARGE, place};

pub use dlp::gitleaks::{Import, Skipped, Unsupported};
pub use dlp::{CustomKind, CustomRule, PatternRule, Severity};
pub use review::{HeldUpload, Review};
pub use rules::{ImportMode, Imported};

pub use model::MAX_JUSTIFICATION;

/// What happens to content with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlpAction {
    Allow,
    Notify,
    Justify,
    Quarantine,
    Block,
}

impl DlpAction {
    /// The stable name; do not change.
    pub fn as_str(self) -> &'static str {
        match self {
            DlpAction::Allow => "allow",
            DlpAction::Notify => "notify",
            DlpAction::Justify => "justify",
            DlpAction::Quarantine => "quarantine",
            DlpAction::Block => "block",
        }
    }

    /// The action of a stable name.
    pub fn parse(name: &str) -> Result<DlpAction, AppError> {
        [
            DlpAction::Allow,
            DlpAction::Notify,
            DlpAction::Justify,
            DlpAction::Quarantine,
            DlpAction::Block,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
        .ok_or_else(|| {
            AppError::invalid(
                kernel::ErrorCode::DlpBadPolicy,
                format!(
                    "`{name}` is not a data-loss action; use allow, notify, justify, \
                     quarantine or block"
                ),
            )
        })
    }
}

/// The actions of one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionPolicy {
    pub low: DlpAction,
    pub medium: DlpAction,
    pub high: DlpAction,
    pub critical: DlpAction,
    /// Content (or a part of it) that cannot be inspected: encrypted, corrupt,
    /// a bomb, or a document too large to extract.
    pub uninspectable: DlpAction,
}

impl DirectionPolicy {
    /// The action for a finding of `severity`.
    pub fn for_severity(&self, severity: Severity) -> DlpAction {
        match severity {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical => self.critical,
        }
    }

    /// Whether nothing is ever done (the content need not be scanned).
    pub fn allows_all(&self) -> bool {
        [
            self.low,
            self.medium,
            self.high,
            self.critical,
            self.uninspectable,
        ]
        .iter()
        .all(|a| *a == DlpAction::Allow)
    }

    /// The action for a verdict: the strictest its findings call for.
    pub fn decide(&self, severity: Option<Severity>, uninspectable: bool) -> DlpAction {
        let by_severity = severity.map_or(DlpAction::Allow, |s| self.for_severity(s));
        if uninspectable {
            by_severity.max(self.uninspectable)
        } else {
            by_severity
        }
    }
}

/// A room's DLP policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlpPolicy {
    /// Uploads into the room.
    pub inbound: DirectionPolicy,
    /// Downloads and views out of the room.
    pub outbound: DirectionPolicy,
    /// Inbound files the antivirus finds infected: `quarantine` (held for a
    /// security officer, who may only reject them; the default) or `block`
    /// (refused, nothing stored). Files it cannot scan take `inbound`'s
    /// `uninspectable` action.
    #[serde(default = "quarantine")]
    pub infected: DlpAction,
}

fn quarantine() -> DlpAction {
    DlpAction::Quarantine
}

impl DlpPolicy {
    /// The policy of a room that set none: strict for rooms shared with an
    /// external party, notification of critical findings otherwise.
    pub fn default_for(shared_externally: bool) -> DlpPolicy {
        use DlpAction::*;
        if shared_externally {
            DlpPolicy {
                inbound: DirectionPolicy {
                    low: Allow,
                    medium: Allow,
                    high: Quarantine,
                    critical: Block,
                    uninspectable: Quarantine,
                },
                outbound: DirectionPolicy {
                    low: Allow,
                    medium: Allow,
                    high: Justify,
                    critical: Block,
                    uninspectable: Notify,
                },
                infected: Quarantine,
            }
        } else {
            let d = DirectionPolicy {
                low: Allow,
                medium: Allow,
                high: Allow,
                critical: Notify,
                uninspectable: Allow,
            };
            DlpPolicy {
                inbound: d.clone(),
                outbound: d,
                infected: Quarantine,
            }
        }
    }

    /// Refuses a policy that cannot mean what its author wants.
    pub fn validate(&self) -> Result<(), AppError> {
        for (name, d) in [("inbound", &self.inbound), ("outbound", &self.outbound)] {
            let steps = [
                ("low", d.low),
                ("medium", d.medium),
                ("high", d.high),
                ("critical", d.critical),
            ];
            for pair in steps.windows(2) {
                if let [(lower, a), (higher, b)] = pair
                    && b < a
                {
                    return Err(AppError::invalid(
                        kernel::ErrorCode::DlpBadPolicy,
                        format!(
                            "in `{name}`, `{higher}` ({}) is milder than `{lower}` ({}); \
                             a higher severity needs an action at least as strict",
                            b.as_str(),
                            a.as_str()
                        ),
                    ));
                }
            }
        }
        if !matches!(self.infected, DlpAction::Quarantine | DlpAction::Block) {
            return Err(AppError::invalid(
                kernel::ErrorCode::DlpBadPolicy,
                format!(
                    "`infected` cannot be `{}`: malware is held for review (`quarantine`) or \
                     refused (`block`)",
                    self.infected.as_str()
                ),
            ));
        }
        let o = &self.outbound;
        let outbound = [o.low, o.medium, o.high, o.critical, o.uninspectable];
        if outbound.contains(&DlpAction::Quarantine) {
            return Err(AppError::invalid(
                kernel::ErrorCode::DlpBadPolicy,
                "`outbound` actions cannot be `quarantine` (only uploads are held for review); \
                 use `justify` or `block`",
            ));
        }
        Ok(())
    }
}

/// A room's policy and whether the room set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomDlp {
    pub policy: DlpPolicy,
    /// `false`: the default for the room's sharing.
    pub set: bool,
}

/// A compiled scanner and the digest of its ruleset.
#[derive(Clone)]
pub(crate) struct Ruleset {
    pub scanner: Arc<dlp::Scanner>,
    /// Hex SHA-256 of the ruleset.
    pub digest: String,
    /// The stored custom rules it was compiled from.
    source: Vec<(String, String)>,
    /// The generation of the crown-jewel registry it holds.
    jewels: i64,
}

/// The scanner in use, recompiled when the stored custom rules change; kept
/// in the application's slot (`App::slot`), one per application.
#[derive(Default)]
pub(crate) struct Scanners(Mutex<Option<Ruleset>>);

/// The digest of a scanner's ruleset: its detectors, the custom rules'
/// definitions, the extraction limits and the crown-jewel registry's
/// generation (`none` while it is empty).
fn ruleset_digest(scanner: &dlp::Scanner, source: &[(String, String)], jewels: &str) -> String {
    let mut text = String::from("custody dlp ruleset v1\n");
    for d in scanner.detectors() {
        text.push_str(&format!("{}\t{}\t{}\n", d.id, d.severity, d.message));
    }
    for (id, rule) in source {
        text.push_str(&format!("custom\t{id}\t{rule}\n"));
    }
    text.push_str(&format!(
        "limits {:?}\nextract cap {}\nfingerprints {jewels}\n",
        dlp::Limits::default(),
        crate::inspect::EXTRACT_CAP
    ));
    hex::encode(kernel::secrets::sha256(text.as_bytes()))
}

/// A verdict as stored, for a version.
pub(crate) fn stored(
    version: &Version,
    found: &Scanned,
    digest: &str,
    now: i64,
) -> store::StoredVerdict {
    store::StoredVerdict {
        version_id: version.id,
        max_severity: found.max_severity.map(|s| s.as_str().to_owned()),
        detectors: found.detectors.clone(),
        uninspectable: found.uninspectable.clone(),
        ruleset: digest.to_owned(),
        scanned_ms: now,
        jewels: (!found.jewels.is_empty())
            .then(|| serde_json::to_string(&found.jewels).unwrap_or_default()),
    }
}

/// A stored verdict read back as what a scan found.
fn scanned_of(v: &store::StoredVerdict) -> Scanned {
    Scanned {
        max_severity: v
            .max_severity
            .as_deref()
            .and_then(|s| Severity::parse(s).ok()),
        detectors: v.detectors.clone(),
        uninspectable: v.uninspectable.clone(),
        top: None,
        jewels: v
            .jewels
            .as_deref()
            .and_then(|j| serde_json::from_str::<Vec<JewelHit>>(j).ok())
            .unwrap_or_default(),
    }
}

/// A redacted summary of findings for people: detector ids and counts.
pub(crate) fn summary(found: &Scanned) -> String {
    let mut parts: Vec<String> = found
        .detectors
        .iter()
        .map(|(id, n)| format!("`{id}` ×{n}"))
        .collect();
    for j in &found.jewels {
        parts.push(format!(
            "an excerpt of the crown jewel `{}` ({:.0} % of its fingerprints)",
            j.name,
            j.share * 100.0
        ));
    }
    if found.uninspectable.as_deref() == Some(TOO_LARGE) {
        parts.push("too large to inspect".to_owned());
    }
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The event detail of a scan outcome.
pub(crate) fn scan_detail(found: &Scanned, digest: &str, action: DlpAction) -> serde_json::Value {
    let mut detail = json!({
        "max_severity": found.max_severity.map(Severity::as_str),
        "detectors": found.detectors,
        "uninspectable": found.uninspectable,
        "ruleset": digest,
        "action": action.as_str(),
    });
    if !found.jewels.is_empty() {
        detail["crown_jewels"] = json!(found.jewels);
    }
    detail
}

/// Checks and trims a justification given as text (a grant's reason).
pub(crate) fn justification(raw: Option<&str>) -> Result<Option<Justification>, AppError> {
    Justification::parse(raw).map_err(AppError::from)
}

/// The refusal of content whose action is `justify`, sent without a reason.
pub(crate) fn justification_required(what: &str, found: &Scanned) -> AppError {
    AppError::JustificationRequired {
        message: format!(
            "this {what} needs a justification: the file contains findings ({}); \
             give the reason for it as a justification",
            summary(found)
        ),
    }
}

/// The refusal of an outbound action that the room's policy blocks.
fn outbound_blocked(found: &Scanned) -> AppError {
    let (detector, line, place) = match &found.top {
        Some(top) => (top.detector.clone(), top.line, format!(", {}", place(top))),
        None => (
            found
                .uninspectable
                .clone()
                .or_else(|| found.detectors.keys().next().cloned())
                .unwrap_or_default(),
            0,
            String::new(),
        ),
    };
    AppError::Blocked {
        detector,
        line,
        message: format!(
            "this file may not leave the room: it contains findings ({}{place}) that the \
             room's data-loss policy blocks",
            summary(found)
        ),
    }
}

/// The scanner with the custom rules and the crown jewels in force
/// (recompiled when either changed: one cheap read of each per call).
pub(crate) async fn ruleset(app: &App) -> Result<Ruleset, AppError> {
    let (source, generation) = {
        let mut tx = app.store().read().await?;
        (tx.dlp_rules().await?, tx.crown_jewel_generation().await?)
    };
    let scanners = app.slot::<Scanners>();
    {
        let cached = scanners.0.lock().map_err(AppError::internal)?;
        if let Some(r) = cached
            .as_ref()
            .filter(|r| r.source == source && r.jewels == generation)
        {
            return Ok(r.clone());
        }
    }
    let (generation, registry) = crate::jewels::registry(app).await?;
    let custom = source
        .iter()
        .map(|(id, text)| {
            serde_json::from_str::<dlp::CustomRule>(text)
                .map_err(|e| AppError::internal(format!("custom rule `{id}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let jewels = if registry.is_empty() {
        "none".to_owned()
    } else {
        format!("g{generation} v{}", dlp::PRINTS_VERSION)
    };
    let config = dlp::ScanConfig {
        custom,
        fingerprints: Some(registry),
        ..dlp::ScanConfig::default()
    };
    let scanner = Arc::new(dlp::Scanner::new(config).map_err(AppError::internal)?);
    let digest = ruleset_digest(&scanner, &source, &jewels);
    let fresh = Ruleset {
        scanner,
        digest,
        source,
        jewels: generation,
    };
    *scanners.0.lock().map_err(AppError::internal)? = Some(fresh.clone());
    Ok(fresh)
}

/// The policy in force in a room.
pub(crate) async fn dlp_policy_of(app: &App, room: RoomId) -> Result<RoomDlp, AppError> {
    let text = app.store().read().await?.room_dlp(room).await?;
    match text {
        Some(text) => {
            let policy = serde_json::from_str(&text)
                .map_err(|e| AppError::internal(format!("room {room} dlp policy: {e}")))?;
            Ok(RoomDlp { policy, set: true })
        }
        None => Ok(RoomDlp {
            policy: DlpPolicy::default_for(crate::files::shared_externally(app, room).await?),
            set: false,
        }),
    }
}

impl Rooms<'_> {
    /// A room's DLP policy (room managers, admins).
    pub async fn room_dlp(
        &self,
        auth: Authorized<'_, act::DlpPolicy, RoomInfo>,
    ) -> Result<RoomDlp, AppError> {
        let (_, _, info) = auth.into_parts();
        dlp_policy_of(self, info.room.id).await
    }

    /// Sets a room's DLP policy (room managers, admins); recorded as `dlp.policy`.
    pub async fn set_room_dlp(
        &self,
        auth: Authorized<'_, act::DlpPolicy, RoomInfo>,
        policy: DlpPolicy,
    ) -> Result<RoomDlp, AppError> {
        let (meta, p, info) = auth.into_parts();
        let room = info.room.id;
        policy.validate()?;
        let text = serde_json::to_string(&policy).map_err(AppError::internal)?;
        let mut tx = self.store().begin().await?;
        tx.set_room_dlp(room, &text).await?;
        let detail = serde_json::to_value(&policy).map_err(AppError::internal)?;
        let fact = Fact::allowed(Some(p), Action::DlpPolicy, format!("room:{room}")).with(detail);
        record(&mut tx, meta, self.now(), fact).await?;
        tx.commit().await?;
        Ok(RoomDlp { policy, set: true })
    }
}

/// Applies the room's outbound policy to `v` leaving through `action`
/// (`file.download`, `file.view`): the stored verdict while its ruleset is
/// current, else a rescan of the stored content (recorded as `dlp.scan`).
/// A refusal is recorded and returned; `notify` and a given justification
/// are recorded.
pub(crate) async fn check_outbound(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    (file, v): (&File, &Version),
    action: Action,
    justification: Option<&Justification>,
) -> Result<(), AppError> {
    let policy = dlp_policy_of(app, file.room_id).await?.policy.outbound;
    check_outbound_under(app, meta, p, (file, v), action, justification, &policy).await
}

/// Sharing a room with an external party takes every file in it out: each
/// current version is decided under the room's outbound policy as it will
/// be once shared (the room's own, or the default for shared rooms); the
/// grant's reason is the justification a `justify` asks for.
pub(crate) async fn check_share(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    room: RoomId,
    reason: &str,
) -> Result<(), AppError> {
    let set = dlp_policy_of(app, room).await?;
    let policy = if set.set {
        set.policy.outbound
    } else {
        DlpPolicy::default_for(true).outbound
    };
    if policy.allows_all() {
        return Ok(());
    }
    let files = app.store().read().await?.list_files(room).await?;
    let mut reason_given = None;
    for file in &files {
        let Some(v) = &file.current else { continue };
        if reason_given.is_none() {
            reason_given = Some(justification(Some(reason))?);
        }
        check_outbound_under(
            app,
            meta,
            p,
            (file, v),
            Action::GrantCreate,
            reason_given.as_ref().and_then(Option::as_ref),
            &policy,
        )
        .await?;
    }
    Ok(())
}

async fn check_outbound_under(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    (file, v): (&File, &Version),
    action: Action,
    justification: Option<&Justification>,
    policy: &DirectionPolicy,
) -> Result<(), AppError> {
    if policy.allows_all() {
        return Ok(());
    }
    let rules = ruleset(app).await?;
    let known = app.store().read().await?.dlp_verdict(v.id).await?;
    let found = match known {
        Some(k) if k.ruleset == rules.digest => scanned_of(&k),
        previous => rescan(app, meta, p, (file, v), &rules, previous.map(|k| k.ruleset)).await?,
    };
    let decided = policy.decide(found.max_severity, found.uninspectable.is_some());
    let target = format!("file:{}", file.id);
    let mut detail = scan_detail(&found, &rules.digest, decided);
    detail["version"] = json!(v.number);
    detail["direction"] = json!("outbound");
    detail["via"] = json!(action.as_str());
    match decided {
        DlpAction::Allow => Ok(()),
        DlpAction::Notify => {
            let fact = Fact::allowed(Some(p), EventName::DlpNotify, target).with(detail);
            app.record_alone(meta, fact).await.map(|_| ())
        }
        DlpAction::Justify => match justification {
            Some(text) => {
                detail["justification"] = json!(text.as_str());
                let fact = Fact::allowed(Some(p), EventName::DlpJustified, target).with(detail);
                app.record_alone(meta, fact).await.map(|_| ())
            }
            None => {
                let error = justification_required(action_noun(action), &found);
                let fact =
                    Fact::denied(Some(p), action, target, error.code().as_str()).with(detail);
                app.record_alone(meta, fact).await?;
                Err(error)
            }
        },
        DlpAction::Quarantine | DlpAction::Block => {
            let error = outbound_blocked(&found);
            let fact = Fact::denied(Some(p), action, target, error.code().as_str()).with(detail);
            app.record_alone(meta, fact).await?;
            Err(error)
        }
    }
}

/// Scans a stored version again under `rules`; stores the new verdict
/// with a `dlp.scan` event.
async fn rescan(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    (file, v): (&File, &Version),
    rules: &Ruleset,
    previous: Option<String>,
) -> Result<Scanned, AppError> {
    let mut chunks = crate::files::plaintext(app, meta, p, file, v).await?;
    let (scanner, name) = (rules.scanner.clone(), file.path.clone());
    let scanned = tokio::task::spawn_blocking(move || {
        let mut ins = Inspector::new(scanner, &name, None);
        while let Some(piece) = chunks.blocking_recv() {
            ins.push(&piece?)?;
        }
        ins.finish()
    })
    .await
    .map_err(AppError::internal)?;
    let found = match scanned {
        Ok(found) => found,
        Err(e @ AppError::Integrity) => {
            return Err(crate::files::integrity_event(app, meta, p, file, v, e).await);
        }
        Err(e) => return Err(e),
    };
    let now = app.now();
    let mut tx = app.store().begin().await?;
    tx.put_dlp_verdict(&stored(v, &found, &rules.digest, now))
        .await?;
    let mut detail = json!({
        "version": v.number, "direction": "outbound", "rescan": true,
        "previous_ruleset": previous,
        "max_severity": found.max_severity.map(Severity::as_str),
        "detectors": found.detectors, "uninspectable": found.uninspectable,
        "ruleset": rules.digest,
    });
    if found.uninspectable.is_none() {
        detail.as_object_mut().map(|o| o.remove("uninspectable"));
    }
    let fact = Fact::allowed(Some(p), EventName::DlpScan, format!("file:{}", file.id)).with(detail);
    record(&mut tx, meta, now, fact).await?;
    tx.commit().await?;
    Ok(found)
}

/// What a person calls the action, in messages.
fn action_noun(action: Action) -> &'static str {
    match action {
        Action::FileView => "view",
        Action::FileUpload => "upload",
        _ => "download",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DlpAction::*;

    fn dir(actions: [DlpAction; 5]) -> DirectionPolicy {
        let [low, medium, high, critical, uninspectable] = actions;
        DirectionPolicy {
            low,
            medium,
            high,
            critical,
            uninspectable,
        }
    }

    #[test]
    fn decisions_take_the_strictest_action() {
        let d = DlpPolicy::default_for(true).inbound;
        let cases = [
            (None, false, Allow),
            (Some(Severity::Low), false, Allow),
            (Some(Severity::High), false, Quarantine),
            (Some(Severity::Critical), true, Block),
            (None, true, Quarantine),
            (Some(Severity::Medium), true, Quarantine),
        ];
        for (severity, uninspectable, want) in cases {
            assert_eq!(d.decide(severity, uninspectable), want, "{severity:?}");
        }
        assert!(!DlpPolicy::default_for(false).inbound.allows_all());
        assert!(dir([Allow; 5]).allows_all());
    }

    #[test]
    fn policies_are_validated() {
        let ok = DlpPolicy::default_for(true);
        let milder = DlpPolicy {
            inbound: dir([Allow, Block, Notify, Block, Allow]),
            ..ok.clone()
        };
        let held_outbound = DlpPolicy {
            outbound: dir([Allow, Allow, Allow, Block, Quarantine]),
            ..ok.clone()
        };
        let infected_allowed = DlpPolicy {
            infected: Notify,
            ..ok.clone()
        };
        let cases: [(&DlpPolicy, Option<&str>); 5] = [
            (&infected_allowed, Some("`infected` cannot be `notify`")),
            (&ok, None),
            (&DlpPolicy::default_for(false), None),
            (
                &milder,
                Some("in `inbound`, `high` (notify) is milder than `medium` (block)"),
            ),
            (&held_outbound, Some("cannot be `quarantine`")),
        ];
        for (policy, want) in cases {
            let got = policy
                .validate()
                .err()
                .map(|e| (e.code().as_str(), e.to_string()));
            match (got, want) {
                (None, None) => {}
                (Some((code, message)), Some(want)) => {
                    assert_eq!(code, "dlp_bad_policy");
                    assert!(message.contains(want), "{message}");
                }
                (got, want) => panic!("{got:?} want {want:?}"),
            }
        }
    }

    #[test]
    fn justifications_are_one_bounded_line() {
        let long = "x".repeat(MAX_JUSTIFICATION + 1);
        type Row<'a> = (Option<&'a str>, Result<Option<&'a str>, &'a str>);
        let cases: [Row<'_>; 5] = [
            (None, Ok(None)),
            (Some("  "), Ok(None)),
            (
                Some(" customer asked for it "),
                Ok(Some("customer asked for it")),
            ),
            (Some("two\nlines"), Err("bad_justification")),
            (Some(&long), Err("bad_justification")),
        ];
        for (raw, want) in cases {
            let got = justification(raw)
                .map(|j| j.map(|j| j.to_string()))
                .map_err(|e| e.code().as_str());
            assert_eq!(got, want.map(|o| o.map(str::to_owned)), "{raw:?}");
        }
    }
}
