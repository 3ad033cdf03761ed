//! Fuzzes PDF text extraction (`dlp::extract` of a `.pdf`; `%PDF-` is put in front of inputs without it).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_pdf", data));
