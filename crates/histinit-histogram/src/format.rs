//! The histogram file: provenance, per-tensor statistics, histograms, quantile tables
//! and pooled per-role entries with fitted families (docs/histograms.md).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bounded::{self, read_json, ReadError, Version, VersionOnly};
use crate::family::{fit_families, table_cdf, FamilyFit};
use crate::role::Role;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest accepted file, once decompressed (a 12B-parameter model's file is ~20 MB).
pub const MAX_JSON_BYTES: usize = 128 << 20;
/// Fewest quantile knots a table may have (the shipped grid has 1111).
pub const MIN_KNOTS: usize = 1025;
/// Most quantile knots or histogram bins a tensor may have.
pub const MAX_KNOTS: usize = 1 << 16;
pub const MAX_BINS: usize = 1 << 16;
/// Most tensors (per-tensor plus pooled) in a file.
pub const MAX_TENSORS: usize = 1 << 16;
/// Largest element count of one tensor (2^48).
pub const MAX_ELEMENTS: u64 = 1 << 48;
/// Longest tensor name, in bytes.
pub const MAX_NAME_BYTES: usize = 512;
/// Highest layer index.
pub const MAX_LAYER: usize = 1 << 16;
/// Most dimensions of a tensor's shape.
pub const MAX_DIMS: usize = 64;
/// Most fitted families of one entry (the zoo has 5).
pub const MAX_FITS: usize = 64;
/// Largest fan-in (the element bound: a fan-in rescaling then multiplies values by at
/// most `sqrt(MAX_FAN_IN)` = 2^24).
pub const MAX_FAN_IN: u64 = MAX_ELEMENTS;
/// Largest magnitude of a mean, std, min, max, bin edge, quantile value, or a fitted
/// family's location or scale. Trained weights stay far below 1e4; 1e30 leaves room for
/// a fan-in rescaling (at most 2^24 ≈ 1.7e7, see [`MAX_FAN_IN`]) to stay below `f32::MAX`
/// (≈ 3.4e38), so every value a table holds is a finite `f32` weight after any scale
/// rule, and moments up to the fourth power stay finite in `f64`.
pub const MAX_MAGNITUDE: f64 = 1e30;
/// Central histogram bins; two more bins hold the outer 0.1% on each side.
pub const CENTRAL_BINS: usize = 256;
/// Probability outside the central bins, per side.
pub const TAIL_BIN_MASS: f64 = 1e-3;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum HistogramError {
    /// A field breaks an invariant; `field` is its path, e.g. `tensors[3].quantiles.values`.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("histogram file is not valid JSON for this format at {path}: {message}")]
    Json { path: String, message: String },
    #[error("histogram file starts like gzip (1f 8b) but does not decompress: {0}")]
    Gzip(String),
    #[error("histogram file is larger than {limit} bytes (once decompressed)")]
    TooLarge { limit: usize },
    #[error(
        "version: the file has format version {found}, this build reads version {supported} \
         (re-extract the histograms with this build)"
    )]
    Version { found: u64, supported: u32 },
    /// Building a histogram from values failed.
    #[error("tensor '{name}': {reason}")]
    Tensor { name: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> HistogramError {
    HistogramError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Errors unless `value` is finite and at most [`MAX_MAGNITUDE`] in magnitude.
fn check_magnitude(field: &str, value: f64) -> Result<(), HistogramError> {
    if !value.is_finite() {
        return Err(invalid(field, format!("{value} is not finite")));
    }
    if value.abs() > MAX_MAGNITUDE {
        return Err(invalid(
            field,
            format!(
                "{value:e} is beyond ±{MAX_MAGNITUDE:e}, the largest magnitude a file may \
                 hold (weights must stay finite as f32 after any scale rule)"
            ),
        ));
    }
    Ok(())
}

/// Where the histograms came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// Model id, e.g. `EleutherAI/pythia-70m` or `histinit-teacher-micro`.
    #[serde(deserialize_with = "bounded::text")]
    pub model: String,
    /// Architecture, e.g. `gpt_neox`.
    #[serde(deserialize_with = "bounded::text")]
    pub architecture: String,
    /// Checkpoint revision (git revision or branch such as `step143000`).
    #[serde(default, deserialize_with = "bounded::opt_text")]
    pub revision: Option<String>,
    /// Training step of the checkpoint.
    #[serde(default)]
    pub step: Option<u64>,
    /// Tokens the model had been trained on at that step.
    #[serde(default)]
    pub tokens_trained: Option<u64>,
    /// Training corpus, e.g. `the Pile (deduplicated)`.
    #[serde(deserialize_with = "bounded::text")]
    pub corpus: String,
    /// License of the source weights.
    #[serde(deserialize_with = "bounded::text")]
    pub license: String,
    /// The command that produced the file.
    #[serde(deserialize_with = "bounded::text")]
    pub command: String,
    #[serde(default, deserialize_with = "bounded::opt_text")]
    pub note: Option<String>,
}

/// Histogram for plotting: `counts[i]` values in `[edges[i], edges[i+1])`, the last
/// bin closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    #[serde(deserialize_with = "read_edges")]
    pub edges: Vec<f64>,
    #[serde(deserialize_with = "read_bins")]
    pub counts: Vec<u64>,
}

