//! `histinit-site`: `histinit docs` and `histinit site` without Burn, for `make docs` and
//! `make site` (the same arguments, the same library, the same output).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use histinit_files::commands::{self, DocsArgs, SiteArgs};

#[derive(Parser)]
#[command(
    name = "histinit-site",
    version,
    about = "Render histinit's docs and static site"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the study's Markdown (every docs/**/*.md) into HTML pages beside it.
    Docs(DocsArgs),
    /// Write the playground as a self-contained static folder for any static host.
    Site(SiteArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Docs(args) => commands::docs(&args).map_err(|err| err.to_string()),
        Command::Site(args) => commands::site(&args).map_err(|err| err.to_string()),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
