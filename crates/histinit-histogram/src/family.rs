//! The parametric zoo: normal, logistic, Laplace, Student-t and Johnson SU, each
//! fitted to a quantile table, with the fit's Kolmogorov–Smirnov distance and
//! Wasserstein-1 distance (in units of the table's std) to the table, so "no standard
//! family matches" is a number.

use serde::{Deserialize, Serialize};

use crate::special::{normal_cdf, normal_quantile, student_t_cdf, student_t_quantile};

/// Smallest Student-t degrees of freedom the fit considers: below 2 the variance is
/// infinite and no scale rule could rescale the draws.
pub const MIN_FIT_DOF: f64 = 2.0;
/// Largest degrees of freedom tried (indistinguishable from the normal beyond it).
pub const MAX_FIT_DOF: f64 = 1000.0;
/// Degrees of freedom a file may hold: a Student-t below 1 has no mean (its W1 to any
/// table is infinite), and beyond 1e9 it is the normal.
pub const MIN_FILE_DOF: f64 = 1.0;
pub const MAX_FILE_DOF: f64 = 1e9;
/// Probabilities `(j + 1/2) / FIT_PROBS` at which the fit matches quantiles.
pub const FIT_PROBS: usize = 256;

/// A distribution of the zoo with its parameters. `scale` (or `lambda`) 0 is a point
/// mass at `loc` (or `xi`), the fit of a constant tensor. Written as
/// `{"name": ..., "params": {...}}`; read by [`Family::deserialize`], which never buffers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "name", content = "params", rename_all = "snake_case")]
pub enum Family {
    Normal {
        loc: f64,
        scale: f64,
    },
    Logistic {
        loc: f64,
        scale: f64,
    },
    Laplace {
        loc: f64,
        scale: f64,
    },
    /// `loc + scale * T` with `T` a standard Student-t with `dof` degrees of freedom.
    StudentT {
        loc: f64,
        scale: f64,
        dof: f64,
    },
    /// `xi + lambda * sinh((Z - gamma) / delta)` with `Z` standard normal.
    JohnsonSu {
        xi: f64,
        lambda: f64,
        gamma: f64,
        delta: f64,
    },
}

/// Reads `{"name": ..., "params": {...}}` in either key order. serde's derived reader
/// for an adjacently tagged enum buffers `params` whole (as a tree of `Content` values,
/// 32 bytes or more per element) when it comes before `name`, so a file could make it
/// build an arbitrarily large value before refusing it; this one reads the parameters
/// as seven optional numbers (unknown keys are skipped, not kept) and checks the name's
/// own after both are read.
impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Family, D::Error> {
        use serde::de::Error;

        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Name {
            Normal,
            Logistic,
            Laplace,
            StudentT,
            JohnsonSu,
        }
        #[derive(Deserialize)]
        struct Params {
            loc: Option<f64>,
            scale: Option<f64>,
            dof: Option<f64>,
            xi: Option<f64>,
            lambda: Option<f64>,
            gamma: Option<f64>,
            delta: Option<f64>,
        }
        #[derive(Deserialize)]
        struct Tagged {
            name: Name,
            params: Params,
        }
        let Tagged { name, params: p } = Tagged::deserialize(de)?;
        let need = |field: &'static str, value: Option<f64>| {
            value.ok_or_else(|| D::Error::missing_field(field))
        };
        Ok(match name {
            Name::Normal => Family::Normal {
                loc: need("loc", p.loc)?,
                scale: need("scale", p.scale)?,
            },
            Name::Logistic => Family::Logistic {
                loc: need("loc", p.loc)?,
                scale: need("scale", p.scale)?,
            },
            Name::Laplace => Family::Laplace {
                loc: need("loc", p.loc)?,
                scale: need("scale", p.scale)?,
            },
            Name::StudentT => Family::StudentT {
                loc: need("loc", p.loc)?,
                scale: need("scale", p.scale)?,
                dof: need("dof", p.dof)?,
            },
            Name::JohnsonSu => Family::JohnsonSu {
                xi: need("xi", p.xi)?,
                lambda: need("lambda", p.lambda)?,
                gamma: need("gamma", p.gamma)?,
                delta: need("delta", p.delta)?,
            },
        })
    }
}

