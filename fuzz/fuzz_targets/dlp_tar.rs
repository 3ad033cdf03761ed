//! Fuzzes TAR expansion (`dlp::extract` of an archive whose first header block is made a ustar header with a correct checksum).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::run("dlp_tar", data));
