//! Typed errors with messages a user can act on.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("unknown {field} '{value}' (expected one of: {expected})")]
    UnknownValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DataError {
    #[error(
        "the corpus has {bytes} bytes, too small for sequences of {context} tokens \
         (need at least {needed} bytes so that every split gets whole windows)"
    )]
    CorpusTooSmall {
        bytes: usize,
        context: usize,
        needed: usize,
    },
    #[error("the bundled corpus could not be decompressed: {0}")]
    BundledCorpus(String),
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum InitError {
    #[error("init '{init}' needs a {needs} for tensor '{tensor}', but none was given")]
    MissingSource {
        init: &'static str,
        needs: &'static str,
        tensor: String,
    },
    #[error("tensor '{tensor}': source has {source_len} values, the model needs {needed}")]
    ShapeMismatch {
        tensor: String,
        source_len: usize,
        needed: usize,
    },
    #[error("tensor '{tensor}': {reason}")]
    BadSource { tensor: String, reason: String },
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    #[error("missing weight '{0}'")]
    MissingWeight(String),
    #[error("weight '{name}' has shape {got:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("weight '{name}' has {got} values but its shape {shape:?} needs {expected}")]
    WrongLength {
        name: String,
        got: usize,
        shape: Vec<usize>,
        expected: usize,
    },
    #[error(
        "parameter {index} of the Burn module is '{found}' where the parameter table \
         (params.rs) puts '{expected}': model.rs and params.rs disagree"
    )]
    ParamOrder {
        index: usize,
        found: String,
        expected: String,
    },
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum TrainError {
    #[error("reading back from the device failed: {0}")]
    Readback(String),
}
