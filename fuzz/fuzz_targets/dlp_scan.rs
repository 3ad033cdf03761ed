//! Fuzzes the scanner on any bytes (`dlp::Scanner::scan` with the default configuration).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_scan", data));
