//! Fuzzes PDF loading and stamping (`mark::pdf::stamp_pdf`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("mark_pdf_stamp", data));
