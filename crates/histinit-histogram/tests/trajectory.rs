//! The trajectory file: what the writer (`histinit teacher`) writes, the reader (the
//! page) reads back; bad input is a `TrajectoryError`, never a panic.

mod common;

use common::{provenance, Rng};
use histinit_histogram::{
    Role, RoleSnapshot, TensorHistogram, Trajectory, TrajectoryError, TrajectoryPoint,
    MAX_JSON_BYTES, TRAJECTORY_PROBS, TRAJECTORY_VERSION,
};

/// Three checkpoints of two roles whose spread grows with the step, as a teacher's does.
fn trajectory() -> Trajectory {
    let mut rng = Rng(7);
    let checkpoints = [0usize, 1, 8]
        .into_iter()
        .map(|step| {
            let scale = 0.02 * (1.0 + step as f64 / 4.0);
            let roles = [Role::MlpIn, Role::Unembed]
                .into_iter()
                .map(|role| {
                    let values: Vec<f32> =
                        (0..4096).map(|_| (rng.laplace() * scale) as f32).collect();
                    let entry = TensorHistogram::from_values(
                        role.name(),
                        role,
                        None,
                        2,
                        &[64, 64],
                        64,
                        &values,
                    )
                    .unwrap();
                    RoleSnapshot::of(&entry)
                })
                .collect();
            TrajectoryPoint {
                step,
                tokens: step as u64 * 1024,
                train_loss: (step > 0).then_some(5.0 - step as f64 / 4.0),
                val_loss: 5.5 - step as f64 / 4.0,
                roles,
            }
        })
        .collect();
    Trajectory {
        version: TRAJECTORY_VERSION,
        source: provenance(),
        probs: TRAJECTORY_PROBS.to_vec(),
        checkpoints,
    }
}

