//! Every result docs/FINDINGS.md states is a number a committed
//! `docs/results/<study>/summary.json` holds, at the precision printed.
//!
//! What is checked. FINDINGS.md is split into sections at its `## ` headings. A section
//! that names studies (as `` `main-nano` `` or by a `results/main-nano/` link) is checked
//! against those studies' summaries only; a section naming none (the opening answer, the
//! controls table, the limits) against every summary. Each decimal number (one with a
//! decimal point) must be the printed rounding of a value of the summary: `format!("{:.d$}")`
//! of the value, d the printed decimals, equals the printed digits exactly, so a number
//! rounded twice (0.0754 → 0.075 → 0.08) or changed by one in its last digit fails. The
//! value must also be of the right kind:
//! - a number printed as `estimate [low, high]` (on one line: an interval split across
//!   lines is itself a failure) must match one interval of the summary
//!   (`speedup` or `difference`: estimate, low and high of the *same* object), and a
//!   p-value printed after it in the same table cell or clause (`…], 4 of 5, p 0.021`,
//!   `…]** (p < 0.001)`) must be that same test's `p_value`;
//! - after `p` or `p =`: a raw `p_value`; after `p <` or `p ≤`: a bound, met by some
//!   p-value of the study (after `Holm <`, by some adjusted one);
//! - after `Holm`: a Holm-adjusted p-value the summary holds (`p_adjusted`; every
//!   committed summary records its adjustment, see `committed_summaries_hold_no_p_value_on_identical_or_censored_values`);
//! - after `±`: a standard deviation (`final_val_loss_std`);
//! - with a sign (`+0.012`, `−0.061`): a difference to the baseline (estimate or bound),
//!   and the sign must agree;
//! - otherwise (a loss, a speedup, an unsigned magnitude such as "0.04–0.07 nats lower"):
//!   any value of the summary, or its magnitude.
//!
//! The per-seed values (`per_seed`) are left out of the pool: FINDINGS quotes none, and
//! hundreds of them would let a wrong number match by chance.
//!
//! Exempt, by context rather than by a list:
//! - fenced code blocks, inline code spans and link targets (commands, file names, URLs);
//! - heading lines (section numbers and titles);
//! - numbers glued to a word or a hyphen (`pythia-14m`, `MiniLM-L6`, `H200`, `§1`),
//!   except a speedup's or multiplier's trailing `x` (`1.38x`, `0.5x`);
//! - integers: counts and configuration (layers, widths, steps, batch, warmup, seeds,
//!   "4 of 5 seeds", percentages of the baseline's steps, years, issue and section
//!   numbers). Small integers occur in every summary, so finding one there would prove
//!   nothing; the integers FINDINGS states as results (how many seeds reach the
//!   baseline's final loss, `trained`'s speedups of 300 and 294) are not checked here;
//! - the peak learning rate (a number after `LR `) and run-time estimates (a number
//!   followed by `hours` or `min`): configuration and cost, not results.
//!
//! No hand list of exempt numbers is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use histinit_core::stats::{paired_t_p_value, tost_p_value, FinalDifference, SpeedupAt};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a value of a summary is, for matching a printed number to the right field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    P,
    Holm,
    Std,
    Difference,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Interval {
    estimate: f64,
    low: f64,
    high: f64,
    difference: bool,
    /// The p-value of the test the interval belongs to (the `p_value` beside it).
    p: Option<f64>,
}

/// Every value one summary holds that a printed number may quote.
#[derive(Debug, Default)]
struct Pool {
    values: Vec<(Kind, f64)>,
    intervals: Vec<Interval>,
}

impl Pool {
    fn from_json(summary: &Value) -> Pool {
        let mut pool = Pool::default();
        pool.walk(summary, Kind::Other);
        pool
    }

