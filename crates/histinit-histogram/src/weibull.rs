//! Weibull fits of the magnitudes |W|, the statistic published for real Pythia weights
//! (T. Ding, arXiv:2605.18898, repository `tiexinding/NPM-Weibull-public`, CC BY 4.0).
//!
//! The published fits are least squares on the Weibull plot over the middle 80% of the
//! law of |W|: `ln(-ln(1 - F))` against `ln|w|`, a line of slope `k` through
//! `-k ln(lambda)`, keeping the points with `F` in `[0.1, 0.9]`. Their repository does
//! it two ways, which agree in the limit of many weights: per matrix on the sorted
//! magnitudes at plotting positions `F = (i - 0.5) / n`, unweighted (the per-matrix
//! pythia-70m figures), and per component on a histogram of `log10|w|` at the bins'
//! mid-CDF, weighted by bin counts (the component medians). Both put an equal weight on
//! equal steps of `F`. From a histogram file's law this module does the same on a
//! uniform grid of [`PLOT_POINTS`] probabilities from 0.1 to 0.9, each point the
//! quantile of |W| (the signed law folded at 0); [`fit_abs_values`] is the per-matrix
//! method on raw values.
//!
//! Calibration: an exact Gaussian N(0, sigma²) gives `k` = 1.2053 ("1.205 for
//! Half-Normal" in their code's documentation, "≈ 1.20" in the data's README) and
//! `lambda / sigma` = 0.8874, by this module and by both of their methods (checked
//! against a transcription of each). The data's README (`../shared/data/pythia-
//! published/README.md`) says `lambda / sigma` ≈ 0.818 instead; no trim of the fit
//! gives that for a Gaussian, and the published near-Gaussian pythia-70m matrices (k
//! 1.19 to 1.20) have `lambda / RMS` of 0.87 to 0.88, so 0.887 is the reference here.
//! `k` below 1.205 means heavier tails than a Gaussian.

use crate::format::{QuantileTable, TensorHistogram};

/// The probabilities the fit keeps: the middle 80% of |W|.
pub const MIDDLE: (f64, f64) = (0.1, 0.9);
/// Points on the Weibull plot for a fit from a law (a step of 0.001 in probability).
pub const PLOT_POINTS: usize = 801;

/// A two-parameter Weibull fitted to |W|: `P(|W| <= x) = 1 - exp(-(x / lambda)^k)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeibullFit {
    /// Shape: 1.205 for a Gaussian matrix, smaller for heavier tails.
    pub k: f64,
    /// Scale, in the weights' units (0.887 sigma for a Gaussian).
    pub lambda: f64,
    /// R² of the line on the Weibull plot.
    pub r2: f64,
    /// Points the line went through.
    pub points: usize,
}

impl WeibullFit {
    /// The fitted law's CDF at `x >= 0`.
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        1.0 - (-(x / self.lambda).powf(self.k)).exp()
    }

    /// The fitted law's quantile at `p` in `[0, 1)`.
    pub fn quantile(&self, p: f64) -> f64 {
        self.lambda * (-(1.0 - p).ln()).powf(1.0 / self.k)
    }
}

/// Least squares on the Weibull plot through `(F, |w|)` pairs: `ln(-ln(1 - F))` against
/// `ln|w|`, each pair weighted equally. Pairs with `|w| <= 0` or `F` outside `(0, 1)`
/// are left out; `None` when fewer than 5 are left or the line is no Weibull (slope not
/// positive, or not finite).
pub fn fit_weibull_plot(points: impl IntoIterator<Item = (f64, f64)>) -> Option<WeibullFit> {
    let (mut n, mut sx, mut sy, mut sxx, mut sxy, mut syy) = (0usize, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (f, magnitude) in points {
        if !(magnitude > 0.0 && magnitude.is_finite() && f > 0.0 && f < 1.0) {
            continue;
        }
        let x = magnitude.ln();
        let y = (-(1.0 - f).ln()).ln();
        n += 1;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
    }
    if n < 5 {
        return None;
    }
    let count = n as f64;
    let (mx, my) = (sx / count, sy / count);
    let vxx = sxx / count - mx * mx;
    let vxy = sxy / count - mx * my;
    let vyy = syy / count - my * my;
    if vxx <= 0.0 {
        return None;
    }
    let k = vxy / vxx;
    let intercept = my - k * mx;
    let lambda = (-intercept / k).exp();
    let r2 = if vyy > 0.0 {
        (vxy * vxy / (vxx * vyy)).min(1.0)
    } else {
        1.0
    };
    (k > 0.0 && k.is_finite() && lambda > 0.0 && lambda.is_finite()).then_some(WeibullFit {
        k,
        lambda,
        r2,
        points: n,
    })
}

/// The per-matrix method on raw values: the magnitudes sorted, plotting positions
/// `F = (i - 0.5) / n` (zeros dropped first), the middle 80% kept.
pub fn fit_abs_values(values: &[f64]) -> Option<WeibullFit> {
    let mut magnitudes: Vec<f64> = values
        .iter()
        .map(|v| v.abs())
        .filter(|&m| m > 0.0 && m.is_finite())
        .collect();
    magnitudes.sort_by(f64::total_cmp);
    let n = magnitudes.len() as f64;
    fit_weibull_plot(
        magnitudes
            .iter()
            .enumerate()
            .map(|(i, &m)| ((i as f64 + 0.5) / n, m))
            .filter(|&(f, _)| f >= MIDDLE.0 && f <= MIDDLE.1),
    )
}

/// The probabilities of the fit from a law: [`PLOT_POINTS`] evenly from 0.1 to 0.9.
pub fn middle_probs() -> impl Iterator<Item = f64> {
    let (lo, hi) = MIDDLE;
    (0..PLOT_POINTS).map(move |i| lo + (hi - lo) * i as f64 / (PLOT_POINTS - 1) as f64)
}

impl QuantileTable {
    /// The law of |W| (this table's law folded at 0): `P(|W| <= a) = F(a) - F(-a-)`.
    pub fn abs_cdf(&self, a: f64) -> f64 {
        if a < 0.0 {
            return 0.0;
        }
        let upper = crate::family::table_cdf(&self.probs, &self.values, a, false);
        let lower = crate::family::table_cdf(&self.probs, &self.values, -a, true);
        (upper - lower).clamp(0.0, 1.0)
    }

    /// The `p` quantile of |W|: the smallest `a >= 0` with `P(|W| <= a) >= p` (to
    /// 2^-60 of the largest magnitude, by bisection).
    pub fn abs_quantile(&self, p: f64) -> f64 {
        let first = self.values.first().copied().unwrap_or(0.0);
        let last = self.values.last().copied().unwrap_or(0.0);
        let (mut lo, mut hi) = (0.0, first.abs().max(last.abs()));
        if self.abs_cdf(lo) >= p {
            return lo;
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.abs_cdf(mid) >= p {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// The Weibull fit of |W| over its middle 80% (see the module's documentation).
    pub fn weibull_abs(&self) -> Option<WeibullFit> {
        fit_weibull_plot(middle_probs().map(|p| (p, self.abs_quantile(p))))
    }
}

impl TensorHistogram {
    /// Root mean square of the values: `sqrt(std² + mean²)`.
    pub fn rms(&self) -> f64 {
        self.std.hypot(self.mean)
    }

    /// The Weibull fit of this entry's |W| from its quantile table.
    pub fn weibull_abs(&self) -> Option<WeibullFit> {
        self.quantiles.weibull_abs()
    }
}
