//! The file format: statistics, quantile tables, pooling, round trips and errors.

mod common;

use common::{small_file, Rng};
use histinit_histogram::{
    knot_grid, HistogramError, HistogramFile, Role, TensorHistogram, FORMAT_VERSION,
    MAX_JSON_BYTES, MAX_MAGNITUDE, MIN_KNOTS,
};

/// KS distance between a quantile table's CDF and the empirical CDF of `values`.
fn ks_to_sample(table: &histinit_histogram::QuantileTable, values: &[f32]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut worst: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = table.cdf(x);
        worst = worst
            .max((f - i as f64 / n).abs())
            .max((f - (i + 1) as f64 / n).abs());
    }
    worst
}

fn direct_moments(values: &[f32]) -> (f64, f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let m = |k: i32| {
        values
            .iter()
            .map(|&v| (v as f64 - mean).powi(k))
            .sum::<f64>()
            / n
    };
    let (m2, m3, m4) = (m(2), m(3), m(4));
    (mean, m2.sqrt(), m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0)
}

#[test]
fn knot_grid_is_tail_dense_and_fine_enough() {
    let grid = knot_grid();
    assert!(grid.len() >= MIN_KNOTS, "{} knots", grid.len());
    assert_eq!(grid[0], 0.0);
    assert_eq!(grid[grid.len() - 1], 1.0);
    assert!(grid.windows(2).all(|w| w[1] > w[0]));
    // The extreme 1e-4 of the mass on each side has knots of its own.
    assert!(grid.iter().filter(|&&p| p > 0.0 && p <= 1e-4).count() >= 30);
    assert!(
        grid.iter()
            .filter(|&&p| (1.0 - 1e-4..1.0).contains(&p))
            .count()
            >= 30
    );
    let widest = grid.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(widest <= 0.0014, "widest knot gap {widest}");
}

#[test]
fn statistics_and_quantile_table_reproduce_the_tensor() {
    let mut rng = Rng(7);
    // Heavy-tailed and skewed: a Student-t(3) plus a shifted exponential-ish part.
    let mut values: Vec<f32> = (0..200_000)
        .map(|i| {
            let t = 0.03 * rng.student_t(3);
            (if i % 5 == 0 { t.abs() + 0.01 } else { t }) as f32
        })
        .collect();
    values[17] = f32::NAN;
    values[99] = f32::INFINITY;
    let hist =
        TensorHistogram::from_values("w", Role::MlpIn, Some(1), 4, &[400, 500], 500, &values)
            .unwrap();
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    assert_eq!(hist.count, 199_998);
    assert_eq!(hist.non_finite, 2);
    assert_eq!(hist.depth_fraction, 1.5 / 4.0);
    let (mean, std, skew, kurt) = direct_moments(&finite);
    assert!((hist.mean - mean).abs() < 1e-12);
    assert!((hist.std / std - 1.0).abs() < 1e-9);
    assert!((hist.skewness - skew).abs() < 1e-6 * skew.abs().max(1.0));
    assert!((hist.excess_kurtosis - kurt).abs() < 1e-6 * kurt.abs().max(1.0));
    let min = finite.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let max = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    assert_eq!((hist.min, hist.max), (min, max));
    assert_eq!(hist.bins.counts.iter().sum::<u64>(), hist.count);
    let ks = ks_to_sample(&hist.quantiles, &finite);
    assert!(ks < 0.002, "quantile table vs empirical CDF: KS {ks}");
    hist.validate("t").unwrap();
}

#[test]
fn building_from_bad_values_names_the_tensor() {
    let err = TensorHistogram::from_values("dead", Role::Bias, None, 1, &[3], 3, &[f32::NAN; 3])
        .unwrap_err();
    assert!(
        err.to_string().contains("'dead'") && err.to_string().contains("NaN"),
        "{err}"
    );
    let err = TensorHistogram::from_values("odd", Role::Bias, None, 1, &[2, 2], 2, &[0.0; 3])
        .unwrap_err();
    assert!(
        err.to_string().contains("'odd'") && err.to_string().contains("shape"),
        "{err}"
    );
}