    fn walk(&mut self, value: &Value, kind: Kind) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key != "speedup" && key != "difference" {
                        continue;
                    }
                    if let (Some(e), Some(l), Some(h)) = (
                        child.get("estimate").and_then(Value::as_f64),
                        child.get("low").and_then(Value::as_f64),
                        child.get("high").and_then(Value::as_f64),
                    ) {
                        self.intervals.push(Interval {
                            estimate: e,
                            low: l,
                            high: h,
                            difference: key == "difference",
                            p: map.get("p_value").and_then(Value::as_f64),
                        });
                    }
                }
                for (key, child) in map {
                    let kind = match key.as_str() {
                        "per_seed" => continue,
                        "p_adjusted" => Kind::Holm,
                        "settings" => {
                            // A variant's grid values are strings ("0.5"): configuration
                            // a text may name (an LR multiplier), kept as plain values.
                            if let Value::Object(settings) = child {
                                for v in settings.values() {
                                    if let Some(x) = v.as_str().and_then(|s| s.parse().ok()) {
                                        self.values.push((Kind::Other, x));
                                    }
                                }
                            }
                            continue;
                        }
                        k if k.starts_with("p_") => Kind::P,
                        k if k.ends_with("_std") => Kind::Std,
                        "difference" => Kind::Difference,
                        _ => kind,
                    };
                    self.walk(child, kind);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.walk(v, kind)),
            Value::Number(n) => self.values.extend(n.as_f64().map(|x| (kind, x))),
            _ => {}
        }
    }
}

/// The p-values a summary holds where no test is defined: a t-test on identical values,
/// or a speedup test where no seed reached the target (every value a censored bound). The
/// rule is core's ([`SpeedupAt::test`], [`paired_t_p_value`], [`tost_p_value`]); a report
/// says "never reached" or "identical values" there instead.
fn undefined_p_values(name: &str, summary: &Value) -> Vec<String> {
    fn difference(at: String, value: &Value) -> Vec<String> {
        let Ok(d) = serde_json::from_value::<FinalDifference>(value.clone()) else {
            return vec![format!("{at}: not a final difference")];
        };
        let mut failures = Vec::new();
        if d.p_value.is_some() && paired_t_p_value(&d.per_seed).is_none() {
            failures.push(format!("{at}: a p-value on {:?}", d.per_seed));
        }
        if let Some(e) = d.equivalence {
            if e.p_value.is_some() && tost_p_value(&d.per_seed, e.margin).is_none() {
                failures.push(format!("{at}: an equivalence p-value on {:?}", d.per_seed));
            }
        }
        failures
    }
    let mut failures = Vec::new();
    let variants = summary.get("variants").and_then(Value::as_array);
    for variant in variants.into_iter().flatten() {
        let vname = variant.get("name").and_then(Value::as_str).unwrap_or("?");
        let comparisons = variant.get("comparisons").and_then(Value::as_array);
        for c in comparisons.into_iter().flatten() {
            let init = c.get("init").and_then(Value::as_str).unwrap_or("?");
            let speedups = c.get("speedups").and_then(Value::as_array);
            for speedup in speedups.into_iter().flatten() {
                match serde_json::from_value::<SpeedupAt>(speedup.clone()) {
                    Ok(s)
                        if s.p_value.is_some()
                            && SpeedupAt::test(&s.per_seed, s.reached).is_none() =>
                    {
                        failures.push(format!(
                            "{name} {vname} {init} speedup@{}: a p-value on {} of {} reached, {:?}",
                            s.fraction, s.reached, s.seeds, s.per_seed
                        ))
                    }
                    Ok(_) => {}
                    Err(err) => failures.push(format!("{name} {vname} {init}: {err}")),
                }
            }
            if let Some(d) = c.get("final_difference").filter(|d| !d.is_null()) {
                failures.extend(difference(
                    format!("{name} {vname} {init} final difference"),
                    d,
                ));
            }
        }
    }
    let interactions = summary.get("interactions").and_then(Value::as_array);
    for test in interactions.into_iter().flatten() {
        if let Some(d) = test.get("difference") {
            failures.extend(difference(format!("{name} interaction"), d));
        }
    }
    failures
}

/// A number as printed: sign ('+', '−'/'-' or none), digits, decimals.
#[derive(Debug, Clone)]
struct Printed {
    sign: Option<char>,
    digits: String,
    decimals: usize,
    start: usize,
    end: usize,
}

impl Printed {
    fn text(&self) -> String {
        format!(
            "{}{}",
            self.sign.map(String::from).unwrap_or_default(),
            self.digits
        )
    }

