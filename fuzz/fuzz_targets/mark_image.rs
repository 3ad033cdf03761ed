//! Fuzzes image decoding, visible stamp and forensic embedding (`mark::image::mark_image`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("mark_image", data));
