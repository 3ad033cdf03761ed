//! Fuzzes GZIP expansion (`dlp::extract` of a `.gz`; the gzip magic is put in front of inputs without it).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_gzip", data));
