//! The chart series of runs, one definition for the page and the report: per init (in
//! the order given, which sets the colours), the mean over its seeds.

use std::borrow::Borrow;

use histinit_core::run::{CurvePoint, RunResult};
use histinit_core::stats::mean_and_spread;
use histinit_core::InitMethod;

use crate::Series;

/// The x axis of every curve against training time: the updates done, `step + 1` (steps
/// are counted from 0), as in `CurvePoint::tokens`. The first point is at 1, so a log
/// axis shows it.
pub const UPDATES_AXIS: &str = "step (updates done)";

/// The x axis of the same curves against wall-clock time (see [`on_clock`]).
pub const CLOCK_AXIS: &str = "seconds since the start (this machine)";

/// `series` (against [`UPDATES_AXIS`]) moved onto a clock: `clock[k]` is when the
/// `k + 1`-th update of every run was done, so a point at `x` updates moves to
/// `clock[x - 1]`. Points (and band points) the clock does not reach yet are left out.
pub fn on_clock(series: Vec<Series>, clock: &[f64]) -> Vec<Series> {
    let time = |x: f64| {
        let updates = x.round();
        (updates >= 1.0 && (updates as usize) <= clock.len())
            .then(|| clock[updates as usize - 1])
            .filter(|t| t.is_finite())
    };
    series
        .into_iter()
        .map(|s| Series {
            points: s
                .points
                .iter()
                .filter_map(|&(x, y)| time(x).map(|t| (t, y)))
                .collect(),
            band: s
                .band
                .iter()
                .filter_map(|&(x, low, high)| time(x).map(|t| (t, low, high)))
                .collect(),
            ..s
        })
        .collect()
}

type Curve = Vec<(f64, f64)>;
type Band = Vec<(f64, f64, f64)>;

/// Validation and training loss: per init, the faint smoothed training loss (no label)
/// then the validation loss, both the mean over the init's runs; with several runs the
/// validation loss has a min–max band.
pub fn loss_series<R: Borrow<RunResult>>(inits: &[InitMethod], runs: &[R]) -> Vec<Series> {
    let mut series = Vec::new();
    for (colour, &init) in inits.iter().enumerate() {
        let own = runs_of(init, runs);
        let train: Vec<Curve> = own
            .iter()
            .map(|run| smoothed(&curve(run, |p| Some(p.train_loss))))
            .collect();
        let val: Vec<Curve> = own.iter().map(|run| curve(run, |p| p.val_loss)).collect();
        let (train_mean, _) = mean_band(&train);
        let (val_mean, val_band) = mean_band(&val);
        series.push(Series {
            faint: true,
            ..Series::line("", colour, train_mean)
        });
        let label = if own.len() > 1 {
            format!("{} val (mean, min–max of {} seeds)", init.name(), own.len())
        } else {
            format!("{} val (train faint)", init.name())
        };
        series.push(Series {
            band: if own.len() > 1 { val_band } else { Vec::new() },
            ..Series::line(label, colour, val_mean)
        });
    }
    series
}

/// The global gradient norm before clipping: per init, the mean over its runs.
pub fn grad_series<R: Borrow<RunResult>>(inits: &[InitMethod], runs: &[R]) -> Vec<Series> {
    inits
        .iter()
        .enumerate()
        .map(|(colour, &init)| {
            let curves: Vec<Curve> = runs_of(init, runs)
                .iter()
                .map(|run| curve(run, |p| Some(p.grad_norm)))
                .collect();
            Series::line(init.name(), colour, mean_band(&curves).0)
        })
        .collect()
}

