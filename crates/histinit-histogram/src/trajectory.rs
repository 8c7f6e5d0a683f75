//! The trajectory file (`teacher-<preset>-trajectory.json.gz`, docs/histograms.md): how
//! each role's pooled distribution moved while a teacher trained, checkpoint by
//! checkpoint. `histinit teacher` writes it and the page reads it, both through these
//! types. Reading never panics: bad input is a [`TrajectoryError`].

use std::io::Write;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bounded::{self, read_json, ReadError, VersionOnly};
use crate::format::{check_version, read_bins, read_edges, Bins, Provenance, TensorHistogram};
use crate::format::{MAX_BINS, MAX_JSON_BYTES, MAX_MAGNITUDE};
use crate::role::Role;

/// The version this build writes and reads.
pub const TRAJECTORY_VERSION: u32 = 1;

/// The probabilities of every snapshot's `quantiles`, as `histinit teacher` writes them.
pub const TRAJECTORY_PROBS: [f64; 11] = [
    0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
];

/// Most checkpoints a file may have (Pythia's schedule gives 154 for 143,000 steps).
pub const MAX_CHECKPOINTS: usize = 1 << 12;
/// Most quantile probabilities a file may have.
pub const MAX_PROBS: usize = 1 << 10;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum TrajectoryError {
    /// A field breaks an invariant; `field` is its path, e.g. `checkpoints[3].roles[0].std`.
    #[error("trajectory file: {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("trajectory file is not valid JSON for this format at {path}: {message}")]
    Json { path: String, message: String },
    #[error("trajectory file starts like gzip (1f 8b) but does not decompress: {0}")]
    Gzip(String),
    #[error("trajectory file is larger than {limit} bytes (once decompressed)")]
    TooLarge { limit: usize },
    #[error("trajectory file has version {found}, this build reads version {supported}")]
    Version { found: u64, supported: u32 },
}

impl From<ReadError> for TrajectoryError {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Gzip(message) => TrajectoryError::Gzip(message),
            ReadError::TooLarge => TrajectoryError::TooLarge {
                limit: MAX_JSON_BYTES,
            },
            ReadError::Json(path, message) => TrajectoryError::Json { path, message },
        }
    }
}

// The arrays of a file, each refused at the element past its limit while it is read.
fn read_probs<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<f64>, D::Error> {
    bounded::seq(de, MAX_PROBS, "probabilities")
}

fn read_checkpoints<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Vec<TrajectoryPoint>, D::Error> {
    bounded::seq(de, MAX_CHECKPOINTS, "checkpoints")
}