#[test]
fn pooled_entries_are_the_exact_mixture() {
    let mut rng = Rng(11);
    let layers: Vec<Vec<f32>> = (0..3)
        .map(|l| {
            (0..40_000 + 10_000 * l)
                .map(|_| (0.01 * (l + 1) as f64 * rng.laplace() + 0.002 * l as f64) as f32)
                .collect()
        })
        .collect();
    let tensors: Vec<TensorHistogram> = layers
        .iter()
        .enumerate()
        .map(|(l, v)| {
            TensorHistogram::from_values(
                &format!("l{l}"),
                Role::AttnOut,
                Some(l),
                3,
                &[v.len()],
                64,
                v,
            )
            .unwrap()
        })
        .collect();
    let file = HistogramFile::new(common::provenance(), tensors).unwrap();
    let pooled = file.pooled(Role::AttnOut).unwrap();
    let all: Vec<f32> = layers.concat();
    let (mean, std, skew, kurt) = direct_moments(&all);
    assert_eq!(pooled.count, all.len() as u64);
    assert_eq!(pooled.name, "attn_out");
    assert_eq!(pooled.layer, None);
    assert!((pooled.mean - mean).abs() < 1e-12);
    assert!((pooled.std / std - 1.0).abs() < 1e-9);
    assert!((pooled.skewness - skew).abs() < 1e-6);
    assert!((pooled.excess_kurtosis / kurt - 1.0).abs() < 1e-6);
    let ks = ks_to_sample(&pooled.quantiles, &all);
    assert!(
        ks < 0.002,
        "pooled table vs the concatenated values: KS {ks}"
    );
    assert_eq!(pooled.bins.counts.iter().sum::<u64>(), pooled.count);
    assert!(pooled.fits.len() >= 5, "fits: {:?}", pooled.fits);
}

#[test]
fn files_round_trip_through_json_and_gzip() {
    let file = small_file(3);
    assert_eq!(file.version, FORMAT_VERSION);
    let roles: Vec<Role> = file.pooled.iter().map(|p| p.role).collect();
    assert_eq!(roles, vec![Role::Qkv, Role::AttnOut, Role::NormGain]);
    let json = file.to_json();
    let back = HistogramFile::parse(json.as_bytes()).unwrap();
    assert_close(&to_value(&back), &to_value(&file), "file");
    let gz = file.to_json_gz();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    assert!(
        gz.len() < json.len() / 2,
        "gzip {} vs json {}",
        gz.len(),
        json.len()
    );
    // Same text, same parse: gzip changes nothing.
    assert_eq!(HistogramFile::parse(&gz).unwrap(), back);
}

fn to_value(file: &HistogramFile) -> serde_json::Value {
    serde_json::to_value(file).unwrap()
}