/// Distance of the weights to the reference distribution (`RunResult::distances`):
/// per init, the mean over the network's parts at each measurement, then the mean over
/// the init's runs, with a min–max band when there are several. A distance's `step` is
/// already the updates done (0: at the init).
pub fn distance_series<R: Borrow<RunResult>>(inits: &[InitMethod], runs: &[R]) -> Vec<Series> {
    inits
        .iter()
        .enumerate()
        .map(|(colour, &init)| {
            let own = runs_of(init, runs);
            let curves: Vec<Curve> = own
                .iter()
                .map(|run| {
                    let mut parts: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
                    for point in &run.distances {
                        parts.entry(point.step).or_default().push(point.w1_over_std);
                    }
                    parts
                        .into_iter()
                        .map(|(step, values)| (step as f64, mean_and_spread(&values).0))
                        .collect()
                })
                .collect();
            let (mean, band) = mean_band(&curves);
            Series {
                band: if own.len() > 1 { band } else { Vec::new() },
                ..Series::line(init.name(), colour, mean)
            }
        })
        .collect()
}

fn runs_of<R: Borrow<RunResult>>(init: InitMethod, runs: &[R]) -> Vec<&RunResult> {
    runs.iter()
        .map(Borrow::borrow)
        .filter(|run| run.init == init)
        .collect()
}

/// `value` of each point that has one, against the updates done.
fn curve(run: &RunResult, value: impl Fn(&CurvePoint) -> Option<f64>) -> Curve {
    run.points
        .iter()
        .filter_map(|p| value(p).map(|v| (p.step as f64 + 1.0, v)))
        .collect()
}

/// An exponential moving average, so the faint training loss reads as a trend.
fn smoothed(points: &[(f64, f64)]) -> Curve {
    let mut average = None;
    points
        .iter()
        .map(|&(x, y)| {
            let next = match average {
                Some(a) if f64::is_finite(y) => 0.9 * a + 0.1 * y,
                _ => y,
            };
            average = Some(next);
            (x, next)
        })
        .collect()
}

/// Pointwise mean and min–max band of curves sampled at the same x (the shortest
/// curve sets the length, so a mean never mixes seeds that are at different steps).
fn mean_band(curves: &[Curve]) -> (Curve, Band) {
    let length = curves.iter().map(Vec::len).min().unwrap_or(0);
    let mut mean = Vec::with_capacity(length);
    let mut band = Vec::with_capacity(length);
    for i in 0..length {
        let x = curves[0][i].0;
        let ys: Vec<f64> = curves.iter().map(|c| c[i].1).collect();
        let (m, _) = mean_and_spread(&ys);
        let low = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        mean.push((x, m));
        band.push((x, low, high));
    }
    (thin(mean), thin(band))
}

/// The most points of one curve that are drawn: a chart costs the same at step 10,000
/// as at step 1,000 (the runs keep every point; exports have them all).
pub const MAX_DRAWN_POINTS: usize = 2_000;

