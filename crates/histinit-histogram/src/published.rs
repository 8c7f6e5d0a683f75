//! Published statistics of real Pythia weights, and a histogram source drawn from them.
//!
//! The figures are T. Ding's (arXiv:2605.18898; data from the repository
//! `tiexinding/NPM-Weibull-public` at commit 213fd40575fa23ff629a6010c96bbdc78bc88362,
//! CC BY 4.0): per matrix of pythia-70m's released weights, the shape `k` and scale
//! `lambda` of a two-parameter Weibull fitted to the middle 80% of |W| and the RMS; per
//! component, medians over layers for Pythia sizes up to 6.9b. They are read at run time
//! from that repository's files (on the project's machines `../shared/data/pythia-published`)
//! and never bundled; a source built from them carries the citation in its provenance.
//!
//! [`Published::source`] turns them into a histogram file (`pythia-70m-published`) that
//! the `empirical` init samples like any other source: each matrix drawn from its own
//! published law, and roles the figures do not cover from a rule stated in the file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::format::{HistogramError, HistogramFile, Provenance, TensorHistogram};
use crate::role::Role;
use crate::special::normal_quantile;

/// How to cite the figures wherever one appears.
pub const CITATION: &str =
    "T. Ding, arXiv:2605.18898; data from github.com/tiexinding/NPM-Weibull-public \
     at commit 213fd40575fa23ff629a6010c96bbdc78bc88362, CC BY 4.0";

/// The matrix roles Pythia's figures cover: our role, the published component name in
/// `component-medians.csv`, the GPT-NeoX tensor suffix in the per-matrix files (none for
/// the fused qkv, which is published only as medians), and the fan-in in units of
/// d_model.
pub const MATRIX_ROLES: [(Role, &str, Option<&str>, usize); 4] = [
    (Role::Qkv, "qkv", None, 1),
    (Role::AttnOut, "o", Some("attention.dense.weight"), 1),
    (Role::MlpIn, "ffn_in", Some("mlp.dense_h_to_4h.weight"), 1),
    (Role::MlpOut, "ffn_out", Some("mlp.dense_4h_to_h.weight"), 4),
];

/// Reading the published files failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{file}: {reason}")]
    Malformed { file: String, reason: String },
    #[error("the published figures have no {what}")]
    Missing { what: String },
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// One matrix of pythia-70m from the per-matrix files.
#[derive(Debug, Clone, PartialEq)]
pub struct PythiaMatrix {
    pub layer: usize,
    pub k: f64,
    pub lambda: f64,
    pub rms: f64,
}

/// What the published files say.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// pythia-70m per matrix, by role (attn_out, mlp_in, mlp_out), sorted by layer.
    pub per_matrix: BTreeMap<Role, Vec<PythiaMatrix>>,
    /// pythia-70m pooled over the three matrix types at the last checkpoint: (step, k,
    /// sigma_obs, lambda_obs).
    pub pooled_final: (u64, f64, f64, f64),
    /// pythia-70m pooled sigma_obs and k at the first checkpoint: (step, k, sigma_obs).
    pub pooled_first: (u64, f64, f64),
    /// Component medians per Pythia size: size -> component -> (k, lambda).
    pub components: BTreeMap<String, BTreeMap<String, (f64, f64)>>,
}

fn malformed(file: &str, reason: impl Into<String>) -> PublishedError {
    PublishedError::Malformed {
        file: file.into(),
        reason: reason.into(),
    }
}

fn number(value: &Value, file: &str, what: &str) -> Result<f64, PublishedError> {
    value
        .as_f64()
        .ok_or_else(|| malformed(file, format!("{what}: {value} is not a number")))
}

/// The text of `name` in the folder `dir`.
fn read_text(dir: &Path, name: &str) -> Result<String, PublishedError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|err| PublishedError::Read {
        path: path.display().to_string(),
        reason: err.to_string(),
    })
}

fn json(text: &str, file: &str) -> Result<Value, PublishedError> {
    serde_json::from_str(text).map_err(|err| malformed(file, err.to_string()))
}

/// The published files' texts, by file name (what [`Published::parse`] reads).
pub struct PublishedTexts {
    pub per_matrix: String,
    pub per_matrix_rms: String,
    pub by_step: String,
    pub rms_by_step: String,
    pub component_medians: String,
}

impl PublishedTexts {
    pub fn read(dir: &Path) -> Result<PublishedTexts, PublishedError> {
        Ok(PublishedTexts {
            per_matrix: read_text(dir, "pythia-70m-per-matrix.json")?,
            per_matrix_rms: read_text(dir, "pythia-70m-per-matrix-rms.jsonl")?,
            by_step: read_text(dir, "pythia-70m-by-step.json")?,
            rms_by_step: read_text(dir, "pythia-70m-rms-by-step.json")?,
            component_medians: read_text(dir, "component-medians.csv")?,
        })
    }
}

impl Published {
    /// Reads the published files in `dir`.
    pub fn read(dir: &Path) -> Result<Published, PublishedError> {
        Published::parse(&PublishedTexts::read(dir)?)
    }