/// serde_json (without its `float_roundtrip` feature, which would rebuild Burn) may
/// read a float back one ulp off: numbers are compared to 1e-15 relative.
fn assert_close(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-15 * x.abs().max(y.abs()),
                "{path}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (key, x) in x {
                assert_close(x, &y[key], &format!("{path}.{key}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Parses `json` after `edit`, expecting an error whose message contains `needle`.
fn expect_error(edit: impl FnOnce(&mut serde_json::Value), needle: &str) -> HistogramError {
    let mut value: serde_json::Value = serde_json::from_str(&small_file(5).to_json()).unwrap();
    edit(&mut value);
    let text = serde_json::to_string(&value).unwrap();
    let err = HistogramFile::parse(text.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains(needle),
        "expected '{needle}' in: {err}"
    );
    err
}

#[test]
fn malformed_files_are_rejected_with_the_field_named() {
    expect_error(|v| v["version"] = 2.into(), "version 2");
    expect_error(|v| v["version"] = "one".into(), "version");
    expect_error(
        |v| {
            v.as_object_mut().unwrap().remove("version");
        },
        "version: missing",
    );
    expect_error(
        |v| v["tensors"][1]["count"] = (-5).into(),
        "tensors[1].count",
    );
    expect_error(
        |v| v["tensors"][0]["quantiles"]["values"][17] = (-1.0e9).into(),
        "tensors[0].quantiles.values: not monotone at knot 17",
    );
    // JSON has no NaN: serde_json writes it as null.
    expect_error(
        |v| v["tensors"][2]["quantiles"]["values"][40] = serde_json::Value::Null,
        "tensors[2].quantiles.values[40]",
    );
    expect_error(
        |v| v["tensors"][0]["role"] = "wqkv".into(),
        "tensors[0].role",
    );
    expect_error(
        |v| {
            v["pooled"].as_array_mut().unwrap().remove(1);
        },
        "role 'attn_out' has tensors but no pooled entry",
    );
    expect_error(
        |v| v["tensors"][0]["shape"] = serde_json::json!([1u64 << 40, 1u64 << 40]),
        "tensors[0].shape",
    );
    expect_error(|v| v["tensors"][3]["std"] = (-1.0).into(), "tensors[3].std");
    expect_error(
        |v| v["tensors"][0]["bins"]["counts"][3] = 1_000_000.into(),
        "tensors[0].bins.counts",
    );
    expect_error(
        |v| v["pooled"][0]["fits"][0]["family"]["params"]["scale"] = (-0.1).into(),
        "pooled[0].fits[0].family",
    );
    expect_error(
        |v| v["tensors"][4]["name"] = v["tensors"][1]["name"].clone(),
        "appears twice",
    );
    for (bytes, needle) in [
        (&b"{\"version\": 1, \"source\": "[..], "line 1"),
        (&b"[1, 2, 3]"[..], "JSON"),
        (&b""[..], "JSON"),
        (&[0x1f, 0x8b, 0x08, 0x00, 1, 2, 3][..], "gzip"),
    ] {
        let err = HistogramFile::parse(bytes).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![b' '; 1 << 20];
    for _ in 0..(MAX_JSON_BYTES >> 20) + 1 {
        encoder.write_all(&block).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let err = HistogramFile::parse(&bomb).unwrap_err();
    assert_eq!(
        err,
        HistogramError::TooLarge {
            limit: MAX_JSON_BYTES
        }
    );
}

/// Multiplies every value-valued field of an entry (moments in value units, extremes,
/// bin edges, quantile values, fit locations and scales) by `factor`: the file stays
/// self-consistent, only its scale changes.
fn scale_entry(entry: &mut serde_json::Value, factor: f64) {
    let times = |v: &mut serde_json::Value| *v = (v.as_f64().unwrap() * factor).into();
    for key in ["mean", "std", "min", "max"] {
        times(&mut entry[key]);
    }
    for v in entry["bins"]["edges"].as_array_mut().unwrap() {
        times(v);
    }
    for v in entry["quantiles"]["values"].as_array_mut().unwrap() {
        times(v);
    }
    for fit in entry["fits"].as_array_mut().unwrap() {
        for key in ["loc", "scale", "xi", "lambda"] {
            if fit["family"]["params"].get(key).is_some() {
                times(&mut fit["family"]["params"][key]);
            }
        }
    }
}

#[test]
fn values_beyond_the_magnitude_bound_are_refused_with_the_field_named() {
    // A consistent file at the scale of 1e300: every value would be an infinite f32
    // weight. Refused at the first field, naming it and the bound.
    let huge = 1e300 / 0.02;
    let err = expect_error(
        |v| {
            for key in ["tensors", "pooled"] {
                for entry in v[key].as_array_mut().unwrap() {
                    scale_entry(entry, huge);
                }
            }
        },
        "tensors[0].mean",
    );
    assert!(err.to_string().contains("beyond ±1e30"), "{err}");
    // Just inside the bound is a valid file: the bound is on magnitude, not on shape.
    let factor = MAX_MAGNITUDE / 10.0;
    let mut value: serde_json::Value = serde_json::from_str(&small_file(5).to_json()).unwrap();
    for key in ["tensors", "pooled"] {
        for entry in value[key].as_array_mut().unwrap() {
            scale_entry(entry, factor);
        }
    }
    let file = HistogramFile::parse(value.to_string().as_bytes()).unwrap();
    assert!(file.tensors[0].max > 1e26);
    // Each field on its own, named.
    expect_error(
        |v| v["tensors"][0]["bins"]["edges"][3] = 1e300.into(),
        "tensors[0].bins.edges: edge 3 is 1e300, beyond ±1e30",
    );
    expect_error(
        |v| v["tensors"][1]["quantiles"]["values"][17] = (-1e300).into(),
        "tensors[1].quantiles.values: knot 17 is -1e300, beyond ±1e30",
    );
    expect_error(
        |v| v["pooled"][0]["fits"][0]["family"]["params"]["scale"] = 1e300.into(),
        "pooled[0].fits[0].family scale",
    );
    expect_error(|v| v["tensors"][2]["max"] = 1e31.into(), "tensors[2].max");
    expect_error(
        |v| v["tensors"][0]["fan_in"] = (1u64 << 60).into(),
        "tensors[0].fan_in: 1152921504606846976 is not in [1, 281474976710656]",
    );
}

#[test]
fn moment_checks_cannot_be_bypassed_through_infinities() {
    // skewness² overflows to inf: the old Pearson check computed inf - inf = NaN and
    // let it through.
    expect_error(
        |v| v["tensors"][0]["skewness"] = 1e200.into(),
        "tensors[0].skewness: 1e200 exceeds sqrt(count)",
    );
    expect_error(
        |v| v["tensors"][0]["skewness"] = (-1e200).into(),
        "tensors[0].skewness",
    );
    // Finite but impossible for the tensor's 3072 values.
    expect_error(
        |v| v["tensors"][0]["excess_kurtosis"] = 1e6.into(),
        "tensors[0].excess_kurtosis: 1000000.0 exceeds count - 3",
    );
    expect_error(
        |v| v["tensors"][0]["skewness"] = 100.into(),
        "tensors[0].skewness: 100.0 exceeds sqrt(count)",
    );
    // Pearson's bound itself still holds.
    expect_error(
        |v| {
            v["tensors"][0]["skewness"] = 3.into();
            v["tensors"][0]["excess_kurtosis"] = 0.into();
        },
        "is below skewness² - 2",
    );
    // A constant (std 0) skips the count bounds but not Pearson's, NaN-safe too.
    let constant =
        TensorHistogram::from_values("c", Role::Bias, Some(0), 1, &[4], 4, &[0.5; 4]).unwrap();
    constant.validate("c").unwrap();
    let mut bad = constant.clone();
    bad.skewness = 1e200;
    let err = bad.validate("c").unwrap_err().to_string();
    assert!(err.starts_with("c.excess_kurtosis"), "{err}");
    // A std far below the range would make a shape-only rescale (target std / std)
    // overflow; one above half the range is impossible.
    expect_error(
        |v| v["tensors"][0]["std"] = 1e-20.into(),
        "tensors[0].std: 1e-20 is outside [range / sqrt(2 count), range / 2]",
    );
    expect_error(|v| v["tensors"][0]["std"] = 10.into(), "tensors[0].std");
}

#[test]
fn gzip_files_with_anything_after_the_first_member_are_refused() {
    let file = small_file(2);
    let gz = file.to_json_gz();
    HistogramFile::parse(&gz).unwrap();
    // `cat a.json.gz b.json.gz`: a second member (here the same file again, so a reader
    // of all members would see invalid JSON; of the first only, the first file).
    let twice = [gz.clone(), gz.clone()].concat();
    let err = HistogramFile::parse(&twice).unwrap_err();
    assert!(matches!(err, HistogramError::Gzip(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{} bytes follow the first gzip member", gz.len()))
            && text.contains("a second member"),
        "{text}"
    );
    let garbage = [gz.clone(), b"<script>".to_vec()].concat();
    let err = HistogramFile::parse(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("8 bytes follow the first gzip member (trailing garbage)"),
        "{err}"
    );
    // One stray byte is as bad as many.
    let err = HistogramFile::parse(&[gz.clone(), vec![0]].concat()).unwrap_err();
    assert!(matches!(err, HistogramError::Gzip(_)), "{err}");
}

#[test]
fn the_shipped_histogram_files_still_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms");
    for name in [
        "teacher-nano.json.gz",
        "teacher-micro.json.gz",
        "teacher-nano-nonorm.json.gz",
        "minilm-l6.json.gz",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        HistogramFile::parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        histinit_histogram::fuzz_check_source(&bytes);
    }
}
