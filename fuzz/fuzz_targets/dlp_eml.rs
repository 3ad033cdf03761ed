//! Fuzzes e-mail extraction (`dlp::extract` of a `.eml`: headers, MIME parts, attachments).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_eml", data));
