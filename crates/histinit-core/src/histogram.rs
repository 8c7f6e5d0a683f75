//! Histogram files (the format lives in the Burn-free `histinit-histogram` crate and is
//! re-exported here). The init source built on one is [`crate::source::HistogramSource`].

pub use histinit_histogram::*;
