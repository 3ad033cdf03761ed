//! The platform's settings: the network zones requests are placed in (one
//! zone a line), the administrators' custom DLP rules (added one by one or
//! imported from a gitleaks configuration, the import's report shown on
//! the page it answers with), and what the platform
//! knows of its keys (the key-encryption key in force, the last rotation as
//! recorded in the ledger, the ledger's verifier key), with links to the
//! policies and the quarantine. Staff who may only read see the lists; the
//! forms are shown to those the policy lets change them.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use maud::{Markup, html};

use app::authz::Action;
use app::dlp_policy::{CustomKind, CustomRule, ImportMode, Imported, PatternRule, Severity};
use app::events::{EventFilter, MAX_SEARCH};
use app::{App, AppError, Audit, ErrorCode, Policies, RequestMeta, Rooms, act};
use model::{Cidr, Event, NetworkZone};

use super::{Done, Failed, Fields, again, csrf_field, done, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// The zones as the form shows them: `name COUNTRY range range…` a line.
fn zones_text(zones: &[NetworkZone]) -> String {
    zones
        .iter()
        .map(|z| {
            let ranges: Vec<String> = z.ranges.iter().map(ToString::to_string).collect();
            format!("{} {} {}", z.name, z.country, ranges.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The zones of the form's text (the use-case validates each).
fn zones_of(text: &str) -> Result<Vec<NetworkZone>, AppError> {
    let mut zones = vec![];
    for line in text.lines() {
        let words: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        let [name, country, ranges @ ..] = words.as_slice() else {
            if words.is_empty() {
                continue;
            }
            return Err(AppError::invalid(
                ErrorCode::ZoneInvalid,
                format!(
                    "line `{}`: a zone is a name, a country code and address ranges",
                    line.trim()
                ),
            ));
        };
        let ranges = ranges
            .iter()
            .map(|r| {
                r.parse::<Cidr>()
                    .map_err(|e| AppError::invalid(e.code(), format!("zone `{name}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        zones.push(NetworkZone {
            name: (*name).to_owned(),
            country: country.to_ascii_uppercase(),
            ranges,
        });
    }
    Ok(zones)
}

/// What the page shows, each part read under its own decision.
struct Page {
    zones: Vec<NetworkZone>,
    may_zones: bool,
    rules: Option<Vec<CustomRule>>,
    may_rules: bool,
    keys: Keys,
}

/// What the platform exposes about its keys.
struct Keys {
    current_kek: Option<String>,
    kek_count: usize,
    /// The last `keys.rotate` event, when the caller may read events.
    last_rotation: Option<Option<Event>>,
    verifier_key: Option<String>,
}

async fn page_of(app: &App, meta: &RequestMeta, viewer: &Viewer) -> Result<Page, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::ZoneList).await?;
    let zones = Policies(app).list_zones(auth).await?;
    let may = app.permits_system(
        meta,
        p,
        &[
            Action::ZoneUpdate,
            Action::DlpReview,
            Action::PolicyApply,
            Action::EventRead,
        ],
    );
    let [may_zones, may_review, may_rules, may_read] = may.as_slice() else {
        return Err(AppError::internal("permits answered the wrong number of actions").into());
    };
    let rules = if *may_review {
        let auth = app.system(meta, p, act::DlpReview).await?;
        Some(Rooms(app).dlp_rules(auth).await?)
    } else {
        None
    };
    let keys = keys(app, meta, viewer, *may_read).await?;
    Ok(Page {
        zones,
        may_zones: *may_zones,
        rules,
        may_rules: *may_rules && *may_review,
        keys,
    })
}

async fn keys(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    may_read: bool,
) -> Result<Keys, WebError> {
    let (current_kek, kek_count) = match app.keyring() {
        Ok(ring) => (Some(ring.current_id().to_owned()), ring.ids().count()),
        Err(_) => (None, 0),
    };
    let (mut last_rotation, mut verifier_key) = (None, None);
    if may_read {
        let p = &viewer.authed.principal;
        let mut last = None;
        let mut after = 0;
        // Oldest first, a page at a time: the last page holds the newest.
        loop {
            let filter = EventFilter {
                action: Some("keys.rotate".into()),
                after,
                limit: MAX_SEARCH,
                ..EventFilter::default()
            };
            let auth = app.system(meta, p, act::EventRead).await?;
            let found = Audit(app).search_events(auth, filter).await?;
            let full = i64::try_from(found.len()).unwrap_or(i64::MAX) >= MAX_SEARCH;
            if let Some(e) = found.into_iter().last() {
                after = e.seq;
                last = Some(e);
            }
            if !full {
                break;
            }
        }
        last_rotation = Some(last);
        let auth = app.system(meta, p, act::EventRead).await?;
        verifier_key = Some(Audit(app).ledger_verifier_key(auth).await?);
    }
    Ok(Keys {
        current_kek,
        kek_count,
        last_rotation,
        verifier_key,
    })
}

/// `GET /admin/settings`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let page = page_of(&app, &meta, &viewer).await?;
    Ok(render(&viewer, &page, &ok, None, None))
}

fn render(
    viewer: &Viewer,
    page: &Page,
    ok: &Done,
    failed: Option<&Failed<'_>>,
    imported: Option<&Imported>,
) -> Markup {
    let body = html! {
        section.card {
            h1 { "Settings" }
            (ok.notice())
            p { "Also: " a #policies-link href="/policies" { "policies" } " · " a #quarantine-link href="/quarantine" { "quarantine" } " · " a href="/admin/templates" { "agreement templates" } }
        }
        @if let Some(done) = imported { (import_report(done)) }
        (zones_section(viewer, page, failed))
        @if let Some(rules) = &page.rules { (rules_section(viewer, rules, page.may_rules, failed)) }
        (keys_section(&page.keys))
    };
    layout::page("Settings", Some(viewer.header()), body)
}

fn zones_section(viewer: &Viewer, page: &Page, failed: Option<&Failed<'_>>) -> Markup {
    let form = "zones-form";
    html! {
        section.card {
            h2 { "Network zones" }
            p.muted { "Requests are placed in the zone with the most specific range holding their address; policies may require a zone or a country." }
            @if page.zones.is_empty() {
                p.empty #no-zones { "No zone: requests are in no zone." }
            } @else {
                table.listing #zones {
                    thead { tr { th { "Zone" } th { "Country" } th { "Ranges" } } }
                    tbody {
                        @for z in &page.zones {
                            tr id=(format!("zone-{}", z.name)) {
                                td { code { (z.name) } }
                                td { (z.country) }
                                td { @for r in &z.ranges { code { (r) } " " } }
                            }
                        }
                    }
                }
            }
            @if page.may_zones {
                (Failed::alert_for(failed, form))
                form.stack #zones-form method="post" action="/admin/settings/zones" {
                    (csrf_field(&viewer.csrf))
                    label { "Zones, one a line: name, country code, address ranges (e.g. " code { "office DE 192.0.2.0/24 2001:db8::/32" } ")"
                        textarea #zones-text name="zones" rows="6" spellcheck="false" { (Failed::value(failed, form, "zones", &zones_text(&page.zones))) }
                    }
                    div { button.primary #zones-save type="submit" { "Save zones" } }
                }
            }
        }
    }
}

fn rule_kind(r: &CustomRule) -> String {
    match &r.kind {
        CustomKind::Keywords(words) => format!("keywords: {}", words.join(", ")),
        CustomKind::Dictionary {
            terms,
            min_distinct,
        } => {
            format!("{min_distinct} of the terms: {}", terms.join(", "))
        }
        CustomKind::Regex(re) => format!("regular expression: {re}"),
        CustomKind::Pattern(p) => pattern_kind(p),
    }
}

/// A pattern rule in one line: its expression and what narrows it.
fn pattern_kind(p: &PatternRule) -> String {
    let mut parts = Vec::new();
    if let Some(re) = &p.regex {
        parts.push(format!("pattern: {re}"));
    }
    if p.secret_group > 0 {
        parts.push(format!("secret group {}", p.secret_group));
    }
    if p.entropy > 0.0 {
        parts.push(format!("entropy at least {}", p.entropy));
    }
    if !p.keywords.is_empty() {
        parts.push(format!("keywords: {}", p.keywords.join(", ")));
    }
    if let Some(path) = &p.path {
        parts.push(format!("paths matching {path}"));
    }
    if !p.allowlists.is_empty() {
        parts.push(format!("{} allowlists", p.allowlists.len()));
    }
    parts.join("; ")
}

/// What an import did: the rules imported, skipped, and not honoured.
fn import_report(done: &Imported) -> Markup {
    let i = &done.import;
    html! {
        section.card #import-report {
            h2 { "Imported from the gitleaks configuration" }
            p #import-summary {
                (i.rules.len()) " rules imported, " (i.skipped.len()) " skipped, "
                (i.unsupported.len()) " settings not honoured"
                @if !done.removed.is_empty() { "; removed or replaced: " (done.removed.join(", ")) }
            }
            @if !i.rules.is_empty() {
                ul #imported-rules { @for r in &i.rules { li { code { (r.id) } } } }
            }
            @if !i.skipped.is_empty() {
                h3 { "Rules skipped" }
                table.listing #import-skipped {
                    thead { tr { th { "Rule" } th { "Why" } } }
                    tbody { @for s in &i.skipped { tr { td { code { (s.rule) } } td { (s.reason) } } } }
                }
            }
            @if !i.unsupported.is_empty() {
                h3 { "Settings not honoured" }
                table.listing #import-unsupported {
                    thead { tr { th { "Rule" } th { "Setting" } th { "What was done" } } }
                    tbody {
                        @for u in &i.unsupported {
                            tr {
                                td { @if let Some(r) = &u.rule { code { (r) } } @else { "the configuration" } }
                                td { code { (u.feature) } }
                                td { (u.detail) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn rules_section(
    viewer: &Viewer,
    rules: &[CustomRule],
    may_change: bool,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let form = "rule-form";
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let severities = [
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("critical", "critical"),
    ];
    let kinds = [
        ("keywords", "any of the keywords (one a line)"),
        ("dictionary", "several terms of a dictionary (one a line)"),
        ("regex", "a regular expression"),
    ];
    html! {
        section.card {
            h2 { "Data-loss rules" }
            p.muted { "Detectors of your own, beside the built-in ones. A change renews stored verdicts on their next download or view." }
            (Failed::alert_for(failed, "rule-actions"))
            @if rules.is_empty() {
                p.empty #no-rules { "No rule of your own." }
            } @else {
                table.listing #dlp-rules {
                    thead { tr { th { "Id" } th { "Severity" } th { "Looks for" } th { "Says" } @if may_change { th { span.visually-hidden { "Remove" } } } } }
                    tbody {
                        @for r in rules {
                            tr id=(format!("rule-{}", r.id)) {
                                td { code { (r.id) } }
                                td { (r.severity.as_str()) }
                                td { (rule_kind(r)) }
                                td { (r.message) }
                                @if may_change {
                                    td.actions {
                                        form.inline method="post" action=(format!("/admin/settings/rules/{}/remove", r.id)) {
                                            (csrf_field(&viewer.csrf))
                                            button.secondary id=(format!("remove-rule-{}", r.id)) type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if may_change {
                h3 { "Add a rule" }
                (Failed::alert_for(failed, form))
                form.stack #rule-form method="post" action="/admin/settings/rules" {
                    (csrf_field(&viewer.csrf))
                    label { "Id (a-z, 0-9, ., _, -; e.g. acme.codename)" input #rule-id type="text" name="id" required maxlength="64" value=(v("id", "")); }
                    label { "Message of a finding" input #rule-message type="text" name="message" required value=(v("message", "")); }
                    label { "Severity" (select("rule-severity", "severity", &severities, &v("severity", "high"))) }
                    label { "Looks for" (select("rule-kind", "kind", &kinds, &v("kind", "keywords"))) }
                    label { "Keywords, terms or the expression" textarea #rule-pattern name="pattern" rows="4" spellcheck="false" required { (v("pattern", "")) } }
                    label { "Distinct terms that make a finding (dictionary)" input #rule-min-distinct type="number" name="min_distinct" min="1" value=(v("min_distinct", "2")); }
                    div { button.primary #rule-add type="submit" { "Add rule" } }
                }
                h3 { "Import a gitleaks configuration" }
                p.muted { "Its rules (expression, secret group, entropy, keywords, path, allowlists) become rules here; what cannot be honoured is listed after the import." }
                (Failed::alert_for(failed, "import-form"))
                form.stack #import-form method="post" action="/admin/settings/rules/import" {
                    (csrf_field(&viewer.csrf))
                    label { "Configuration (TOML)" textarea #import-config name="config" rows="10" spellcheck="false" required { (Failed::value(failed, "import-form", "config", "")) } }
                    label { "Severity of their findings" (select("import-severity", "severity", &severities, &Failed::value(failed, "import-form", "severity", "high"))) }
                    label { "Rules already here" (select("import-mode", "mode", &IMPORT_MODES, &Failed::value(failed, "import-form", "mode", "merge"))) }
                    div { button.primary #import-rules type="submit" { "Import" } }
                }
            }
        }
    }
}

fn keys_section(k: &Keys) -> Markup {
    html! {
        section.card #keys {
            h2 { "Keys" }
            dl.facts {
                dt { "Key-encryption key in force" } dd #kek-current { @if let Some(id) = &k.current_kek { code { (id) } } @else { "unknown" } }
                dt { "Key-encryption keys held" } dd #kek-count { (k.kek_count) }
                @if let Some(last) = &k.last_rotation {
                    dt { "Last rotation" } dd #last-rotation {
                        @match last {
                            Some(e) => { (layout::time(e.time_ms)) " (ledger event " (e.seq) "): "
                                (e.detail["rewrapped_keys"].as_i64().unwrap_or(0)) " data keys re-wrapped, "
                                (e.detail["resealed_secrets"].as_i64().unwrap_or(0)) " secrets re-sealed" },
                            None => { "never rotated since the data directory was made" },
                        }
                    }
                }
                @if let Some(key) = &k.verifier_key {
                    dt { "Ledger verifier key" } dd { code.uri #verifier-key { (key) } }
                }
            }
            p.muted { "Keys are rotated with " code { "custody keys rotate" } " on the server; it re-wraps every data key under a new key-encryption key." }
        }
    }
}

/// `POST /admin/settings/zones`.
pub async fn zones(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let saved = async {
        let zones = zones_of(f.get("zones"))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::ZoneUpdate)
            .await?;
        Policies(&app).set_zones(auth, zones).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        saved.map(|_| "zones-saved"),
        "zones-form",
        &f,
    )
    .await
}

/// The rule of the form.
fn rule_of(f: &Fields) -> Result<CustomRule, AppError> {
    let severity = Severity::parse(f.get("severity"))
        .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e.to_string()))?;
    let lines: Vec<String> = f
        .get("pattern")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let kind = match f.get("kind") {
        "keywords" => CustomKind::Keywords(lines),
        "dictionary" => CustomKind::Dictionary {
            terms: lines,
            min_distinct: f.get("min_distinct").trim().parse().map_err(|_| {
                AppError::invalid(
                    ErrorCode::InvalidField,
                    "the number of distinct terms is a whole number",
                )
            })?,
        },
        "regex" => CustomKind::Regex(f.get("pattern").trim().to_owned()),
        _ => {
            return Err(AppError::invalid(
                ErrorCode::InvalidField,
                "choose what the rule looks for",
            ));
        }
    };
    Ok(CustomRule {
        id: f.get("id").trim().to_owned(),
        message: f.get("message").trim().to_owned(),
        severity,
        kind,
    })
}

/// `POST /admin/settings/rules`.
pub async fn add_rule(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let added = async {
        let rule = rule_of(&f)?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PolicyApply)
            .await?;
        Rooms(&app).add_dlp_rule(auth, rule).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        added.map(|_| "rule-added"),
        "rule-form",
        &f,
    )
    .await
}

/// What an import does with the rules already stored.
const IMPORT_MODES: [(&str, &str); 2] = [
    (
        "merge",
        "keep them; imported rules replace those of the same id",
    ),
    ("replace", "replace them all with the imported rules"),
];

/// `POST /admin/settings/rules/import`: answers the page with the import's report.
pub async fn import_rules(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let imported = async {
        let mode = ImportMode::parse(f.get("mode"))?;
        let severity = Severity::parse(f.get("severity"))
            .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e.to_string()))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PolicyApply)
            .await?;
        Rooms(&app)
            .import_gitleaks(auth, f.get("config"), mode, severity)
            .await
    }
    .await;
    match imported {
        Ok(done) => {
            let page = page_of(&app, &meta, &viewer).await?;
            Ok(render(&viewer, &page, &Done::default(), None, Some(&done)).into_response())
        }
        Err(e) => finish(&app, &meta, &viewer, Err(e), "import-form", &f).await,
    }
}

/// `POST /admin/settings/rules/{id}/remove`.
pub async fn remove_rule(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::PolicyApply)
        .await?;
    let removed = Rooms(&app).remove_dlp_rule(auth, &id).await;
    finish(
        &app,
        &meta,
        &viewer,
        removed.map(|()| "rule-removed"),
        "rule-actions",
        &f,
    )
    .await
}

async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done("/admin/settings", key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = page_of(app, meta, viewer).await?;
            Ok(again(
                failed.refusal.status,
                render(viewer, &page, &Done::default(), Some(&failed), None),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_read_back_as_they_are_shown() {
        let text = "office DE 192.0.2.0/24 2001:db8::/32\n\n  lab, fr, 198.51.100.0/24 \n";
        let zones = zones_of(text).unwrap();
        assert_eq!(zones.len(), 2);
        assert_eq!(
            (zones[1].name.as_str(), zones[1].country.as_str()),
            ("lab", "FR")
        );
        assert_eq!(
            zones_text(&zones),
            "office DE 192.0.2.0/24 2001:db8::/32\nlab FR 198.51.100.0/24"
        );
        for bad in ["office", "office DE 192.0.2.0/33"] {
            assert!(zones_of(bad).is_err(), "{bad}");
        }
    }
}
