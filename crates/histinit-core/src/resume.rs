//! A session's runs saved whole, to be continued later (the page keeps them in the
//! browser's storage and offers them as a file): each run's weights, its AdamW state,
//! its step, where its batch stream stands and its curve so far. A run resumed from
//! them trains on exactly as if never interrupted (on the CPU backend, bit for bit).
//!
//! The bytes: `histrun\n`, the format version (u32 LE), an FNV-1a hash of the rest
//! (u64 LE), then a JSON header (u64 LE length first) and the tensors of every run as one
//! safetensors buffer (length first): run 3's weights as `3/gpt_neox.embed_in.weight`,
//! the AdamW moments of its k-th parameter (module order) as `3/adamw/k/moment_1` and
//! `3/adamw/k/moment_2`.
//! Reading checks each part's length against what is left before taking it, so a
//! truncated or changed file is an error naming what is wrong, never a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{weights_from_safetensors, weights_to_safetensors, StoreDtype};
use crate::data::Corpus;
use crate::error::ResumeError;
use crate::experiment::ExperimentConfig;
use crate::init::InitMethod;
use crate::params::HostTensor;
use crate::params::Weights;
use crate::plan::fnv1a;
use crate::run::{CurvePoint, Run, RunResult, RunStatus};
use crate::train::{Moments, SavedOptimizer};

/// The version of the bytes below; raised whenever their meaning changes.
pub const STATE_FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"histrun\n";
/// The most bytes a saved session may have (the page's runs hold a few MB).
pub const MAX_STATE_BYTES: usize = 1 << 30;

/// One run's whole training state (see [`Run::save_state`] and [`Run::resume`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    pub init: InitMethod,
    pub seed: u64,
    /// The batch stream's position ([`crate::data::BatchSampler::position`]).
    pub sampler: u128,
    pub result: RunResult,
    pub weights: Weights,
    pub optimizer: SavedOptimizer,
}

/// A session's runs, in [`crate::plan::runs`] order, and the link they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRuns {
    pub link: String,
    pub runs: Vec<RunState>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    link: String,
    runs: Vec<RunHeader>,
}

/// Floats are kept as their bits: exact whatever the JSON reader's rounding, and a
/// diverged run's NaN survives.
#[derive(Serialize, Deserialize)]
struct RunHeader {
    init: InitMethod,
    seed: u64,
    sampler: [u64; 2],
    status: RunStatus,
    /// `(step, tokens, train_loss, val_loss, lr, grad_norm)`, floats as bits.
    points: Vec<(usize, usize, u64, Option<u64>, u64, u64)>,
    final_val_batches: Vec<u64>,
    step: usize,
    /// Each parameter's AdamW update count, module order (its moments are tensors).
    adamw_times: Vec<usize>,
}

const ADAMW: &str = "adamw";
const MOMENTS: [&str; 2] = ["moment_1", "moment_2"];

/// Where a run's moment `which` of its parameter `index` is kept, within the run's tensors.
fn moment_name(index: usize, which: &str) -> String {
    format!("{ADAMW}/{index}/{which}")
}

