//! The report's numbers in words: intervals, p-values and the generated verdicts.

use histinit_core::stats::{Comparison, FinalDifference, Interval, SpeedupAt};
use histinit_core::InitMethod;

use crate::summary::p_is;

pub(super) fn format_interval(interval: &Interval, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}, {:.d$}]",
        interval.estimate,
        interval.low,
        interval.high,
        d = digits
    )
}

pub(super) fn format_signed(interval: &Interval) -> String {
    format!(
        "{:+.4} [{:+.4}, {:+.4}]",
        interval.estimate, interval.low, interval.high
    )
}

/// The p-value a verdict is decided on: the Holm-adjusted one (over the sweep's family,
/// see [`crate::summary::P_ADJUSTMENT`]) where the summary has it; `None` where no test
/// is defined (nothing is called on it).
fn decisive(raw: Option<f64>, adjusted: Option<f64>) -> Option<f64> {
    raw.and(adjusted.or(raw))
}

/// Whether a test rejects at 0.05 on its decisive p-value.
pub(super) fn rejects(raw: Option<f64>, adjusted: Option<f64>) -> bool {
    decisive(raw, adjusted).is_some_and(|p| p < 0.05)
}

/// "p = 0.004, Holm p = 0.030" (or the raw one alone where nothing was adjusted, or why
/// there is none).
pub(super) fn both_p(raw: Option<f64>, adjusted: Option<f64>) -> String {
    match (raw, adjusted) {
        (Some(_), Some(adjusted)) => format!("{}, Holm {}", p_is(raw), p_is(Some(adjusted))),
        _ => p_is(raw),
    }
}

/// What the final-loss comparison shows at the level 0.05 (Holm-adjusted p-values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalLoss {
    /// The paired t-test rejects no difference and the bootstrap interval excludes 0.
    Different,
    /// TOST puts the mean difference within ±margin.
    Equivalent,
    /// Neither (or no equivalence test to tell).
    Inconclusive,
}

impl FinalLoss {
    pub fn of(difference: &FinalDifference) -> Self {
        let i = difference.difference;
        let equivalent = difference
            .equivalence
            .is_some_and(|e| rejects(e.p_value, e.p_adjusted));
        if equivalent {
            FinalLoss::Equivalent
        } else if rejects(difference.p_value, difference.p_adjusted)
            && (i.low > 0.0 || i.high < 0.0)
        {
            FinalLoss::Different
        } else {
            FinalLoss::Inconclusive
        }
    }

    /// The table's word: "equivalent within ±0.02", "different" or "inconclusive".
    pub fn label(self, difference: &FinalDifference) -> String {
        match (self, difference.equivalence) {
            (FinalLoss::Equivalent, Some(e)) => format!("equivalent within ±{}", e.margin),
            (FinalLoss::Different, _) => "different".into(),
            _ => "inconclusive".into(),
        }
    }
}