    /// Whether `value` rounds to this number at its printed precision (its magnitude
    /// when no sign is printed).
    fn is(&self, value: f64) -> bool {
        let d = self.decimals;
        match self.sign {
            Some('+') => value >= 0.0 && format!("{value:.d$}") == self.digits,
            Some(_) => value <= 0.0 && format!("{:.d$}", -value) == self.digits,
            None => format!("{:.d$}", value.abs()) == self.digits,
        }
    }
}

/// The decimal numbers of one line that are not exempt by their context (see the
/// module's documentation), with their byte ranges.
fn numbers(line: &str) -> Vec<Printed> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
            j += 1;
        }
        // A trailing full stop ends a sentence, not a number.
        let mut k = j;
        while k > i && chars[k - 1].1 == '.' {
            k -= 1;
        }
        let end = chars.get(k).map_or(line.len(), |&(b, _)| b);
        let digits = &line[start..end];
        let before = i.checked_sub(1).map(|p| chars[p].1);
        let sign = before.filter(|c| matches!(c, '+' | '−' | '-'));
        let sign_at = if sign.is_some() { i - 1 } else { i };
        let glued_before = sign_at
            .checked_sub(1)
            .map(|p| chars[p].1)
            .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '§'))
            .is_some();
        let after = chars.get(k).map(|&(_, c)| c);
        let after2 = chars.get(k + 1).map(|&(_, c)| c);
        let glued_after = match after {
            Some('x') => after2.is_some_and(|c| c.is_alphanumeric()),
            Some(c) => c.is_alphanumeric() || c == '-' && after2.is_some_and(char::is_alphanumeric),
            None => false,
        };
        let rest = &line[end..];
        let preceding = &line[..chars[sign_at].0];
        let exempt = glued_before
            || glued_after
            || !digits.contains('.')
            || preceding.ends_with("LR ")
            || rest.starts_with(" hours")
            || rest.starts_with(" min");
        if !exempt {
            found.push(Printed {
                sign: sign.map(|c| if c == '+' { '+' } else { '−' }),
                decimals: digits.split('.').nth(1).map_or(0, str::len),
                digits: digits.into(),
                start: chars[sign_at].0,
                end,
            });
        }
        i = j;
    }
    found
}

/// FINDINGS' text with what is exempt by position blanked: fenced code blocks, inline
/// code spans, link targets and heading lines become spaces, so every line keeps its
/// length and every number its byte offset.
fn prose(markdown: &str) -> Vec<String> {
    let blank = |s: &str| " ".repeat(s.len());
    let mut lines = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            lines.push(blank(line));
            continue;
        }
        if fenced || line.starts_with('#') {
            lines.push(blank(line));
            continue;
        }
        let mut out = String::new();
        let mut rest = line;
        while !rest.is_empty() {
            let skip = if let Some(code) = rest.strip_prefix('`') {
                code.find('`').map_or(rest.len(), |e| e + 2)
            } else if rest.starts_with("](") {
                out.push(']');
                rest = &rest[1..];
                rest.find(')').map_or(rest.len(), |e| e + 1)
            } else {
                let c = rest.chars().next().unwrap();
                out.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            };
            out.push_str(&blank(&rest[..skip]));
            rest = &rest[skip..];
        }
        lines.push(out);
    }
    lines
}

/// The studies a section names, among those given.
fn named<'a>(section: &str, studies: impl Iterator<Item = &'a String>) -> Vec<String> {
    studies
        .filter(|s| {
            section.contains(&format!("`{s}`")) || section.contains(&format!("results/{s}/"))
        })
        .cloned()
        .collect()
}

/// Whether the text between two printed numbers is only markup and `x`, then `sep`.
fn joined_by(between: &str, sep: char) -> bool {
    let rest: String = between
        .chars()
        .filter(|c| !matches!(c, '*' | 'x' | ' '))
        .collect();
    rest == sep.to_string()
}

