//! The study-wide sections of report.md: header, validation text, interactions,
//! initial roles, best setting and the verdicts table.

use std::fmt::Write as _;

use super::wording::{both_p, format_interval, format_signed, rejects, verdict, FinalLoss};
use super::Charts;
use crate::summary::{format_p, SweepSummary};

/// How many tests the summary's Holm family holds.
fn family_size(summary: &SweepSummary) -> usize {
    let mut count = 0;
    for comparison in summary.variants.iter().flat_map(|v| &v.comparisons) {
        count += comparison
            .speedups
            .iter()
            .filter(|s| s.p_adjusted.is_some())
            .count();
        if let Some(d) = &comparison.final_difference {
            count += usize::from(d.p_adjusted.is_some());
            count += usize::from(d.equivalence.is_some_and(|e| e.p_adjusted.is_some()));
        }
    }
    count
        + summary
            .interactions
            .iter()
            .filter(|t| t.difference.p_adjusted.is_some())
            .count()
}

/// How much text the final losses were measured on, and how much they depend on which
/// text that is (summaries whose runs kept per-batch losses).
pub(super) fn write_validation(md: &mut String, summary: &SweepSummary) {
    let rows: Vec<_> = summary
        .variants
        .iter()
        .filter_map(|v| v.validation.as_ref().map(|set| (&v.name, set)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## The validation set\n\nEvery run of a variant is scored on the same batches. The standard errors \
         below come from the choice of those batches (the spread of the per-batch losses over √batches), not from \
         the seeds: a run's final loss, and each init's mean paired difference from `{}` (the per-batch \
         differences averaged over seeds). They are not in the seed intervals; the intervals can be read as \
         they are where these are small next to them.\n\n| variant | split | batches | tokens | run's final loss ± | difference ± |\n| --- | --- | --- | --- | --- | --- |",
        summary.baseline.name()
    );
    for (name, set) in rows {
        let differences: Vec<String> = set
            .spread
            .difference_se
            .iter()
            .map(|(init, se)| format!("{} {se:.4}", init.name()))
            .collect();
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {:.4} | {} |",
            set.split,
            set.spread.batches,
            set.tokens,
            set.spread.run_se,
            differences.join(", ")
        );
    }
    let _ = writeln!(md);
}