impl Family {
    pub fn name(&self) -> &'static str {
        match self {
            Family::Normal { .. } => "normal",
            Family::Logistic { .. } => "logistic",
            Family::Laplace { .. } => "laplace",
            Family::StudentT { .. } => "student_t",
            Family::JohnsonSu { .. } => "johnson_su",
        }
    }

    /// (location, scale) of the affine part: `X = location + scale * X0`.
    pub(crate) fn loc_scale(&self) -> (f64, f64) {
        match *self {
            Family::Normal { loc, scale }
            | Family::Logistic { loc, scale }
            | Family::Laplace { loc, scale }
            | Family::StudentT { loc, scale, .. } => (loc, scale),
            Family::JohnsonSu { xi, lambda, .. } => (xi, lambda),
        }
    }

    /// CDF of the standardized law (location 0, scale 1).
    fn standard_cdf(&self, z: f64) -> f64 {
        match *self {
            Family::Normal { .. } => normal_cdf(z),
            Family::Logistic { .. } => 1.0 / (1.0 + (-z).exp()),
            Family::Laplace { .. } => {
                if z < 0.0 {
                    0.5 * z.exp()
                } else {
                    1.0 - 0.5 * (-z).exp()
                }
            }
            Family::StudentT { dof, .. } => student_t_cdf(z, dof),
            Family::JohnsonSu { gamma, delta, .. } => normal_cdf(gamma + delta * z.asinh()),
        }
    }

    /// Quantile of the standardized law.
    fn standard_quantile(&self, p: f64) -> f64 {
        match *self {
            Family::Normal { .. } => normal_quantile(p),
            Family::Logistic { .. } => (p / (1.0 - p)).ln(),
            Family::Laplace { .. } => {
                if p < 0.5 {
                    (2.0 * p).ln()
                } else {
                    -(2.0 * (1.0 - p)).ln()
                }
            }
            Family::StudentT { dof, .. } => student_t_quantile(p, dof),
            Family::JohnsonSu { gamma, delta, .. } => ((normal_quantile(p) - gamma) / delta).sinh(),
        }
    }

    /// The location of a zero-scale (point mass) family.
    pub fn point_mass(&self) -> Option<f64> {
        let (loc, scale) = self.loc_scale();
        (scale == 0.0).then_some(loc)
    }

    pub fn cdf(&self, x: f64) -> f64 {
        let (loc, scale) = self.loc_scale();
        if scale == 0.0 {
            return if x < loc { 0.0 } else { 1.0 };
        }
        self.standard_cdf((x - loc) / scale)
    }

    pub fn quantile(&self, p: f64) -> f64 {
        let (loc, scale) = self.loc_scale();
        if scale == 0.0 {
            return loc;
        }
        loc + scale * self.standard_quantile(p)
    }

    /// The law of `a + b X` for `b >= 0` (how scale rules act on a fit).
    pub fn affine(&self, a: f64, b: f64) -> Family {
        match *self {
            Family::Normal { loc, scale } => Family::Normal {
                loc: a + b * loc,
                scale: b * scale,
            },
            Family::Logistic { loc, scale } => Family::Logistic {
                loc: a + b * loc,
                scale: b * scale,
            },
            Family::Laplace { loc, scale } => Family::Laplace {
                loc: a + b * loc,
                scale: b * scale,
            },
            Family::StudentT { loc, scale, dof } => Family::StudentT {
                loc: a + b * loc,
                scale: b * scale,
                dof,
            },
            Family::JohnsonSu {
                xi,
                lambda,
                gamma,
                delta,
            } => Family::JohnsonSu {
                xi: a + b * xi,
                lambda: b * lambda,
                gamma,
                delta,
            },
        }
    }

    /// Checks the parameters; the error names the offending one.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, value: f64| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} is not finite"))
            }
        };
        let positive = |name: &str, value: f64| {
            if value > 0.0 && value.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be positive and finite, got {value}"))
            }
        };
        let (loc, scale) = self.loc_scale();
        finite("location", loc)?;
        if !(scale >= 0.0 && scale.is_finite()) {
            return Err(format!("scale must be >= 0 and finite, got {scale}"));
        }
        match *self {
            Family::StudentT { dof, .. } if !(MIN_FILE_DOF..=MAX_FILE_DOF).contains(&dof) => Err(
                format!("dof must be in [{MIN_FILE_DOF}, {MAX_FILE_DOF}], got {dof}"),
            ),
            Family::JohnsonSu { gamma, delta, .. } => {
                finite("gamma", gamma)?;
                positive("delta", delta)
            }
            _ => Ok(()),
        }
    }
}

