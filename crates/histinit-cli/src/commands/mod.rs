//! One function or module per command: arguments → library call → output. Each returns
//! the library's own error, boxed; `main` reports it.

pub mod bench;
pub mod report;
pub mod serve;

use histinit_files::commands::{DocsArgs, SiteArgs};
use histinit_studies::experiment::RunArgs;
use histinit_studies::sweep::SweepArgs;
use histinit_studies::tools::{ExtractArgs, TeacherArgs};

/// What a command ends with: nothing, or the library's error.
pub type Outcome = Result<(), Box<dyn std::error::Error>>;

/// `histinit run`: trains, prints a table and where the results went.
pub fn run(args: RunArgs) -> Outcome {
    Ok(histinit_studies::experiment::run_command(args)?)
}

/// `histinit sweep`: trains (or aggregates) a study, printing progress and a summary.
pub fn sweep(args: SweepArgs) -> Outcome {
    Ok(histinit_studies::sweep::run(args)?)
}

/// `histinit extract`.
pub fn extract(args: ExtractArgs) -> Outcome {
    Ok(histinit_studies::tools::run_extract(args)?)
}

/// `histinit teacher`, on the backend its arguments name.
pub fn teacher(args: TeacherArgs) -> Outcome {
    let device = histinit_studies::device(args.backend)?;
    Ok(histinit_studies::tools::run_teacher(args, &device)?)
}

/// `histinit published`.
pub fn published(args: histinit_studies::published::PublishedArgs) -> Outcome {
    Ok(histinit_studies::published::run_published(args)?)
}

/// `histinit rows`: prints the table, writes the rebuilt file where asked.
pub fn rows(args: histinit_studies::rows::RowsArgs) -> Outcome {
    Ok(histinit_studies::rows::run_rows(args)?)
}

/// `histinit docs`: the same as `histinit-site docs`.
pub fn docs(args: DocsArgs) -> Outcome {
    println!("{}", histinit_files::commands::docs(&args)?);
    Ok(())
}

/// `histinit site`: the same as `histinit-site site`.
pub fn site(args: SiteArgs) -> Outcome {
    println!("{}", histinit_files::commands::site(&args)?);
    Ok(())
}

/// `histinit link-schema`: every link key as JSON.
pub fn link_schema() -> Outcome {
    println!(
        "{}",
        serde_json::to_string_pretty(&histinit_core::link::schema())?
    );
    Ok(())
}

/// `histinit presets`: the model presets as a table.
pub fn presets() -> Outcome {
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>8}",
        "preset", "layers", "width", "heads", "context"
    );
    for (name, layers, width, heads, context) in histinit_core::config::PRESETS {
        println!("{name:<12} {layers:>6} {width:>6} {heads:>6} {context:>8}");
    }
    Ok(())
}