/// Checks every number of `markdown` against `summaries` (study name → summary); returns
/// one line per number no summary in its scope holds.
fn check(markdown: &str, summaries: &BTreeMap<String, Value>) -> Vec<String> {
    let pools: BTreeMap<&String, Pool> = summaries
        .iter()
        .map(|(name, json)| (name, Pool::from_json(json)))
        .collect();
    let mut failures = Vec::new();
    let mut sections: Vec<(usize, Vec<&str>)> = vec![(0, Vec::new())];
    for (n, line) in markdown.lines().enumerate() {
        if line.starts_with("## ") {
            sections.push((n, Vec::new()));
        }
        sections.last_mut().unwrap().1.push(line);
    }
    let cleaned = prose(markdown);
    for (first, lines) in sections {
        let text = lines.join("\n");
        let scope = named(&text, summaries.keys());
        let scope: Vec<&Pool> = if scope.is_empty() {
            pools.values().collect()
        } else {
            scope.iter().map(|s| &pools[s]).collect()
        };
        let values = || scope.iter().flat_map(|p| p.values.iter().copied());
        for offset in 0..lines.len() {
            let line = &cleaned[first + offset];
            let starts_interval = line.trim_start().trim_start_matches('*').starts_with('[')
                && line
                    .trim_start()
                    .chars()
                    .nth(1)
                    .is_some_and(|c| !c.is_alphabetic());
            if let Some(open) = line.rfind('[').or(starts_interval.then_some(0)) {
                if (starts_interval || line.rfind(']').is_none_or(|close| close < open))
                    && line[open..].contains(|c: char| c.is_ascii_digit())
                {
                    failures.push(format!(
                        "line {}: an interval split across lines cannot be checked: keep `estimate [low, high]` on one line",
                        first + offset + 1
                    ));
                }
            }
            let found = numbers(line);
            let mut in_interval = vec![false; found.len()];
            for w in 0..found.len().saturating_sub(2) {
                if in_interval[w] {
                    continue;
                }
                let (e, l, h) = (&found[w], &found[w + 1], &found[w + 2]);
                if !(joined_by(&line[e.end..l.start], '[')
                    && joined_by(&line[l.end..h.start], ',')
                    && line[h.end..].starts_with(']'))
                {
                    continue;
                }
                in_interval[w..w + 3].iter_mut().for_each(|b| *b = true);
                // The test's p-value, where it follows in the same cell or clause.
                let p = found.get(w + 3).filter(|p| {
                    let between = &line[h.end..p.start];
                    !between.contains(['|', ';', '['])
                        && (between.ends_with("p ") || between.ends_with("p < "))
                });
                if p.is_some() {
                    in_interval[w + 3] = true;
                }
                let signed = e.sign.is_some();
                let ok = scope.iter().flat_map(|p| &p.intervals).any(|i| {
                    (!signed || i.difference)
                        && e.is(i.estimate)
                        && l.is(i.low)
                        && h.is(i.high)
                        && p.is_none_or(|p| {
                            i.p.is_some_and(|v| {
                                if line[..p.start].ends_with("< ") {
                                    v < p.digits.parse::<f64>().unwrap()
                                } else {
                                    p.is(v)
                                }
                            })
                        })
                });
                if !ok {
                    failures.push(format!(
                        "line {}: {} [{}, {}]{} is no interval of {}",
                        first + offset + 1,
                        e.text(),
                        l.text(),
                        h.text(),
                        p.map(|p| {
                            let bound = if line[..p.start].ends_with("< ") {
                                "< "
                            } else {
                                ""
                            };
                            format!(" with p {bound}{}", p.text())
                        })
                        .unwrap_or_default(),
                        summaries_named(&text, summaries)
                    ));
                }
            }
            for (number, _) in found.iter().zip(&in_interval).filter(|(_, &i)| !i) {
                let before = line[..number.start].trim_end_matches('*');
                let is_p = ["p", "p ="]
                    .iter()
                    .any(|t| before.ends_with(&format!("{t} ")));
                let is_holm = before.ends_with("Holm ");
                let bound = ["p < ", "p ≤ ", "p <= ", "Holm < "]
                    .iter()
                    .find(|t| before.ends_with(*t));
                let ok = if let Some(bound) = bound {
                    let limit: f64 = number.digits.parse().unwrap();
                    let kind = if bound.starts_with("Holm") {
                        Kind::Holm
                    } else {
                        Kind::P
                    };
                    values().any(|(k, v)| {
                        k == kind
                            && if bound.contains('<') && !bound.contains('=') {
                                v < limit
                            } else {
                                v <= limit || number.is(v)
                            }
                    })
                } else {
                    let kind = if is_p {
                        Some(Kind::P)
                    } else if is_holm {
                        Some(Kind::Holm)
                    } else if before.ends_with("± ") {
                        Some(Kind::Std)
                    } else if number.sign.is_some() {
                        Some(Kind::Difference)
                    } else {
                        None
                    };
                    values().any(|(k, v)| kind.is_none_or(|kind| kind == k) && number.is(v))
                };
                if !ok {
                    failures.push(format!(
                        "line {}: {} is in no summary of {}",
                        first + offset + 1,
                        number.text(),
                        summaries_named(&text, summaries)
                    ));
                }
            }
        }
    }
    failures
}

