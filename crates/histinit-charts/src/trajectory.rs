//! How one role's distribution moves in training: the teacher's (from its trajectory
//! file) as a grey fan of quantile bands, each run's as lines in its colour, against the
//! updates done on one log axis. Updates, not the fraction of training: a run at 100
//! updates has had 100 optimizer steps, like the teacher at its step-100 checkpoint,
//! whatever either run's length (the page's runs are far shorter than the teachers').

use histinit_core::histogram::{RoleSnapshot, Trajectory};
use histinit_core::params::Role;

use crate::Series;

/// The probabilities the chart and its readout show: the median and three central
/// bands (98 %, 90 % and 50 % of the weights), low to high.
pub const SPREAD_PROBS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// Where the init (0 updates, which a log axis cannot show) is drawn: left of the first
/// update, on a tick labelled "init" ([`crate::Axes::init_x`]).
pub const INIT_X: f64 = 0.5;

/// The trajectory chart's axes (`title` names the role): updates on a log axis with the
/// init's tick, weight values on a linear one, the legend above the plot.
pub fn trajectory_axes(title: &str) -> crate::Axes<'_> {
    crate::Axes {
        title,
        x_label: "updates done",
        y_label: "weight value",
        log_x: true,
        log_y: false,
        init_x: Some(INIT_X),
        legend_above: true,
    }
}

/// The x of `updates` done on the chart's log axis.
pub fn updates_x(updates: usize) -> f64 {
    if updates == 0 {
        INIT_X
    } else {
        updates as f64
    }
}

/// One role's law at one point of training, as the chart shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Updates done (0: the init).
    pub step: usize,
    pub std: f64,
    /// The values at [`SPREAD_PROBS`].
    pub values: Vec<f64>,
}

impl Spread {
    /// The spread of `snapshot` (quantiles at `probs`), or `None` when those do not
    /// reach every probability shown.
    pub fn of(step: usize, snapshot: &RoleSnapshot, probs: &[f64]) -> Option<Spread> {
        let values = SPREAD_PROBS
            .iter()
            .map(|&p| snapshot.quantile(probs, p))
            .collect::<Option<Vec<f64>>>()?;
        Some(Spread {
            step,
            std: snapshot.std,
            values,
        })
    }
}

/// The teacher's spreads of `role` at each of its checkpoints that has the role.
pub fn teacher_spreads(trajectory: &Trajectory, role: Role) -> Vec<Spread> {
    trajectory
        .checkpoints
        .iter()
        .filter_map(|point| Spread::of(point.step, point.role(role)?, &trajectory.probs))
        .collect()
}

/// One run's spreads over its training, in its palette colour.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadTrack {
    pub label: String,
    pub colour: usize,
    pub points: Vec<Spread>,
}

/// The palette index of the teacher's grey (black, drawn translucent or thin).
const TEACHER: usize = 6;