/// One family fitted to a quantile table, with its distances to the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FamilyFit {
    pub family: Family,
    /// Kolmogorov–Smirnov distance sup |F_fit - F_table| (0 to 1).
    pub ks: f64,
    /// Wasserstein-1 distance ∫|Q_fit(p) - Q_table(p)| dp divided by the table's std
    /// (0 for a constant table).
    pub w1_over_std: f64,
}

/// The fit with the smallest KS distance.
pub fn best_fit(fits: &[FamilyFit]) -> Option<&FamilyFit> {
    fits.iter().min_by(|a, b| a.ks.total_cmp(&b.ks))
}

/// The piecewise-linear quantile function through `(probs, values)` (sorted, probs
/// from 0 to 1).
pub fn table_quantile(probs: &[f64], values: &[f64], p: f64) -> f64 {
    let upper = probs.partition_point(|&q| q < p);
    if upper == 0 {
        return values[0];
    }
    if upper >= probs.len() {
        return values[values.len() - 1];
    }
    let (p0, p1) = (probs[upper - 1], probs[upper]);
    let (v0, v1) = (values[upper - 1], values[upper]);
    if p1 <= p0 {
        return v1;
    }
    v0 + (v1 - v0) * (p - p0) / (p1 - p0)
}

/// The CDF of the table's law at `x`; `left` gives the left limit P(X < x).
pub fn table_cdf(probs: &[f64], values: &[f64], x: f64, left: bool) -> f64 {
    let j = if left {
        values.partition_point(|&v| v < x)
    } else {
        values.partition_point(|&v| v <= x)
    };
    if j == 0 {
        return 0.0;
    }
    if j >= values.len() {
        return 1.0;
    }
    let (p0, v0, p1, v1) = (probs[j - 1], values[j - 1], probs[j], values[j]);
    // v0 <= x < v1 (or v0 < x <= v1 for the left limit), so v1 > v0.
    p0 + (p1 - p0) * (x - v0) / (v1 - v0)
}

/// KS distance between a family and a table, evaluated at every knot (where the
/// table's CDF jumps or bends) and at every segment midpoint.
pub fn ks_distance(family: &Family, probs: &[f64], values: &[f64]) -> f64 {
    let mut worst: f64 = 0.0;
    for i in 0..values.len() {
        worst = worst.max((family.cdf(values[i]) - probs[i]).abs());
        if i + 1 < values.len() && values[i + 1] > values[i] {
            let mid = 0.5 * (values[i] + values[i + 1]);
            let table = 0.5 * (probs[i] + probs[i + 1]);
            worst = worst.max((family.cdf(mid) - table).abs());
        }
    }
    worst
}

/// Wasserstein-1 distance ∫|Q_family(p) - Q_table(p)| dp, by the midpoint rule on
/// every knot interval split in four (the knot grid is dense in the tails, where the
/// quantile functions move fastest).
pub fn w1_distance(family: &Family, probs: &[f64], values: &[f64]) -> f64 {
    const SPLIT: usize = 4;
    let mut total = 0.0;
    for i in 0..probs.len().saturating_sub(1) {
        let (p0, p1) = (probs[i], probs[i + 1]);
        let width = (p1 - p0) / SPLIT as f64;
        for k in 0..SPLIT {
            let p = p0 + (k as f64 + 0.5) * width;
            let diff = (family.quantile(p) - table_quantile(probs, values, p)).abs();
            if diff.is_finite() {
                total += diff * width;
            }
        }
    }
    total
}

/// Least squares of `y` on `a + b z`: (a, b, residual sum of squares).
fn regress(z: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = z.len() as f64;
    let zm = z.iter().sum::<f64>() / n;
    let ym = y.iter().sum::<f64>() / n;
    let (mut szz, mut szy) = (0.0, 0.0);
    for (&zi, &yi) in z.iter().zip(y) {
        szz += (zi - zm) * (zi - zm);
        szy += (zi - zm) * (yi - ym);
    }
    let b = szy / szz;
    if !(b > 0.0 && b.is_finite()) {
        return None;
    }
    let a = ym - b * zm;
    let sse = z
        .iter()
        .zip(y)
        .map(|(&zi, &yi)| (yi - a - b * zi).powi(2))
        .sum::<f64>();
    Some((a, b, sse))
}