fn summaries_named(section: &str, summaries: &BTreeMap<String, Value>) -> String {
    let scope = named(section, summaries.keys());
    if scope.is_empty() {
        "any study".into()
    } else {
        scope.join(", ")
    }
}

fn committed_summaries() -> BTreeMap<String, Value> {
    let mut summaries = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("docs/results")).unwrap() {
        let dir = entry.unwrap().path();
        let path = dir.join("summary.json");
        if path.is_file() {
            let json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            summaries.insert(name, json);
        }
    }
    assert!(summaries.len() >= 8, "the committed studies' summaries");
    summaries
}

/// A p-value where no test is defined (identical values, every seed censored) means
/// nothing; no committed summary holds one, and every summary holds its Holm-adjusted
/// p-values (so "Holm" numbers are checked against stored values).
#[test]
fn committed_summaries_hold_no_p_value_on_identical_or_censored_values() {
    let summaries = committed_summaries();
    let failures: Vec<String> = summaries
        .iter()
        .flat_map(|(name, summary)| undefined_p_values(name, summary))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (name, summary) in &summaries {
        let tested = summary.to_string().contains("\"p_value\":");
        let adjusted = summary.get("p_adjustment").and_then(Value::as_str);
        assert!(
            !tested || adjusted.is_some_and(|a| a.starts_with("holm")),
            "{name}: no Holm adjustment recorded (rewrite it: histinit report --keep-charts docs/results/{name})"
        );
    }
}

#[test]
fn findings_numbers_are_in_the_committed_summaries() {
    let findings = std::fs::read_to_string(root().join("docs/FINDINGS.md")).unwrap();
    let summaries = committed_summaries();
    let failures = check(&findings, &summaries);
    assert!(
        failures.is_empty(),
        "numbers in docs/FINDINGS.md that no committed summary.json holds at the printed precision:\n{}",
        failures.join("\n")
    );
    // The check is not vacuous: it reads a few hundred numbers.
    let checked: usize = prose(&findings).iter().map(|l| numbers(l).len()).sum();
    assert!(checked > 200, "only {checked} numbers checked");
}

/// How often a number of FINDINGS changed by one in its last digit is caught: each
/// number (bounds left out) is changed alone and the text checked again. A changed
/// number can still be the rounding of another value of its study and kind (a p of
/// 0.010 where the study also has a p of 0.011; a Holm value among 275; a range such
/// as "0.04–0.07 nats" in the opening table, checked against every study), so a
/// presence test cannot catch every change. When written, 452 of 526 changes were
/// caught; an interval with its p-value is caught whenever any of its four numbers
/// changes. The floor below guards against the checker becoming lax.
#[test]
fn findings_changed_by_one_in_a_last_digit_mostly_fails() {
    let findings = std::fs::read_to_string(root().join("docs/FINDINGS.md")).unwrap();
    let summaries = committed_summaries();
    let lines: Vec<&str> = findings.lines().collect();
    let cleaned = prose(&findings);
    let (mut tried, mut caught) = (0, 0);
    for (n, line) in cleaned.iter().enumerate() {
        for number in numbers(line) {
            // Raising a bound ("p < 0.001" to "p < 0.002") keeps it true: not a change
            // this test can or should catch.
            if line[..number.start].trim_end().ends_with(['<', '≤']) {
                continue;
            }
            let value: f64 = number.digits.parse().unwrap();
            let step = 10f64.powi(-(number.decimals as i32));
            let changed = format!("{:.*}", number.decimals, value + step);
            let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let sign_len = number.sign.map_or(0, char::len_utf8);
            let at = number.start + sign_len;
            edited[n].replace_range(at..number.end, &changed);
            tried += 1;
            if !check(&edited.join("\n"), &summaries).is_empty() {
                caught += 1;
            } else if std::env::var_os("FINDINGS_SHOW_MISSED").is_some() {
                eprintln!(
                    "missed: line {}: {} -> {changed}: {}",
                    n + 1,
                    number.text(),
                    line.trim()
                );
            }
        }
    }
    eprintln!("{caught} of {tried} one-digit changes caught");
    assert!(tried > 200);
    assert!(
        caught * 100 >= tried * 80,
        "only {caught} of {tried} one-digit changes caught"
    );
}

