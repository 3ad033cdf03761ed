//! Fuzzes the top-level `dlp::extract` on any bytes (the first byte picks the file name).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_extract", data));
