//! Due diligence in the web UI: the fragment the party page shows (the
//! party's status and risk tier with until when it is in term, or that it has
//! lapsed, or was never assessed — from the party record alone, so it decides
//! nothing and asks the policy nothing), and the contact's page
//! (`/assessments`): the questionnaires sent to them with a field per question
//! (a file question offers the files of the party's evidence room), save a
//! draft or submit, and a reply form under each open follow-up. Every form goes
//! through the seam (`assessment.answer` on the user's party) and the
//! `Assessments` use-cases; a refusal is shown above its form. And the
//! reviewer's page (`/admin/parties/{id}/assessments`, `assessment.review`):
//! each answer with its follow-ups and a form to ask one, the score, the
//! knock-outs and the computed tier, and the sign-off (tier and reasons); and
//! sending a questionnaire from it. The templates (`/admin/questionnaires`:
//! list, one version in words, a new version as the documented JSON) and the
//! sharing risk matrix editor (`/admin/risk`: a verdict and controls per
//! classification × tier, the re-assessment period per tier).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::authz::Action;
use app::{
    App, AppError, AssessmentView, Assessments, ErrorCode, FileInfo, Files, Identity, RequestMeta,
    act,
};
use model::diligence::{
    Assessment, AssessmentStatus, MatrixCell, MatrixControl, MatrixVerdict, Question, QuestionKind,
    RiskMatrix, RiskSettings, RiskTier, TIER_COLUMNS, TemplateBody, TierPeriods, tier_in_term,
};
use model::{
    AssessmentId, Classification, Party, PartyId, PartyStatus, QuestionnaireId, RoomId, UserId,
};

use super::admin::{Done, Failed, Fields, again, csrf_field, done, may, path_id, refusal};
use crate::auth::{FormCsrf, Meta};
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// The party's onboarding state and risk tier at `now_ms`, for its page.
pub fn party_section(party: &Party, now_ms: i64) -> Markup {
    let in_term = tier_in_term(party.tier, party.tier_until_ms, now_ms);
    html! {
        section.card #party-diligence {
            h2 { "Due diligence" }
            dl {
                dt { "Status" }
                dd #diligence-status {
                    (party.status.as_str())
                    @if party.status == PartyStatus::Prospective { " (being onboarded)" }
                }
                dt { "Risk tier" }
                dd #diligence-tier {
                    @match (in_term, party.tier, party.tier_until_ms) {
                        (Some(t), _, Some(until)) => { (t.as_str()) ", until " (layout::time(until)) }
                        (None, Some(t), Some(until)) => {
                            "unassessed (" (t.as_str()) " lapsed " (layout::time(until)) ")"
                        }
                        _ => { "unassessed" }
                    }
                }
            }
            p { a #diligence-review href=(format!("/admin/parties/{}/assessments", party.id)) { "Questionnaires and review" } }
        }
    }
}

// ------------------------------------------------ the contact's page

/// The routes of the due-diligence pages: pages, and the form posts
/// (CSRF-checked by each handler).
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/assessments/{id}/answers", post(answer))
        .route("/assessments/{id}/replies", post(reply))
        .route("/admin/parties/{id}/assessments", post(send))
        .route("/admin/questionnaires", post(save_template))
        .route("/admin/risk", post(save_risk))
        .route(
            "/admin/parties/{id}/assessments/{assessment}/follow-ups",
            post(ask),
        )
        .route(
            "/admin/parties/{id}/assessments/{assessment}/decision",
            post(decide),
        )
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/assessments", get(mine))
        .route("/admin/parties/{id}/assessments", get(review))
        .route("/admin/questionnaires", get(templates))
        .route("/admin/questionnaires/{id}", get(template))
        .route("/admin/risk", get(risk))
        .merge(forms)
}

/// `GET /assessments`: the questionnaires sent to the signed-in user as
/// their party's contact, with the answer form and the follow-ups.
pub async fn mine(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_mine(&app, &meta, &viewer, &ok, None).await
}

