//! Worker processes, and the loop each runs: its share of the unfinished runs, each
//! written durably as it finishes.

use super::*;

/// Worker processes share the cores: each gets an equal share of rayon threads.
pub(super) fn spawn_workers(args: &SweepArgs, out: &Path, jobs: usize) -> Result<(), SweepError> {
    let exe = std::env::current_exe().map_err(|err| SweepError::Worker {
        index: 0,
        count: jobs,
        status: format!("cannot find this executable to start it: {err}"),
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / jobs).max(1);
    let mut children = Vec::new();
    for index in 0..jobs {
        let mut command = Command::new(&exe);
        command
            .arg("sweep")
            .arg(&args.config)
            .arg("--out")
            .arg(out)
            .arg("--shipped")
            .arg(&args.shipped)
            .arg("--worker")
            .arg(format!("{index}/{jobs}"))
            .arg("--backend")
            .arg(args.backend.name())
            .env("RAYON_NUM_THREADS", threads.to_string());
        if let Some(shard) = args.shard {
            command.arg("--shard").arg(shard.to_string());
        }
        if args.quiet {
            command.arg("--quiet");
        }
        if let Some(corpus) = &args.corpus {
            command.arg("--corpus").arg(corpus);
        }
        let child = command.spawn().map_err(|err| SweepError::Worker {
            index,
            count: jobs,
            status: err.to_string(),
        })?;
        children.push(child);
    }
    let mut failure = None;
    for (index, mut child) in children.into_iter().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failure = failure.or(Some((index, status.to_string()))),
            Err(err) => failure = failure.or(Some((index, err.to_string()))),
        }
    }
    match failure {
        Some((index, status)) => Err(SweepError::Worker {
            index,
            count: jobs,
            status,
        }),
        None => Ok(()),
    }
}

/// Trains this worker's share (every `count`-th unit from `index`) of the unfinished
/// runs among `units` (this shard's, each distinct run once: [`shard_units`]).
pub(super) fn work(
    variants: &[Variant],
    units: &[&Unit],
    runs_dir: &Path,
    index: usize,
    count: usize,
    args: &SweepArgs,
) -> Result<(), SweepError> {
    let text = match &args.corpus {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(FileError::read(path))?;
            corpus_text(&bytes)?.text
        }
        None => bundled_corpus()?,
    };
    let device =
        crate::backend::device(args.backend).map_err(|err| SweepError::Device(err.to_string()))?;
    let mut corpora: BTreeMap<usize, Corpus> = BTreeMap::new();
    let mut loaded: BTreeMap<usize, (RunSources, Option<RunSources>)> = BTreeMap::new();
    // Equal runs shared by several variants are one file (`units` holds each once):
    // trained once, by one worker.
    let mine: Vec<&Unit> = units
        .iter()
        .copied()
        .skip(index)
        .step_by(count.max(1))
        .collect();
    let total = mine.len();
    for (position, unit) in mine.into_iter().enumerate() {
        let path = runs_dir.join(&unit.file);
        if load_run(&path, unit).is_some() {
            continue;
        }
        let variant = &variants[unit.variant];
        let failed = |reason: String| SweepError::Run {
            variant: variant.name.clone(),
            run: format!("{}-s{}", unit.init.name(), unit.seed),
            reason,
        };
        let context = variant.config.train.context;
        if let std::collections::btree_map::Entry::Vacant(entry) = corpora.entry(context) {
            entry.insert(Corpus::new(&text, context).map_err(|err| failed(err.to_string()))?);
        }
        let corpus = &corpora[&context];
        if let std::collections::btree_map::Entry::Vacant(entry) = loaded.entry(unit.variant) {
            let sources = sources::load(&variant.config, None, None, &args.shipped)
                .map_err(|err| failed(err.to_string()))?;
            // Distances are measured against the source as it is, not rescaled.
            let reference = match &variant.config.source {
                Some(_) => {
                    let mut as_is = variant.config.clone();
                    as_is.scale = ScaleRule::AsIs;
                    Some(
                        sources::load(&as_is, None, None, &args.shipped)
                            .map_err(|err| failed(err.to_string()))?,
                    )
                }
                None => None,
            };
            entry.insert((sources, reference));
        }
        let (sources, reference) = &loaded[&unit.variant];
        let reference = reference
            .as_ref()
            .and_then(|r| r.histogram.as_ref())
            .map(|(s, _)| s as &dyn WeightSource);
        let single = unit_config(&variant.config, unit.init, unit.seed, args.backend);
        let started = std::time::Instant::now();
        let run = Run::new(&single, corpus, unit.init, unit.seed, sources, &device)
            .map_err(|err| failed(err.to_string()))?;
        let result = match reference {
            Some(reference) => run.run_to_end_traced(reference, |_| {}),
            None => run.run_to_end(|_| {}),
        }
        .map_err(|err| failed(err.to_string()))?;
        let file = RunFile {
            key: unit.key.clone(),
            result,
        };
        let json = serde_json::to_vec(&file).map_err(|err| failed(err.to_string()))?;
        write_atomically(&path, &json).map_err(|err| {
            SweepError::File(FileError::Write {
                path: path.clone(),
                source: err,
            })
        })?;
        if !args.quiet || count > 1 {
            let final_loss = file
                .result
                .final_val_loss()
                .map_or("-".into(), |v| format!("{v:.4}"));
            println!(
                "  [{}{}/{}] {} {}-s{}: final val {} ({:.1} s){}",
                if count > 1 {
                    format!("worker {index}: ")
                } else {
                    String::new()
                },
                position + 1,
                total,
                variant.name,
                unit.init.name(),
                unit.seed,
                final_loss,
                started.elapsed().as_secs_f64(),
                match file.result.status {
                    RunStatus::Diverged { step } => format!(" DIVERGED at step {step}"),
                    _ => String::new(),
                }
            );
        }
    }
    Ok(())
}
