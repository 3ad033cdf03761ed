//! End-to-end tests of the web UI over real HTTPS. `browser` drives a real
//! headless Chromium through chromedriver (sign-in with TOTP, enrolment,
//! browsing, upload with the progress bar, download); `http` checks with a
//! plain HTTP client what a browser does not show (content types, the no-JS
//! upload form, CSRF, cookie attributes). A missing Chromium is a failure that
//! says to run `scripts/test`, never a skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly; clippy only exempts `#[test]` functions"
)]

mod a11y;
mod account;
mod admin;
mod alerts;
mod antivirus;
mod attestations;
mod audit;
mod browser;
mod courses;
mod destruction;
mod diligence;
mod e2e;
mod gitleaks;
mod http;
mod incidents;
mod jewels;
mod links;
mod offboarding;
mod onboarding;
mod pages;
mod quarantine;
mod reviews;
mod scim;
// The SMTP test server of the mail tests (aiosmtpd), shared with `notify`.
#[allow(dead_code, reason = "the web tests use part of the helpers")]
#[path = "../../../notify/tests/it/smtp_server.rs"]
mod smtp_server;
mod tls;
mod upload_requests;
mod util;
mod viewer;
mod webdriver;