/// What the contact's page shows: the assessments, the evidence room and
/// its files (for the file questions).
async fn render_mine(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<(&Failed<'_>, AssessmentId)>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app
        .party(meta, p, p.party_id, act::AssessmentAnswer)
        .await?;
    let views = Assessments(app).of_party(auth).await?;
    let auth = app
        .party(meta, p, p.party_id, act::AssessmentAnswer)
        .await?;
    let room = Assessments(app).evidence_room(auth).await?;
    let files = match room {
        Some(room) => match app.room(meta, p, room, act::FileList).await {
            Ok(auth) => Files(app).list_files(auth).await?,
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    let evidence = Evidence {
        room,
        files: &files,
    };
    let body = html! {
        section.card {
            h1 { "Due diligence questionnaires" }
            (ok.notice())
            p { "The questionnaires your party was sent. Save your answers as a draft as often as you like; submit them for review when every required question is answered. A reviewer may then ask follow-up questions about single answers: reply below them, optionally with a new answer." }
            @if let Some(room) = room {
                p #evidence-room {
                    "Evidence files are uploaded to your party's "
                    a href=(format!("/rooms/{room}")) { "evidence room" }
                    "; a file question then offers them."
                }
            }
            @if views.is_empty() {
                p.empty #no-assessments { "No questionnaire was sent to you." }
            }
        }
        @for v in &views {
            (assessment_card(v, &evidence, &viewer.csrf, failed.filter(|(_, a)| *a == v.assessment.id).map(|(f, _)| f)))
        }
    };
    Ok(layout::page("Due diligence", Some(viewer.header()), body))
}

/// The party's evidence room and its files.
struct Evidence<'a> {
    room: Option<RoomId>,
    files: &'a [FileInfo],
}

fn assessment_card(
    v: &AssessmentView,
    evidence: &Evidence<'_>,
    csrf: &str,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let a = &v.assessment;
    let q = &v.questionnaire;
    let open = a.status == AssessmentStatus::Sent;
    html! {
        section.card.assessment #(format!("assessment-{}", a.id)) {
            h2 { (q.title) " (version " (q.version) ")" }
            p.muted {
                "Sent " (layout::time(a.sent_ms)) " · status "
                span.assessment-status { (a.status.as_str()) }
                @if let Some(at) = a.submitted_ms { " · submitted " (layout::time(at)) }
                @if let Some(d) = &a.decision { " · decided tier " span.decided-tier { (d.tier.as_str()) } }
            }
            @if open {
                (Failed::alert_for(failed, "answers"))
                form.answers method="post" action=(format!("/assessments/{}/answers", a.id)) {
                    (csrf_field(csrf))
                    @for s in &q.body.sections {
                        fieldset.section {
                            legend { (s.title) }
                            @for question in &s.questions {
                                (question_field(a.id, question, &answer_value(failed, a, &question.key), evidence))
                            }
                        }
                    }
                    div.actions {
                        button type="submit" name="submit" value="no" .save-draft { "Save draft" }
                        button.primary type="submit" name="submit" value="yes" .submit-answers { "Submit for review" }
                    }
                }
            } @else {
                dl.answers {
                    @for question in q.body.questions() {
                        dt { (question.text) }
                        dd data-key=(question.key) { (shown_answer(a.answers.get(&question.key).map(String::as_str), evidence)) }
                    }
                }
            }
            @if !a.follow_ups.is_empty() {
                h3 { "Follow-up questions" }
                @if failed.is_some_and(|f| f.form == "reply") { (Failed::alert_for(failed, "reply")) }
                ol.follow-ups {
                    @for (i, f) in a.follow_ups.iter().enumerate() {
                        li.follow-up data-key=(f.key) {
                            p { strong { "About “" (f.key) "”: " } span.follow-up-question { (f.question) } }
                            @if let Some(r) = &f.reply {
                                p.reply { "Your reply: " (r) }
                                @if let Some(new) = &f.remediation { p.remediation { "New answer: " (shown_answer(Some(new), evidence)) } }
                            } @else if a.status == AssessmentStatus::FollowUp {
                                (reply_form(a.id, i, csrf, failed))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A stored answer in words (a file answer by its name, when listed).
fn shown_answer(v: Option<&str>, evidence: &Evidence<'_>) -> String {
    match v {
        None => "(no answer)".to_owned(),
        Some(v) => evidence
            .files
            .iter()
            .find(|f| f.id.to_string() == v)
            .map_or_else(|| v.to_owned(), |f| f.path.clone()),
    }
}

/// The value a question's field shows: what was posted when the form was
/// refused, else the stored answer.
fn answer_value(failed: Option<&Failed<'_>>, a: &Assessment, key: &str) -> String {
    match failed.filter(|f| f.form == "answers") {
        Some(f) => f.fields.get(&format!("answer-{key}")).to_owned(),
        None => a.answers.get(key).cloned().unwrap_or_default(),
    }
}

fn question_field(aid: AssessmentId, q: &Question, value: &str, evidence: &Evidence<'_>) -> Markup {
    let id = format!("q-{aid}-{}", q.key);
    let name = format!("answer-{}", q.key);
    let label = html! {
        (q.text) @if q.required { " " span.required { "(required)" } }
    };
    html! {
        div.question data-key=(q.key) data-kind=(q.kind.as_str()) {
            @match q.kind {
                QuestionKind::YesNo => {
                    fieldset.yes-no {
                        legend { (label) }
                        @for (v, l) in [("yes", "Yes"), ("no", "No")] {
                            label {
                                input type="radio" id=(format!("{id}-{v}")) name=(name) value=(v) checked[value == v];
                                " " (l)
                            }
                        }
                    }
                }
                QuestionKind::Choice => {
                    label for=(id) { (label) }
                    select id=(id) name=(name) {
                        option value="" selected[value.is_empty()] { "(no answer)" }
                        @for c in &q.choices {
                            option value=(c) selected[value == c] { (c) }
                        }
                    }
                }
                QuestionKind::Text => {
                    label for=(id) { (label) }
                    textarea id=(id) name=(name) rows="4" maxlength="10000" { (value) }
                }
                QuestionKind::Number => {
                    label for=(id) { (label) }
                    input type="text" inputmode="decimal" id=(id) name=(name) value=(value);
                }
                QuestionKind::Date => {
                    label for=(id) { (label) }
                    input type="date" id=(id) name=(name) value=(value);
                }
                QuestionKind::File => {
                    label for=(id) { (label) }
                    select id=(id) name=(name) {
                        option value="" selected[value.is_empty()] { "(no file)" }
                        @for f in evidence.files {
                            @let fid = f.id.to_string();
                            option value=(fid) selected[value == fid] { (f.path) }
                        }
                    }
                    @if let Some(room) = evidence.room {
                        p.muted {
                            "A file of your party's evidence room; "
                            a href=(format!("/rooms/{room}")) { "upload it there" }
                            " first, then come back."
                        }
                    }
                }
            }
        }
    }
}

fn reply_form(aid: AssessmentId, index: usize, csrf: &str, failed: Option<&Failed<'_>>) -> Markup {
    let mine = failed.filter(|f| f.form == "reply" && f.fields.get("index") == index.to_string());
    let value = |name: &str| {
        mine.map(|f| f.fields.get(name).to_owned())
            .unwrap_or_default()
    };
    html! {
        form.reply method="post" action=(format!("/assessments/{aid}/replies")) {
            (csrf_field(csrf))
            input type="hidden" name="index" value=(index);
            label for=(format!("reply-{aid}-{index}")) { "Your reply" }
            textarea id=(format!("reply-{aid}-{index}")) name="reply" rows="3" maxlength="10000" required { (value("reply")) }
            label for=(format!("remediation-{aid}-{index}")) { "A new answer replacing yours (optional)" }
            input type="text" id=(format!("remediation-{aid}-{index}")) name="remediation" value=(value("remediation"));
            button.primary type="submit" .send-reply { "Reply" }
        }
    }
}

/// `POST /assessments/{id}/answers`: saves a draft or submits.
pub async fn answer(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let aid: AssessmentId = path_id(&raw)?;
    let submit = f.get("submit") == "yes";
    let answers: BTreeMap<String, String> = f
        .pairs()
        .filter_map(|(k, v)| {
            k.strip_prefix("answer-")
                .map(|k| (k.to_owned(), v.trim().to_owned()))
        })
        .collect();
    let p = &viewer.authed.principal;
    let result = async {
        let auth = app
            .party(&meta, p, p.party_id, act::AssessmentAnswer)
            .await?;
        Assessments(&app).answer(auth, aid, answers, submit).await
    }
    .await;
    let key = if submit {
        "answers-submitted"
    } else {
        "answers-saved"
    };
    finish(
        &app,
        &meta,
        &viewer,
        aid,
        result.map(|_| key),
        "answers",
        &f,
    )
    .await
}

/// `POST /assessments/{id}/replies`: replies to a follow-up.
pub async fn reply(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let aid: AssessmentId = path_id(&raw)?;
    let p = &viewer.authed.principal;
    let result = async {
        let index: usize = f.get("index").parse().map_err(|_| {
            AppError::invalid(
                ErrorCode::InvalidAnswer,
                "the follow-up is not one of this assessment",
            )
        })?;
        let auth = app
            .party(&meta, p, p.party_id, act::AssessmentAnswer)
            .await?;
        Assessments(&app)
            .reply(auth, aid, index, f.get("reply"), f.opt("remediation"))
            .await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        aid,
        result.map(|_| "reply-sent"),
        "reply",
        &f,
    )
    .await
}

/// Back to the contact's page with `key`, or the page again with the refusal.
async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    aid: AssessmentId,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done("/assessments", key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page =
                render_mine(app, meta, viewer, &Done::default(), Some((&failed, aid))).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

// ------------------------------------------------ the reviewer's page

/// `GET /admin/parties/{id}/assessments`: a party's assessments for a
/// reviewer (owner admins and security officers).
pub async fn review(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let party: PartyId = path_id(&raw)?;
    render_review(&app, &meta, &viewer, party, &ok, None).await
}

async fn render_review(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    party: PartyId,
    ok: &Done,
    failed: Option<(&Failed<'_>, Option<AssessmentId>)>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.party(meta, p, party, act::AssessmentReview).await?;
    let views = Assessments(app).of_party(auth).await?;
    let sending = if may(app, meta, viewer, Action::AssessmentSend)
        && may(app, meta, viewer, Action::QuestionnaireList)
        && may(app, meta, viewer, Action::UserList)
    {
        let auth = app.system(meta, p, act::QuestionnaireList).await?;
        let qs = Assessments(app).list_questionnaires(auth).await?;
        let auth = app.system(meta, p, act::UserList).await?;
        let users = Identity(app).list_users(auth, Some(party)).await?;
        Some((qs, users))
    } else {
        None
    };
    let send_failed = failed.map(|(f, _)| f).filter(|f| f.form == "send-form");
    let body = html! {
        section.card {
            h1 { "Due diligence review" }
            (ok.notice())
            p {
                "The questionnaires sent to "
                a href=(format!("/admin/parties/{party}")) { "this party" }
                ", their answers with the score and the tier computed from them (raised by every knock-out answer). Ask a follow-up about any answer; sign off with the tier you decide and your reasons."
            }
            @if views.is_empty() {
                p.empty #no-assessments { "No questionnaire was sent to this party." }
            }
        }
        @if let Some((qs, users)) = &sending {
            section.card {
                h2 { "Send a questionnaire" }
                p { "The contact is told and may answer at once; the first questionnaire also makes the party's evidence room, where the contact uploads evidence files. Templates are written on the " a href="/admin/questionnaires" { "Questionnaires" } " page." }
                (Failed::alert_for(send_failed, "send-form"))
                form #send-form method="post" action=(format!("/admin/parties/{party}/assessments")) {
                    (csrf_field(&viewer.csrf))
                    @let chosen_q = Failed::value(send_failed, "send-form", "questionnaire", "");
                    @let chosen_c = Failed::value(send_failed, "send-form", "contact", "");
                    label for="send-questionnaire" { "Questionnaire" }
                    select #send-questionnaire name="questionnaire" {
                        option value="" { "(choose)" }
                        @for q in qs {
                            @let id = q.id.to_string();
                            option value=(id) selected[chosen_q == id] { (q.title) " — " (q.name) " v" (q.version) }
                        }
                    }
                    label for="send-contact" { "Contact (a user of the party)" }
                    select #send-contact name="contact" {
                        option value="" { "(choose)" }
                        @for u in users {
                            @let id = u.id.to_string();
                            option value=(id) selected[chosen_c == id] { (u.display_name) " <" (u.email) ">" }
                        }
                    }
                    button.primary type="submit" #send-questionnaire-button { "Send" }
                }
            }
        }
        @for v in &views {
            (review_card(party, v, &viewer.csrf, failed.filter(|(_, a)| *a == Some(v.assessment.id)).map(|(f, _)| f)))
        }
    };
    Ok(layout::page(
        "Due diligence review",
        Some(viewer.header()),
        body,
    ))
}

fn review_card(
    party: PartyId,
    v: &AssessmentView,
    csrf: &str,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let a = &v.assessment;
    let q = &v.questionnaire;
    let s = &v.scored;
    let open = matches!(
        a.status,
        AssessmentStatus::Submitted | AssessmentStatus::FollowUp
    );
    let base = format!("/admin/parties/{party}/assessments/{}", a.id);
    html! {
        section.card.assessment #(format!("assessment-{}", a.id)) {
            h2 { (q.title) " (version " (q.version) ")" }
            dl.scored {
                dt { "Status" } dd.assessment-status { (a.status.as_str()) }
                dt { "Score" } dd.score { (s.score) " of " (s.max_score) " (" (s.score_tier.as_str()) ")" }
                dt { "Knock-out answers" }
                dd.knock-outs {
                    @if s.knock_outs.is_empty() { "none" }
                    @for (i, (key, tier)) in s.knock_outs.iter().enumerate() {
                        @if i > 0 { ", " }
                        (key) " → at least " (tier.as_str())
                    }
                }
                dt { "Computed tier" } dd.computed-tier { (s.tier.as_str()) }
                @if let Some(d) = &a.decision {
                    dt { "Decided tier" } dd.decided-tier { (d.tier.as_str()) ", until " (layout::time(d.until_ms)) }
                    dt { "Reasons" } dd.decision-reasons { (d.reasons) }
                }
            }
            (Failed::alert_for(failed, "follow-up"))
            table.answers {
                caption { "Answers" }
                thead { tr { th scope="col" { "Question" } th scope="col" { "Answer" } th scope="col" { "Follow-ups" } } }
                tbody {
                    @for question in q.body.questions() {
                        tr data-key=(question.key) {
                            td { (question.text) }
                            td.answer {
                                @match (question.kind, a.answers.get(&question.key)) {
                                    (_, None) => { "(no answer)" }
                                    (QuestionKind::File, Some(f)) => { a href=(format!("/files/{f}/versions")) { "evidence file" } }
                                    (_, Some(v)) => { (v) }
                                }
                            }
                            td {
                                @for f in a.follow_ups.iter().filter(|f| f.key == question.key) {
                                    p.follow-up {
                                        "Asked: " (f.question)
                                        @if let Some(r) = &f.reply { br; "Reply: " (r) }
                                        @if let (Some(new), Some(old)) = (&f.remediation, &f.replaced) { br; "Answer changed from " (old) " to " (new) }
                                    }
                                }
                                @if open {
                                    @let id = format!("ask-{}-{}", a.id, question.key);
                                    form.follow-up-form method="post" action=(format!("{base}/follow-ups")) {
                                        (csrf_field(csrf))
                                        input type="hidden" name="key" value=(question.key);
                                        label for=(id) { "Follow-up question" }
                                        input type="text" id=(id) name="question" maxlength="2000";
                                        button type="submit" .ask { "Ask" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if open {
                h3 { "Sign off" }
                (Failed::alert_for(failed, "decision"))
                form.decision method="post" action=(format!("{base}/decision")) {
                    (csrf_field(csrf))
                    @let tid = format!("tier-{}", a.id);
                    @let rid = format!("reasons-{}", a.id);
                    @let tier = Failed::value(failed, "decision", "tier", s.tier.as_str());
                    label for=(tid) { "Decided tier" }
                    select id=(tid) name="tier" {
                        @for t in RiskTier::ALL {
                            option value=(t.as_str()) selected[tier == t.as_str()] { (t.as_str()) }
                        }
                    }
                    label for=(rid) { "Reasons" }
                    textarea id=(rid) name="reasons" rows="3" maxlength="10000" { (Failed::value(failed, "decision", "reasons", "")) }
                    button.primary type="submit" .decide { "Sign off" }
                }
            }
        }
    }
}

/// `POST /admin/parties/{id}/assessments/{assessment}/follow-ups`.
pub async fn ask(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, raw_a)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let party: PartyId = path_id(&raw)?;
    let aid: AssessmentId = path_id(&raw_a)?;
    let result = async {
        let auth = app
            .party(
                &meta,
                &viewer.authed.principal,
                party,
                act::AssessmentReview,
            )
            .await?;
        Assessments(&app)
            .follow_up(auth, aid, f.get("key"), f.get("question"))
            .await
    }
    .await;
    finish_review(
        &app,
        &meta,
        &viewer,
        party,
        aid,
        result.map(|_| "follow-up-asked"),
        "follow-up",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/assessments/{assessment}/decision`.
pub async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, raw_a)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let party: PartyId = path_id(&raw)?;
    let aid: AssessmentId = path_id(&raw_a)?;
    let result = async {
        let tier = RiskTier::parse(f.get("tier"))?;
        let auth = app
            .party(
                &meta,
                &viewer.authed.principal,
                party,
                act::AssessmentReview,
            )
            .await?;
        Assessments(&app)
            .decide(auth, aid, tier, f.get("reasons"))
            .await
    }
    .await;
    finish_review(
        &app,
        &meta,
        &viewer,
        party,
        aid,
        result.map(|_| "assessment-decided"),
        "decision",
        &f,
    )
    .await
}

/// Back to the review page with `key`, or the page again with the refusal.
#[allow(clippy::too_many_arguments, reason = "the handlers' parts, passed on")]
async fn finish_review(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    party: PartyId,
    aid: AssessmentId,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/admin/parties/{party}/assessments"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_review(
                app,
                meta,
                viewer,
                party,
                &Done::default(),
                Some((&failed, Some(aid))),
            )
            .await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

// ------------------------------------------------ templates and sending

/// An example of a template's JSON, shown beside the editor.
const EXAMPLE: &str = r#"{
  "sections": [
    {"title": "Security", "questions": [
      {"key": "encrypts", "text": "Do you encrypt data at rest?", "kind": "yes_no",
       "required": true, "score": {"rule": "yes_no", "yes": 40, "no": 0},
       "knock_out": {"answers": ["no"], "min_tier": "high"}},
      {"key": "iso", "text": "ISO/IEC 27001?", "kind": "choice",
       "choices": ["certified", "in progress", "no"],
       "score": {"rule": "choices", "points": [40, 10, 0]}},
      {"key": "policy", "text": "Your security policy", "kind": "file",
       "score": {"rule": "answered", "points": 20}}
    ]}
  ],
  "thresholds": {"low": 90, "medium": 60, "high": 20}
}"#;

/// `GET /admin/questionnaires`: every template version, and (for admins)
/// the form for a new version.
pub async fn templates(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_templates(&app, &meta, &viewer, &ok, None).await
}

async fn render_templates(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::QuestionnaireList)
        .await?;
    let list = Assessments(app).list_questionnaires(auth).await?;
    let may_write = may(app, meta, viewer, Action::QuestionnaireUpdate);
    let body = html! {
        section.card {
            h1 { "Questionnaires" }
            (ok.notice())
            p { "Due-diligence questionnaire templates, by name then newest version first. A stored version never changes; sending one to a party's contact is done from the party's " em { "Questionnaires and review" } " page." }
            @if list.is_empty() {
                p.empty #no-questionnaires { "No questionnaire yet." }
            } @else {
                table #questionnaires {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Title" } th scope="col" { "Written" } } }
                    tbody {
                        @for q in &list {
                            tr.questionnaire data-name=(q.name) data-version=(q.version) {
                                td { a href=(format!("/admin/questionnaires/{}", q.id)) { (q.name) } }
                                td { (q.version) }
                                td { (q.title) }
                                td { (layout::time(q.created_ms)) }
                            }
                        }
                    }
                }
            }
        }
        @if may_write {
            section.card {
                h2 { "New questionnaire or new version" }
                p { "Write the template as JSON: " code { "sections" } " (each a " code { "title" } " and its " code { "questions" } ") and " code { "thresholds" } " (the least score of the tiers " code { "low" } ", " code { "medium" } " and " code { "high" } "; below " code { "high" } " is critical). Question kinds: " code { "yes_no" } ", " code { "choice" } ", " code { "text" } ", " code { "number" } ", " code { "date" } ", " code { "file" } "; score rules: " code { "none" } ", " code { "yes_no" } ", " code { "choices" } ", " code { "ranges" } ", " code { "answered" } "; a " code { "knock_out" } " raises the tier to at least its " code { "min_tier" } ". A name already used stores a new version. For example:" }
                pre #template-example tabindex="0" { (EXAMPLE) }
                (Failed::alert_for(failed, "questionnaire-form"))
                form #questionnaire-form method="post" action="/admin/questionnaires" {
                    (csrf_field(&viewer.csrf))
                    label for="questionnaire-name" { "Name (a-z, 0-9, -)" }
                    input type="text" id="questionnaire-name" name="name" maxlength="64" required value=(Failed::value(failed, "questionnaire-form", "name", ""));
                    label for="questionnaire-title" { "Title" }
                    input type="text" id="questionnaire-title" name="title" maxlength="200" required value=(Failed::value(failed, "questionnaire-form", "title", ""));
                    label for="questionnaire-body" { "Template (JSON)" }
                    textarea id="questionnaire-body" name="body" rows="16" required { (Failed::value(failed, "questionnaire-form", "body", "")) }
                    button.primary type="submit" #save-questionnaire { "Save version" }
                }
            }
        }
    };
    Ok(layout::page("Questionnaires", Some(viewer.header()), body))
}

/// `POST /admin/questionnaires`: stores a new version.
pub async fn save_template(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let result = async {
        let body: TemplateBody = serde_json::from_str(f.get("body")).map_err(|e| {
            AppError::invalid(
                ErrorCode::InvalidQuestionnaire,
                format!("the template: {e}"),
            )
        })?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::QuestionnaireUpdate)
            .await?;
        Assessments(&app)
            .save_questionnaire(auth, f.get("name").trim(), f.get("title").trim(), body)
            .await
    }
    .await;
    match result {
        Ok(q) => Ok(done(
            &format!("/admin/questionnaires/{}", q.id),
            "questionnaire-saved",
        )),
        Err(e) => {
            let failed = Failed {
                form: "questionnaire-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page =
                render_templates(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /admin/questionnaires/{id}`: one version, its questions in words.
pub async fn template(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let qid: QuestionnaireId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::QuestionnaireList)
        .await?;
    let q = Assessments(&app).get_questionnaire(auth, qid).await?;
    let t = &q.body.thresholds;
    let body = html! {
        section.card #questionnaire {
            h1 { (q.title) }
            (ok.notice())
            p.muted { (q.name) ", version " (q.version) ", written " (layout::time(q.created_ms)) " · " a href="/admin/questionnaires" { "all questionnaires" } }
            p #thresholds { "Tiers by score: low from " (t.low) ", medium from " (t.medium) ", high from " (t.high) ", critical below." }
            @for s in &q.body.sections {
                h2 { (s.title) }
                ol {
                    @for question in &s.questions {
                        li data-key=(question.key) {
                            (question.text) " "
                            span.muted {
                                "(" (question.kind.as_str())
                                @if !question.choices.is_empty() { ": " (question.choices.join(", ")) }
                                @if question.required { ", required" }
                                @if question.knock_out.is_some() { ", with a knock-out" }
                                ")"
                            }
                        }
                    }
                }
            }
            details {
                summary { "As JSON" }
                pre tabindex="0" { (serde_json::to_string_pretty(&q.body).unwrap_or_default()) }
            }
        }
    };
    Ok(layout::page("Questionnaire", Some(viewer.header()), body))
}

/// `POST /admin/parties/{id}/assessments`: sends a questionnaire version to
/// a user of the party.
pub async fn send(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let party: PartyId = path_id(&raw)?;
    let result = async {
        let q: QuestionnaireId = f.get("questionnaire").parse().map_err(|_| {
            AppError::invalid(ErrorCode::UnknownQuestionnaire, "choose a questionnaire")
        })?;
        let contact: UserId = f
            .get("contact")
            .parse()
            .map_err(|_| AppError::invalid(ErrorCode::InvalidContact, "choose the contact"))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::AssessmentSend)
            .await?;
        Assessments(&app).send(auth, party, q, contact).await
    }
    .await;
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/parties/{party}/assessments"),
            "questionnaire-sent",
        )),
        Err(e) => {
            let failed = Failed {
                form: "send-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_review(
                &app,
                &meta,
                &viewer,
                party,
                &Done::default(),
                Some((&failed, None)),
            )
            .await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

// ------------------------------------------------ the sharing risk matrix

/// `GET /admin/risk`: the sharing risk matrix and the re-assessment periods
/// (owner staff read; admins edit).
pub async fn risk(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_risk(&app, &meta, &viewer, &ok, None).await
}

async fn render_risk(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::RiskRead)
        .await?;
    let settings = Assessments(app).risk_settings(auth);
    let may_write = may(app, meta, viewer, Action::RiskUpdate);
    let posted = failed.filter(|f| f.form == "risk-form");
    let cell = |c: Classification, t: &str| {
        settings
            .matrix
            .cells
            .iter()
            .find(|x| x.classification == c && x.tier == t)
    };
    let periods = settings.periods;
    let body = html! {
        section.card {
            h1 { "Sharing risk matrix" }
            (ok.notice())
            p { "What a room's classification allows a party of each risk tier (or one with no tier in term: unassessed): allowed, allowed with the controls ticked (view-only, marked copies, a second factor, the network zone), or refused. The policies read it at every request; it decides nothing for your own organization. A decided tier stays in term for its re-assessment period." }
            (Failed::alert_for(failed, "risk-form"))
            form #risk-form method="post" action="/admin/risk" {
                (csrf_field(&viewer.csrf))
                table #risk-matrix {
                    caption { "Classification × tier" }
                    thead {
                        tr {
                            th scope="col" { "Classification" }
                            @for t in TIER_COLUMNS { th scope="col" { (t) } }
                        }
                    }
                    tbody {
                        @for c in Classification::ALL {
                            tr data-classification=(c.as_str()) {
                                th scope="row" { (c.as_str()) }
                                @for t in TIER_COLUMNS {
                                    @let key = format!("{}-{t}", c.as_str());
                                    @let now = cell(*c, t);
                                    @let verdict = match posted {
                                        Some(f) => f.fields.get(&format!("verdict-{key}")).to_owned(),
                                        None => now.map(|x| x.verdict.as_str().to_owned()).unwrap_or_default(),
                                    };
                                    td.cell data-tier=(t) {
                                        select id=(format!("verdict-{key}")) name=(format!("verdict-{key}")) aria-label=(format!("{} rooms, {t} parties", c.as_str())) disabled[!may_write] {
                                            @for v in MatrixVerdict::ALL {
                                                option value=(v.as_str()) selected[verdict == v.as_str()] { (v.as_str()) }
                                            }
                                        }
                                        @for m in MatrixControl::ALL {
                                            @let on = match posted {
                                                Some(f) => f.fields.all(&format!("controls-{key}")).contains(&m.as_str()),
                                                None => now.is_some_and(|x| x.controls.contains(m)),
                                            };
                                            label.control {
                                                input type="checkbox" id=(format!("control-{key}-{}", m.as_str())) name=(format!("controls-{key}")) value=(m.as_str()) checked[on] disabled[!may_write];
                                                " " (m.as_str())
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                fieldset #periods {
                    legend { "Re-assessment period per tier (days, 1 to 3,650)" }
                    @for (t, days) in [("low", periods.low), ("medium", periods.medium), ("high", periods.high), ("critical", periods.critical)] {
                        @let id = format!("period-{t}");
                        label for=(id) { (t) }
                        input type="number" id=(id) name=(id) min="1" max="3650" value=(Failed::value(posted, "risk-form", &id, &days.to_string())) disabled[!may_write];
                    }
                }
                @if may_write {
                    button.primary type="submit" #save-risk { "Save the matrix" }
                }
            }
        }
    };
    Ok(layout::page(
        "Sharing risk matrix",
        Some(viewer.header()),
        body,
    ))
}

/// The matrix and periods of the posted form.
fn posted_risk(f: &Fields) -> Result<RiskSettings, AppError> {
    let mut cells = Vec::new();
    for c in Classification::ALL {
        for t in TIER_COLUMNS {
            let key = format!("{}-{t}", c.as_str());
            let verdict = MatrixVerdict::parse(f.get(&format!("verdict-{key}")))?;
            let controls = f
                .all(&format!("controls-{key}"))
                .into_iter()
                .map(MatrixControl::parse)
                .collect::<Result<Vec<_>, _>>()?;
            cells.push(MatrixCell {
                classification: *c,
                tier: t.to_owned(),
                verdict,
                controls,
            });
        }
    }
    let days = |t: &str| {
        let raw = f.get(&format!("period-{t}")).trim();
        raw.parse::<i64>().map_err(|_| {
            AppError::invalid(
                ErrorCode::InvalidRiskSettings,
                format!(
                    "the period of `{t}`: `{}` is not a number of days",
                    raw.chars().take(20).collect::<String>()
                ),
            )
        })
    };
    Ok(RiskSettings {
        matrix: RiskMatrix { cells },
        periods: TierPeriods {
            low: days("low")?,
            medium: days("medium")?,
            high: days("high")?,
            critical: days("critical")?,
        },
    })
}

/// `POST /admin/risk`: replaces the matrix and the periods.
pub async fn save_risk(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let result = async {
        let settings = posted_risk(&f)?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::RiskUpdate)
            .await?;
        Assessments(&app).set_risk_settings(auth, settings).await
    }
    .await;
    match result {
        Ok(_) => Ok(done("/admin/risk", "risk-saved")),
        Err(e) => {
            let failed = Failed {
                form: "risk-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_risk(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
