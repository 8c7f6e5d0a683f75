//! histinit's studies, on histinit-core: what the `histinit` commands do, as a library
//! the binary (a thin clap front end) and the tests call.
//!
//! - [`experiment`]: `histinit run`, one experiment's (init, seed) runs;
//! - [`sweep`]: a grid of variants × inits × seeds (config, grid, run keys, worker
//!   processes, aggregation), resumable; [`summary`]: its tables and summary.json;
//! - [`report`]: report.md and charts from a finished sweep's files;
//! - [`teacher`]: a teacher model trained and its histograms extracted;
//! - [`extract`]: histograms of a checkpoint's weights; [`tools`]: `extract` and
//!   `teacher` as commands (with the hub client of histinit-files);
//! - [`bench`]: training throughput; [`rows`]: a teacher's used and never-seen
//!   vocabulary rows apart;
//! - [`sources`]: where histogram-based inits draw from; [`backend`]: devices;
//!   [`output`]: a run's result files; [`playground`]: the page's link rules for
//!   `histinit serve`.
//!
//! File and network work that needs no Burn is histinit-files'.

pub mod backend;
pub mod bench;
pub mod experiment;
pub mod extract;
pub mod output;
pub mod playground;
pub mod published;
pub mod report;
pub mod rows;
pub mod sources;
pub mod summary;
pub mod sweep;
pub mod teacher;
pub mod tools;

pub use backend::{device, Backend};