/// Knots of the quantile function: `values[i]` is the `probs[i]` quantile; the law is
/// the piecewise-linear interpolation between knots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileTable {
    #[serde(deserialize_with = "read_knots")]
    pub probs: Vec<f64>,
    #[serde(deserialize_with = "read_knots")]
    pub values: Vec<f64>,
}

// The arrays of a file, each refused at the element past its limit while it is read
// (`bounded::seq`), before the file is built and validated.
pub(crate) fn read_edges<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Vec<T>, D::Error> {
    bounded::seq(de, MAX_BINS + 1, "bin edges")
}

pub(crate) fn read_bins<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<u64>, D::Error> {
    bounded::seq(de, MAX_BINS, "bin counts")
}

fn read_knots<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<f64>, D::Error> {
    bounded::seq(de, MAX_KNOTS, "knots")
}

fn read_tensors<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<TensorHistogram>, D::Error> {
    bounded::seq(de, MAX_TENSORS, "entries")
}

fn read_shape<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<usize>, D::Error> {
    bounded::seq(de, MAX_DIMS, "dimensions")
}

fn read_fits<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<FamilyFit>, D::Error> {
    bounded::seq(de, MAX_FITS, "fits")
}

fn read_name<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    bounded::string(de, MAX_NAME_BYTES)
}

impl QuantileTable {
    /// `(probability, value)` pairs, as `init::sample_quantiles` takes them.
    pub fn knots(&self) -> Vec<(f64, f64)> {
        self.probs
            .iter()
            .copied()
            .zip(self.values.iter().copied())
            .collect()
    }

    /// The table's CDF at `x` (right-continuous).
    pub fn cdf(&self, x: f64) -> f64 {
        table_cdf(&self.probs, &self.values, x, false)
    }

    /// The table's quantile function at `p`.
    pub fn quantile(&self, p: f64) -> f64 {
        crate::family::table_quantile(&self.probs, &self.values, p)
    }
}

/// Statistics of one tensor (or, in `HistogramFile::pooled`, of one role pooled over
/// layers). Moments are over the finite values; `std` is the population std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorHistogram {
    #[serde(deserialize_with = "read_name")]
    pub name: String,
    pub role: Role,
    pub layer: Option<usize>,
    /// 0 at the embedding, `(layer + 0.5) / layers` in block `layer`, 1 after the blocks.
    pub depth_fraction: f64,
    #[serde(deserialize_with = "read_shape")]
    pub shape: Vec<usize>,
    pub fan_in: usize,
    /// Finite values; `count + non_finite` is the product of `shape`.
    pub count: u64,
    pub mean: f64,
    pub std: f64,
    pub skewness: f64,
    pub excess_kurtosis: f64,
    pub min: f64,
    pub max: f64,
    pub non_finite: u64,
    pub bins: Bins,
    pub quantiles: QuantileTable,
    /// Fitted families; empty is allowed per tensor, required on pooled entries.
    #[serde(default, deserialize_with = "read_fits")]
    pub fits: Vec<FamilyFit>,
}

/// The knot probabilities: 0, 64 log-spaced knots per tail from 1e-6 to 10^-2.0625
/// (16 per decade), every 0.001 from 0.01 to 0.99, and 1 — 1111 knots.
pub fn knot_grid() -> Vec<f64> {
    let tail: Vec<f64> = (0..64)
        .map(|k| 10f64.powf(-6.0 + k as f64 / 16.0))
        .collect();
    let mut probs = Vec::with_capacity(1111);
    probs.push(0.0);
    probs.extend(tail.iter().copied());
    probs.extend((10..=990).map(|j| j as f64 / 1000.0));
    probs.extend(tail.iter().rev().map(|&p| 1.0 - p));
    probs.push(1.0);
    probs
}

/// Linear-interpolation (type 7) quantile of sorted values.
fn sorted_quantile(sorted: &[f32], p: f64) -> f64 {
    let h = p * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    a + (b - a) * (h - lo as f64)
}

