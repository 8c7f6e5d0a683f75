//! The histinit histogram file format (docs/histograms.md): what a trained model's
//! weights look like, tensor by tensor and role by role, as statistics, a histogram
//! for plotting, a tail-dense quantile table for sampling, and fits of a small zoo of
//! standard families; and the trajectory file, how a teacher's laws moved in training.
//! Reading a file never panics (the histogram parser is fuzzed, see fuzz/).
//!
//! Kept free of Burn so the parser builds in seconds under a fuzzer;
//! `histinit_core::histogram` re-exports everything here and adds the init source. It
//! also holds the workspace's one stable hash ([`fnv1a`]).

pub mod bounded;
pub mod family;
pub mod format;
pub mod published;
pub mod role;
pub mod special;
pub mod trajectory;
pub mod weibull;

pub use bounded::{MAX_PARSED_BYTES, MAX_STRING_BYTES, MAX_TEXT_BYTES};
pub use family::{best_fit, Family, FamilyFit};
pub use format::{
    knot_grid, Bins, HistogramError, HistogramFile, Provenance, QuantileTable, TensorHistogram,
    FORMAT_VERSION, MAX_FAN_IN, MAX_JSON_BYTES, MAX_MAGNITUDE, MIN_KNOTS,
};
pub use role::Role;
pub use trajectory::{
    RoleSnapshot, Trajectory, TrajectoryError, TrajectoryPoint, TRAJECTORY_PROBS,
    TRAJECTORY_VERSION,
};
pub use weibull::{fit_abs_values, fit_weibull_plot, WeibullFit};

/// FNV-1a (64 bits): the workspace's one stable hash, for names and keys written to
/// disk (std's hasher is not guaranteed stable across releases). Here, in the crate
/// every other builds on, so that the Burn-free crates use the same one.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

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

/// What the `source` fuzz target (fuzz/fuzz_targets/source.rs) and the replay tests
/// check: the Burn-free half of building an init source (`histinit_core::histogram::
/// HistogramSource`) from a parsed file. The pooled `q`/`k`/`v` mixture a fused `qkv`
/// target falls back on can be built (and validates); every entry's table, under the
/// largest factor a scale rule can apply (fan-in: `sqrt(MAX_FAN_IN)`; shape-only:
/// `1 / std`, i.e. a target std of 1), gives knots that are finite `f32` weights; role
/// fits refitted to every entry and placed by those factors evaluate without panicking.
/// Panics on a violation (a finding).
#[doc(hidden)]
pub fn fuzz_check_source(data: &[u8]) {
    let Ok(file) = HistogramFile::parse(data) else {
        return;
    };
    let separate: Vec<&TensorHistogram> = [Role::Q, Role::K, Role::V]
        .into_iter()
        .filter_map(|role| file.pooled(role))
        .collect();
    let mixture = (!separate.is_empty()).then(|| {
        let pooled = TensorHistogram::pool(Role::Qkv.name(), Role::Qkv, &separate)
            .expect("valid pooled entries pool")
            .with_fits();
        pooled
            .validate("qkv mixture")
            .expect("the pool of valid entries validates");
        pooled
    });
    let max_fan_in_factor = (MAX_FAN_IN as f64).sqrt();
    for entry in file.tensors.iter().chain(&file.pooled).chain(&mixture) {
        let mut rules = vec![(0.0, 1.0), (0.0, max_fan_in_factor)];
        if entry.std > 0.0 {
            rules.push((-entry.mean / entry.std, 1.0 / entry.std));
        }
        let role_fit = file
            .pooled(entry.role)
            .or(mixture.as_ref())
            .and_then(|pooled| best_fit(&pooled.fits))
            .map(|fit| fit.family);
        let placed = role_fit.and_then(|family| {
            family.refit_location_scale(&entry.quantiles.probs, &entry.quantiles.values)
        });
        for (a, b) in rules {
            for (p, v) in entry.quantiles.knots() {
                let weight = (a + b * v) as f32;
                assert!(
                    weight.is_finite(),
                    "{}: knot {p} = {v} gives weight {weight} under a + b x, a = {a}, b = {b}",
                    entry.name
                );
            }
            for family in entry.fits.iter().map(|fit| fit.family).chain(placed) {
                let family = family.affine(a, b);
                let _ = (family.quantile(1e-6), family.quantile(0.5), family.cdf(a));
            }
        }
    }
}
