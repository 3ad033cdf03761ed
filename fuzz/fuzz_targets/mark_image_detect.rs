//! Fuzzes image decoding and forensic detection (`mark::image::detect_image`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("mark_image_detect", data));