/// Bin edges: min, the central bins from the `TAIL_BIN_MASS` to the
/// `1 - TAIL_BIN_MASS` quantile, max (repeated edges dropped).
fn bin_edges(min: f64, max: f64, lo: f64, hi: f64) -> Vec<f64> {
    let mut edges = vec![min];
    for i in 0..=CENTRAL_BINS {
        edges.push(lo + (hi - lo) * i as f64 / CENTRAL_BINS as f64);
    }
    edges.push(max);
    let mut clean: Vec<f64> = Vec::with_capacity(edges.len());
    for edge in edges {
        let edge = edge.clamp(min, max);
        if clean.last().is_none_or(|&last| edge > last) {
            clean.push(edge);
        }
    }
    if clean.len() < 2 {
        clean = vec![min, max];
    }
    clean
}

/// Counts per bin from `below(e)`, the number of values below `e`.
fn bin_counts(edges: &[f64], total: u64, below: impl Fn(f64) -> u64) -> Vec<u64> {
    let bins = edges.len() - 1;
    let mut cumulative = Vec::with_capacity(bins + 1);
    cumulative.push(0u64);
    for &edge in &edges[1..bins] {
        let previous = *cumulative.last().unwrap_or(&0);
        cumulative.push(below(edge).clamp(previous, total));
    }
    cumulative.push(total);
    cumulative.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Count-weighted mean and central moments m2, m3, m4 of one entry.
struct Moments {
    count: f64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl Moments {
    fn of(entry: &TensorHistogram) -> Self {
        let var = entry.std * entry.std;
        Moments {
            count: entry.count as f64,
            mean: entry.mean,
            m2: var,
            m3: entry.skewness * var * entry.std,
            m4: (entry.excess_kurtosis + 3.0) * var * var,
        }
    }

    /// Exact combination: each member's central moments shifted to the pooled mean.
    fn combine(parts: &[Moments]) -> Moments {
        let count: f64 = parts.iter().map(|m| m.count).sum();
        let mean = parts.iter().map(|m| m.count * m.mean).sum::<f64>() / count;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for part in parts {
            let w = part.count / count;
            let d = part.mean - mean;
            m2 += w * (part.m2 + d * d);
            m3 += w * (part.m3 + 3.0 * d * part.m2 + d.powi(3));
            m4 += w * (part.m4 + 4.0 * d * part.m3 + 6.0 * d * d * part.m2 + d.powi(4));
        }
        Moments {
            count,
            mean,
            m2,
            m3,
            m4,
        }
    }

    /// (std, skewness, excess kurtosis); a constant gets skewness and kurtosis 0.
    fn shape(&self) -> (f64, f64, f64) {
        let m2 = self.m2.max(0.0);
        let std = m2.sqrt();
        if m2 <= 0.0 {
            return (0.0, 0.0, 0.0);
        }
        (std, self.m3 / (m2 * std), self.m4 / (m2 * m2) - 3.0)
    }
}

impl TensorHistogram {
    /// Statistics of one tensor's values. `layers` is the source model's block count
    /// (for the depth fraction). Non-finite values are counted in `non_finite` and
    /// left out of everything else; fits are left empty (see [`Self::with_fits`]).
    pub fn from_values(
        name: &str,
        role: Role,
        layer: Option<usize>,
        layers: usize,
        shape: &[usize],
        fan_in: usize,
        values: &[f32],
    ) -> Result<TensorHistogram, HistogramError> {
        let fail = |reason: String| HistogramError::Tensor {
            name: name.to_string(),
            reason,
        };
        let elements = shape
            .iter()
            .try_fold(1usize, |acc, &dim| acc.checked_mul(dim));
        if elements != Some(values.len()) {
            return Err(fail(format!(
                "shape {shape:?} does not hold the {} values given",
                values.len()
            )));
        }
        if fan_in == 0 {
            return Err(fail("fan_in is 0".into()));
        }
        let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let non_finite = (values.len() - sorted.len()) as u64;
        if sorted.is_empty() {
            return Err(fail(if values.is_empty() {
                "the tensor has no values".into()
            } else {
                format!("all {} values are NaN or infinite", values.len())
            }));
        }
        sorted.sort_unstable_by(f32::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().map(|&v| v as f64).sum::<f64>() / n;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &v in &sorted {
            let d = v as f64 - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        let moments = Moments {
            count: n,
            mean,
            m2: m2 / n,
            m3: m3 / n,
            m4: m4 / n,
        };
        let (std, skewness, excess_kurtosis) = moments.shape();
        let (min, max) = (sorted[0] as f64, sorted[sorted.len() - 1] as f64);
        let probs = knot_grid();
        let quantile_values: Vec<f64> =
            probs.iter().map(|&p| sorted_quantile(&sorted, p)).collect();
        let edges = bin_edges(
            min,
            max,
            sorted_quantile(&sorted, TAIL_BIN_MASS),
            sorted_quantile(&sorted, 1.0 - TAIL_BIN_MASS),
        );
        let counts = bin_counts(&edges, sorted.len() as u64, |edge| {
            sorted.partition_point(|&v| (v as f64) < edge) as u64
        });
        Ok(TensorHistogram {
            name: name.to_string(),
            role,
            layer,
            depth_fraction: role.depth_fraction(layer, layers),
            shape: shape.to_vec(),
            fan_in,
            count: sorted.len() as u64,
            mean: moments.mean.clamp(min, max),
            std,
            skewness,
            excess_kurtosis,
            min,
            max,
            non_finite,
            bins: Bins { edges, counts },
            quantiles: QuantileTable {
                probs,
                values: quantile_values,
            },
            fits: Vec::new(),
        })
    }

    /// Fits the family zoo to this entry's quantile table.
    pub fn with_fits(mut self) -> Self {
        self.fits = fit_families(&self.quantiles.probs, &self.quantiles.values, self.std);
        self
    }

    /// The pooled law of `members` (their count-weighted mixture), named `name`,
    /// without fits. Moments are combined exactly; the quantile table inverts the
    /// mixture of the members' piecewise-linear CDFs, so no raw values are needed.
    pub fn pool(
        name: &str,
        role: Role,
        members: &[&TensorHistogram],
    ) -> Result<TensorHistogram, HistogramError> {
        if members.is_empty() {
            return Err(HistogramError::Tensor {
                name: name.to_string(),
                reason: "nothing to pool".into(),
            });
        }
        let parts: Vec<Moments> = members.iter().map(|m| Moments::of(m)).collect();
        let moments = Moments::combine(&parts);
        let (std, skewness, excess_kurtosis) = moments.shape();
        let total: u64 = members.iter().map(|m| m.count).sum();
        let non_finite: u64 = members.iter().map(|m| m.non_finite).sum();
        let min = members.iter().map(|m| m.min).fold(f64::INFINITY, f64::min);
        let max = members
            .iter()
            .map(|m| m.max)
            .fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = members
            .iter()
            .map(|m| m.count as f64 / total as f64)
            .collect();
        let mixture = |x: f64, left: bool| -> f64 {
            members
                .iter()
                .zip(&weights)
                .map(|(m, w)| w * table_cdf(&m.quantiles.probs, &m.quantiles.values, x, left))
                .sum()
        };
        // The mixture CDF is linear between the union of the members' knot values.
        let mut xs: Vec<f64> = members
            .iter()
            .flat_map(|m| m.quantiles.values.iter().copied())
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let right: Vec<f64> = xs.iter().map(|&x| mixture(x, false)).collect();
        let left: Vec<f64> = xs.iter().map(|&x| mixture(x, true)).collect();
        let invert = |q: f64| -> f64 {
            let k = right.partition_point(|&f| f < q);
            if k == 0 {
                return xs[0];
            }
            if k >= xs.len() {
                return xs[xs.len() - 1];
            }
            let span = left[k] - right[k - 1];
            if left[k] >= q && span > 0.0 {
                xs[k - 1] + (xs[k] - xs[k - 1]) * (q - right[k - 1]) / span
            } else {
                xs[k]
            }
        };
        let probs = knot_grid();
        let last = probs.len() - 1;
        let mut values = Vec::with_capacity(probs.len());
        let mut running = min;
        for (i, &p) in probs.iter().enumerate() {
            let v = if i == 0 {
                min
            } else if i == last {
                max
            } else {
                invert(p).clamp(min, max)
            };
            // Rounding must not break monotonicity.
            running = running.max(v);
            values.push(running);
        }
        let quantiles = QuantileTable { probs, values };
        let edges = bin_edges(
            min,
            max,
            quantiles.quantile(TAIL_BIN_MASS),
            quantiles.quantile(1.0 - TAIL_BIN_MASS),
        );
        let counts = bin_counts(&edges, total, |edge| {
            (mixture(edge, true) * total as f64).round() as u64
        });
        let fan_in = (members
            .iter()
            .map(|m| m.fan_in as f64 * m.count as f64)
            .sum::<f64>()
            / total as f64)
            .round()
            .max(1.0) as usize;
        let depth_fraction = members
            .iter()
            .zip(&weights)
            .map(|(m, w)| w * m.depth_fraction)
            .sum::<f64>()
            .clamp(0.0, 1.0);
        let element_count = total.saturating_add(non_finite);
        Ok(TensorHistogram {
            name: name.to_string(),
            role,
            layer: None,
            depth_fraction,
            shape: vec![usize::try_from(element_count).unwrap_or(usize::MAX)],
            fan_in,
            count: total,
            mean: moments.mean.clamp(min, max),
            std,
            skewness,
            excess_kurtosis,
            min,
            max,
            non_finite,
            bins: Bins { edges, counts },
            quantiles,
            fits: Vec::new(),
        })
    }

    /// Checks every invariant; errors name the field under `path` (e.g. `tensors[3]`).
    pub fn validate(&self, path: &str) -> Result<(), HistogramError> {
        let field = |name: &str| format!("{path}.{name}");
        if self.name.is_empty() || self.name.len() > MAX_NAME_BYTES {
            return Err(invalid(
                field("name"),
                format!("must be 1 to {MAX_NAME_BYTES} bytes"),
            ));
        }
        if let Some(layer) = self.layer {
            if layer > MAX_LAYER {
                return Err(invalid(
                    field("layer"),
                    format!("{layer} exceeds {MAX_LAYER}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.depth_fraction) {
            return Err(invalid(
                field("depth_fraction"),
                format!("{} is not in [0, 1]", self.depth_fraction),
            ));
        }
        if self.shape.len() > MAX_DIMS {
            return Err(invalid(
                field("shape"),
                format!("has {} dimensions, more than {MAX_DIMS}", self.shape.len()),
            ));
        }
        if self.fits.len() > MAX_FITS {
            return Err(invalid(
                field("fits"),
                format!("has {} entries, more than {MAX_FITS}", self.fits.len()),
            ));
        }
        let elements = self
            .shape
            .iter()
            .try_fold(1u64, |acc, &dim| acc.checked_mul(dim as u64))
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                invalid(
                    field("shape"),
                    format!("{:?} has more than {MAX_ELEMENTS} elements", self.shape),
                )
            })?;
        if self.count == 0 {
            return Err(invalid(field("count"), "no finite values"));
        }
        if self.count.checked_add(self.non_finite) != Some(elements) {
            return Err(invalid(
                field("count"),
                format!(
                    "count {} + non_finite {} differs from the {elements} elements of shape {:?}",
                    self.count, self.non_finite, self.shape
                ),
            ));
        }
        // Compared as u64: on wasm32 the bound does not fit a usize.
        if self.fan_in == 0 || self.fan_in as u64 > MAX_FAN_IN {
            return Err(invalid(
                field("fan_in"),
                format!("{} is not in [1, {MAX_FAN_IN}]", self.fan_in),
            ));
        }
        for (name, value) in [
            ("mean", self.mean),
            ("std", self.std),
            ("min", self.min),
            ("max", self.max),
        ] {
            check_magnitude(&field(name), value)?;
        }
        for (name, value) in [
            ("skewness", self.skewness),
            ("excess_kurtosis", self.excess_kurtosis),
        ] {
            if !value.is_finite() {
                return Err(invalid(field(name), format!("{value} is not finite")));
            }
        }
        if self.std < 0.0 {
            return Err(invalid(field("std"), format!("{} is negative", self.std)));
        }
        if self.min > self.max {
            return Err(invalid(
                field("min"),
                format!("min {} exceeds max {}", self.min, self.max),
            ));
        }
        let slack = 1e-9 * self.min.abs().max(self.max.abs()).max(f64::MIN_POSITIVE);
        if self.mean < self.min - slack || self.mean > self.max + slack {
            return Err(invalid(
                field("mean"),
                format!(
                    "{} is outside [min, max] = [{}, {}]",
                    self.mean, self.min, self.max
                ),
            ));
        }
        self.validate_shape_moments(path)?;
        self.validate_bins(path)?;
        self.validate_quantiles(path)?;
        for (i, fit) in self.fits.iter().enumerate() {
            let at = format!("{path}.fits[{i}]");
            fit.family
                .check()
                .map_err(|reason| invalid(format!("{at}.family"), reason))?;
            let (location, scale) = fit.family.loc_scale();
            check_magnitude(&format!("{at}.family location"), location)?;
            check_magnitude(&format!("{at}.family scale"), scale)?;
            if !(0.0..=1.0).contains(&fit.ks) {
                return Err(invalid(
                    format!("{at}.ks"),
                    format!("{} is not in [0, 1]", fit.ks),
                ));
            }
            if !(fit.w1_over_std >= 0.0 && fit.w1_over_std.is_finite()) {
                return Err(invalid(
                    format!("{at}.w1_over_std"),
                    format!("{} is not a finite non-negative number", fit.w1_over_std),
                ));
            }
        }
        Ok(())
    }

    /// The std, skewness and kurtosis against each other and against `count`, `min`
    /// and `max`: bounds every set of `count` numbers meets, so a file cannot claim a
    /// law no tensor has. Every comparison is written so that NaN fails it (a bound
    /// computed as inf - inf must not let a value through).
    fn validate_shape_moments(&self, path: &str) -> Result<(), HistogramError> {
        let field = |name: &str| format!("{path}.{name}");
        // Relative slack for rounding in the writer (moments are computed in f64).
        let within = |value: f64, limit: f64| value <= limit + 1e-6 * limit.abs();
        let n = self.count as f64;
        let (skewness, kurtosis) = (self.skewness, self.excess_kurtosis + 3.0);
        // |m3| <= sqrt(n) m2^1.5 and m4 <= n m2² for any n numbers (about any center);
        // a constant (std 0) has skewness and excess kurtosis 0 by convention instead.
        if self.std > 0.0 && !within(skewness * skewness, n) {
            return Err(invalid(
                field("skewness"),
                format!(
                    "{skewness:?} exceeds sqrt(count) = {} in magnitude, impossible for {} values",
                    n.sqrt(),
                    self.count
                ),
            ));
        }
        if self.std > 0.0 && !within(kurtosis, n) {
            return Err(invalid(
                field("excess_kurtosis"),
                format!(
                    "{:?} exceeds count - 3 = {}, impossible for {} values",
                    self.excess_kurtosis,
                    n - 3.0,
                    self.count
                ),
            ));
        }
        // Pearson: kurtosis >= skewness² + 1, i.e. excess >= skewness² - 2.
        let bound = skewness * skewness + 1.0;
        if !within(bound, kurtosis) {
            return Err(invalid(
                field("excess_kurtosis"),
                format!(
                    "{:?} is below skewness² - 2 = {:?}, impossible for any distribution",
                    self.excess_kurtosis,
                    bound - 3.0
                ),
            ));
        }
        // n numbers spanning [min, max] have std in [range / sqrt(2n), range / 2]: a
        // std far below the range would blow a shape-only rescaling (target std / std)
        // up to infinity, one above it is no law at all.
        let range = self.max - self.min;
        if !within(self.std, range / 2.0) || !within(range / (2.0 * n).sqrt(), self.std) {
            return Err(invalid(
                field("std"),
                format!(
                    "{:?} is outside [range / sqrt(2 count), range / 2] = [{:?}, {:?}] for \
                     {} values spanning [{}, {}]",
                    self.std,
                    range / (2.0 * n).sqrt(),
                    range / 2.0,
                    self.count,
                    self.min,
                    self.max
                ),
            ));
        }
        Ok(())
    }

    fn validate_bins(&self, path: &str) -> Result<(), HistogramError> {
        let edges = &self.bins.edges;
        let counts = &self.bins.counts;
        let at = |name: &str| format!("{path}.bins.{name}");
        if edges.len() < 2 || edges.len() > MAX_BINS + 1 {
            return Err(invalid(
                at("edges"),
                format!("has {} edges, expected 2 to {}", edges.len(), MAX_BINS + 1),
            ));
        }
        if counts.len() + 1 != edges.len() {
            return Err(invalid(
                at("counts"),
                format!(
                    "has {} bins but edges define {}",
                    counts.len(),
                    edges.len() - 1
                ),
            ));
        }
        for (i, &edge) in edges.iter().enumerate() {
            check_magnitude(&at("edges"), edge).map_err(|_| {
                invalid(
                    at("edges"),
                    format!("edge {i} is {edge:?}, beyond ±{MAX_MAGNITUDE:e}"),
                )
            })?;
            if i > 0 && edge < edges[i - 1] {
                return Err(invalid(at("edges"), format!("decrease at edge {i}")));
            }
        }
        if edges[0] != self.min || edges[edges.len() - 1] != self.max {
            return Err(invalid(
                at("edges"),
                format!(
                    "must run from min {} to max {}, runs from {} to {}",
                    self.min,
                    self.max,
                    edges[0],
                    edges[edges.len() - 1]
                ),
            ));
        }
        let total = counts.iter().try_fold(0u64, |acc, &c| acc.checked_add(c));
        if total != Some(self.count) {
            return Err(invalid(
                at("counts"),
                format!("sum to {total:?}, expected count {}", self.count),
            ));
        }
        Ok(())
    }

    fn validate_quantiles(&self, path: &str) -> Result<(), HistogramError> {
        let probs = &self.quantiles.probs;
        let values = &self.quantiles.values;
        let at = |name: &str| format!("{path}.quantiles.{name}");
        if probs.len() < MIN_KNOTS || probs.len() > MAX_KNOTS {
            return Err(invalid(
                at("probs"),
                format!(
                    "has {} knots, expected {MIN_KNOTS} to {MAX_KNOTS}",
                    probs.len()
                ),
            ));
        }
        if values.len() != probs.len() {
            return Err(invalid(
                at("values"),
                format!("has {} values for {} probs", values.len(), probs.len()),
            ));
        }
        for i in 0..probs.len() {
            if !probs[i].is_finite() {
                return Err(invalid(at("probs"), format!("knot {i} is {}", probs[i])));
            }
            check_magnitude(&at("values"), values[i]).map_err(|_| {
                invalid(
                    at("values"),
                    format!("knot {i} is {:?}, beyond ±{MAX_MAGNITUDE:e}", values[i]),
                )
            })?;
            if i > 0 && probs[i] <= probs[i - 1] {
                return Err(invalid(
                    at("probs"),
                    format!("not strictly increasing at knot {i}"),
                ));
            }
            if i > 0 && values[i] < values[i - 1] {
                return Err(invalid(at("values"), format!("not monotone at knot {i}")));
            }
        }
        if probs[0] != 0.0 || probs[probs.len() - 1] != 1.0 {
            return Err(invalid(at("probs"), "must start at 0 and end at 1"));
        }
        if values[0] != self.min || values[values.len() - 1] != self.max {
            return Err(invalid(
                at("values"),
                format!(
                    "must run from min {} to max {}, runs from {} to {}",
                    self.min,
                    self.max,
                    values[0],
                    values[values.len() - 1]
                ),
            ));
        }
        Ok(())
    }
}

/// A histogram file (docs/histograms.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramFile {
    pub version: u32,
    pub source: Provenance,
    #[serde(deserialize_with = "read_tensors")]
    pub tensors: Vec<TensorHistogram>,
    /// One entry per role present in `tensors`, named after the role, `layer` null,
    /// with fits.
    #[serde(deserialize_with = "read_tensors")]
    pub pooled: Vec<TensorHistogram>,
}

impl Provenance {
    /// Every string within [`bounded::MAX_TEXT_BYTES`] (what reading allows).
    pub(crate) fn check_lengths(&self) -> Result<(), (&'static str, usize)> {
        let limit = bounded::MAX_TEXT_BYTES;
        for (field, text) in [
            ("source.model", Some(&self.model)),
            ("source.architecture", Some(&self.architecture)),
            ("source.revision", self.revision.as_ref()),
            ("source.corpus", Some(&self.corpus)),
            ("source.license", Some(&self.license)),
            ("source.command", Some(&self.command)),
            ("source.note", self.note.as_ref()),
        ] {
            if text.is_some_and(|text| text.len() > limit) {
                return Err((field, limit));
            }
        }
        Ok(())
    }
}

/// The version a peek found, checked against `supported`: `Ok(())` when it is that one.
/// `Err(None)`: missing; `Err(Some(Ok(found)))`: another version number;
/// `Err(Some(Err(text)))`: not a version number.
pub(crate) fn check_version(
    peek: VersionOnly,
    supported: u32,
) -> Result<(), Option<Result<u64, String>>> {
    match peek.version {
        None => Err(None),
        Some(Version::Number(n)) if n == supported as u64 => Ok(()),
        Some(Version::Number(found)) => Err(Some(Ok(found))),
        Some(Version::Other(text)) => Err(Some(Err(text))),
    }
}

impl From<ReadError> for HistogramError {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Gzip(message) => HistogramError::Gzip(message),
            ReadError::TooLarge => HistogramError::TooLarge {
                limit: MAX_JSON_BYTES,
            },
            ReadError::Json(path, message) => HistogramError::Json { path, message },
        }
    }
}

impl HistogramFile {
    /// Builds a file from per-tensor entries (in any order), pooling each role over
    /// its tensors and fitting the family zoo to the pooled entries.
    pub fn new(
        source: Provenance,
        tensors: Vec<TensorHistogram>,
    ) -> Result<HistogramFile, HistogramError> {
        let mut by_role: BTreeMap<Role, Vec<&TensorHistogram>> = BTreeMap::new();
        for tensor in &tensors {
            by_role.entry(tensor.role).or_default().push(tensor);
        }
        let mut pooled = Vec::with_capacity(by_role.len());
        for (role, members) in by_role {
            pooled.push(TensorHistogram::pool(role.name(), role, &members)?.with_fits());
        }
        let file = HistogramFile {
            version: FORMAT_VERSION,
            source,
            tensors,
            pooled,
        };
        file.validate()?;
        Ok(file)
    }

    /// Reads a file: plain JSON, or gzip-compressed JSON (detected by its 1f 8b
    /// magic). Never panics; every error names the field or position at fault.
    pub fn parse(bytes: &[u8]) -> Result<HistogramFile, HistogramError> {
        // Limits are checked while reading (`bounded`): gzip is inflated as it is
        // parsed and every array is refused at the element past its limit.
        let err = match read_json::<HistogramFile>(bytes) {
            Ok(file) => {
                file.validate()?;
                return Ok(file);
            }
            Err(ReadError::Json(path, message)) => HistogramError::Json { path, message },
            Err(other) => return Err(other.into()),
        };
        // The version first, so a future format is reported as such rather than as
        // whichever of its fields this build does not know.
        let peek: VersionOnly = read_json(bytes)?;
        match check_version(peek, FORMAT_VERSION) {
            Ok(()) => Err(err),
            Err(None) => Err(invalid("version", "missing")),
            Err(Some(Ok(found))) => Err(HistogramError::Version {
                found,
                supported: FORMAT_VERSION,
            }),
            Err(Some(Err(text))) => Err(invalid(
                "version",
                format!("{text} is not a version number"),
            )),
        }
    }

    /// Checks the whole file; the first broken invariant is reported with its path.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if self.version != FORMAT_VERSION {
            return Err(HistogramError::Version {
                found: self.version as u64,
                supported: FORMAT_VERSION,
            });
        }
        if self.source.model.trim().is_empty() {
            return Err(invalid("source.model", "is empty"));
        }
        if let Err((field, limit)) = self.source.check_lengths() {
            return Err(invalid(field, format!("is longer than {limit} bytes")));
        }
        if self.tensors.is_empty() {
            return Err(invalid("tensors", "is empty"));
        }
        if self.tensors.len() + self.pooled.len() > MAX_TENSORS {
            return Err(invalid(
                "tensors",
                format!("more than {MAX_TENSORS} entries in all"),
            ));
        }
        let mut names = BTreeSet::new();
        let mut roles = BTreeSet::new();
        for (i, tensor) in self.tensors.iter().enumerate() {
            let path = format!("tensors[{i}]");
            tensor.validate(&path)?;
            if !names.insert(tensor.name.as_str()) {
                return Err(invalid(
                    format!("{path}.name"),
                    format!("'{}' appears twice", tensor.name),
                ));
            }
            roles.insert(tensor.role);
        }
        let mut pooled_roles = BTreeSet::new();
        for (i, entry) in self.pooled.iter().enumerate() {
            let path = format!("pooled[{i}]");
            entry.validate(&path)?;
            if entry.name != entry.role.name() {
                return Err(invalid(
                    format!("{path}.name"),
                    format!(
                        "'{}' must be its role's name '{}'",
                        entry.name,
                        entry.role.name()
                    ),
                ));
            }
            if entry.layer.is_some() {
                return Err(invalid(
                    format!("{path}.layer"),
                    "must be null for a pooled entry",
                ));
            }
            if entry.fits.is_empty() {
                return Err(invalid(
                    format!("{path}.fits"),
                    "a pooled entry needs its fits",
                ));
            }
            if !roles.contains(&entry.role) {
                return Err(invalid(
                    format!("{path}.role"),
                    format!("no tensor has role '{}'", entry.role.name()),
                ));
            }
            if !pooled_roles.insert(entry.role) {
                return Err(invalid(
                    format!("{path}.role"),
                    format!("role '{}' is pooled twice", entry.role.name()),
                ));
            }
        }
        if let Some(missing) = roles.difference(&pooled_roles).next() {
            return Err(invalid(
                "pooled",
                format!("role '{}' has tensors but no pooled entry", missing.name()),
            ));
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a histogram file serializes to JSON")
    }

    pub fn to_json_gz(&self) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(self.to_json().as_bytes())
            .and_then(|()| encoder.finish())
            .expect("writing to memory cannot fail")
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorHistogram> {
        self.tensors.iter().find(|t| t.name == name)
    }

    pub fn pooled(&self, role: Role) -> Option<&TensorHistogram> {
        self.pooled.iter().find(|t| t.role == role)
    }
}