impl SavedRuns {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ResumeError> {
        let header = Header {
            link: self.link.clone(),
            runs: self.runs.iter().map(RunHeader::of).collect(),
        };
        let header = serde_json::to_vec(&header)
            .map_err(|err| ResumeError::Corrupt(format!("cannot write the header: {err}")))?;
        let mut weights = Weights::new();
        for (index, run) in self.runs.iter().enumerate() {
            for (name, tensor) in &run.weights {
                weights.insert(format!("{index}/{name}"), tensor.clone());
            }
            for (k, moments) in run.optimizer.moments.iter().enumerate() {
                for (which, moment) in MOMENTS
                    .into_iter()
                    .zip([&moments.moment_1, &moments.moment_2])
                {
                    weights.insert(format!("{index}/{}", moment_name(k, which)), moment.clone());
                }
            }
        }
        let weights = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new())
            .map_err(|err| ResumeError::Corrupt(err.to_string()))?;
        let mut body = Vec::new();
        for part in [&header, &weights] {
            body.extend_from_slice(&(part.len() as u64).to_le_bytes());
            body.extend_from_slice(part);
        }
        let mut out = Vec::with_capacity(20 + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&STATE_FORMAT.to_le_bytes());
        out.extend_from_slice(&fnv1a(&body).to_le_bytes());
        out.extend_from_slice(&body);
        if out.len() > MAX_STATE_BYTES {
            return Err(ResumeError::TooLarge {
                bytes: out.len(),
                limit: MAX_STATE_BYTES,
            });
        }
        Ok(out)
    }

    /// Reads saved runs, refusing any that are not of `link`.
    pub fn from_bytes(bytes: &[u8], link: &str) -> Result<Self, ResumeError> {
        if bytes.len() > MAX_STATE_BYTES {
            return Err(ResumeError::TooLarge {
                bytes: bytes.len(),
                limit: MAX_STATE_BYTES,
            });
        }
        let mut reader = Reader(bytes);
        if reader.take(MAGIC.len(), "marker").ok() != Some(MAGIC.as_slice()) {
            return Err(ResumeError::NotAState);
        }
        let found = u32::from_le_bytes(reader.array("format version")?);
        if found != STATE_FORMAT {
            return Err(ResumeError::Version {
                found,
                supported: STATE_FORMAT,
            });
        }
        let hash = u64::from_le_bytes(reader.array("hash")?);
        if fnv1a(reader.0) != hash {
            return Err(ResumeError::Corrupt(
                "its contents do not match its hash".into(),
            ));
        }
        let header = reader.section("header")?;
        let header: Header = serde_json::from_slice(header)
            .map_err(|err| ResumeError::Corrupt(format!("header: {err}")))?;
        if header.link != link {
            return Err(ResumeError::OtherLink { saved: header.link });
        }
        let weights = weights_from_safetensors(reader.section("weights")?)
            .map_err(|err| ResumeError::Corrupt(format!("weights: {err}")))?;
        let mut per_run: Vec<Weights> = vec![Weights::new(); header.runs.len()];
        for (name, tensor) in weights {
            let run = name
                .split_once('/')
                .and_then(|(index, name)| Some((index.parse::<usize>().ok()?, name)))
                .filter(|(index, _)| *index < per_run.len());
            let Some((index, name)) = run else {
                return Err(ResumeError::Corrupt(format!(
                    "weight '{name}' is of no saved run"
                )));
            };
            per_run[index].insert(name.to_string(), tensor);
        }
        let mut runs = Vec::with_capacity(header.runs.len());
        for (index, (run, mut weights)) in header.runs.into_iter().zip(per_run).enumerate() {
            let mut moments = Vec::with_capacity(run.adamw_times.len());
            for k in 0..run.adamw_times.len() {
                let mut take = |which: &str| {
                    let name = moment_name(k, which);
                    weights.remove(&name).ok_or_else(|| {
                        ResumeError::Corrupt(format!(
                            "the AdamW moment '{index}/{name}' is missing"
                        ))
                    })
                };
                moments.push((take(MOMENTS[0])?, take(MOMENTS[1])?));
            }
            if let Some(stray) = weights.keys().find(|name| name.starts_with(ADAMW)) {
                return Err(ResumeError::Corrupt(format!(
                    "'{index}/{stray}' is of no parameter"
                )));
            }
            runs.push(run.into_state(weights, moments));
        }
        if !reader.0.is_empty() {
            return Err(ResumeError::Corrupt(format!(
                "{} bytes follow the last run",
                reader.0.len()
            )));
        }
        Ok(SavedRuns {
            link: header.link,
            runs,
        })
    }

    /// The session's runs of `config` continued: the saved runs must be its planned
    /// runs, in order.
    pub fn resume<'corpus>(
        self,
        config: &ExperimentConfig,
        corpus: &'corpus Corpus,
        device: &burn::tensor::Device,
    ) -> Result<Vec<Run<'corpus>>, ResumeError> {
        let planned = crate::plan::runs(config);
        if planned.len() != self.runs.len() {
            return Err(ResumeError::Mismatch(format!(
                "{} runs saved, the link has {}",
                self.runs.len(),
                planned.len()
            )));
        }
        planned
            .into_iter()
            .zip(self.runs)
            .map(|(plan, state)| {
                if (plan.init, plan.seed) != (state.init, state.seed) {
                    return Err(ResumeError::Mismatch(format!(
                        "saved run {} where the link has {}",
                        crate::plan::run_name(state.init, state.seed),
                        crate::plan::run_name(plan.init, plan.seed)
                    )));
                }
                Run::resume(config, corpus, state, device)
            })
            .collect()
    }
}

impl RunHeader {
    fn of(run: &RunState) -> Self {
        RunHeader {
            init: run.init,
            seed: run.seed,
            sampler: [(run.sampler >> 64) as u64, run.sampler as u64],
            status: run.result.status.clone(),
            points: run
                .result
                .points
                .iter()
                .map(|p| {
                    (
                        p.step,
                        p.tokens,
                        p.train_loss.to_bits(),
                        p.val_loss.map(f64::to_bits),
                        p.lr.to_bits(),
                        p.grad_norm.to_bits(),
                    )
                })
                .collect(),
            final_val_batches: run
                .result
                .final_val_batches
                .iter()
                .map(|v| v.to_bits())
                .collect(),
            step: run.optimizer.step,
            adamw_times: run.optimizer.moments.iter().map(|m| m.time).collect(),
        }
    }

    fn into_state(self, weights: Weights, moments: Vec<(HostTensor, HostTensor)>) -> RunState {
        RunState {
            init: self.init,
            seed: self.seed,
            sampler: (u128::from(self.sampler[0]) << 64) | u128::from(self.sampler[1]),
            result: RunResult {
                init: self.init,
                seed: self.seed,
                status: self.status,
                points: self
                    .points
                    .into_iter()
                    .map(
                        |(step, tokens, train_loss, val_loss, lr, grad_norm)| CurvePoint {
                            step,
                            tokens,
                            train_loss: f64::from_bits(train_loss),
                            val_loss: val_loss.map(f64::from_bits),
                            lr: f64::from_bits(lr),
                            grad_norm: f64::from_bits(grad_norm),
                        },
                    )
                    .collect(),
                distances: Vec::new(),
                final_val_batches: self
                    .final_val_batches
                    .into_iter()
                    .map(f64::from_bits)
                    .collect(),
            },
            weights,
            optimizer: SavedOptimizer {
                step: self.step,
                moments: self
                    .adamw_times
                    .into_iter()
                    .zip(moments)
                    .map(|(time, (moment_1, moment_2))| Moments {
                        time,
                        moment_1,
                        moment_2,
                    })
                    .collect(),
            },
        }
    }
}

/// The unread rest of a saved session.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], ResumeError> {
        if len > self.0.len() {
            return Err(ResumeError::Corrupt(format!(
                "the {what} needs {len} bytes, {} are left (truncated file?)",
                self.0.len()
            )));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ResumeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A part that follows its length (u64 LE).
    fn section(&mut self, what: &str) -> Result<&'a [u8], ResumeError> {
        let len = u64::from_le_bytes(self.array(what)?);
        self.take(usize::try_from(len).unwrap_or(usize::MAX), what)
    }
}