fn fit_probs() -> Vec<f64> {
    (0..FIT_PROBS)
        .map(|j| (j as f64 + 0.5) / FIT_PROBS as f64)
        .collect()
}

/// Least-squares quantile match of a location-scale family whose standardized
/// quantiles at the fit probabilities are `z`; `make(loc, scale)` builds the family.
fn fit_affine(z: &[f64], y: &[f64], make: impl Fn(f64, f64) -> Family) -> Option<(Family, f64)> {
    regress(z, y).map(|(a, b, sse)| (make(a, b), sse))
}

fn fit_student_t(probs: &[f64], y: &[f64]) -> Option<Family> {
    let half = probs.len() / 2;
    let sse_at = |log_dof: f64| -> Option<(Family, f64)> {
        let dof = log_dof.exp();
        // The fit probabilities are symmetric: compute the lower half only.
        let mut z = vec![0.0; probs.len()];
        for j in 0..half {
            let q = student_t_quantile(probs[j], dof);
            z[j] = q;
            z[probs.len() - 1 - j] = -q;
        }
        fit_affine(&z, y, |loc, scale| Family::StudentT { loc, scale, dof })
    };
    let (lo, hi) = (MIN_FIT_DOF.ln(), MAX_FIT_DOF.ln());
    const GRID: usize = 24;
    let grid: Vec<f64> = (0..GRID)
        .map(|i| lo + (hi - lo) * i as f64 / (GRID - 1) as f64)
        .collect();
    let scored: Vec<(usize, f64)> = grid
        .iter()
        .enumerate()
        .filter_map(|(i, &g)| sse_at(g).map(|(_, sse)| (i, sse)))
        .collect();
    let &(best, _) = scored.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
    // Golden-section search between the neighbours of the best grid point.
    let (mut a, mut b) = (grid[best.saturating_sub(1)], grid[(best + 1).min(GRID - 1)]);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let score = |g: f64| sse_at(g).map_or(f64::INFINITY, |(_, sse)| sse);
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (score(c), score(d));
    for _ in 0..30 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = score(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = score(d);
        }
    }
    let candidates = [grid[best], 0.5 * (a + b)];
    candidates
        .iter()
        .filter_map(|&g| sse_at(g))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(family, _)| family)
}

fn fit_johnson_su(probs: &[f64], y: &[f64]) -> Option<Family> {
    let normal: Vec<f64> = probs.iter().map(|&p| normal_quantile(p)).collect();
    let sse_at = |gamma: f64, log_delta: f64| -> Option<(Family, f64)> {
        let delta = log_delta.exp();
        let z: Vec<f64> = normal
            .iter()
            .map(|&n| ((n - gamma) / delta).sinh())
            .collect();
        fit_affine(&z, y, |xi, lambda| Family::JohnsonSu {
            xi,
            lambda,
            gamma,
            delta,
        })
    };
    let score = |g: f64, d: f64| sse_at(g, d).map_or(f64::INFINITY, |(_, sse)| sse);
    // Coarse grid over skewness (gamma) and tail weight (delta), then a pattern search.
    let mut start = (0.0, 0.0, f64::INFINITY);
    for gi in 0..17 {
        let gamma = -4.0 + 0.5 * gi as f64;
        for di in 0..16 {
            let log_delta = (0.2f64).ln() + (100f64).ln() * di as f64 / 15.0;
            let s = score(gamma, log_delta);
            if s < start.2 {
                start = (gamma, log_delta, s);
            }
        }
    }
    let (mut gamma, mut log_delta, mut best) = start;
    if !best.is_finite() {
        return None;
    }
    let (mut step_g, mut step_d) = (0.25, 0.15);
    for _ in 0..400 {
        let mut moved = false;
        for (dg, dd) in [(step_g, 0.0), (-step_g, 0.0), (0.0, step_d), (0.0, -step_d)] {
            let s = score(gamma + dg, log_delta + dd);
            if s < best {
                best = s;
                gamma += dg;
                log_delta += dd;
                moved = true;
            }
        }
        if !moved {
            step_g /= 2.0;
            step_d /= 2.0;
            if step_g < 1e-6 {
                break;
            }
        }
    }
    sse_at(gamma, log_delta).map(|(family, _)| family)
}