#[cfg(test)]
mod checker {
    use super::*;

    /// One study; its Holm family is 0.00018, 0.0168 and 0.3, adjusted 0.00054, 0.0336
    /// and 0.3.
    fn study() -> BTreeMap<String, Value> {
        let summary = serde_json::json!({
            "baseline": "kaiming",
            "variants": [{"name": "base", "settings": {"lr_scale": "0.5"}, "comparisons": [
                {"init": "kaiming", "final_val_loss_mean": 2.08881, "final_val_loss_std": 0.017443,
                 "speedups": [], "final_difference": null},
                {"init": "pythia", "final_val_loss_mean": 2.1005, "final_val_loss_std": 0.02,
                 "speedups": [],
                 "final_difference": {"difference": {"estimate": 0.012, "low": -0.016, "high": 0.036},
                                      "p_value": 0.3, "p_adjusted": 0.3, "seeds": 5, "per_seed": [0.01]}},
                {"init": "empirical", "final_val_loss_mean": 2.02746, "final_val_loss_std": 0.0222,
                 "speedups": [{"fraction": 1.0, "p_value": 0.00018, "p_adjusted": 0.00054, "per_seed": [1.4449], "reached": 5, "seeds": 5,
                               "speedup": {"estimate": 1.38263, "low": 1.33204, "high": 1.44937}}],
                 "final_difference": {"difference": {"estimate": -0.061357, "low": -0.077579, "high": -0.047664},
                                      "p_value": 0.0168, "p_adjusted": 0.0336, "seeds": 5, "per_seed": [-0.0646]}}
            ]}]
        });
        BTreeMap::from([("toy".to_string(), summary)])
    }

    const TEXT: &str =
        "## 1. Toy\n\n`toy` ([report](results/toy/report.md), 300 steps, peak LR 0.003, \
        about 1.5 hours on pythia-14m): kaiming 2.0888 ± 0.0174; empirical **1.38x [1.33, 1.45]** \
        (p < 0.001) and −0.061 [−0.078, −0.048], p 0.017 (Holm 0.034), ends 0.06 nats lower.\n\n\
        ```sh\nhistinit run --lr 0.0042\n```\n";

    #[test]
    fn accepts_numbers_the_summary_holds_and_exempts_configuration() {
        assert_eq!(check(TEXT, &study()), Vec::<String>::new());
        let line = &prose(TEXT)[2];
        let printed: Vec<String> = numbers(line).iter().map(Printed::text).collect();
        assert_eq!(
            printed,
            [
                "2.0888", "0.0174", "1.38", "1.33", "1.45", "0.001", "−0.061", "−0.078", "−0.048",
                "0.017", "0.034", "0.06"
            ]
        );
    }

    #[test]
    fn a_number_one_off_in_its_last_digit_fails() {
        for (right, wrong) in [
            ("2.0888 ±", "2.0889 ±"),
            ("± 0.0174", "± 0.0175"),
            ("1.38x", "1.39x"),
            ("[1.33,", "[1.32,"),
            ("−0.061 [", "−0.062 ["),
            ("−0.048]", "−0.047]"),
            ("p 0.017", "p 0.018"),
            ("Holm 0.034", "Holm 0.033"),
            ("0.06 nats", "0.07 nats"),
        ] {
            let text = TEXT.replacen(right, wrong, 1);
            assert_ne!(text, TEXT);
            let failures = check(&text, &study());
            assert_eq!(failures.len(), 1, "{wrong}: {failures:?}");
        }
    }

