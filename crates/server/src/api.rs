//! The REST API under `/api/v1`. Each handler does four things: extract,
//! authorize (inside the use-case, through the one authorization seam, before
//! anything else), call the use-case, respond.

mod account;
mod agreements;
mod alerts;
mod assessments;
mod attestations;
mod auth;
mod certifications;
mod conditions;
mod courses;
mod destruction;
mod dlp;
mod events;
mod files;
mod incidents;
mod jewels;
mod ledger;
mod links;
mod marks;
mod openapi;

pub(crate) use marks::{page_response, view_of};
mod parties;
mod policies;
mod reviews;
mod rooms;
mod scim;
mod upload_requests;

pub(crate) use destruction::hold_scope;
pub(crate) use incidents::trace_of;
pub(crate) use jewels::export_response as jewels_export_response;
pub(crate) use reviews::csv_response as review_csv_response;

use std::str::FromStr;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::{App, ErrorCode};

use crate::error::ApiError;

/// Parses an id from the path; a malformed id is simply not found.
/// An optional id filter of a list (`?room=`): absent or empty is no filter;
/// a malformed one is `bad_filter` (a filter names nothing it could hide).
pub(crate) fn filter_id<T: FromStr>(name: &str, raw: Option<&str>) -> Result<Option<T>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            ApiError::new(ErrorCode::BadFilter, format!("`{name}` is not a valid id"))
        }),
    }
}

pub(crate) fn id<T: FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "not found"))
}

/// Parses one of the model's names (roles, classifications…).
pub(crate) fn name<T>(
    parse: impl Fn(&str) -> Result<T, model::UnknownName>,
    raw: &str,
) -> Result<T, ApiError> {
    parse(raw).map_err(|e| ApiError::from(app::AppError::from(e)))
}

#[derive(OpenApi)]
#[openapi(
    servers((url = "/api/v1")),
    info(title = "Custody API", description = "Share intellectual property with external parties and keep control of it."),
    paths(files::put_file),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The finishing pass over the whole document, once every route is in it
/// (`openapi::finish`). It works on the document as JSON.
struct Finish;

impl utoipa::Modify for Finish {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let finished = serde_json::to_value(&*doc).and_then(|mut json| {
            openapi::finish(&mut json);
            serde_json::from_value(json)
        });
        match finished {
            Ok(finished) => *doc = finished,
            Err(e) => tracing::error!(error = %e, "cannot finish the OpenAPI document"),
        }
    }
}

/// The API routes and their OpenAPI description.
pub fn router() -> (axum::Router<App>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes().split_for_parts();
    utoipa::Modify::modify(&Finish, &mut doc);
    (router, doc)
}

fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::totp_enrol))
        .routes(routes!(auth::totp_confirm))
        .routes(routes!(
            account::get_mail_preference,
            account::put_mail_preference
        ))
        .routes(routes!(account::list_sessions))
        .routes(routes!(account::end_session))
        .routes(routes!(account::end_other_sessions))
        .routes(routes!(account::create_token))
        .routes(routes!(account::renew_recovery_codes))
        .routes(routes!(account::reset_mfa))
        .routes(routes!(account::unlock_user))
        .routes(routes!(parties::list_parties, parties::create_party))
        .routes(routes!(parties::get_party, parties::patch_party))
        .routes(routes!(parties::activate_party))
        .routes(routes!(parties::offboard_party))
        .routes(routes!(parties::reonboard_party))
        .routes(routes!(parties::offboard_user))
        .routes(routes!(parties::list_users, parties::create_user))
        .routes(routes!(parties::get_user, parties::patch_user))
        .routes(routes!(parties::revoke_sessions))
        .routes(routes!(parties::create_invitation))
        .routes(routes!(parties::accept_invitation))
        .routes(routes!(rooms::list_rooms, rooms::create_room))
        .routes(routes!(
            rooms::get_room,
            rooms::patch_room,
            rooms::delete_room
        ))
        .routes(routes!(rooms::list_grants, rooms::create_grant))
        .routes(routes!(rooms::revoke_grant))
        .routes(routes!(marks::get_delivery, marks::put_delivery))
        .routes(routes!(dlp::get_room_dlp, dlp::put_room_dlp))
        .routes(routes!(dlp::list_quarantine))
        .routes(routes!(dlp::held_content))
        .routes(routes!(dlp::release))
        .routes(routes!(dlp::reject))
        .routes(routes!(dlp::list_rules, dlp::add_rule))
        .routes(routes!(dlp::remove_rule))
        .routes(routes!(dlp::import_rules))
        .routes(routes!(jewels::list_jewels))
        .routes(routes!(jewels::export_jewels))
        .routes(routes!(jewels::register_file))
        .routes(routes!(jewels::register_tree))
        .routes(routes!(jewels::register_upload))
        .routes(routes!(jewels::unregister_jewel))
        .routes(routes!(scim::list_scim_tokens, scim::create_scim_token))
        .routes(routes!(scim::revoke_scim_token))
        .routes(routes!(scim::list_scim_mappings, scim::create_scim_mapping))
        .routes(routes!(scim::delete_scim_mapping))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::alert_feedback))
        .routes(routes!(incidents::list_incidents, incidents::open_incident))
        .routes(routes!(incidents::get_incident))
        .routes(routes!(incidents::assess_incident))
        .routes(routes!(incidents::set_incident_stage))
        .routes(routes!(incidents::add_incident_entry))
        .routes(routes!(incidents::finish_incident_task))
        .routes(routes!(incidents::contain_incident))
        .routes(routes!(incidents::trace_into_incident))
        .routes(routes!(incidents::hold_incident))
        .routes(routes!(incidents::incident_notified))
        .routes(routes!(incidents::incident_message))
        .routes(routes!(incidents::close_incident))
        .routes(routes!(incidents::incident_timeline))
        .routes(routes!(incidents::incident_bundle))
        .routes(routes!(incidents::report_leak))
        .routes(routes!(
            incidents::get_incident_settings,
            incidents::put_incident_settings
        ))
        .routes(routes!(reviews::list_reviews, reviews::create_review))
        .routes(routes!(reviews::assigned_reviews))
        .routes(routes!(reviews::get_review))
        .routes(routes!(reviews::my_review))
        .routes(routes!(reviews::decide_review))
        .routes(routes!(reviews::review_csv))
        .routes(routes!(reviews::review_bundle))
        .routes(routes!(attestations::list_attestations))
        .routes(routes!(attestations::get_attestation))
        .routes(routes!(attestations::send_attestation))
        .routes(routes!(marks::trace))
        .routes(routes!(marks::pages))
        .routes(routes!(marks::page))
        .routes(routes!(files::list_files))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::get_content))
        .routes(routes!(files::list_versions))
        .routes(routes!(files::restore_version))
        .routes(routes!(links::create_link))
        .routes(routes!(links::create_folder_link, links::list_links))
        .routes(routes!(links::revoke_link))
        .routes(routes!(
            upload_requests::list_upload_requests,
            upload_requests::create_upload_request
        ))
        .routes(routes!(upload_requests::get_upload_request))
        .routes(routes!(upload_requests::revoke_upload_request))
        .routes(routes!(destruction::request_destruction))
        .routes(routes!(destruction::confirm_destruction))
        .routes(routes!(destruction::put_retention))
        .routes(routes!(
            destruction::get_file_retention,
            destruction::put_file_retention
        ))
        .routes(routes!(
            destruction::get_purge_settings,
            destruction::put_purge_settings
        ))
        .routes(routes!(destruction::list_destructions))
        .routes(routes!(destruction::get_destruction))
        .routes(routes!(destruction::approve_destruction))
        .routes(routes!(destruction::reject_destruction))
        .routes(routes!(destruction::certificate))
        .routes(routes!(destruction::list_holds, destruction::set_hold))
        .routes(routes!(destruction::release_hold))
        .routes(routes!(events::list_events))
        .routes(routes!(events::redact_event))
        .routes(routes!(ledger::checkpoint))
        .routes(routes!(ledger::verifier_key))
        .routes(routes!(ledger::entries))
        .routes(routes!(ledger::inclusion_proof))
        .routes(routes!(ledger::consistency_proof))
        .routes(routes!(ledger::checkpoints))
        .routes(routes!(ledger::bundle))
        .routes(routes!(ledger::audit))
        .routes(routes!(
            agreements::list_agreements,
            agreements::create_agreement
        ))
        .routes(routes!(agreements::get_agreement))
        .routes(routes!(agreements::sign_agreement))
        .routes(routes!(agreements::terminate_agreement))
        .routes(routes!(policies::list_policies, policies::apply))
        .routes(routes!(policies::simulate))
        .routes(routes!(policies::what_if))
        .routes(routes!(policies::list_versions))
        .routes(routes!(policies::get_version))
        .routes(routes!(conditions::list_zones, conditions::put_zones))
        .routes(routes!(
            conditions::put_training,
            conditions::delete_training
        ))
        .routes(routes!(
            conditions::put_certification,
            conditions::delete_certification
        ))
        .routes(routes!(
            certifications::list_certifications,
            certifications::record_certification
        ))
        .routes(routes!(certifications::verify_certification))
        .routes(routes!(
            certifications::get_room_certifications,
            certifications::put_room_certifications
        ))
        .routes(routes!(certifications::list_classifications))
        .routes(routes!(certifications::put_classification))
        .routes(routes!(certifications::put_sponsor))
        .routes(routes!(courses::list_courses, courses::publish_course))
        .routes(routes!(courses::my_courses))
        .routes(routes!(courses::get_course, courses::publish_version))
        .routes(routes!(courses::take_course))
        .routes(routes!(courses::attempt_course))
        .routes(routes!(courses::record_completion))
        .routes(routes!(courses::put_classification_courses))
        .routes(routes!(
            courses::get_room_courses,
            courses::put_room_courses
        ))
        .routes(routes!(conditions::list_templates))
        .routes(routes!(conditions::put_template))
        .routes(routes!(conditions::issue_from_template))
        .routes(routes!(conditions::offer_agreement))
        .routes(routes!(conditions::list_notifications))
        .routes(routes!(conditions::read_notification))
        .routes(routes!(
            assessments::list_questionnaires,
            assessments::save_questionnaire
        ))
        .routes(routes!(assessments::get_questionnaire))
        .routes(routes!(
            assessments::party_assessments,
            assessments::send_questionnaire
        ))
        .routes(routes!(assessments::my_assessments))
        .routes(routes!(assessments::answer))
        .routes(routes!(assessments::reply))
        .routes(routes!(assessments::follow_up))
        .routes(routes!(assessments::decide))
        .routes(routes!(assessments::get_risk, assessments::put_risk))
        .route(
            "/rooms/{id}/files/{*path}",
            axum::routing::put(files::put_file),
        )
}

#[cfg(test)]
mod tests {
    /// The finishing pass works on JSON and reads the result back: it must
    /// read back, and nothing of it may be lost on the way.
    #[test]
    fn the_finished_document_survives_its_json_round_trip() {
        let generated = super::routes().split_for_parts().1;
        let mut json = serde_json::to_value(&generated).expect("to JSON");
        super::openapi::finish(&mut json);
        let back: utoipa::openapi::OpenApi =
            serde_json::from_value(json.clone()).expect("from JSON");
        assert_eq!(serde_json::to_value(&back).expect("to JSON"), json);
    }
}
