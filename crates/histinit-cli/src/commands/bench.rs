//! `histinit bench`: training throughput per preset and backend.

use std::path::PathBuf;

use histinit_studies::{bench, device, Backend};

use super::Outcome;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_delimiter = ',', default_value = "micro,pythia-14m")]
    presets: Vec<String>,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
    backends: Vec<Backend>,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Timed steps (after the warm-up steps).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Also write the measurements as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> Outcome {
    let warmup = args.warmup.max(1);
    let mut results = Vec::new();
    for &backend in &args.backends {
        let device = device(backend)?;
        let name = backend.name();
        for preset in &args.presets {
            let result = bench::measure(preset, &name, &device, args.batch, args.steps, warmup)
                .map_err(|err| format!("benchmark: {err}"))?;
            println!(
                "{:<12} {:<8} batch {:>3} x context {:>4}: {:>9.0} tokens/s (first step {:.2} s)",
                result.preset,
                result.backend,
                result.batch,
                result.context,
                result.tokens_per_s,
                result.first_step_s
            );
            results.push(result);
        }
    }
    if let Some(path) = &args.json {
        let text =
            serde_json::to_string_pretty(&results).map_err(|err| format!("benchmark: {err}"))?;
        histinit_files::fs::write_file(path, text.as_bytes())?;
    }
    Ok(())
}
