//! `histinit report DIR`: report.md and PNG charts for a finished sweep, from its
//! stored files only: summary.json, and the run files under runs/ that it was computed
//! from (so DIR is a sweep's output directory; a published `docs/results/<study>` keeps
//! no runs and is rewritten by `bash experiments/run-all.sh --publish <study>`). Every
//! sentence of the verdicts is generated from summary.json's numbers; nothing is
//! written by hand.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use histinit_charts::{
    distance_series, draw_lines, grad_series, loss_series, Axes, Series, UPDATES_AXIS,
};
use histinit_core::run::RunResult;
use histinit_core::stats::{Comparison, FinalDifference, Interval, SpeedupAt};
use histinit_core::InitMethod;
use histinit_files::fs::FileError;
use plotters::prelude::*;

use crate::summary::{format_p, p_is, SweepSummary, VariantSummary};
use crate::sweep::{stored_runs, SweepConfig, SweepError};
use histinit_files::fs::write_atomically;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("no TrueType font for the charts' text (looked in {0}); install fonts-dejavu-core or pass --font")]
    NoFont(String),
    #[error("no runs/ in {0}: a report is drawn from the runs a sweep stored, so give it the sweep's output directory (out/sweeps/<name>); `bash experiments/run-all.sh --publish <name>` writes a published study's report again, and `histinit report --keep-charts docs/results/<name>` its text alone")]
    NoRuns(PathBuf),
    #[error(transparent)]
    Runs(#[from] SweepError),
    #[error("chart {path}: {reason}")]
    Chart { path: PathBuf, reason: String },
}

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|err| {
        ReportError::File(FileError::Read {
            path: path.into(),
            source: err,
        })
    })
}

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn register_font(font: Option<&Path>) -> Result<(), ReportError> {
    let candidates: Vec<PathBuf> = match font {
        Some(path) => vec![path.to_path_buf()],
        None => FONT_PATHS.iter().map(PathBuf::from).collect(),
    };
    for path in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            // plotters keeps registered fonts for the whole process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
    }
    Err(ReportError::NoFont(
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 420;

/// Draws `series` into an RGB buffer and writes it as a PNG.
fn chart_png(path: &Path, axes: Axes<'_>, series: &[Series]) -> Result<(), ReportError> {
    let failed = |reason: String| ReportError::Chart {
        path: path.into(),
        reason,
    };
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw_lines(&area, axes, series).map_err(failed)?;
    }
    let png = encode_png(&pixels, WIDTH, HEIGHT).map_err(|err| failed(err.to_string()))?;
    write_atomically(path, &png).map_err(|err| {
        ReportError::File(FileError::Write {
            path: path.into(),
            source: err,
        })
    })
}

/// A minimal PNG (8-bit RGB, no filtering, zlib through flate2). See Cargo.toml for why
/// not the png crate.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::io::Result<Vec<u8>> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = (width * 3) as usize;
    for line in rgb.chunks(row) {
        encoder.write_all(&[0])?;
        encoder.write_all(line)?;
    }
    let data = encoder.finish()?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn file_stem(variant: &str) -> String {
    variant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn format_interval(interval: &Interval, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}, {:.d$}]",
        interval.estimate,
        interval.low,
        interval.high,
        d = digits
    )
}

