//! A sweep's aggregates, rebuilt from the run files alone: curves.csv, runs.csv,
//! distances.csv, comparisons.csv and summary.json, and the summary printed.

use super::*;

/// The seed of every bootstrap in a summary, so summaries are reproducible.
pub(super) const BOOTSTRAP_SEED: u64 = 2026;

/// Every variant with its runs, read from the run files under `out/runs`: all of them,
/// or an error that says how many are missing.
pub fn stored_runs(
    config: &SweepConfig,
    backend: Backend,
    out: &Path,
) -> Result<Vec<(Variant, Vec<RunResult>)>, SweepError> {
    let runs_dir = out.join("runs");
    let variants = config.variants();
    let units = units(&variants, backend);
    let mut results: Vec<Vec<RunResult>> = vec![Vec::new(); variants.len()];
    let mut missing = Vec::new();
    for unit in &units {
        match load_run(&runs_dir.join(&unit.file), unit) {
            Some(result) => results[unit.variant].push(result),
            None => missing.push(unit),
        }
    }
    if !missing.is_empty() {
        let mut list: Vec<String> = missing
            .iter()
            .take(MISSING_LISTED)
            .map(|unit| {
                format!(
                    "  variant {} {} seed {}: {}",
                    variants[unit.variant].name,
                    unit.init.name(),
                    unit.seed,
                    unit.file
                )
            })
            .collect();
        if missing.len() > MISSING_LISTED {
            list.push(format!("  and {} more", missing.len() - MISSING_LISTED));
        }
        return Err(SweepError::Missing {
            missing: missing.len(),
            total: units.len(),
            dir: runs_dir.display().to_string(),
            list: list.join("\n"),
        });
    }
    Ok(variants.into_iter().zip(results).collect())
}

/// Per-role moments of what the first variant's runs start from (its first seed), and
/// of the source's trained weights: the scale and tails each init really drew, computed
/// with the histogram extractor's own statistics.
pub fn initial_roles(config: &SweepConfig, shipped: &Path) -> Result<Vec<RoleMoments>, String> {
    let variant = config.variants().swap_remove(0);
    let experiment = &variant.config;
    let model = experiment.model_config().map_err(|err| err.to_string())?;
    let sources = sources::load(experiment, None, None, shipped).map_err(|err| err.to_string())?;
    let mut sets: Vec<(String, Weights)> = Vec::new();
    for &init in &experiment.inits {
        let source = sources.source_for(init).map_err(|err| err.to_string())?;
        let weights = init_weights_scoped(
            &model,
            init,
            experiment.scope,
            &experiment.for_init(init).gain,
            experiment.seed,
            source,
        )
        .map_err(|err| err.to_string())?;
        sets.push((init.name().to_string(), weights));
    }
    if let Some((weights, _)) = &sources.weights {
        sets.push(("source".to_string(), weights.clone()));
    }
    let specs = param_specs(&model);
    let mut out = Vec::new();
    for (name, weights) in &sets {
        for role in Role::ALL {
            let mut members = Vec::new();
            for spec in specs.iter().filter(|spec| spec.role == role) {
                let Some(tensor) = weights.get(&spec.name) else {
                    continue;
                };
                members.push(
                    TensorHistogram::from_values(
                        &spec.name,
                        role,
                        spec.layer,
                        model.layers,
                        &spec.shape,
                        spec.fan_in,
                        &tensor.values,
                    )
                    .map_err(|err| err.to_string())?,
                );
            }
            if members.is_empty() {
                continue;
            }
            let refs: Vec<&TensorHistogram> = members.iter().collect();
            let pooled =
                TensorHistogram::pool(role.name(), role, &refs).map_err(|err| err.to_string())?;
            out.push(RoleMoments {
                weights: name.clone(),
                role,
                std: pooled.std,
                excess_kurtosis: pooled.excess_kurtosis,
            });
        }
    }
    Ok(out)
}