/// The config's pre-registered interaction tests, if it states one.
pub(super) fn write_interactions(md: &mut String, summary: &SweepSummary) {
    let Some(first) = summary.interactions.first() else {
        return;
    };
    let _ = writeln!(
        md,
        "## Interaction (stated in the config before the runs)\n\nPer seed, an init's final-loss difference from \
         `{}` with `{}` at the second level minus the same difference at the first: negative means the change \
         costs this init less than it costs `{}`. Paired t-test of a zero mean, in the sweep's Holm family.\n\n\
         | {} from → to | other settings | init | seeds | interaction [95% CI] | p (Holm) | verdict |\n\
         | --- | --- | --- | --- | --- | --- | --- |",
        summary.baseline.name(),
        first.axis,
        summary.baseline.name(),
        first.axis
    );
    for test in &summary.interactions {
        let d = &test.difference;
        // Called as final losses are: adjusted p < 0.05 and the interval excluding 0.
        let detected =
            rejects(d.p_value, d.p_adjusted) && (d.difference.low > 0.0 || d.difference.high < 0.0);
        let verdict = if d.seeds < 2 {
            "too few seeds".to_string()
        } else if d.p_value.is_none() {
            "identical values, no test".to_string()
        } else if detected && d.difference.estimate < 0.0 {
            format!("costs {} less", test.init.name())
        } else if detected {
            format!("costs {} more", test.init.name())
        } else {
            "no interaction detected".to_string()
        };
        let within: Vec<String> = test
            .within
            .iter()
            .map(|(axis, value)| format!("{axis} {value}"))
            .collect();
        let _ = writeln!(
            md,
            "| {} → {} | {} | {} | {} | {} | {} | {verdict} |",
            test.from,
            test.to,
            if within.is_empty() {
                "-".into()
            } else {
                within.join(", ")
            },
            test.init.name(),
            d.seeds,
            format_signed(&d.difference),
            both_p(d.p_value, d.p_adjusted),
        );
    }
    let _ = writeln!(md);
}
/// The title, how the study was made and what its numbers mean.
pub(super) fn write_header(md: &mut String, summary: &SweepSummary, charts: Charts) {
    let baseline = summary.baseline;
    // Without a margin stated before the runs, no "no difference" can be called.
    let equivalence_text = match summary.equivalence_margin {
        Some(m) => format!(
            "A \"no difference\" in final loss is called only as **equivalent within ±{m} nats** (the config's \
             `equivalence_margin`, stated before the runs): two one-sided paired t-tests (TOST) that the mean \
             difference is above −{m} and below +{m}, adjusted p < 0.05; otherwise the final loss is **different** \
             (adjusted p < 0.05, interval excluding 0) or **inconclusive**."
        ),
        None => "This study stated no equivalence margin before its runs, so no \"no difference\" is called: a final \
                 loss is **different** (adjusted p < 0.05, interval excluding 0) or **inconclusive**."
            .to_string(),
    };
    let _ = writeln!(md, "# Study `{}`\n", summary.name);
    if !summary.description.is_empty() {
        let _ = writeln!(md, "{}\n", summary.description);
    }
    let _ = writeln!(
        md,
        "Generated by `histinit report` from the sweep's summary.json and runs (commit {}){}; do not edit by hand: \
         rerun with `bash experiments/run-all.sh {}`. {} seed{} per init, paired by seed (same batches and validation set); \
         baseline `{}`. Speedup = {}'s updates to reach a loss / this init's updates to reach it, at the loss {} has after \
         10%, 25%, 50% and 100% of its steps (geometric mean over seeds; a seed that never reaches it counts at its best \
         possible value, so such estimates are upper bounds). Intervals are 95% percentile-bootstrap intervals over seeds \
         (10,000 resamples); p-values are two-sided paired t-tests (on log speedups for speed). Every p-value of the \
         sweep is one family: beside each raw p the table gives its Holm-adjusted value (\"Holm\"; {} tests: every \
         non-baseline init's speedup tests at the four progress points, final-loss test and equivalence test, in every \
         variant{}, where defined: no p-value on identical values or where no seed reached the target), and every verdict is decided on the adjusted one. With few seeds the percentile bootstrap is too \
         narrow, so a verdict calls a difference only when the interval excludes no-difference **and** the adjusted \
         p < 0.05. {equivalence} Losses are in nats per byte-level token.\n",
        summary.commit.as_deref().unwrap_or("unknown"),
        match charts {
            Charts::Draw => "",
            Charts::Keep => ", the text rewritten from summary.json by the current rules with the charts kept",
        },
        summary.name,
        summary.seeds,
        if summary.seeds == 1 { "" } else { "s" },
        baseline.name(),
        baseline.name(),
        baseline.name(),
        family_size(summary),
        if summary.interactions.is_empty() {
            ""
        } else {
            ", and the interaction tests"
        },
        equivalence = equivalence_text,
    );
}

/// Per role, what each init's weights start from.
pub(super) fn write_initial_roles(md: &mut String, summary: &SweepSummary) {
    if !summary.initial_roles.is_empty() {
        let mut sets: Vec<&str> = Vec::new();
        for moments in &summary.initial_roles {
            if !sets.contains(&moments.weights.as_str()) {
                sets.push(&moments.weights);
            }
        }
        let _ = writeln!(
            md,
            "## What the runs start from

Per role, the std and (in brackets) the excess kurtosis of each init's \
             weights at the first variant's first seed, and of the source's trained weights (`source`), pooled over \
             the role's tensors. A constant (LayerNorm at 1 or 0, zero biases) has std 0 and no kurtosis.\n"
        );
        let _ = writeln!(md, "| role | {} |", sets.join(" | "));
        let _ = writeln!(md, "| --- |{}", " ---: |".repeat(sets.len()));
        for role in histinit_core::histogram::Role::ALL {
            let cells: Vec<String> = sets
                .iter()
                .map(|set| {
                    summary
                        .initial_roles
                        .iter()
                        .find(|m| m.weights == *set && m.role == role)
                        .map_or("–".to_string(), |m| {
                            if m.std > 0.0 && m.excess_kurtosis.is_finite() {
                                format!("{:.4} ({:.2})", m.std, m.excess_kurtosis)
                            } else {
                                format!("{:.4}", m.std)
                            }
                        })
                })
                .collect();
            if cells.iter().all(|c| c == "–") {
                continue;
            }
            let _ = writeln!(md, "| {} | {} |", role.name(), cells.join(" | "));
        }
        let _ = writeln!(md);
    }
}

