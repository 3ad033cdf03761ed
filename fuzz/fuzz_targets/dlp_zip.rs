//! Fuzzes ZIP expansion (`dlp::extract` of an archive; a `PK` signature is put in front of inputs without one).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_zip", data));
