//! Histogram files (the format lives in the Burn-free `histinit-histogram` crate and is
//! re-exported here) and the init source built on them.

pub use histinit_histogram::*;
