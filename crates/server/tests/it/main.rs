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
mod audit;
mod authz;
mod certifications;
mod conditions;
mod courses;
mod cross_party;
mod csrf;
mod diligence;
mod dlp;
mod edge;
mod events;
mod files;
mod hardening;
mod input;
mod ledger;
mod links;
mod marks;
mod offboarding;
mod openapi;
mod policies_admin;
mod reviews;
mod signin;
mod ui_map;
mod util;
mod viewer;
