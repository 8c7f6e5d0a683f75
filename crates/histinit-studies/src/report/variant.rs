//! One variant's section of report.md and the charts it draws.

use std::fmt::Write as _;
use std::path::Path;

use histinit_charts::{distance_series, grad_series, loss_series, Axes, Series, UPDATES_AXIS};
use histinit_core::run::RunResult;
use histinit_core::stats::Comparison;
use histinit_core::InitMethod;

use super::png::chart_png;
use super::wording::verdict;
use super::{file_stem, kept_chart, ReportError};
use crate::summary::VariantSummary;

/// The first update the zoomed loss chart shows: the last 30% of `steps`.
pub(super) fn zoom_from(steps: usize) -> f64 {
    (steps as f64 * 0.7).floor().max(1.0)
}

/// The validation-loss series from update `from` on (training loss left out: it is
/// noisier than the differences the zoom is for).
pub(super) fn zoomed(series: Vec<Series>, from: f64) -> Vec<Series> {
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
pub(super) fn speedup_series(c: &Comparison, colour: usize) -> Series {
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

/// One variant's section: settings, link, verdicts and charts (drawn from `own`, its
/// runs, or with the charts kept the folder's own).
pub(super) fn write_variant(
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
