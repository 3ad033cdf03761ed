//! Fuzzes text marking and tracing (`mark::text::mark_text`, `detect_text` and `MarkId::find_token`; the first byte picks the file name).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("mark_text", data));
