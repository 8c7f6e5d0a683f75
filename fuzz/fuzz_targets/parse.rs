//! Any bytes: `HistogramFile::parse` returns a file or an error, never panics; a file
//! it returns validates, re-serializes and parses again, and its fitted families can
//! be evaluated (what an init will do with them).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    histinit_histogram::fuzz_check(data);
});
