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
use histinit_core::stats::{Comparison, Interval};
use histinit_core::InitMethod;
use plotters::prelude::*;

use crate::output::write_atomically;
use crate::summary::SweepSummary;
use crate::sweep::{stored_runs, SweepConfig, SweepError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("no TrueType font for the charts' text (looked in {0}); install fonts-dejavu-core or pass --font")]
    NoFont(String),
    #[error("no runs/ in {0}: a report is drawn from the runs a sweep stored, so give it the sweep's output directory (out/sweeps/<name>); `bash experiments/run-all.sh --publish <name>` writes a published study's report again")]
    NoRuns(PathBuf),
    #[error(transparent)]
    Runs(#[from] SweepError),
    #[error("chart {path}: {reason}")]
    Chart { path: PathBuf, reason: String },
}

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|err| ReportError::Read {
        path: path.into(),
        reason: err.to_string(),
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
    write_atomically(path, &png).map_err(|err| ReportError::Write {
        path: path.into(),
        reason: err.to_string(),
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

/// The generated verdict on one init against the baseline.
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
        .is_some_and(|d| d.difference.low > 0.0 && d.p_value < 0.05);
    // A verdict needs the bootstrap interval to exclude 1 and the t-test to agree.
    match at(1.0).and_then(|s| s.speedup.map(|i| (s, i))) {
        Some((s, i)) if s.reached == s.seeds && i.low > 1.0 && s.p_value < 0.05 => {
            parts.push(format!(
                "**faster**: reaches {base}'s final loss {:.2}x sooner (95% CI {:.2}–{:.2}, p = {:.3}, {} seeds)",
                i.estimate, i.low, i.high, s.p_value, s.seeds
            ))
        }
        // Most seeds never got where the baseline got, and they end clearly higher:
        // slower, whatever the bound says. Ending a hair higher is not slower.
        Some((s, i)) if s.reached * 2 < s.seeds && ends_higher => parts.push(format!(
            "**slower**: only {} of {} seeds reach {base}'s final loss within the run (speedup at most {:.2}x)",
            s.reached, s.seeds, i.estimate
        )),
        Some((s, i)) if i.high < 1.0 && s.p_value < 0.05 => parts.push(format!(
            "**slower**: {:.2}x {base}'s speed to its final loss (95% CI {:.2}–{:.2}, p = {:.3}; {} of {} seeds got there)",
            i.estimate, i.low, i.high, s.p_value, s.reached, s.seeds
        )),
        // Looks faster, but a seed that never got there counts at its best possible
        // value, so the estimate and its interval are only upper bounds.
        Some((s, i)) if i.low > 1.0 && s.p_value < 0.05 => parts.push(format!(
            "**faster not called**: {:.2}x (95% CI {:.2}–{:.2}, p = {:.3}), but {} of {} seeds never reached {base}'s final loss, so that is an upper bound",
            i.estimate, i.low, i.high, s.p_value, s.seeds - s.reached, s.seeds
        )),
        Some((s, i)) => parts.push(format!(
            "**no clear difference in speed**: {:.2}x (95% CI {:.2}–{:.2}, p = {:.3}; {} of {} seeds reached {base}'s final loss)",
            i.estimate, i.low, i.high, s.p_value, s.reached, s.seeds
        )),
        None => parts.push("no speed comparison (no paired runs)".into()),
    }
    if let Some(early) = at(0.1).and_then(|s| s.speedup.map(|i| (s, i))) {
        let (s, i) = early;
        if s.reached == s.seeds && i.low > 1.0 && s.p_value < 0.05 {
            parts.push(format!(
                "early on (10% of {base}'s steps) {:.2}x faster (CI {:.2}–{:.2})",
                i.estimate, i.low, i.high
            ));
        } else if i.high < 1.0 && s.p_value < 0.05 {
            parts.push(format!(
                "early on (10% of {base}'s steps) {:.2}x, slower (CI {:.2}–{:.2})",
                i.estimate, i.low, i.high
            ));
        }
    }
    if let Some(d) = &comparison.final_difference {
        let i = d.difference;
        let sentence = if i.high < 0.0 && d.p_value < 0.05 {
            format!(
                "ends **lower** by {:.4} nats (CI {:.4}–{:.4}, paired t-test p = {:.3})",
                -i.estimate, -i.high, -i.low, d.p_value
            )
        } else if i.low > 0.0 && d.p_value < 0.05 {
            format!(
                "ends **higher** by {:.4} nats (CI {:.4}–{:.4}, p = {:.3})",
                i.estimate, i.low, i.high, d.p_value
            )
        } else {
            format!(
                "final loss not clearly different from {base}'s ({:+.4}, CI {:+.4}–{:+.4}, p = {:.3})",
                i.estimate, i.low, i.high, d.p_value
            )
        };
        parts.push(sentence);
    }
    format!("{name}: {}.", parts.join("; "))
}

pub fn run(dir: &Path, font: Option<&Path>) -> Result<(), ReportError> {
    let summary_path = dir.join("summary.json");
    let invalid = |reason: String| ReportError::Invalid {
        path: summary_path.clone(),
        reason,
    };
    let summary = serde_json::from_str::<SweepSummary>(&read(&summary_path)?)
        .map_err(|err| invalid(err.to_string()))?;
    if !dir.join("runs").is_dir() {
        return Err(ReportError::NoRuns(dir.into()));
    }
    let config = SweepConfig::parse(&summary.config, &summary_path)?;
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
    // One colour per init in every chart, in the config's order.
    let inits = &config.base.inits;
    let colour = |init: InitMethod| inits.iter().position(|&i| i == init).unwrap_or(0);
    let baseline = summary.baseline;

    let mut md = String::new();
    let _ = writeln!(md, "# Study `{}`\n", summary.name);
    if !summary.description.is_empty() {
        let _ = writeln!(md, "{}\n", summary.description);
    }
    let _ = writeln!(
        md,
        "Generated by `histinit report` from the sweep's summary.json and runs (commit {}); do not edit by hand: \
         rerun with `bash experiments/run-all.sh {}`. {} seed{} per init, paired by seed (same batches and validation set); \
         baseline `{}`. Speedup = {}'s updates to reach a loss / this init's updates to reach it, at the loss {} has after \
         10%, 25%, 50% and 100% of its steps (geometric mean over seeds; a seed that never reaches it counts at its best \
         possible value, so such estimates are upper bounds). Intervals are 95% percentile-bootstrap intervals over seeds \
         (10,000 resamples); p-values are two-sided paired t-tests (on log speedups for speed). With few seeds the \
         percentile bootstrap is too narrow, so a verdict calls a difference only when the interval excludes \
         no-difference **and** p < 0.05. Losses are in nats per byte-level token.\n",
        summary.commit.as_deref().unwrap_or("unknown"),
        summary.name,
        summary.seeds,
        if summary.seeds == 1 { "" } else { "s" },
        baseline.name(),
        baseline.name(),
        baseline.name(),
    );

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

    let _ = writeln!(md, "## Verdicts\n");
    let _ = writeln!(
        md,
        "| variant | init | final val loss (mean ± sd) | speedup at 10% | at 25% | at 50% | at 100% (reached, p) | final − {} [95% CI] | p |",
        baseline.name()
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
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
                        if fraction == 1.0 {
                            format!("{text} ({}/{}, p {:.3})", s.reached, s.seeds, s.p_value)
                        } else if s.reached < s.seeds {
                            format!("≤ {text}")
                        } else {
                            text
                        }
                    })
            };
            let (diff, p) = c
                .final_difference
                .as_ref()
                .map_or(("-".to_string(), "-".to_string()), |d| {
                    (format_signed(&d.difference), format!("{:.3}", d.p_value))
                });
            let diverged = if c.diverged > 0 {
                format!(" ({} diverged)", c.diverged)
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| {} | {}{diverged} | {:.4} ± {:.4} | {} | {} | {} | {} | {diff} | {p} |",
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

    for (index, variant) in summary.variants.iter().enumerate() {
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

        let own = &runs[index].1;
        let loss_png = format!("{stem}-loss.png");
        chart_png(
            &dir.join(&loss_png),
            Axes {
                title: "validation loss (mean over seeds, band: min to max; training loss faint)",
                x_label: UPDATES_AXIS,
                y_label: "loss (nats/token)",
                log_x: false,
                log_y: false,
            },
            &loss_series(inits, own),
        )?;
        let early = (variant.steps / 4).clamp(10, 100) as f64;
        let mut grads = grad_series(inits, own);
        for series in &mut grads {
            series.points.retain(|&(updates, _)| updates <= early);
        }
        let grads_png = format!("{stem}-grads.png");
        chart_png(
            &dir.join(&grads_png),
            Axes {
                title: "early gradient norm (before clipping, mean over seeds)",
                x_label: UPDATES_AXIS,
                y_label: "global gradient norm",
                log_x: false,
                log_y: true,
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
            let intervals: Vec<(f64, Interval)> = c
                .speedups
                .iter()
                .filter_map(|s| s.speedup.map(|i| (s.fraction, i)))
                .collect();
            let mut series = Series::line(
                c.init.name(),
                colour(c.init),
                intervals.iter().map(|(f, i)| (*f, i.estimate)).collect(),
            );
            series.band = intervals.iter().map(|(f, i)| (*f, i.low, i.high)).collect();
            speed_series.push(series);
        }
        let speed_png = format!("{stem}-speedup.png");
        chart_png(
            &dir.join(&speed_png),
            Axes {
                title: "speedup against progress (band: 95% CI; trained left out)",
                x_label: "fraction of the baseline's steps",
                y_label: "speedup",
                log_x: false,
                log_y: false,
            },
            &speed_series,
        )?;
        let _ = writeln!(
            md,
            "![validation loss]({loss_png})\n![speedup against progress]({speed_png})\n![early gradient norms]({grads_png})"
        );

        if own.iter().any(|run| !run.distances.is_empty()) {
            let distance_png = format!("{stem}-distance.png");
            chart_png(
                &dir.join(&distance_png),
                Axes {
                    title: "distance of the weights to the teacher's distribution",
                    x_label: UPDATES_AXIS,
                    y_label: "W1 / teacher std (mean of parts)",
                    log_x: false,
                    // Standard inits sit orders of magnitude further away than the rest.
                    log_y: true,
                },
                &distance_series(inits, own),
            )?;
            let _ = writeln!(
                md,
                "![distance to the teacher's distribution]({distance_png})"
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Config\n\n```toml\n{}```", summary.config);
    let path = dir.join("report.md");
    write_atomically(&path, md.as_bytes()).map_err(|err| ReportError::Write {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    println!("wrote {}", path.display());
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
                per_seed: vec![1.2; 6],
                speedup: Some(interval(1.2, low, 1.31)),
                p_value,
            }],
            final_difference: Some(FinalDifference {
                seeds: 6,
                per_seed: vec![-0.05; 6],
                difference: interval(-0.048, -0.074, -0.021),
                p_value: 0.024,
            }),
        }
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
        assert!(all.contains("ends **lower** by 0.0480 nats"), "{all}");
    }
}