impl Family {
    /// The same family with the same shape parameters, its location and scale refitted
    /// (least squares on quantiles) to another table: how a role's fitted family is
    /// placed on one tensor of that role. `None` for a constant table.
    pub fn refit_location_scale(&self, probs: &[f64], values: &[f64]) -> Option<Family> {
        let fit_p = fit_probs();
        let y: Vec<f64> = fit_p
            .iter()
            .map(|&p| table_quantile(probs, values, p))
            .collect();
        let z: Vec<f64> = fit_p.iter().map(|&p| self.standard_quantile(p)).collect();
        let unit = self.standardized();
        fit_affine(&z, &y, |loc, scale| unit.affine(loc, scale)).map(|(family, _)| family)
    }

    /// The family with location 0 and scale 1 (shape parameters kept).
    fn standardized(&self) -> Family {
        match *self {
            Family::Normal { .. } => Family::Normal {
                loc: 0.0,
                scale: 1.0,
            },
            Family::Logistic { .. } => Family::Logistic {
                loc: 0.0,
                scale: 1.0,
            },
            Family::Laplace { .. } => Family::Laplace {
                loc: 0.0,
                scale: 1.0,
            },
            Family::StudentT { dof, .. } => Family::StudentT {
                loc: 0.0,
                scale: 1.0,
                dof,
            },
            Family::JohnsonSu { gamma, delta, .. } => Family::JohnsonSu {
                xi: 0.0,
                lambda: 1.0,
                gamma,
                delta,
            },
        }
    }
}

/// Fits every family of the zoo to the quantile table `(probs, values)` of a law with
/// standard deviation `std`, by least squares on the quantiles at `FIT_PROBS` evenly
/// spaced probabilities (a discretized Wasserstein-2 fit); shape parameters (Student-t
/// dof, Johnson SU gamma and delta) are searched. A constant table gets point masses.
pub fn fit_families(probs: &[f64], values: &[f64], std: f64) -> Vec<FamilyFit> {
    let first = values.first().copied().unwrap_or(0.0);
    let constant = values.iter().all(|&v| v == first);
    // `std.is_nan()` too: a table without spread gets point masses.
    if constant || std.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        let (loc, scale) = (first, 0.0);
        return [
            Family::Normal { loc, scale },
            Family::Logistic { loc, scale },
            Family::Laplace { loc, scale },
            Family::StudentT {
                loc,
                scale,
                dof: MAX_FIT_DOF,
            },
            Family::JohnsonSu {
                xi: loc,
                lambda: scale,
                gamma: 0.0,
                delta: 1.0,
            },
        ]
        .into_iter()
        .map(|family| FamilyFit {
            family,
            ks: ks_distance(&family, probs, values),
            w1_over_std: 0.0,
        })
        .collect();
    }
    let fit_p = fit_probs();
    let y: Vec<f64> = fit_p
        .iter()
        .map(|&p| table_quantile(probs, values, p))
        .collect();
    let standard = |family: Family| -> Vec<f64> {
        fit_p.iter().map(|&p| family.standard_quantile(p)).collect()
    };
    let unit = (0.0, 1.0);
    let mut families = Vec::new();
    for template in [
        Family::Normal {
            loc: unit.0,
            scale: unit.1,
        },
        Family::Logistic {
            loc: unit.0,
            scale: unit.1,
        },
        Family::Laplace {
            loc: unit.0,
            scale: unit.1,
        },
    ] {
        let z = standard(template);
        if let Some((family, _)) = fit_affine(&z, &y, |loc, scale| template.affine(loc, scale)) {
            families.push(family);
        }
    }
    families.extend(fit_student_t(&fit_p, &y));
    families.extend(fit_johnson_su(&fit_p, &y));
    families
        .into_iter()
        .filter(|family| family.check().is_ok())
        .map(|family| FamilyFit {
            family,
            ks: ks_distance(&family, probs, values),
            w1_over_std: w1_distance(&family, probs, values) / std,
        })
        .collect()
}