fn read_roles<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<RoleSnapshot>, D::Error> {
    bounded::seq(de, Role::ALL.len(), "role snapshots (one per role)")
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TrajectoryError {
    TrajectoryError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// One role's pooled law at one checkpoint: statistics, the plotting histogram and a
/// few quantiles (the trajectory file stays small; the full tables are per checkpoint
/// in `histograms/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSnapshot {
    pub role: Role,
    pub count: u64,
    pub mean: f64,
    pub std: f64,
    pub skewness: f64,
    pub excess_kurtosis: f64,
    pub min: f64,
    pub max: f64,
    /// Bin edges (f32 precision) and counts, as in the histogram file.
    #[serde(deserialize_with = "read_edges")]
    pub edges: Vec<f32>,
    #[serde(deserialize_with = "read_bins")]
    pub counts: Vec<u64>,
    /// Values at the file's `probs`.
    #[serde(deserialize_with = "read_probs")]
    pub quantiles: Vec<f64>,
}

impl RoleSnapshot {
    /// The snapshot of a (pooled) histogram entry, with quantiles at [`TRAJECTORY_PROBS`].
    pub fn of(entry: &TensorHistogram) -> RoleSnapshot {
        let Bins { edges, counts } = &entry.bins;
        RoleSnapshot {
            role: entry.role,
            count: entry.count,
            mean: entry.mean,
            std: entry.std,
            skewness: entry.skewness,
            excess_kurtosis: entry.excess_kurtosis,
            min: entry.min,
            max: entry.max,
            edges: edges.iter().map(|&e| e as f32).collect(),
            counts: counts.clone(),
            quantiles: TRAJECTORY_PROBS
                .iter()
                .map(|&p| entry.quantiles.quantile(p))
                .collect(),
        }
    }

    /// The value at probability `p`, interpolated linearly between the quantiles at
    /// `probs` (the file's); `None` outside them (a file need not have the tails).
    pub fn quantile(&self, probs: &[f64], p: f64) -> Option<f64> {
        let above = probs.iter().position(|&q| q >= p)?;
        let (p1, v1) = (probs[above], *self.quantiles.get(above)?);
        if p1 == p || above == 0 {
            return (p1 == p).then_some(v1);
        }
        let (p0, v0) = (probs[above - 1], *self.quantiles.get(above - 1)?);
        Some(v0 + (v1 - v0) * (p - p0) / (p1 - p0))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Updates done when the checkpoint was taken (0: the init).
    pub step: usize,
    pub tokens: u64,
    /// Mean training loss since the previous checkpoint (none at step 0).
    pub train_loss: Option<f64>,
    /// Loss on the fixed validation batches.
    pub val_loss: f64,
    #[serde(deserialize_with = "read_roles")]
    pub roles: Vec<RoleSnapshot>,
}

impl TrajectoryPoint {
    pub fn role(&self, role: Role) -> Option<&RoleSnapshot> {
        self.roles.iter().find(|snapshot| snapshot.role == role)
    }
}

/// `teacher-<preset>-trajectory.json.gz`: how each role's distribution moves in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub version: u32,
    pub source: Provenance,
    /// Probabilities of every snapshot's `quantiles`.
    #[serde(deserialize_with = "read_probs")]
    pub probs: Vec<f64>,
    /// In training order (strictly increasing steps).
    #[serde(deserialize_with = "read_checkpoints")]
    pub checkpoints: Vec<TrajectoryPoint>,
}

impl Trajectory {
    /// Reads a file: plain JSON, or gzip-compressed JSON (detected by its 1f 8b magic),
    /// at most `MAX_JSON_BYTES` once decompressed, then checks it ([`Self::validate`]).
    pub fn parse(bytes: &[u8]) -> Result<Trajectory, TrajectoryError> {
        // Limits are checked while reading (`bounded`), as for histogram files.
        let err = match read_json::<Trajectory>(bytes) {
            Ok(trajectory) => {
                trajectory.validate()?;
                return Ok(trajectory);
            }
            Err(ReadError::Json(path, message)) => TrajectoryError::Json { path, message },
            Err(other) => return Err(other.into()),
        };
        // The version first, so a future format is reported as such.
        let peek: VersionOnly = read_json(bytes)?;
        match check_version(peek, TRAJECTORY_VERSION) {
            Ok(()) => Err(err),
            Err(None) => Err(invalid("version", "missing")),
            Err(Some(Ok(found))) => Err(TrajectoryError::Version {
                found,
                supported: TRAJECTORY_VERSION,
            }),
            Err(Some(Err(text))) => Err(invalid(
                "version",
                format!("{text} is not a version number"),
            )),
        }
    }

    /// Checks every invariant a reader relies on; the first broken one is reported
    /// with its path.
    pub fn validate(&self) -> Result<(), TrajectoryError> {
        if self.version != TRAJECTORY_VERSION {
            return Err(TrajectoryError::Version {
                found: self.version as u64,
                supported: TRAJECTORY_VERSION,
            });
        }
        if self.source.model.trim().is_empty() {
            return Err(invalid("source.model", "is empty"));
        }
        if let Err((field, limit)) = self.source.check_lengths() {
            return Err(invalid(field, format!("is longer than {limit} bytes")));
        }
        if self.probs.is_empty() || self.probs.len() > MAX_PROBS {
            return Err(invalid(
                "probs",
                format!("must have 1 to {MAX_PROBS} entries"),
            ));
        }
        if self.probs.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(invalid("probs", "every probability must be in [0, 1]"));
        }
        if self.probs.windows(2).any(|w| w[1] <= w[0]) {
            return Err(invalid("probs", "must be strictly increasing"));
        }
        if self.checkpoints.is_empty() || self.checkpoints.len() > MAX_CHECKPOINTS {
            return Err(invalid(
                "checkpoints",
                format!("must have 1 to {MAX_CHECKPOINTS} entries"),
            ));
        }
        for (i, point) in self.checkpoints.iter().enumerate() {
            let path = format!("checkpoints[{i}]");
            if i > 0 && point.step <= self.checkpoints[i - 1].step {
                return Err(invalid(
                    format!("{path}.step"),
                    format!(
                        "{} does not follow step {} (steps must increase)",
                        point.step,
                        self.checkpoints[i - 1].step
                    ),
                ));
            }
            for (name, value) in [
                ("val_loss", Some(point.val_loss)),
                ("train_loss", point.train_loss),
            ] {
                if value.is_some_and(|v| !v.is_finite()) {
                    return Err(invalid(format!("{path}.{name}"), "is not finite"));
                }
            }
            if point.roles.len() > Role::ALL.len() {
                return Err(invalid(format!("{path}.roles"), "more entries than roles"));
            }
            for (j, snapshot) in point.roles.iter().enumerate() {
                let at = format!("{path}.roles[{j}]");
                if point.roles[..j].iter().any(|r| r.role == snapshot.role) {
                    return Err(invalid(
                        format!("{at}.role"),
                        format!("'{}' appears twice", snapshot.role.name()),
                    ));
                }
                snapshot.validate(&at, self.probs.len())?;
            }
        }
        Ok(())
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a trajectory serializes to JSON")
    }

    /// The file's bytes as `histinit teacher` writes them (gzip, best compression).
    pub fn to_json_gz(&self) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(self.to_json().as_bytes())
            .and_then(|()| encoder.finish())
            .expect("writing to memory cannot fail")
    }
}