fn format_signed(interval: &Interval) -> String {
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
fn rejects(raw: Option<f64>, adjusted: Option<f64>) -> bool {
    decisive(raw, adjusted).is_some_and(|p| p < 0.05)
}

/// "p = 0.004, Holm p = 0.030" (or the raw one alone where nothing was adjusted, or why
/// there is none).
fn both_p(raw: Option<f64>, adjusted: Option<f64>) -> String {
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

/// The first update the zoomed loss chart shows: the last 30% of `steps`.
fn zoom_from(steps: usize) -> f64 {
    (steps as f64 * 0.7).floor().max(1.0)
}

/// The validation-loss series from update `from` on (training loss left out: it is
/// noisier than the differences the zoom is for).
fn zoomed(series: Vec<Series>, from: f64) -> Vec<Series> {
    series
        .into_iter()
        .filter(|s| !s.faint)
        .map(|mut s| {
            s.points.retain(|&(x, _)| x >= from);
            s.band.retain(|&(x, _, _)| x >= from);
            s
        })
        .collect()
}

/// One init's speedups against progress: measured where every seed reached the
/// baseline's loss (line and 95% band), an upper bound where some seed never did (drawn
/// as a bound, outside the line and band).
fn speedup_series(c: &Comparison, colour: usize) -> Series {
    let mut series = Series::line(c.init.name(), colour, Vec::new());
    for s in &c.speedups {
        let Some(i) = s.speedup else { continue };
        if s.reached < s.seeds {
            series.upper_bounds.push((s.fraction, i.estimate));
        } else {
            series.points.push((s.fraction, i.estimate));
            series.band.push((s.fraction, i.low, i.high));
        }
    }
    series
}

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
fn write_validation(md: &mut String, summary: &SweepSummary) {
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
fn write_interactions(md: &mut String, summary: &SweepSummary) {
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

/// Whether a report draws its charts from the sweep's runs or keeps the ones beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charts {
    /// Draw every chart from `runs/` (a sweep's output directory).
    Draw,
    /// Keep the charts already in the folder and rewrite only the text (report.md,
    /// summary.json, comparisons.csv) from summary.json: a published study folder
    /// (docs/results/<study>) holds no runs, and its text must follow the current rules
    /// (which p-values are defined, the Holm family). summary.json is written again from
    /// what was read: serde_json's float parser (without `float_roundtrip`, which would
    /// rebuild Burn) can move a value by one unit in its 17th significant digit.
    Keep,
}

/// A chart the report keeps rather than draws ([`Charts::Keep`]): linked where the
/// folder has it (a folder published before a chart existed has not), and at least the
/// loss chart must be there.
fn kept_chart(dir: &Path, png: &str) -> Result<(), ReportError> {
    let path = dir.join(png);
    if path.is_file() || !png.ends_with("-loss.png") {
        Ok(())
    } else {
        Err(ReportError::Chart {
            path,
            reason: "not in the folder: keeping the charts needs the charts (draw them from the sweep's runs instead)".into(),
        })
    }
}

/// Writes the report of the sweep in `dir` (report.md and its charts); with the charts
/// kept, also the summary it decided on (summary.json and comparisons.csv, with the
/// p-values the current rules define and their Holm adjustment).
pub fn run(dir: &Path, font: Option<&Path>, charts: Charts) -> Result<(), ReportError> {
    let (summary, config, runs) = load(dir, font, charts)?;
    // One colour per init in every chart, in the config's order.
    let inits = &config.base.inits;
    let baseline = summary.baseline;
    let mut md = String::new();
    write_header(&mut md, &summary, charts);
    write_validation(&mut md, &summary);
    write_interactions(&mut md, &summary);
    write_initial_roles(&mut md, &summary);
    write_best_setting(&mut md, &summary);
    write_verdicts(&mut md, &summary);
    for (index, variant) in summary.variants.iter().enumerate() {
        // Drawn from the variant's runs; with the charts kept, the folder's own.
        let own = runs.as_ref().map(|runs| runs[index].1.as_slice());
        write_variant(&mut md, dir, variant, own, inits, baseline)?;
    }
    let _ = writeln!(md, "## Config\n\n```toml\n{}```", summary.config);
    // A sweep's own summary.json and comparisons.csv were written by the same rules and
    // stay as written (byte for byte what a sharded sweep's aggregate gives); a kept
    // folder's are rewritten to follow the report.
    let mut files = vec![("report.md", md)];
    if charts == Charts::Keep {
        let json = summary.to_json().map_err(|err| ReportError::Invalid {
            path: dir.join("summary.json"),
            reason: err.to_string(),
        })?;
        files.push(("summary.json", json));
        files.push(("comparisons.csv", summary.comparisons_csv()));
    }
    for (name, text) in files {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes()).map_err(|err| {
            ReportError::File(FileError::Write {
                path: path.clone(),
                source: err,
            })
        })?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// A sweep's summary (its p-values Holm-adjusted), its config, and with [`Charts::Draw`]
/// its runs (checked to be the summary's variants) with the charts' font registered.
type Loaded = (
    SweepSummary,
    SweepConfig,
    Option<Vec<(crate::sweep::Variant, Vec<RunResult>)>>,
);

fn load(dir: &Path, font: Option<&Path>, charts: Charts) -> Result<Loaded, ReportError> {
    let summary_path = dir.join("summary.json");
    let invalid = |reason: String| ReportError::Invalid {
        path: summary_path.clone(),
        reason,
    };
    let mut summary = serde_json::from_str::<SweepSummary>(&read(&summary_path)?)
        .map_err(|err| invalid(err.to_string()))?;
    // The same Holm adjustment the sweep wrote (a no-op then); a summary written before
    // adjusted p-values gets them here, so every verdict is decided on one.
    summary.adjust_p_values();
    let config = SweepConfig::parse(&summary.config, &summary_path)?;
    let runs = match charts {
        Charts::Draw => {
            if !dir.join("runs").is_dir() {
                return Err(ReportError::NoRuns(dir.into()));
            }
            let runs = stored_runs(&config, summary.backend, dir)?;
            if !runs
                .iter()
                .map(|(variant, _)| &variant.name)
                .eq(summary.variants.iter().map(|variant| &variant.name))
            {
                return Err(invalid(
                    "its variants are not its config's: run the sweep again to rewrite it".into(),
                ));
            }
            register_font(font)?;
            Some(runs)
        }
        Charts::Keep => None,
    };
    Ok((summary, config, runs))
}

/// The title, how the study was made and what its numbers mean.
fn write_header(md: &mut String, summary: &SweepSummary, charts: Charts) {
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
fn write_initial_roles(md: &mut String, summary: &SweepSummary) {
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
fn write_best_setting(md: &mut String, summary: &SweepSummary) {
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
fn write_verdicts(md: &mut String, summary: &SweepSummary) {
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

/// One variant's section: settings, link, verdicts and charts (drawn from `own`, its
/// runs, or with the charts kept the folder's own).
fn write_variant(
    md: &mut String,
    dir: &Path,
    variant: &VariantSummary,
    own: Option<&[RunResult]>,
    inits: &[InitMethod],
    baseline: InitMethod,
) -> Result<(), ReportError> {
    let colour = |init: InitMethod| inits.iter().position(|&i| i == init).unwrap_or(0);
    let stem = file_stem(&variant.name);
    let _ = writeln!(md, "## Variant `{}`\n", variant.name);
    let settings: Vec<String> = variant
        .settings
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    if !settings.is_empty() {
        let _ = writeln!(md, "Settings: {}.\n", settings.join(", "));
    }
    let _ = writeln!(
        md,
        "Watch it in the playground: [`?{}`](../../../index.html?{}) (one seed at a time; the page runs on your device).\n",
        variant.link, variant.link
    );
    for c in variant.comparisons.iter().filter(|c| c.init != baseline) {
        let _ = writeln!(md, "- {}", verdict(c, baseline));
    }
    md.push('\n');

    let chart = |png: &str, axes: Axes<'_>, series: &dyn Fn(&[RunResult]) -> Vec<Series>| match own
    {
        Some(own) => chart_png(&dir.join(png), axes, &series(own)),
        None => kept_chart(dir, png),
    };
    let loss_png = format!("{stem}-loss.png");
    chart(
        &loss_png,
        Axes {
            title: "validation loss (mean over seeds, band: min to max; training loss faint)",
            x_label: UPDATES_AXIS,
            y_label: "loss (nats/token)",
            log_x: false,
            log_y: false,
            init_x: None,
            legend_above: false,
        },
        &|own| loss_series(inits, own),
    )?;
    // The last 30% of training, where the final differences are made, on its own
    // y range (on the full chart they are a few pixels apart).
    let zoom_png = format!("{stem}-loss-end.png");
    let zoom_title = format!(
        "validation loss over the last 30% of training (from update {})",
        zoom_from(variant.steps)
    );
    chart(
        &zoom_png,
        Axes {
            title: &zoom_title,
            x_label: UPDATES_AXIS,
            y_label: "loss (nats/token)",
            log_x: false,
            log_y: false,
            init_x: None,
            legend_above: false,
        },
        &|own| zoomed(loss_series(inits, own), zoom_from(variant.steps)),
    )?;
    let early = (variant.steps / 4).clamp(10, 100) as f64;
    let grads = |own: &[RunResult]| {
        let mut grads = grad_series(inits, own);
        for series in &mut grads {
            series.points.retain(|&(updates, _)| updates <= early);
        }
        grads
    };
    let grads_png = format!("{stem}-grads.png");
    chart(
        &grads_png,
        Axes {
            title: "early gradient norm (before clipping, mean over seeds)",
            x_label: UPDATES_AXIS,
            y_label: "global gradient norm",
            log_x: false,
            log_y: true,
            init_x: None,
            legend_above: false,
        },
        &grads,
    )?;

    let mut speed_series = vec![{
        let mut one = Series::line(
            format!("{} (1x)", baseline.name()),
            colour(baseline),
            vec![(0.1, 1.0), (1.0, 1.0)],
        );
        one.faint = true;
        one
    }];
    // `trained` (hundreds of times faster by construction) would flatten the rest.
    for c in variant
        .comparisons
        .iter()
        .filter(|c| c.init != baseline && c.init != InitMethod::Trained)
    {
        speed_series.push(speedup_series(c, colour(c.init)));
    }
    let speed_png = format!("{stem}-speedup.png");
    chart(
        &speed_png,
        Axes {
            title: "speedup against progress (band: 95% CI; ○↓: upper bound; trained left out)",
            x_label: "fraction of the baseline's steps",
            y_label: "speedup",
            log_x: false,
            log_y: false,
            init_x: None,
            legend_above: false,
        },
        &|_| speed_series.clone(),
    )?;
    // Kept charts: a folder published before a chart existed links the ones it has.
    let images: String = [
        ("validation loss", &loss_png),
        ("validation loss, last 30%", &zoom_png),
        ("speedup against progress", &speed_png),
        ("early gradient norms", &grads_png),
    ]
    .iter()
    .filter(|(_, png)| own.is_some() || dir.join(png).is_file())
    .map(|(alt, png)| format!("![{alt}]({png})\n"))
    .collect();
    let _ = writeln!(
        md,
        "{images}\n\
         In the speedup chart an open circle with an arrow down is an upper bound, not a measurement: some seed never \
         reached {}'s loss at that point, and it counts at its best possible value.\n",
        baseline.name()
    );

    let distance_png = format!("{stem}-distance.png");
    let has_distances = match own {
        Some(own) => own.iter().any(|run| !run.distances.is_empty()),
        None => dir.join(&distance_png).is_file(),
    };
    if has_distances {
        chart(
            &distance_png,
            Axes {
                title: "distance of the weights to the teacher's distribution",
                x_label: UPDATES_AXIS,
                y_label: "W1 / teacher std (mean of parts)",
                log_x: false,
                // Standard inits sit orders of magnitude further away than the rest.
                log_y: true,
                init_x: None,
                legend_above: false,
            },
            &|own| distance_series(inits, own),
        )?;
        let _ = writeln!(
            md,
            "![distance to the teacher's distribution]({distance_png})"
        );
    }
    md.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pngs_have_a_valid_structure() {
        let png = encode_png(&[255, 0, 0, 0, 255, 0], 2, 1).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        // The IDAT payload inflates back to one filter byte and the pixels.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut decoder = flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut decoder, &mut raw).unwrap();
        assert_eq!(raw, vec![0, 255, 0, 0, 0, 255, 0]);
    }

    fn comparison(reached: usize, low: f64, p_value: f64) -> Comparison {
        use histinit_core::stats::{FinalDifference, SpeedupAt};
        let interval = |estimate, low, high| Interval {
            estimate,
            low,
            high,
        };
        Comparison {
            init: InitMethod::GaussianMatched,
            runs: 6,
            diverged: 0,
            final_val_loss_mean: 1.5,
            final_val_loss_std: 0.03,
            speedups: vec![SpeedupAt {
                fraction: 1.0,
                seeds: 6,
                reached,
                per_seed: vec![1.1, 1.2, 1.3, 1.15, 1.25, 1.2],
                speedup: Some(interval(1.2, low, 1.31)),
                p_value: Some(p_value),
                p_adjusted: None,
            }],
            final_difference: Some(FinalDifference {
                seeds: 6,
                per_seed: vec![-0.04, -0.05, -0.06, -0.045, -0.055, -0.05],
                difference: interval(-0.048, -0.074, -0.021),
                p_value: Some(0.024),
                p_adjusted: None,
                equivalence: None,
            }),
        }
    }

    /// A final-loss comparison from per-seed differences, tested as the sweep does
    /// (t-test, TOST at `margin`), then Holm-adjusted within a sweep of `others` more
    /// tests with the raw p-values given.
    fn final_loss(per_seed: &[f64], margin: f64, others: &[f64]) -> Comparison {
        use histinit_core::stats::{bootstrap_mean, paired_t_p_value, Equivalence};
        let mut c = comparison(6, 1.10, 0.014);
        c.speedups.clear();
        c.final_difference = Some(FinalDifference {
            seeds: per_seed.len(),
            per_seed: per_seed.to_vec(),
            difference: bootstrap_mean(per_seed, 1),
            p_value: paired_t_p_value(per_seed),
            p_adjusted: None,
            equivalence: Some(Equivalence::test(per_seed, margin)),
        });
        let other = |p_value: f64| SpeedupAt {
            fraction: 1.0,
            seeds: 5,
            reached: 5,
            per_seed: vec![0.9, 1.0, 1.1, 0.95, 1.05],
            speedup: None,
            p_value: Some(p_value),
            p_adjusted: None,
        };
        let mut filler = comparison(6, 1.10, 0.014);
        filler.init = InitMethod::Pythia;
        filler.speedups = others.iter().map(|&p| other(p)).collect();
        filler.final_difference = None;
        let mut summary = SweepSummary {
            name: "t".into(),
            description: String::new(),
            baseline: InitMethod::Kaiming,
            seeds: per_seed.len(),
            backend: Default::default(),
            commit: None,
            config: String::new(),
            equivalence_margin: Some(margin),
            p_adjustment: None,
            initial_roles: Vec::new(),
            interactions: Vec::new(),
            variants: vec![crate::summary::VariantSummary {
                name: "base".into(),
                settings: Default::default(),
                link: String::new(),
                steps: 10,
                validation: None,
                comparisons: vec![c, filler],
            }],
        };
        summary.adjust_p_values();
        summary.variants.remove(0).comparisons.remove(0)
    }

    #[test]
    fn final_losses_are_called_equivalent_different_or_inconclusive() {
        let shifted = |mean: f64, spread: f64| -> Vec<f64> {
            [-1.0, -0.5, 0.0, 0.5, 1.0]
                .iter()
                .map(|u| mean + spread * u)
                .collect()
        };
        // Pinned near zero: equivalent within ±0.02.
        let tight = final_loss(&shifted(0.001, 0.004), 0.02, &[]);
        let text = verdict(&tight, InitMethod::Kaiming);
        assert!(
            text.contains("final loss **equivalent within ±0.02 nats** to kaiming's"),
            "{text}"
        );
        let d = tight.final_difference.as_ref().unwrap();
        assert_eq!(FinalLoss::of(d).label(d), "equivalent within ±0.02");
        // The same data against a margin they cannot pin: inconclusive, not "the same".
        let narrow = final_loss(&shifted(0.001, 0.004), 0.001, &[]);
        let text = verdict(&narrow, InitMethod::Kaiming);
        assert!(text.contains("final loss **inconclusive**"), "{text}");
        // Clearly higher: different.
        let far = final_loss(&shifted(0.06, 0.01), 0.02, &[]);
        let text = verdict(&far, InitMethod::Kaiming);
        assert!(
            text.contains("final loss **different**: ends **higher** by 0.0600"),
            "{text}"
        );
        // Too noisy to tell: inconclusive.
        let noisy = final_loss(&shifted(0.005, 0.05), 0.02, &[]);
        let text = verdict(&noisy, InitMethod::Kaiming);
        assert!(text.contains("final loss **inconclusive**"), "{text}");
        assert!(
            text.contains("equivalence test (TOST, ±0.02 nats)"),
            "{text}"
        );
    }

    /// A published folder (no runs/) written before the rule on undefined p-values: its
    /// text, summary and table are rewritten from the summary, the charts kept.
    #[test]
    fn a_published_folder_is_rewritten_with_its_charts_kept() {
        let published =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results/fair-nano-vs-pythia");
        let dir = std::env::temp_dir().join(format!("histinit-report-keep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&published).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        // As summaries held it before: a t-test p of 1 where no seed of kaiming reached
        // pythia's final loss (every value censored), and no Holm values.
        let mut summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let kaiming = summary["variants"][0]["comparisons"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| c["init"] == "kaiming")
            .unwrap();
        let at_end = kaiming["speedups"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["fraction"] == 1.0)
            .unwrap();
        assert_eq!(at_end["reached"], 0);
        at_end["p_value"] = 1.0.into();
        strip_adjusted(&mut summary);
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
        let charts_before = std::fs::read(dir.join("base-loss.png")).unwrap();

        run(&dir, None, Charts::Keep).unwrap();
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            report.contains("≤ 1.00 [1.00, 1.00] (0/20, never reached)"),
            "{report}"
        );
        assert!(report.contains("![validation loss](base-loss.png)"));
        assert_eq!(
            std::fs::read(dir.join("base-loss.png")).unwrap(),
            charts_before
        );
        let rewritten: SweepSummary =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let kaiming = rewritten.variants[0]
            .comparisons
            .iter()
            .find(|c| c.init == InitMethod::Kaiming)
            .unwrap();
        let at_end = kaiming.speedups.iter().find(|s| s.fraction == 1.0).unwrap();
        assert_eq!((at_end.p_value, at_end.p_adjusted), (None, None));
        // Every other test got its Holm value back.
        let difference = kaiming.final_difference.as_ref().unwrap();
        assert!(difference.p_adjusted.is_some());
        let csv = std::fs::read_to_string(dir.join("comparisons.csv")).unwrap();
        assert!(csv.contains("\nbase,kaiming,speedup@1,20,"), "{csv}");
        let row = csv
            .lines()
            .find(|l| l.starts_with("base,kaiming,speedup@1,"))
            .unwrap();
        assert!(row.ends_with(",,"), "{row}");
        // Without the loss chart there is nothing to keep.
        std::fs::remove_file(dir.join("base-loss.png")).unwrap();
        assert!(matches!(
            run(&dir, None, Charts::Keep),
            Err(ReportError::Chart { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn strip_adjusted(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("p_adjusted");
                map.remove("p_adjustment");
                map.values_mut().for_each(strip_adjusted);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_adjusted),
            _ => {}
        }
    }

    #[test]
    fn verdicts_are_decided_on_the_holm_adjusted_p_value() {
        // A lower final loss with raw p ≈ 0.01: different on its own...
        let per_seed = [-0.03, -0.01, -0.05, -0.02, -0.04];
        let alone = final_loss(&per_seed, 0.005, &[]);
        let raw = alone.final_difference.as_ref().unwrap().p_value.unwrap();
        assert!((0.001..0.02).contains(&raw), "{raw}");
        assert!(verdict(&alone, InitMethod::Kaiming).contains("**different**: ends **lower**"));
        // ...but not in a sweep of 11 tests (9 others, all p 0.5, and its TOST, p near
        // 1): the smallest p is multiplied by the family's size, 11.
        let crowded = final_loss(&per_seed, 0.005, &[0.5; 9]);
        let d = crowded.final_difference.as_ref().unwrap();
        let adjusted = d.p_adjusted.unwrap();
        assert!((adjusted - raw * 11.0).abs() < 1e-12, "{raw} -> {adjusted}");
        assert!(adjusted > 0.05, "{adjusted}");
        let text = verdict(&crowded, InitMethod::Kaiming);
        assert!(text.contains("final loss **inconclusive**"), "{text}");
        // Both p-values are printed.
        assert!(
            text.contains(&format!("p = {raw:.3}, Holm p = {adjusted:.3}")),
            "{text}"
        );
        // The same for speed: significant raw, not after adjustment.
        let mut speed = comparison(6, 1.10, 0.014);
        speed.speedups[0].p_adjusted = Some(0.07);
        let text = verdict(&speed, InitMethod::Kaiming);
        assert!(text.contains("**no clear difference in speed**"), "{text}");
        assert!(text.contains("p = 0.014, Holm p = 0.070"), "{text}");
        speed.speedups[0].p_value = Some(0.0002);
        speed.speedups[0].p_adjusted = Some(0.0004);
        let text = verdict(&speed, InitMethod::Kaiming);
        assert!(
            text.contains("p < 0.001, Holm p < 0.001") && !text.contains("0.000"),
            "{text}"
        );
    }

    #[test]
    fn the_zoomed_loss_keeps_the_last_30_percent_of_validation_loss() {
        let mut val = Series::line(
            "kaiming val",
            0,
            (1..=10).map(|x| (x as f64 * 10.0, 5.0)).collect(),
        );
        val.band = val
            .points
            .iter()
            .map(|&(x, y)| (x, y - 0.1, y + 0.1))
            .collect();
        let train = Series {
            faint: true,
            ..Series::line("", 0, vec![(90.0, 4.0)])
        };
        assert_eq!(zoom_from(100), 70.0);
        let zoomed = zoomed(vec![train, val], zoom_from(100));
        assert_eq!(zoomed.len(), 1, "training loss left out");
        assert_eq!(
            zoomed[0].points,
            [(70.0, 5.0), (80.0, 5.0), (90.0, 5.0), (100.0, 5.0)]
        );
        assert_eq!(zoomed[0].band.len(), 4);
    }

    #[test]
    fn censored_speedups_are_drawn_as_bounds() {
        let mut c = comparison(6, 1.10, 0.014);
        let at = |fraction: f64, reached: usize| SpeedupAt {
            fraction,
            reached,
            ..c.speedups[0].clone()
        };
        c.speedups = vec![at(0.1, 6), at(0.25, 6), at(0.5, 4), at(1.0, 0)];
        let series = speedup_series(&c, 2);
        assert_eq!(series.points, [(0.1, 1.2), (0.25, 1.2)]);
        assert_eq!(series.band.len(), 2);
        assert_eq!(series.upper_bounds, [(0.5, 1.2), (1.0, 1.2)]);
    }

    #[test]
    fn a_speedup_is_called_only_when_every_seed_got_there() {
        let all = verdict(&comparison(6, 1.10, 0.014), InitMethod::Kaiming);
        assert!(
            all.contains("**faster**: reaches kaiming's final loss 1.20x sooner"),
            "{all}"
        );
        // One seed never reached the target: the estimate is an upper bound, not a call.
        let most = verdict(&comparison(5, 1.10, 0.014), InitMethod::Kaiming);
        assert!(most.contains("**faster not called**"), "{most}");
        assert!(
            most.contains("1 of 6 seeds never reached kaiming's final loss"),
            "{most}"
        );
        // An interval that includes 1, or a t-test that disagrees: no difference.
        for (low, p) in [(0.95, 0.014), (1.10, 0.2)] {
            let unclear = verdict(&comparison(6, low, p), InitMethod::Kaiming);
            assert!(
                unclear.contains("**no clear difference in speed**"),
                "{unclear}"
            );
        }
        // Not one seed reached it, and the final difference is not called: said as a
        // fact, not as "no clear difference".
        let none = verdict(&comparison(0, 0.95, 0.2), InitMethod::Kaiming);
        assert!(
            none.contains("**never reached** kaiming's final loss: 0 of 6 seeds got there")
                && !none.contains("no clear difference in speed"),
            "{none}"
        );
        // Every seed at the same value: no test, and the table says why.
        let mut same = comparison(6, 1.2, 0.014);
        same.speedups[0].per_seed = vec![1.2; 6];
        same.speedups[0].speedup = Some(Interval {
            estimate: 1.2,
            low: 1.2,
            high: 1.2,
        });
        same.speedups[0].p_value = None;
        let text = verdict(&same, InitMethod::Kaiming);
        assert!(
            text.contains("**faster in every seed**: reaches kaiming's final loss 1.20x in each of the 6 seeds (identical values: no test)"),
            "{text}"
        );
        assert!(all.contains("ends **lower** by 0.0480 nats"), "{all}");
        // Without a Holm-adjusted p (a summary from before them) the raw one decides.
        assert!(all.contains("p = 0.014, 6 seeds"), "{all}");
    }
}