/// At most [`MAX_DRAWN_POINTS`] of `points`, evenly spaced, the first and last kept.
fn thin<T: Copy>(points: Vec<T>) -> Vec<T> {
    let n = points.len();
    if n <= MAX_DRAWN_POINTS {
        return points;
    }
    let last = MAX_DRAWN_POINTS - 1;
    (0..MAX_DRAWN_POINTS)
        .map(|i| points[i * (n - 1) / last])
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn long_curves_are_thinned_for_drawing_keeping_both_ends() {
        let points: Vec<(f64, f64)> = (0..10_001).map(|i| (i as f64 + 1.0, i as f64)).collect();
        let drawn = thin(points);
        assert_eq!(drawn.len(), MAX_DRAWN_POINTS);
        assert_eq!(drawn[0], (1.0, 0.0));
        assert_eq!(drawn[MAX_DRAWN_POINTS - 1], (10_001.0, 10_000.0));
        assert!(drawn.windows(2).all(|w| w[1].0 > w[0].0));
        let short: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 0.0)).collect();
        assert_eq!(thin(short.clone()), short);
    }

    use super::*;
    use histinit_core::init::InitScope;
    use histinit_core::run::{DistancePoint, RunStatus};

    /// `(train_loss, val_loss, grad_norm)` per step from 0.
    fn run(init: InitMethod, seed: u64, points: &[(f64, Option<f64>, f64)]) -> RunResult {
        let points = points
            .iter()
            .enumerate()
            .map(|(step, &(train, val, grad))| {
                // Through JSON: the test names only the fields the series read.
                serde_json::from_value::<CurvePoint>(serde_json::json!({
                    "step": step, "tokens": (step + 1) * 64, "train_loss": train,
                    "val_loss": val, "lr": 1e-3, "grad_norm": grad, "role_grad_norms": [],
                }))
                .unwrap()
            })
            .collect();
        RunResult {
            init,
            seed,
            status: RunStatus::Completed,
            points,
            distances: Vec::new(),
            final_val_batches: Vec::new(),
        }
    }

    fn close(a: &[(f64, f64)], b: &[(f64, f64)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(p, q)| p.0 == q.0 && (p.1 - q.1).abs() < 1e-12)
    }

    /// 2 inits x 2 seeds; kaiming's seed 2 stopped early (3 steps, one evaluation), and a
    /// run of an init not asked for is left out.
    fn runs() -> Vec<RunResult> {
        vec![
            run(
                InitMethod::Pythia,
                1,
                &[
                    (4.0, Some(3.9), 2.0),
                    (3.0, None, 1.0),
                    (2.0, Some(2.1), 0.5),
                ],
            ),
            run(
                InitMethod::Kaiming,
                1,
                &[
                    (5.0, Some(4.8), 8.0),
                    (4.0, None, 6.0),
                    (3.0, Some(3.2), 4.0),
                    (2.5, None, 3.0),
                ],
            ),
            run(InitMethod::Empirical, 1, &[(9.0, Some(9.0), 9.0)]),
            run(
                InitMethod::Kaiming,
                2,
                &[(6.0, Some(5.6), 10.0), (5.0, None, 7.0), (4.0, None, 5.0)],
            ),
            run(
                InitMethod::Pythia,
                2,
                &[
                    (4.4, Some(4.1), 3.0),
                    (3.2, None, 2.0),
                    (2.2, Some(2.5), 1.5),
                ],
            ),
        ]
    }

    #[test]
    fn loss_series_are_per_init_means_over_seeds_at_updates_done() {
        let series = loss_series(&[InitMethod::Kaiming, InitMethod::Pythia], &runs());
        let shape: Vec<(&str, usize, bool, usize)> = series
            .iter()
            .map(|s| (s.label.as_str(), s.colour, s.faint, s.band.len()))
            .collect();
        assert_eq!(
            shape,
            [
                ("", 0, true, 0),
                ("kaiming val (mean, min–max of 2 seeds)", 0, false, 1),
                ("", 1, true, 0),
                ("pythia val (mean, min–max of 2 seeds)", 1, false, 2),
            ]
        );
        // Training loss smoothed per run, then averaged over the shorter run's 3 steps;
        // x is the updates done.
        let seed1 = [5.0, 0.9 * 5.0 + 0.1 * 4.0, 0.9 * 4.9 + 0.1 * 3.0];
        let seed2 = [6.0, 0.9 * 6.0 + 0.1 * 5.0, 0.9 * 5.9 + 0.1 * 4.0];
        let expected: Vec<(f64, f64)> = (0..3)
            .map(|i| (i as f64 + 1.0, (seed1[i] + seed2[i]) / 2.0))
            .collect();
        assert!(
            close(&series[0].points, &expected),
            "{:?}",
            series[0].points
        );
        assert!(
            close(&series[2].points, &[(1.0, 4.2), (2.0, 4.09), (3.0, 3.891)]),
            "{:?}",
            series[2].points
        );
        // Validation: kaiming's seed 2 has one evaluation, so the mean has one point.
        assert!(close(&series[1].points, &[(1.0, 5.2)]));
        assert_eq!(series[1].band, [(1.0, 4.8, 5.6)]);
        assert!(close(&series[3].points, &[(1.0, 4.0), (3.0, 2.3)]));
        assert_eq!(series[3].band, [(1.0, 3.9, 4.1), (3.0, 2.1, 2.5)]);
    }

    #[test]
    fn a_single_run_has_no_band_and_says_the_training_loss_is_faint() {
        let series = loss_series(&[InitMethod::Empirical], &runs());
        assert_eq!(series[1].label, "empirical val (train faint)");
        assert!(series[1].band.is_empty());
        assert_eq!(series[1].points, [(1.0, 9.0)]);
        assert_eq!(series[0].points, [(1.0, 9.0)]);
    }

    #[test]
    fn on_clock_moves_updates_to_their_times_and_drops_what_it_does_not_reach() {
        let series = loss_series(&[InitMethod::Kaiming, InitMethod::Pythia], &runs());
        let clock = [0.5, 1.25];
        let timed = on_clock(series.clone(), &clock);
        assert_eq!(timed.len(), series.len());
        assert_eq!(timed[3].points, [(0.5, series[3].points[0].1)]);
        assert_eq!(timed[3].band, [(0.5, 3.9, 4.1)]);
        assert_eq!(
            timed[0].points.iter().map(|p| p.0).collect::<Vec<_>>(),
            [0.5, 1.25]
        );
        assert_eq!(timed[1].label, series[1].label);
        assert!(on_clock(series, &[]).iter().all(|s| s.points.is_empty()));
    }

    #[test]
    fn grad_series_are_means_over_seeds_without_band() {
        let series = grad_series(&[InitMethod::Pythia, InitMethod::Kaiming], &runs());
        assert_eq!(series.len(), 2);
        assert_eq!((series[0].label.as_str(), series[0].colour), ("pythia", 0));
        assert_eq!((series[1].label.as_str(), series[1].colour), ("kaiming", 1));
        assert!(series.iter().all(|s| s.band.is_empty() && !s.faint));
        assert!(close(
            &series[0].points,
            &[(1.0, 2.5), (2.0, 1.5), (3.0, 1.0)]
        ));
        assert!(close(
            &series[1].points,
            &[(1.0, 9.0), (2.0, 6.5), (3.0, 4.5)]
        ));
    }

    #[test]
    fn distance_series_average_the_parts_then_the_seeds() {
        let mut runs = runs();
        let distances = |values: &[(usize, f64, f64)]| {
            values
                .iter()
                .flat_map(|&(step, embedding, mlp)| {
                    [
                        DistancePoint {
                            step,
                            scope: InitScope::Embedding,
                            w1_over_std: embedding,
                        },
                        DistancePoint {
                            step,
                            scope: InitScope::Mlp,
                            w1_over_std: mlp,
                        },
                    ]
                })
                .collect()
        };
        runs[0].distances = distances(&[(0, 1.0, 3.0), (1, 0.5, 1.5), (3, 0.2, 0.4)]);
        runs[4].distances = distances(&[(0, 2.0, 4.0), (1, 1.0, 2.0)]);
        let series = distance_series(&[InitMethod::Pythia], &runs);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].label, "pythia");
        // Measured at the init (0 updates) and after 1; seed 2 stopped there.
        assert!(close(&series[0].points, &[(0.0, 2.5), (1.0, 1.25)]));
        assert_eq!(series[0].band, [(0.0, 2.0, 3.0), (1.0, 1.0, 1.5)]);
    }
}

/// One init's spread in a published study: the median and range of the final validation
/// losses its seeds reached at `step` (what the study's committed files hold: no per-step
/// curves), drawn behind the live curves.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct StudySpread {
    /// The init's colour on the page (its place among the page's inits).
    pub colour: usize,
    pub step: f64,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// Each init's study spread as a bar just right of the last step (the inits side by
/// side, each a twentieth of the steps wide, in its own colour): its range as a band,
/// its median as a line across it. No labels: the page says which study it is.
pub fn study_spread_series(spreads: &[StudySpread]) -> Vec<Series> {
    spreads
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            [s.step, s.min, s.median, s.max]
                .iter()
                .all(|v| v.is_finite())
        })
        .map(|(slot, s)| {
            let width = s.step / 20.0;
            let (left, right) = (
                s.step + width * slot as f64,
                s.step + width * (slot as f64 + 0.8),
            );
            Series {
                band: vec![(left, s.min, s.max), (right, s.min, s.max)],
                ..Series::line("", s.colour, vec![(left, s.median), (right, s.median)])
            }
        })
        .collect()
}
