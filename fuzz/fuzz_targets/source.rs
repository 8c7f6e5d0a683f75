//! Any bytes: whatever `HistogramFile::parse` accepts can become an init source: the
//! q/k/v mixture pools, every table knot stays a finite f32 weight under the largest
//! scale-rule factors, and placed role fits evaluate (`histinit_histogram::
//! fuzz_check_source`, the Burn-free half of `histinit_core::histogram::HistogramSource`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    histinit_histogram::fuzz_check_source(data);
});