    #[test]
    fn a_number_rounded_twice_or_with_the_wrong_sign_fails() {
        // 1.44937 printed at one decimal is 1.4; rounded twice (→ 1.45 → 1.5) it is not.
        let text = TEXT.replacen("1.45]", "1.5]", 1);
        assert_eq!(check(&text, &study()).len(), 1);
        let text = TEXT.replacen("−0.061 [", "+0.061 [", 1);
        assert_eq!(check(&text, &study()).len(), 1);
        // A p-value (0.0168) printed where a standard deviation belongs is not one.
        let text = TEXT.replacen("± 0.0174", "± 0.0168", 1);
        assert_eq!(check(&text, &study()).len(), 1);
    }

    #[test]
    fn an_interval_split_across_lines_fails() {
        let text = TEXT.replacen("[1.33, 1.45]", "[1.33,\n1.45]", 1);
        assert_eq!(check(&text, &study()).len(), 1);
        let text = TEXT.replacen("1.38x [1.33", "1.38x\n[1.33", 1);
        assert_eq!(check(&text, &study()).len(), 1);
    }

    #[test]
    fn a_p_value_on_identical_or_censored_values_is_rejected() {
        let with = |speedup: Value, difference: Value| {
            serde_json::json!({"baseline": "kaiming", "variants": [{"name": "base", "comparisons": [
                {"init": "empirical", "speedups": [speedup], "final_difference": difference}]}]})
        };
        let speedup = |reached: usize, per_seed: Value, p: Value| {
            serde_json::json!({"fraction": 1.0, "seeds": 3, "reached": reached, "per_seed": per_seed,
                               "speedup": null, "p_value": p})
        };
        let difference = |per_seed: Value, p: Value, tost: Value| {
            serde_json::json!({"seeds": 3, "per_seed": per_seed, "p_value": p,
                               "difference": {"estimate": 0.0, "low": 0.0, "high": 0.0},
                               "equivalence": {"margin": 0.02, "p_value": tost}})
        };
        let fine = with(
            speedup(2, serde_json::json!([1.1, 1.2, 1.0]), 0.3.into()),
            difference(
                serde_json::json!([0.01, 0.02, 0.0]),
                0.2.into(),
                0.04.into(),
            ),
        );
        assert_eq!(undefined_p_values("t", &fine), Vec::<String>::new());
        // The same without p-values where none is defined: also fine.
        let none = with(
            speedup(0, serde_json::json!([0.5, 0.6, 0.5]), Value::Null),
            difference(
                serde_json::json!([0.01, 0.01, 0.01]),
                Value::Null,
                Value::Null,
            ),
        );
        assert_eq!(undefined_p_values("t", &none), Vec::<String>::new());
        for bad in [
            // Every seed censored (0 reached), although the bounds differ.
            with(
                speedup(0, serde_json::json!([0.5, 0.6, 0.5]), 0.42.into()),
                Value::Null,
            ),
            // Every seed at one value: a t-test "p 0" on no spread.
            with(
                speedup(3, serde_json::json!([300.0, 300.0, 300.0]), 0.0.into()),
                Value::Null,
            ),
            with(
                speedup(2, serde_json::json!([1.1, 1.2, 1.0]), 0.3.into()),
                difference(
                    serde_json::json!([0.01, 0.01, 0.01]),
                    0.0.into(),
                    Value::Null,
                ),
            ),
            with(
                speedup(2, serde_json::json!([1.1, 1.2, 1.0]), 0.3.into()),
                difference(
                    serde_json::json!([0.01, 0.01, 0.01]),
                    Value::Null,
                    0.0.into(),
                ),
            ),
        ] {
            assert_eq!(undefined_p_values("t", &bad).len(), 1, "{bad}");
        }
    }

    #[test]
    fn a_bound_is_checked_as_a_bound() {
        let text = TEXT.replacen("(p < 0.001)", "(p < 0.0001)", 1);
        assert_eq!(check(&text, &study()).len(), 1);
    }
}