    pub fn parse(texts: &PublishedTexts) -> Result<Published, PublishedError> {
        const PER_MATRIX: &str = "pythia-70m-per-matrix.json";
        const RMS: &str = "pythia-70m-per-matrix-rms.jsonl";
        let per_matrix_json = json(&texts.per_matrix, PER_MATRIX)?;
        let rms_line = json(
            texts
                .per_matrix_rms
                .lines()
                .find(|line| !line.trim().is_empty())
                .ok_or_else(|| malformed(RMS, "empty"))?,
            RMS,
        )?;
        let rms_layers = rms_line["layers"]
            .as_object()
            .ok_or_else(|| malformed(RMS, "no `layers` object"))?;
        let mut per_matrix: BTreeMap<Role, Vec<PythiaMatrix>> = BTreeMap::new();
        let rows = per_matrix_json["per_matrix"]
            .as_array()
            .ok_or_else(|| malformed(PER_MATRIX, "no `per_matrix` array"))?;
        for row in rows {
            let name = row[0]
                .as_str()
                .ok_or_else(|| malformed(PER_MATRIX, "a name is not a string"))?;
            let Some(&(role, ..)) = MATRIX_ROLES
                .iter()
                .find(|(_, _, suffix, _)| suffix.is_some_and(|s| name.ends_with(s)))
            else {
                return Err(malformed(PER_MATRIX, format!("no role for {name}")));
            };
            let layer = name
                .split('.')
                .nth(2)
                .and_then(|l| l.parse().ok())
                .ok_or_else(|| malformed(PER_MATRIX, format!("no layer in {name}")))?;
            let matrix = PythiaMatrix {
                layer,
                k: number(&row[1], PER_MATRIX, name)?,
                lambda: number(&row[2], PER_MATRIX, name)?,
                rms: number(&rms_layers[name]["rms"], RMS, &format!("rms of {name}"))?,
            };
            if !(matrix.k > 0.0 && matrix.lambda > 0.0 && matrix.rms > 0.0) {
                return Err(malformed(
                    PER_MATRIX,
                    format!("{name}: k, lambda and rms must be positive"),
                ));
            }
            per_matrix.entry(role).or_default().push(matrix);
        }
        for matrices in per_matrix.values_mut() {
            matrices.sort_by_key(|m| m.layer);
        }

        const BY_STEP: &str = "pythia-70m-by-step.json";
        const RMS_BY_STEP: &str = "pythia-70m-rms-by-step.json";
        let by_step_k = json(&texts.by_step, BY_STEP)?;
        let by_step_k = by_step_k
            .as_object()
            .ok_or_else(|| malformed(BY_STEP, "not an object"))?;
        let k_at = |step: u64| -> Result<f64, PublishedError> {
            number(
                by_step_k
                    .get(&step.to_string())
                    .ok_or_else(|| malformed(BY_STEP, format!("no step {step}")))?,
                BY_STEP,
                "k by step",
            )
        };
        let by_step = json(&texts.rms_by_step, RMS_BY_STEP)?;
        let by_step = by_step
            .as_array()
            .ok_or_else(|| malformed(RMS_BY_STEP, "not an array"))?;
        let point = |entry: &Value| -> Result<(u64, f64, f64), PublishedError> {
            Ok((
                entry["step"]
                    .as_u64()
                    .ok_or_else(|| malformed(RMS_BY_STEP, "no step"))?,
                number(&entry["sigma_obs"], RMS_BY_STEP, "sigma_obs")?,
                number(&entry["lambda_obs"], RMS_BY_STEP, "lambda_obs")?,
            ))
        };
        let first = point(
            by_step
                .first()
                .ok_or_else(|| malformed(RMS_BY_STEP, "empty"))?,
        )?;
        let last = point(
            by_step
                .last()
                .ok_or_else(|| malformed(RMS_BY_STEP, "empty"))?,
        )?;

        const CSV: &str = "component-medians.csv";
        let mut lines = texts.component_medians.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| malformed(CSV, "empty"))?
            .split(',')
            .collect();
        let column = |name: &str| -> Result<usize, PublishedError> {
            header
                .iter()
                .position(|&h| h == name)
                .ok_or_else(|| malformed(CSV, format!("no column {name}")))
        };
        let id = column("entry_id")?;
        let mut components = BTreeMap::new();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != header.len() {
                return Err(malformed(CSV, format!("a row has {} cells", cells.len())));
            }
            if !cells[id].starts_with("pythia-") {
                continue;
            }
            let mut by_component = BTreeMap::new();
            for (_, component, ..) in MATRIX_ROLES {
                let cell = |name: String| -> Result<f64, PublishedError> {
                    cells[column(&name)?].parse().map_err(|_| {
                        malformed(CSV, format!("{}: {name} is not a number", cells[id]))
                    })
                };
                let k = cell(format!("k_median_{component}"))?;
                let lambda = cell(format!("lambda_median_{component}"))?;
                by_component.insert(component.to_string(), (k, lambda));
            }
            components.insert(cells[id].to_string(), by_component);
        }
        Ok(Published {
            per_matrix,
            pooled_final: (last.0, k_at(last.0)?, last.1, last.2),
            pooled_first: (first.0, k_at(first.0)?, first.1),
            components,
        })
    }

    /// A histogram file for a pythia-70m-shaped student whose tensors are `targets`:
    /// every matrix the figures cover drawn from its own published law, the rest by the
    /// rule in [`SOURCE_RULE`]. Values are a deterministic stratified sample (quantiles
    /// at evenly spaced probabilities, signs alternating), so the file is reproducible.
    pub fn source(&self, targets: &[TargetTensor]) -> Result<HistogramFile, PublishedError> {
        let (qkv_k, qkv_lambda) = *self
            .components
            .get("pythia-70m")
            .and_then(|c| c.get("qkv"))
            .ok_or_else(|| PublishedError::Missing {
                what: "pythia-70m qkv medians".into(),
            })?;
        let mut tensors = Vec::new();
        for target in targets {
            let count = target.shape.iter().product::<usize>();
            let values = match target.role {
                Role::AttnOut | Role::MlpIn | Role::MlpOut => {
                    let layer = target.layer.unwrap_or(0);
                    let matrix = self
                        .per_matrix
                        .get(&target.role)
                        .and_then(|list| list.iter().find(|m| m.layer == layer))
                        .ok_or_else(|| PublishedError::Missing {
                            what: format!("{} of layer {layer}", target.role.name()),
                        })?;
                    let mut values = weibull_magnitudes(count, matrix.k, matrix.lambda);
                    rescale_rms(&mut values, matrix.rms);
                    values
                }
                Role::Qkv => weibull_magnitudes(count, qkv_k, qkv_lambda),
                Role::Embed | Role::Unembed => {
                    gaussian(count, (2.0 / (5.0 * target.width as f64)).sqrt())
                }
                // Norms and biases: left out, so an init gives them pythia's constants.
                _ => continue,
            };
            tensors.push(TensorHistogram::from_values(
                &target.name,
                target.role,
                target.layer,
                target.layers,
                &target.shape,
                target.fan_in,
                &values,
            )?);
        }
        let (step, ..) = self.pooled_final;
        Ok(HistogramFile::new(
            Provenance {
                model: "pythia-70m-published".into(),
                architecture: "gpt_neox".into(),
                revision: Some(format!("step{step}")),
                step: Some(step),
                tokens_trained: None,
                corpus: "the Pile (pythia-70m's training data; these are published statistics of its weights, not its weights)".into(),
                license: format!("figures CC BY 4.0: {CITATION}"),
                command: String::new(),
                note: Some(SOURCE_RULE.into()),
            },
            tensors,
        )?)
    }
}

