//! The integration tests of the mark crate, in one binary: images (forensic
//! robustness, false positives, visible stamp; the regressions of issue 6), PDF (structure, rendering,
//! survival through qpdf and Ghostscript), text, and hostile input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

mod attacks;
mod formats;
mod fuzz_regressions;
mod geometry;
mod images;
mod limits;
mod pdf;
mod text;
mod util;