/// `a` and `b` are the same JSON up to the last bit of a number (serde_json reads a
/// float to within one unit in the last place).
fn assert_same(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
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
                assert_same(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (key, x) in x {
                assert_same(x, &y[key], &format!("{path}.{key}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn what_the_writer_writes_the_reader_reads() {
    let written = trajectory();
    let read = Trajectory::parse(&written.to_json_gz()).unwrap();
    let json = |t: &Trajectory| serde_json::to_value(t).unwrap();
    assert_same(&json(&read), &json(&written), "");
    // Plain JSON too (a file someone unzipped).
    let plain = Trajectory::parse(written.to_json().as_bytes()).unwrap();
    assert_same(&json(&plain), &json(&written), "");
    // The spread the chart shows grows as built.
    let spread = |point: &TrajectoryPoint| {
        let snapshot = point.role(Role::MlpIn).unwrap();
        snapshot.quantile(&read.probs, 0.95).unwrap()
            - snapshot.quantile(&read.probs, 0.05).unwrap()
    };
    assert!(spread(&read.checkpoints[2]) > 2.0 * spread(&read.checkpoints[0]));
    assert!(read.checkpoints[0].role(Role::Embed).is_none());
}

#[test]
fn quantiles_between_the_files_probabilities_are_interpolated() {
    let file = trajectory();
    let snapshot = &file.checkpoints[0].roles[0];
    let probs = &file.probs;
    // Exactly at a probability: the stored value.
    assert_eq!(snapshot.quantile(probs, 0.25), Some(snapshot.quantiles[4]));
    // Between 0.25 and 0.5: linear in p.
    let middle = snapshot.quantile(probs, 0.375).unwrap();
    assert!((middle - (snapshot.quantiles[4] + snapshot.quantiles[5]) / 2.0).abs() < 1e-12);
    // Outside the stored probabilities there is nothing to say.
    assert_eq!(snapshot.quantile(probs, 0.0001), None);
    assert_eq!(snapshot.quantile(probs, 0.9999), None);
    assert_eq!(snapshot.quantile(probs, f64::NAN), None);
}

/// Parses the JSON of `trajectory()` after `edit`; the error must mention `needle`.
fn expect_error(edit: impl FnOnce(&mut serde_json::Value), needle: &str) -> TrajectoryError {
    let mut value = serde_json::to_value(trajectory()).unwrap();
    edit(&mut value);
    let err = Trajectory::parse(value.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains(needle),
        "wanted '{needle}' in: {err}"
    );
    err
}

#[test]
fn malformed_files_are_errors_that_name_the_field() {
    let err = expect_error(|v| v["version"] = 2.into(), "version 2");
    assert_eq!(
        err,
        TrajectoryError::Version {
            found: 2,
            supported: 1
        }
    );
    expect_error(
        |v| v["version"] = "one".into(),
        "version: \"one\" is not a version number",
    );
    expect_error(
        |v| drop(v.as_object_mut().unwrap().remove("version")),
        "version: missing",
    );
    expect_error(
        |v| v["checkpoints"] = serde_json::json!([]),
        "checkpoints: must have 1 to",
    );
    expect_error(
        |v| v["checkpoints"][2]["step"] = 1.into(),
        "checkpoints[2].step: 1 does not follow step 1",
    );
    expect_error(
        |v| v["probs"][3] = 0.9.into(),
        "probs: must be strictly increasing",
    );
    expect_error(
        |v| v["probs"][0] = (-0.1).into(),
        "probs: every probability",
    );
    expect_error(
        |v| {
            drop(
                v["checkpoints"][1]["roles"][0]["quantiles"]
                    .as_array_mut()
                    .unwrap()
                    .pop(),
            )
        },
        "checkpoints[1].roles[0].quantiles: 10 values for 11 probabilities",
    );
    expect_error(
        |v| v["checkpoints"][1]["roles"][1]["quantiles"][0] = 1.0.into(),
        "checkpoints[1].roles[1].quantiles: must not decrease",
    );
    expect_error(
        |v| v["checkpoints"][0]["roles"][0]["std"] = (-1.0).into(),
        "checkpoints[0].roles[0].std: is negative",
    );
    expect_error(
        |v| v["checkpoints"][0]["roles"][0]["mean"] = 1e300.into(),
        "checkpoints[0].roles[0].mean: 1e300 is not a finite number",
    );
    expect_error(
        |v| v["checkpoints"][0]["roles"][1]["role"] = "mlp_in".into(),
        "checkpoints[0].roles[1].role: 'mlp_in' appears twice",
    );
    expect_error(
        |v| v["checkpoints"][0]["roles"][0]["role"] = "attention".into(),
        "at checkpoints[0].roles[0].role: unknown variant",
    );
    expect_error(
        |v| {
            drop(
                v["checkpoints"][0]["roles"][0]["edges"]
                    .as_array_mut()
                    .unwrap()
                    .pop(),
            )
        },
        "checkpoints[0].roles[0].edges",
    );
    expect_error(
        |v| v["source"]["model"] = " ".into(),
        "source.model: is empty",
    );
    // Not JSON at all, or JSON of something else.
    for bytes in [&b""[..], b"<html>", b"[1, 2]", b"{\"version\": 1}"] {
        let err = Trajectory::parse(bytes).unwrap_err();
        assert!(
            matches!(
                err,
                TrajectoryError::Json { .. } | TrajectoryError::Invalid { .. }
            ),
            "{err}"
        );
    }
}

#[test]
fn corrupt_and_oversized_gzip_is_refused() {
    use std::io::Write;
    let gz = trajectory().to_json_gz();
    // Cut short, a flipped byte in the stream, anything after the member.
    let short = Trajectory::parse(&gz[..gz.len() / 2]).unwrap_err();
    assert!(matches!(short, TrajectoryError::Gzip(_)), "{short}");
    assert!(short
        .to_string()
        .starts_with("trajectory file starts like gzip"));
    let mut flipped = gz.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    assert!(Trajectory::parse(&flipped).is_err());
    let twice = Trajectory::parse(&[gz.clone(), gz.clone()].concat()).unwrap_err();
    assert!(twice.to_string().contains("a second member"), "{twice}");
    // A gzip bomb stops one byte past the limit.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![b' '; 1 << 20];
    for _ in 0..(MAX_JSON_BYTES >> 20) + 1 {
        encoder.write_all(&block).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert_eq!(
        Trajectory::parse(&bomb).unwrap_err(),
        TrajectoryError::TooLarge {
            limit: MAX_JSON_BYTES
        }
    );
}

#[test]
fn the_shipped_trajectories_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms");
    for (name, last) in [
        ("teacher-nano-trajectory.json.gz", 2000),
        ("teacher-micro-trajectory.json.gz", 1000),
        ("teacher-nano-nonorm-trajectory.json.gz", 2000),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let trajectory = Trajectory::parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(trajectory.checkpoints[0].step, 0, "{name}");
        assert_eq!(trajectory.checkpoints.last().unwrap().step, last, "{name}");
        assert_eq!(trajectory.probs, TRAJECTORY_PROBS, "{name}");
    }
}
