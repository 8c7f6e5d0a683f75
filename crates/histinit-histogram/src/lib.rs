//! The histinit histogram file format (docs/histograms.md): what a trained model's
//! weights look like, tensor by tensor and role by role, as statistics, a histogram
//! for plotting, a tail-dense quantile table for sampling, and fits of a small zoo of
//! standard families. Reading a file never panics (the parser is fuzzed, see fuzz/).
//!
//! Kept free of Burn so the parser builds in seconds under a fuzzer;
//! `histinit_core::histogram` re-exports everything here and adds the init source.

pub mod family;
pub mod format;
pub mod role;
pub mod special;

pub use family::{best_fit, Family, FamilyFit};
pub use format::{
    knot_grid, Bins, HistogramError, HistogramFile, Provenance, QuantileTable, TensorHistogram,
    FORMAT_VERSION, MAX_JSON_BYTES, MIN_KNOTS,
};
pub use role::Role;

/// What the fuzzer (fuzz/fuzz_targets/parse.rs) and the replay tests check on any
/// input: parsing never panics, and whatever parses validates, round-trips through
/// JSON and has families that can be evaluated. Panics on a violation (a finding).
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    let Ok(file) = HistogramFile::parse(data) else {
        return;
    };
    file.validate().expect("a parsed file validates");
    let again = HistogramFile::parse(file.to_json().as_bytes()).expect("a parsed file re-parses");
    assert_eq!(again.tensors.len(), file.tensors.len());
    for entry in file.tensors.iter().chain(&file.pooled) {
        let table = &entry.quantiles;
        let _ = (table.cdf(entry.mean), table.quantile(0.5));
        for fit in &entry.fits {
            let family = fit.family;
            let _ = (family.cdf(entry.mean), family.quantile(0.25));
            let _ = family.refit_location_scale(&table.probs, &table.values);
        }
    }
}