pub(super) fn aggregate(
    config: &SweepConfig,
    text: &str,
    backend: Backend,
    out: &Path,
    shipped: &Path,
) -> Result<(), SweepError> {
    let variants = stored_runs(config, backend, out)?;
    let initial_roles = initial_roles(config, shipped).map_err(|reason| SweepError::Config {
        path: out.join("config.toml"),
        reason: format!("the initial weights' statistics: {reason}"),
    })?;
    let mut summary = SweepSummary {
        initial_roles,
        name: config.name.clone(),
        description: config.description.clone(),
        baseline: config.baseline,
        seeds: config.base.seeds,
        backend,
        commit: git_commit(),
        config: text.to_string(),
        variants: variants
            .iter()
            .map(|(variant, runs)| VariantSummary {
                name: variant.name.clone(),
                settings: variant.settings.clone(),
                link: variant.config.to_query(),
                steps: variant.config.train.steps,
                validation: validation_spread(runs, config.baseline).map(|spread| ValidationSet {
                    split: variant.config.train.eval_split.name().to_string(),
                    tokens: spread.batches
                        * variant.config.train.batch
                        * variant.config.train.context,
                    spread,
                }),
                comparisons: compare(
                    runs,
                    config.baseline,
                    variant.config.train.steps,
                    BOOTSTRAP_SEED,
                )
                .into_iter()
                .map(|mut comparison| {
                    if comparison.init != config.baseline {
                        if let Some(difference) = &mut comparison.final_difference {
                            difference.equivalence = Some(Equivalence::test(
                                &difference.per_seed,
                                config.equivalence_margin,
                            ));
                        }
                    }
                    comparison
                })
                .collect(),
            })
            .collect(),
        interactions: interaction_tests(config, &variants),
        equivalence_margin: Some(config.equivalence_margin),
        p_adjustment: None,
    };
    summary.adjust_p_values();
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        write_atomically(&path, bytes)
            .map_err(|source| SweepError::from(FileError::Write { path, source }))
    };
    let tables = csv_tables(
        variants
            .iter()
            .map(|(variant, runs)| (variant.name.as_str(), runs.as_slice())),
    );
    for (name, table) in &tables {
        write(name, table.as_bytes())?;
    }
    write("comparisons.csv", summary.comparisons_csv().as_bytes())?;
    write("config.toml", text.as_bytes())?;
    let json = summary.to_json().map_err(|err| FileError::Write {
        path: out.join("summary.json"),
        source: std::io::Error::other(err),
    })?;
    write("summary.json", json.as_bytes())?;
    print_summary(config.baseline, &summary.variants);
    for test in &summary.interactions {
        let d = &test.difference;
        println!(
            "interaction {} ({} -> {}) {}: {:+.4} [{:+.4}, {:+.4}] p {} (Holm {})",
            test.axis,
            test.from,
            test.to,
            test.init.name(),
            d.difference.estimate,
            d.difference.low,
            d.difference.high,
            format_p(d.p_value),
            format_p(d.p_adjusted)
        );
    }
    println!(
        "wrote curves.csv, runs.csv, distances.csv, comparisons.csv and summary.json in {}",
        out.display()
    );
    Ok(())
}

/// The config's interaction test in every pair of variants it names.
pub(super) fn interaction_tests(
    config: &SweepConfig,
    variants: &[(Variant, Vec<RunResult>)],
) -> Vec<InteractionTest> {
    let Some(spec) = &config.interaction else {
        return Vec::new();
    };
    let names: Vec<Variant> = variants.iter().map(|(v, _)| v.clone()).collect();
    spec.pairs(&names)
        .into_iter()
        .flat_map(|(a, b)| {
            let (from, to) = (&variants[a], &variants[b]);
            let mut within = from.0.settings.clone();
            within.remove(&spec.axis);
            interaction(&from.1, &to.1, config.baseline, BOOTSTRAP_SEED)
                .into_iter()
                .map(move |(init, difference)| InteractionTest {
                    axis: spec.axis.clone(),
                    from: from.0.name.clone(),
                    to: to.0.name.clone(),
                    within: within.clone(),
                    init,
                    difference,
                })
        })
        .collect()
}

/// The commit the binary's working directory is at, where git can tell.
pub(super) fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

pub(super) fn print_summary(baseline: InitMethod, summaries: &[VariantSummary]) {
    for variant in summaries {
        println!("\n{} (baseline {}):", variant.name, baseline.name());
        for comparison in &variant.comparisons {
            let at_end = comparison
                .speedups
                .iter()
                .find(|s| s.fraction == 1.0)
                .and_then(|s| s.speedup.map(|i| (i, s.reached, s.seeds)));
            let speedup = match at_end {
                Some((i, reached, seeds)) => format!(
                    "{:.2}x [{:.2}, {:.2}] ({reached}/{seeds} reached)",
                    i.estimate, i.low, i.high
                ),
                None => "-".into(),
            };
            let difference = comparison
                .final_difference
                .as_ref()
                .map_or("-".into(), |d| {
                    format!(
                        "{:+.4} [{:+.4}, {:+.4}] p {} (Holm {})",
                        d.difference.estimate,
                        d.difference.low,
                        d.difference.high,
                        format_p(d.p_value),
                        format_p(d.p_adjusted)
                    )
                });
            println!(
                "  {:<17} final {:.4} ± {:.4}  speedup@100% {speedup:<30} diff {difference}{}",
                comparison.init.name(),
                comparison.final_val_loss_mean,
                comparison.final_val_loss_std,
                if comparison.diverged > 0 {
                    format!("  ({} diverged)", comparison.diverged)
                } else {
                    String::new()
                }
            );
        }
    }
}
