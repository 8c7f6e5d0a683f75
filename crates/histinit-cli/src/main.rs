//! `histinit`: run initialization experiments headless.
//!
//! A thin front end: clap, and one short module per command in [`commands`] that turns
//! its arguments into a call of histinit-studies or histinit-files and prints what comes
//! back. Errors are the libraries' own types, reported once, here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod allocator;
mod commands;

#[derive(Parser)]
#[command(
    name = "histinit",
    version,
    about = "Do trained weight distributions make better initializations? Run the experiment headless."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train every (init, seed) pair of an experiment and compare them.
    Run(histinit_studies::experiment::RunArgs),
    /// Run a grid of recipe variants x inits x seeds (a study), resumable after any
    /// interruption; writes curves.csv, runs.csv, distances.csv and summary.json.
    Sweep(histinit_studies::sweep::SweepArgs),
    /// Write report.md and PNG charts for a finished sweep (from its stored files only).
    Report(commands::report::ReportArgs),
    /// List the model presets.
    Presets,
    /// Print the link schema (every key, its kind, choices and default) as JSON: the
    /// list the page builds its form from.
    LinkSchema,
    /// Histograms of a checkpoint's weights (safetensors file, sharded index, model
    /// folder or hub repository), tensor by tensor and pooled by role.
    Extract(histinit_studies::tools::ExtractArgs),
    /// Train a teacher model on the teacher split and extract its histograms on
    /// Pythia's checkpoint schedule.
    Teacher(histinit_studies::tools::TeacherArgs),
    /// A histogram source drawn from published statistics of real pythia-70m weights
    /// (per-matrix Weibull shape and RMS; the rule for other roles is in the file).
    Published(histinit_studies::published::PublishedArgs),
    /// A byte-level teacher's embedding and unembedding split into the rows its text
    /// uses and the rows it never saw; optionally its histograms rebuilt from used rows.
    Rows(histinit_studies::rows::RowsArgs),
    /// Serve the playground (index.html and www/) on 127.0.0.1; `make demo` builds it first.
    Serve(commands::serve::ServeArgs),
    /// Render the study's Markdown (every docs/**/*.md) into HTML pages beside it, for
    /// the served page (`make docs`, run by `make web` and `make web-dev`, does the same
    /// with the Burn-free `histinit-site docs`).
    Docs(histinit_files::commands::DocsArgs),
    /// Write the playground as a self-contained static folder (page, module, shipped
    /// histograms, rendered docs, `_headers`) for any static host; `make site` builds
    /// the shipped module first.
    Site(histinit_files::commands::SiteArgs),
    /// Measure training throughput (tokens/s); see benchmarks/run.sh.
    Bench(commands::bench::BenchArgs),
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let result = match Cli::parse().command {
        Command::Run(args) => commands::run(args),
        Command::Sweep(args) => commands::sweep(args),
        Command::Report(args) => commands::report::run(args),
        Command::Presets => commands::presets(),
        Command::LinkSchema => commands::link_schema(),
        Command::Extract(args) => commands::extract(args),
        Command::Teacher(args) => commands::teacher(args),
        Command::Published(args) => commands::published(args),
        Command::Rows(args) => commands::rows(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Docs(args) => commands::docs(args),
        Command::Site(args) => commands::site(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
