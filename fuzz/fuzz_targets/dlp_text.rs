//! Fuzzes decoding bytes of unknown encoding to text (`dlp::decode_text`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_text", data));
