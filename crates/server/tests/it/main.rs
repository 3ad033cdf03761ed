//! The API test suite of the server, driven through the axum router without a
//! socket: authorization matrix, cross-party isolation, bad input, sign-in,
//! CSRF, files, audit events and the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first surprise"
)]

mod account;
mod agreements;
mod alerts;
mod antivirus;
mod attestations;
mod audit;
mod authz;
mod certifications;
mod conditions;
mod courses;
mod cross_party;
mod csrf;
mod destruction;
mod diligence;
mod dlp;
mod edge;
mod events;
mod files;
mod hardening;
mod incidents;
mod input;
mod jewels;
mod ledger;
mod links;
mod mail_digest;
mod marks;
mod offboarding;
mod openapi;
mod policies_admin;
mod purge;
mod reviews;
mod scim;
mod signin;
// The SMTP test server of the mail tests (aiosmtpd), shared with `notify`.
#[allow(dead_code, reason = "these tests use part of the helpers")]
#[path = "../../../notify/tests/it/smtp_server.rs"]
mod smtp_server;
mod ui_map;
mod upload_requests;
mod util;
mod viewer;
