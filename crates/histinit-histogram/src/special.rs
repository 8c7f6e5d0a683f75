//! The special functions the family zoo needs (no statistics crate is a dependency):
//! the normal CDF and quantile, the regularized incomplete beta function, and the
//! Student-t CDF and quantile built on it.

use std::f64::consts::{PI, SQRT_2};

/// Standard normal CDF, accurate to double precision in both tails (libm's erfc).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// Standard normal quantile: Acklam's rational approximation (relative error
/// 1.2e-9) refined by one Halley step on the exact CDF.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step on e = cdf(x) - p; in the upper tail cdf(x) - p is computed as
    // (1 - p) - (1 - cdf(x)) for precision.
    let e = if p > 0.5 {
        (1.0 - p) - 0.5 * libm::erfc(x / SQRT_2)
    } else {
        0.5 * libm::erfc(-x / SQRT_2) - p
    };
    let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    let refined = x - u / (1.0 + x * u / 2.0);
    if refined.is_finite() {
        refined
    } else {
        x
    }
}

/// Continued fraction for the incomplete beta function (modified Lentz).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b) for a, b > 0.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (-x).ln_1p();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// Lower tail P(T <= t) of a standard Student-t with `dof` degrees of freedom.
pub fn student_t_cdf(t: f64, dof: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    // P(|T| > |t|) / 2 = I_{dof/(dof+t²)}(dof/2, 1/2) / 2; the complement form keeps
    // precision near t = 0.
    let t2 = t * t;
    let tail = if t2 < dof {
        0.5 * (1.0 - incomplete_beta(0.5, dof / 2.0, t2 / (dof + t2)))
    } else {
        0.5 * incomplete_beta(dof / 2.0, 0.5, dof / (dof + t2))
    };
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Density of a standard Student-t.
pub fn student_t_pdf(t: f64, dof: f64) -> f64 {
    (libm::lgamma((dof + 1.0) / 2.0)
        - libm::lgamma(dof / 2.0)
        - 0.5 * (dof * PI).ln()
        - (dof + 1.0) / 2.0 * (t * t / dof).ln_1p())
    .exp()
}

/// Standard Student-t quantile: safeguarded Newton on the CDF (bisection whenever a
/// step leaves the bracket), started from the Cornish–Fisher approximation.
pub fn student_t_quantile(p: f64, dof: f64) -> f64 {
    if p.is_nan() || dof.is_nan() || dof <= 0.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p > 0.5 {
        return -student_t_quantile(1.0 - p, dof);
    }
    // Now p < 0.5 and the answer is negative.
    let z = normal_quantile(p);
    let mut t = z + (z * z * z + z) / (4.0 * dof);
    let mut hi = 0.0;
    let mut lo = t.min(-1.0);
    let mut guard = 0;
    while student_t_cdf(lo, dof) > p && guard < 2000 {
        hi = lo;
        lo *= 2.0;
        guard += 1;
    }
    if !(t > lo && t < hi) {
        t = 0.5 * (lo + hi);
    }
    for _ in 0..200 {
        let f = student_t_cdf(t, dof) - p;
        if f > 0.0 {
            hi = t;
        } else {
            lo = t;
        }
        let density = student_t_pdf(t, dof);
        let mut next = t - f / density;
        // NaN fails both comparisons, so it bisects too.
        let inside = next > lo && next < hi;
        if !inside {
            next = 0.5 * (lo + hi);
        }
        if (next - t).abs() <= 1e-14 * (1.0 + t.abs()) {
            return next;
        }
        t = next;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_known_values_and_inverts_the_cdf() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.5)).abs() < 1e-15);
        assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-9);
        for &p in &[1e-12, 1e-6, 0.01, 0.3, 0.7, 0.99, 1.0 - 1e-9] {
            let x = normal_quantile(p);
            let back = normal_cdf(x);
            assert!(
                ((back - p) / p.min(1.0 - p)).abs() < 1e-9,
                "p {p}: cdf(q) = {back}"
            );
        }
    }

    #[test]
    fn student_t_matches_table_values_and_its_limits() {
        // t_{0.975} for 1, 2, 10 degrees of freedom (standard tables).
        assert!((student_t_quantile(0.975, 1.0) - 12.706_204_736_174_7).abs() < 1e-9);
        assert!((student_t_quantile(0.975, 2.0) - 4.302_652_729_749_464).abs() < 1e-10);
        assert!((student_t_quantile(0.975, 10.0) - 2.228_138_851_986_273).abs() < 1e-10);
        // Cauchy CDF is 1/2 + atan(t)/pi.
        for &t in &[-30.0, -1.0, 0.2, 5.0] {
            let exact = 0.5 + f64::atan(t) / PI;
            assert!((student_t_cdf(t, 1.0) - exact).abs() < 1e-13, "t {t}");
        }
        // Large dof approaches the normal.
        assert!((student_t_cdf(1.3, 1e7) - normal_cdf(1.3)).abs() < 1e-7);
        for &p in &[1e-7, 0.001, 0.2, 0.5, 0.93, 0.999_999] {
            for &dof in &[2.1, 4.0, 30.0] {
                let t = student_t_quantile(p, dof);
                assert!((student_t_cdf(t, dof) - p).abs() < 1e-12 * (1.0 + 1.0 / p));
            }
        }
    }

    #[test]
    fn incomplete_beta_has_closed_forms() {
        // I_x(1, 1) = x; I_x(2, 1) = x²; I_x(1, 3) = 1 - (1-x)³.
        for &x in &[0.01, 0.3, 0.77] {
            assert!((incomplete_beta(1.0, 1.0, x) - x).abs() < 1e-14);
            assert!((incomplete_beta(2.0, 1.0, x) - x * x).abs() < 1e-14);
            assert!((incomplete_beta(1.0, 3.0, x) - (1.0 - (1.0 - x).powi(3))).abs() < 1e-14);
        }
    }
}
