//! Fuzzes PDF loading and tracing (`mark::pdf::detect_pdf`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("mark_pdf_trace", data));