/// The chart's series: the teacher's 98, 90 and 50 % bands (nested, so the middle is
/// darkest) and its median; per run, its 5 % and 95 % quantiles as lines (the edges
/// of its 90 % band) and its 1 % and 99 % faint.
pub fn trajectory_series(teacher: &[Spread], runs: &[SpreadTrack]) -> Vec<Series> {
    let line = |points: &[Spread], at: usize| -> Vec<(f64, f64)> {
        points
            .iter()
            .map(|s| (updates_x(s.step), s.values[at]))
            .collect()
    };
    let last = SPREAD_PROBS.len() - 1;
    let mut series = Vec::new();
    if !teacher.is_empty() {
        for band in 0..3 {
            series.push(Series {
                band: teacher
                    .iter()
                    .map(|s| (updates_x(s.step), s.values[band], s.values[last - band]))
                    .collect(),
                ..Series::line("", TEACHER, Vec::new())
            });
        }
        series.push(Series::line(
            "teacher: median, 50/90/98 % bands",
            TEACHER,
            line(teacher, 3),
        ));
    }
    for run in runs {
        series.push(Series::line(
            format!("{}: 5 % and 95 %", run.label),
            run.colour,
            line(&run.points, 1),
        ));
        series.push(Series::line("", run.colour, line(&run.points, last - 1)));
        for at in [0, last] {
            series.push(Series {
                faint: true,
                ..Series::line("", run.colour, line(&run.points, at))
            });
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use histinit_core::histogram::{TrajectoryPoint, TRAJECTORY_PROBS};

    fn snapshot(role: Role, scale: f64) -> RoleSnapshot {
        RoleSnapshot {
            role,
            count: 100,
            mean: 0.0,
            std: scale,
            skewness: 0.0,
            excess_kurtosis: 0.0,
            min: -4.0 * scale,
            max: 4.0 * scale,
            edges: vec![-4.0 * scale as f32, 4.0 * scale as f32],
            counts: vec![100],
            // A symmetric law whose p-quantile is scale * (p - 0.5) * 6.
            quantiles: TRAJECTORY_PROBS
                .iter()
                .map(|p| scale * (p - 0.5) * 6.0)
                .collect(),
        }
    }

    fn teacher() -> Trajectory {
        Trajectory {
            version: 1,
            source: Default::default(),
            probs: TRAJECTORY_PROBS.to_vec(),
            checkpoints: [(0, 1.0), (1, 1.0), (10, 1.5), (100, 2.0)]
                .into_iter()
                .map(|(step, scale)| TrajectoryPoint {
                    step,
                    tokens: 0,
                    train_loss: None,
                    val_loss: 5.0,
                    // The embedding only from step 10 on.
                    roles: std::iter::once(snapshot(Role::MlpIn, scale))
                        .chain((step >= 10).then(|| snapshot(Role::Embed, scale)))
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_teacher_spreads_follow_its_checkpoints_and_the_init_sits_left_of_one() {
        let trajectory = teacher();
        let spreads = teacher_spreads(&trajectory, Role::MlpIn);
        assert_eq!(
            spreads.iter().map(|s| s.step).collect::<Vec<_>>(),
            [0, 1, 10, 100]
        );
        // The 5 % quantile of the last: 2 * (0.05 - 0.5) * 6.
        assert!((spreads[3].values[1] - (-5.4)).abs() < 1e-12);
        assert_eq!(spreads[3].std, 2.0);
        assert_eq!(teacher_spreads(&trajectory, Role::Embed).len(), 2);
        assert!(teacher_spreads(&trajectory, Role::Unembed).is_empty());
        assert_eq!(
            (updates_x(0), updates_x(1), updates_x(25)),
            (INIT_X, 1.0, 25.0)
        );
        // A file without the tails cannot show the 98 % band: no spread, not a guess.
        let mut narrow = trajectory.clone();
        narrow.probs = vec![0.25, 0.5, 0.75];
        for point in &mut narrow.checkpoints {
            for role in &mut point.roles {
                role.quantiles = vec![-1.0, 0.0, 1.0];
            }
        }
        assert!(teacher_spreads(&narrow, Role::MlpIn).is_empty());
    }

    #[test]
    fn the_series_are_the_teachers_fan_then_each_runs_lines() {
        let teacher = teacher_spreads(&teacher(), Role::MlpIn);
        let run = SpreadTrack {
            label: "kaiming".into(),
            colour: 0,
            points: teacher[..2].to_vec(),
        };
        let series = trajectory_series(&teacher, std::slice::from_ref(&run));
        let shape: Vec<(&str, usize, usize, usize, bool)> = series
            .iter()
            .map(|s| {
                (
                    s.label.as_str(),
                    s.colour,
                    s.points.len(),
                    s.band.len(),
                    s.faint,
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("", 6, 0, 4, false),
                ("", 6, 0, 4, false),
                ("", 6, 0, 4, false),
                ("teacher: median, 50/90/98 % bands", 6, 4, 0, false),
                ("kaiming: 5 % and 95 %", 0, 2, 0, false),
                ("", 0, 2, 0, false),
                ("", 0, 2, 0, true),
                ("", 0, 2, 0, true),
            ]
        );
        // The widest band first: 1 % to 99 %, at the init's x.
        let (x, low, high) = series[0].band[0];
        assert_eq!(x, INIT_X);
        assert!((low - (-2.94)).abs() < 1e-12 && (high - 2.94).abs() < 1e-12);
        assert!(series[2].band[0].2 < series[1].band[0].2);
        // The run's 95 % line.
        assert!((series[5].points[1].1 - 2.7).abs() < 1e-12);
        // No teacher: only the runs.
        let alone = trajectory_series(&[], &[run]);
        assert_eq!(alone.len(), 4);
        assert!(alone.iter().all(|s| s.band.is_empty() && s.colour == 0));
    }
}