impl RoleSnapshot {
    fn validate(&self, at: &str, probs: usize) -> Result<(), TrajectoryError> {
        let field = |name: &str| format!("{at}.{name}");
        let numbers = [
            ("mean", self.mean),
            ("std", self.std),
            ("skewness", self.skewness),
            ("excess_kurtosis", self.excess_kurtosis),
            ("min", self.min),
            ("max", self.max),
        ];
        for (name, value) in numbers
            .into_iter()
            .chain(self.quantiles.iter().map(|&q| ("quantiles", q)))
        {
            if !value.is_finite() || value.abs() > MAX_MAGNITUDE {
                return Err(invalid(
                    field(name),
                    format!("{value:e} is not a finite number within ±{MAX_MAGNITUDE:e}"),
                ));
            }
        }
        if self.count == 0 {
            return Err(invalid(field("count"), "no values"));
        }
        if self.std < 0.0 {
            return Err(invalid(field("std"), "is negative"));
        }
        if self.min > self.max {
            return Err(invalid(field("min"), "is above max"));
        }
        if self.quantiles.len() != probs {
            return Err(invalid(
                field("quantiles"),
                format!("{} values for {probs} probabilities", self.quantiles.len()),
            ));
        }
        if self.quantiles.windows(2).any(|w| w[1] < w[0]) {
            return Err(invalid(field("quantiles"), "must not decrease"));
        }
        if self.counts.len() > MAX_BINS || self.edges.len() != self.counts.len() + 1 {
            return Err(invalid(
                field("edges"),
                format!(
                    "{} edges for {} bins (one more edge than bins, at most {MAX_BINS} bins)",
                    self.edges.len(),
                    self.counts.len()
                ),
            ));
        }
        if self.edges.iter().any(|e| !e.is_finite()) || self.edges.windows(2).any(|w| w[1] < w[0]) {
            return Err(invalid(field("edges"), "must be finite and not decrease"));
        }
        Ok(())
    }
}
