//! Fuzzes OpenDocument extraction (the input, a selector byte and one part, is wrapped in a stored ODT, ODS or ODP).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_opendocument", data));
