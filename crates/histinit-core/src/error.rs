//! Typed errors with messages a user can act on.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    /// `value` is quoted as [`crate::text::shown`] writes it (from a link it may be
    /// anything: thousands of characters, markup, characters that reorder the message).
    #[error("unknown {field} '{}' (expected one of: {expected})", crate::text::shown(.value))]
    UnknownValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl ConfigError {
    /// The setting the error is about (a link key or config field).
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::UnknownValue { field, .. } | ConfigError::Invalid { field, .. } => field,
        }
    }
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
    #[error(
        "sequences of {context} tokens do not fit this corpus's blocks \
         (at most {longest}): choose a shorter context or a longer text"
    )]
    ContextTooLong { context: usize, longest: usize },
    #[error("the bundled corpus could not be decompressed: {0}")]
    BundledCorpus(String),
    #[error("the text is empty: pick a file with some text in it")]
    EmptyCorpus,
    #[error(
        "the text has {bytes} bytes, more than the {limit} a corpus may have \
         (pick a smaller file, or a part of this one)"
    )]
    CorpusTooLarge { bytes: usize, limit: usize },
    #[error(
        "this does not look like text: {suspicious} of its {bytes} bytes are control \
         characters (such as NUL) or not UTF-8{hint} (pick a UTF-8 text file)"
    )]
    NotText {
        bytes: usize,
        suspicious: usize,
        hint: &'static str,
    },
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum InitError {
    #[error("'{init}' needs {needs}: choose one first")]
    NoSource {
        init: &'static str,
        needs: &'static str,
    },
    #[error("init '{init}' needs {needs} for tensor '{tensor}', and the source has none{hint}")]
    MissingSource {
        init: &'static str,
        needs: &'static str,
        tensor: String,
        /// What to do about it, where the tensor tells (empty otherwise).
        hint: &'static str,
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

/// Why a saved run cannot be resumed (or saved), in words a visitor can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ResumeError {
    #[error("this is not a saved histinit run (it does not start with histinit's marker)")]
    NotAState,
    #[error(
        "this saved run is in state format {found}, this histinit reads format {supported}: \
         resume it with the histinit that saved it"
    )]
    Version { found: u32, supported: u32 },
    #[error("the saved run is damaged (truncated or changed): {0}")]
    Corrupt(String),
    #[error("the saved run is of another link ({saved}): open that link to resume it")]
    OtherLink { saved: String },
    #[error("the saved run does not fit this link's runs: {0}")]
    Mismatch(String),
    #[error("the saved run is too large: {bytes} bytes, more than the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Train(#[from] TrainError),
}