/// How [`Published::source`] draws each role: the provenance note of the file.
pub const SOURCE_RULE: &str = "Not pythia-70m's weights: a law drawn from published \
statistics of them. attention.dense, mlp.dense_h_to_4h and mlp.dense_4h_to_h of each layer: \
|W| from a Weibull with that matrix's published shape k and scale lambda (fitted to the \
middle 80% of |W|), random signs, rescaled to the matrix's published RMS. The fused qkv \
(no per-matrix figures): the Weibull of pythia-70m's published qkv medians over layers, \
unscaled. Embedding and unembedding (not published): a Gaussian at pythia's init std \
sqrt(2 / (5 width)). LayerNorms and biases (not published): left out, so they get pythia's \
constants 1 and 0. Published figures: T. Ding, arXiv:2605.18898 \
(github.com/tiexinding/NPM-Weibull-public, CC BY 4.0).";

/// A tensor of the student a source is built for (from `histinit_core::params`).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTensor {
    pub name: String,
    pub role: Role,
    pub layer: Option<usize>,
    pub layers: usize,
    pub shape: Vec<usize>,
    pub fan_in: usize,
    /// The model's width (d_model), for the fallback rule.
    pub width: usize,
}

/// `count` values whose magnitudes are Weibull(k, lambda) quantiles at evenly spaced
/// probabilities and whose signs alternate.
fn weibull_magnitudes(count: usize, k: f64, lambda: f64) -> Vec<f32> {
    let pairs = count.div_ceil(2);
    (0..count)
        .map(|i| {
            let p = ((i / 2) as f64 + 0.5) / pairs as f64;
            let magnitude = lambda * (-(1.0 - p).ln()).powf(1.0 / k);
            (if i % 2 == 0 { magnitude } else { -magnitude }) as f32
        })
        .collect()
}

/// `count` Gaussian quantiles at evenly spaced probabilities, standard deviation `std`.
fn gaussian(count: usize, std: f64) -> Vec<f32> {
    (0..count)
        .map(|i| (std * normal_quantile((i as f64 + 0.5) / count as f64)) as f32)
        .collect()
}

fn rescale_rms(values: &mut [f32], rms: f64) {
    let current =
        (values.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    let factor = rms / current;
    for v in values {
        *v = (*v as f64 * factor) as f32;
    }
}

#[cfg(test)]
mod tests;
