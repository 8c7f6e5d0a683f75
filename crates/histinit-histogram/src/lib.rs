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