/// The generated verdict on one init against the baseline. Every call of a difference
/// ("faster", "slower", "lower", "different", "equivalent") is decided on the
/// Holm-adjusted p-value; both are printed.
pub fn verdict(comparison: &Comparison, baseline: InitMethod) -> String {
    let name = comparison.init.name();
    let base = baseline.name();
    let mut parts = Vec::new();
    if comparison.diverged > 0 {
        parts.push(format!(
            "{} of {} runs diverged",
            comparison.diverged, comparison.runs
        ));
    }
    let at = |fraction: f64| comparison.speedups.iter().find(|s| s.fraction == fraction);
    let ends_higher = comparison
        .final_difference
        .as_ref()
        .is_some_and(|d| d.difference.low > 0.0 && rejects(d.p_value, d.p_adjusted));
    let significant = |s: &SpeedupAt| rejects(s.p_value, s.p_adjusted);
    // A verdict needs the bootstrap interval to exclude 1 and the t-test to agree.
    match at(1.0).and_then(|s| s.speedup.map(|i| (s, i))) {
        Some((s, i)) if s.reached == s.seeds && i.low > 1.0 && significant(s) => {
            parts.push(format!(
                "**faster**: reaches {base}'s final loss {:.2}x sooner (95% CI {:.2}–{:.2}, {}, {} seeds)",
                i.estimate, i.low, i.high, both_p(s.p_value, s.p_adjusted), s.seeds
            ))
        }
        // Most seeds never got where the baseline got, and they end clearly higher:
        // slower, whatever the bound says. Ending a hair higher is not slower.
        Some((s, i)) if s.reached * 2 < s.seeds && ends_higher => parts.push(format!(
            "**slower**: only {} of {} seeds reach {base}'s final loss within the run (speedup at most {:.2}x)",
            s.reached, s.seeds, i.estimate
        )),
        Some((s, i)) if i.high < 1.0 && significant(s) => parts.push(format!(
            "**slower**: {:.2}x {base}'s speed to its final loss (95% CI {:.2}–{:.2}, {}; {} of {} seeds got there)",
            i.estimate, i.low, i.high, both_p(s.p_value, s.p_adjusted), s.reached, s.seeds
        )),
        // Looks faster, but a seed that never got there counts at its best possible
        // value, so the estimate and its interval are only upper bounds.
        Some((s, i)) if i.low > 1.0 && significant(s) => parts.push(format!(
            "**faster not called**: {:.2}x (95% CI {:.2}–{:.2}, {}), but {} of {} seeds never reached {base}'s final loss, so that is an upper bound",
            i.estimate, i.low, i.high, both_p(s.p_value, s.p_adjusted), s.seeds - s.reached, s.seeds
        )),
        // Every seed measured the same value (a speedup capped where the init starts at the
        // target, as `trained` does): no t-test weighs identical values, and none is needed.
        Some((s, i)) if s.seeds >= 2 && s.reached == s.seeds && s.p_value.is_none() => {
            let same = format!(
                "{:.2}x in each of the {} seeds (identical values: no test)",
                i.estimate, s.seeds
            );
            parts.push(if i.estimate > 1.0 {
                format!("**faster in every seed**: reaches {base}'s final loss {same}")
            } else if i.estimate < 1.0 {
                format!("**slower in every seed**: {same} {base}'s speed to its final loss")
            } else {
                format!("**no difference in speed**: {same}")
            })
        }
        // Not one seed got there: no speed can be measured, and "no clear difference"
        // would misread a run that never came close. Said as the fact it is.
        Some((s, i)) if s.reached == 0 => parts.push(format!(
            "**never reached** {base}'s final loss: 0 of {} seeds got there within the run (speed not measured; at most {:.2}x)",
            s.seeds, i.estimate
        )),
        Some((s, i)) => parts.push(format!(
            "**no clear difference in speed**: {:.2}x (95% CI {:.2}–{:.2}, {}; {} of {} seeds reached {base}'s final loss)",
            i.estimate, i.low, i.high, both_p(s.p_value, s.p_adjusted), s.reached, s.seeds
        )),
        None => parts.push("no speed comparison (no paired runs)".into()),
    }
    if let Some(early) = at(0.1).and_then(|s| s.speedup.map(|i| (s, i))) {
        let (s, i) = early;
        if s.reached == s.seeds && i.low > 1.0 && significant(s) {
            parts.push(format!(
                "early on (10% of {base}'s steps) {:.2}x faster (CI {:.2}–{:.2}, {})",
                i.estimate,
                i.low,
                i.high,
                both_p(s.p_value, s.p_adjusted)
            ));
        } else if i.high < 1.0 && significant(s) {
            parts.push(format!(
                "early on (10% of {base}'s steps) {:.2}x, slower (CI {:.2}–{:.2}, {})",
                i.estimate,
                i.low,
                i.high,
                both_p(s.p_value, s.p_adjusted)
            ));
        }
    }
    if let Some(d) = &comparison.final_difference {
        let i = d.difference;
        let tost = d.equivalence.map(|e| {
            format!(
                "equivalence test (TOST, ±{} nats): {}",
                e.margin,
                both_p(e.p_value, e.p_adjusted)
            )
        });
        let sentence = match FinalLoss::of(d) {
            FinalLoss::Different if i.high < 0.0 => format!(
                "final loss **different**: ends **lower** by {:.4} nats (CI {:.4}–{:.4}, paired t-test {})",
                -i.estimate,
                -i.high,
                -i.low,
                both_p(d.p_value, d.p_adjusted)
            ),
            FinalLoss::Different => format!(
                "final loss **different**: ends **higher** by {:.4} nats (CI {:.4}–{:.4}, paired t-test {})",
                i.estimate,
                i.low,
                i.high,
                both_p(d.p_value, d.p_adjusted)
            ),
            FinalLoss::Equivalent => format!(
                "final loss **equivalent within ±{} nats** to {base}'s ({:+.4}, CI {:+.4}–{:+.4}; {}; paired t-test {})",
                d.equivalence.map_or(f64::NAN, |e| e.margin),
                i.estimate,
                i.low,
                i.high,
                tost.clone().unwrap_or_default(),
                both_p(d.p_value, d.p_adjusted)
            ),
            FinalLoss::Inconclusive => format!(
                "final loss **inconclusive**: neither shown different from {base}'s nor {} ({:+.4}, CI {:+.4}–{:+.4}, paired t-test {}{})",
                d.equivalence.map_or("tested for equivalence".to_string(), |e| format!(
                    "equivalent within ±{} nats",
                    e.margin
                )),
                i.estimate,
                i.low,
                i.high,
                both_p(d.p_value, d.p_adjusted),
                tost.map(|t| format!("; {t}")).unwrap_or_default()
            ),
        };
        parts.push(sentence);
    }
    format!("{name}: {}.", parts.join("; "))
}