/// The verdicts in the variant where the baseline ends lowest.
pub(super) fn write_best_setting(md: &mut String, summary: &SweepSummary) {
    let baseline = summary.baseline;
    // Where the baseline does best: a speedup that vanishes there is not a speedup.
    if summary.variants.len() > 1 {
        let best = summary
            .variants
            .iter()
            .filter_map(|v| {
                v.comparisons
                    .iter()
                    .find(|c| c.init == baseline)
                    .map(|c| (v, c.final_val_loss_mean))
            })
            .filter(|(_, loss)| loss.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((variant, loss)) = best {
            let _ = writeln!(
                md,
                "## At the baseline's best setting\n\n`{}` ends lowest in variant `{}` (final validation loss {loss:.4}). There:\n",
                baseline.name(),
                variant.name
            );
            for comparison in variant.comparisons.iter().filter(|c| c.init != baseline) {
                let _ = writeln!(md, "- {}", verdict(comparison, baseline));
            }
            md.push('\n');
        }
    }
}

/// The table of every variant's comparisons.
pub(super) fn write_verdicts(md: &mut String, summary: &SweepSummary) {
    let baseline = summary.baseline;
    let _ = writeln!(md, "## Verdicts\n");
    let _ = writeln!(
        md,
        "| variant | init | final val loss (mean ± sd) | speedup at 10% | at 25% | at 50% | at 100% (reached, p, Holm) | final − {} [95% CI] | p | Holm | final loss (TOST p, Holm) |",
        baseline.name()
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for variant in &summary.variants {
        for c in &variant.comparisons {
            let speed = |fraction: f64| {
                c.speedups
                    .iter()
                    .find(|s| s.fraction == fraction)
                    .and_then(|s| s.speedup.map(|i| (s, i)))
                    .map_or("-".to_string(), |(s, i)| {
                        let text = format_interval(&i, 2);
                        let bound = if s.reached < s.seeds { "≤ " } else { "" };
                        if fraction == 1.0 {
                            // No p-value on censored or identical values: say why.
                            let test = match s.p_value {
                                _ if s.reached == 0 => "never reached".to_string(),
                                None => "identical values, no test".to_string(),
                                Some(_) => format!(
                                    "p {}, Holm {}",
                                    format_p(s.p_value),
                                    format_p(s.p_adjusted)
                                ),
                            };
                            format!("{bound}{text} ({}/{}, {test})", s.reached, s.seeds)
                        } else if s.reached < s.seeds {
                            format!("{bound}{text}")
                        } else {
                            text
                        }
                    })
            };
            let dash = || "-".to_string();
            let (diff, p, holm, equivalence) = match (&c.final_difference, c.init == baseline) {
                (Some(d), false) => (
                    format_signed(&d.difference),
                    format_p(d.p_value),
                    format_p(d.p_adjusted),
                    match d.equivalence {
                        Some(e) => format!(
                            "{} ({}, {})",
                            FinalLoss::of(d).label(d),
                            format_p(e.p_value),
                            format_p(e.p_adjusted)
                        ),
                        None => FinalLoss::of(d).label(d),
                    },
                ),
                (Some(d), true) => (format_signed(&d.difference), dash(), dash(), dash()),
                (None, _) => (dash(), dash(), dash(), dash()),
            };
            let diverged = if c.diverged > 0 {
                format!(" ({} diverged)", c.diverged)
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| {} | {}{diverged} | {:.4} ± {:.4} | {} | {} | {} | {} | {diff} | {p} | {holm} | {equivalence} |",
                variant.name,
                c.init.name(),
                c.final_val_loss_mean,
                c.final_val_loss_std,
                speed(0.1),
                speed(0.25),
                speed(0.5),
                speed(1.0),
            );
        }
    }
    md.push('\n');
}
