//! Fuzzes Office Open XML extraction (the input, a selector byte and one part, is wrapped in a stored DOCX, XLSX or PPTX).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_office", data));
