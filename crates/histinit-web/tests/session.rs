//! The playground's session logic on the native CPU backend: paired runs, the same
//! curves as the CLI's run for the same link, exports and results.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;

use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::run::Run;
use histinit_core::source::RunSources;
use histinit_web::session::{step_run, SessionState};
use histinit_web::BackendKind;

#[path = "common/train.rs"]
mod train;
use train::train_to_end;

const LINK: &str = "?preset=nano&inits=kaiming,pythia&steps=6&batch=4&context=32&warmup=1&eval_every=3&backend=cpu";

fn run_to_end(query: &str) -> RefCell<SessionState> {
    let mut state = SessionState::new(query, BackendKind::Cpu).unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    let reports = train_to_end(&state);
    for report in &reports {
        assert!(report.train_loss.is_some_and(f64::is_finite), "{report:?}");
    }
    assert_eq!(reports.len(), 12, "two runs of six steps, interleaved");
    state
}

#[test]
fn the_page_trains_the_same_curves_as_the_cli() {
    let state = run_to_end(LINK);
    let state = state.borrow();
    let config = ExperimentConfig::from_query(LINK).unwrap();
    let corpus = Corpus::new(&bundled_corpus().unwrap(), 64).unwrap();
    for page in &state.runs {
        let cli = Run::new(
            &config,
            &corpus,
            page.init(),
            page.seed(),
            &RunSources::default(),
            &histinit_core::cpu_device(),
        )
        .unwrap()
        .run_to_end(|_| {})
        .unwrap();
        // The same curves and status. Only the blocking run keeps the last evaluation's
        // per-batch losses (for the validation set's standard error in sweep summaries);
        // their mean is the final point's validation loss, which the curves compare.
        let mut cli = cli;
        assert_eq!(cli.final_val_batches.len(), config.train.eval_batches);
        cli.final_val_batches.clear();
        assert_eq!(page.run.result(), &cli, "{}", page.label);
    }
    // Evaluated on the schedule: the first step, every `eval_every` and the last.
    let eval_steps: Vec<usize> = state.runs[0]
        .run
        .points()
        .iter()
        .filter(|p| p.val_loss.is_some())
        .map(|p| p.step)
        .collect();
    assert_eq!(eval_steps, vec![0, 2, 5]);
}

#[test]
fn results_exports_and_series_describe_the_runs() {
    let state = run_to_end(LINK);
    let state = state.borrow();
    let rows = state.result_rows();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.status == "done" && row.step == 6));
    assert!(rows
        .iter()
        .all(|row| row.current_val.is_some_and(f64::is_finite)));
    // Kaiming is the baseline: it reaches its own final loss at its last step.
    assert_eq!(rows[0].speedup, Some(1.0));

    // The CSV export, read back as a reader would: every run's every point, by name.
    let csv = state.export_csv();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    for page in &state.runs {
        let own: Vec<&Vec<&str>> = rows
            .iter()
            .filter(|row| row[column("init")] == page.init().name())
            .collect();
        assert_eq!(own.len(), page.run.points().len(), "{}", page.label);
        for (row, point) in own.iter().zip(page.run.points()) {
            assert_eq!(row[column("step")].parse::<usize>().unwrap(), point.step);
            assert_eq!(
                row[column("train_loss")].parse::<f64>().unwrap(),
                point.train_loss
            );
            assert_eq!(
                row[column("val_loss")].parse::<f64>().ok(),
                point.val_loss,
                "step {}",
                point.step
            );
        }
    }
    let json: serde_json::Value = serde_json::from_str(&state.export_json()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert!(json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|run| run["status"]["status"] == "completed"));
    assert!(json["link"]
        .as_str()
        .unwrap()
        .contains("inits=kaiming,pythia"));

    let series = state.loss_series();
    assert_eq!(series.len(), 4, "train and val per init");
    assert!(series.iter().all(|s| !s.points.is_empty()));
}

#[test]
fn inits_that_need_a_source_say_so() {
    let mut state = SessionState::new(
        "?preset=nano&inits=kaiming,empirical&steps=4&warmup=0",
        BackendKind::Cpu,
    )
    .unwrap();
    let err = state
        .prepare(histinit_core::cpu_device())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("empirical") && err.contains("histogram"),
        "{err}"
    );
    let err = state
        .add_histogram(b"{not json", "broken.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.json"), "{err}");
}

#[test]
fn several_seeds_share_one_band_per_init() {
    let mut state = SessionState::new(
        "?preset=nano&inits=kaiming,pythia&seeds=2&steps=2&batch=2&context=16&warmup=0&eval_every=1",
        BackendKind::Cpu,
    )
    .unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    train_to_end(&state);
    let state = state.borrow();
    assert_eq!(state.runs.len(), 4);
    let val = &state.loss_series()[1];
    assert_eq!(val.points.len(), 2);
    assert_eq!(val.band.len(), 2);
    assert!(val.band.iter().all(|&(_, low, high)| low <= high));
    assert!(state.result_rows().iter().all(|row| row.seeds == 2));
}

#[test]
fn an_unfinished_session_exports_its_runs_as_running() {
    let mut state = SessionState::new(LINK, BackendKind::Cpu).unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    pollster::block_on(step_run(&state, 0)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&state.borrow().export_json()).unwrap();
    let statuses: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["status"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["running", "running"]);
    assert!(state
        .borrow()
        .result_rows()
        .iter()
        .all(|row| row.status == "running"));
}

#[test]
fn the_page_refuses_a_link_too_big_for_a_browser_without_panicking() {
    let err = SessionState::new("?preset=nano&context=8192", BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("GiB") && err.contains("histinit run"), "{err}");
}

/// After a module abort the page can only export what it received: the step reports,
/// as JSON. Written by the same CSV writer, they give the module's own export exactly.
#[test]
fn curves_kept_from_step_reports_export_as_the_session_does() {
    use histinit_web::session::{kept_curves_csv, KeptRun, StepReport};
    let link = "?preset=nano&inits=pythia,kaiming&seeds=2&seed=7&steps=4&batch=2&context=16&warmup=1&eval_every=2&backend=cpu";
    let mut state = SessionState::new(link, BackendKind::Cpu).unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    let mut received: Vec<Vec<StepReport>> = vec![Vec::new(); state.borrow().runs.len()];
    for report in train_to_end(&state) {
        // What the page's history holds (www/progress.js `record`): these fields of the
        // report as JavaScript values (numbers are f64, a non-finite value is null),
        // and its own timings.
        let value = serde_json::to_value(&report).unwrap();
        let mut kept = serde_json::Map::new();
        for key in [
            "step",
            "tokens",
            "train_loss",
            "val_loss",
            "lr",
            "grad_norm",
        ] {
            kept.insert(key.into(), value[key].clone());
        }
        for key in ["ms", "at", "t"] {
            kept.insert(key.into(), serde_json::json!(12.5));
        }
        let point: StepReport = serde_json::from_value(kept.into()).unwrap();
        received[report.run].push(point);
    }
    let state = state.borrow();
    let kept: Vec<KeptRun> = state
        .runs
        .iter()
        .zip(received)
        .map(|(page, points)| KeptRun {
            init: page.init(),
            seed: page.seed(),
            points,
        })
        .collect();
    assert_eq!(kept.len(), 4);
    assert!(kept.iter().all(|run| run.points.len() == 4));
    assert!(kept.iter().any(|run| run.seed == 8));
    let csv = kept_curves_csv(&kept);
    assert_eq!(csv, state.export_csv());
    assert_eq!(csv.lines().count(), 1 + 4 * 4);
}

/// The shipped nano teacher's files, as the page fetches them.
fn shipped(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms");
    std::fs::read(dir.join(name)).unwrap()
}

/// kaiming and the nano teacher's own weights, three steps each.
const TEACHER_LINK: &str = "?preset=nano&inits=kaiming,trained&source=teacher-nano&steps=3&batch=2&context=32&warmup=0&eval_every=3&backend=cpu";

/// `state` with the shipped nano teacher's histogram, weights and trajectory, prepared
/// and trained to the end.
fn with_teacher_nano_trained(mut state: SessionState) -> RefCell<SessionState> {
    state
        .add_histogram(&shipped("teacher-nano.json.gz"), "teacher-nano")
        .unwrap();
    state
        .add_weights(&shipped("teacher-nano.safetensors"), "teacher-nano")
        .unwrap();
    state
        .add_trajectory(&shipped("teacher-nano-trajectory.json.gz"), "teacher-nano")
        .unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    train_to_end(&state);
    state
}

#[test]
fn the_trajectory_view_puts_each_run_beside_the_teachers_training() {
    use histinit_core::params::Role;
    let mut state = SessionState::new(TEACHER_LINK, BackendKind::Cpu).unwrap();
    // Without a trajectory there is nothing to show, and a broken file is an error.
    assert!(state.trajectory_view(Role::MlpIn).is_none());
    let broken = state
        .add_trajectory(b"\x1f\x8b not gzip", "teacher-nano")
        .unwrap_err();
    assert!(
        broken.to_string().starts_with(
            "the trajectory of 'teacher-nano' cannot be shown: trajectory file starts like gzip"
        ),
        "{broken}"
    );
    let state = with_teacher_nano_trained(state);
    pollster::block_on(histinit_web::session::snapshot(&state)).unwrap();
    pollster::block_on(histinit_web::session::snapshot(&state)).unwrap();
    let state = state.borrow();
    let view = state.trajectory_view(Role::MlpIn).unwrap();
    assert_eq!(view.source, "teacher-nano");
    let steps: Vec<usize> = view.teacher.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000]
    );
    // Each run from its init, then once per read-back step (a second read-back at the
    // same step adds nothing).
    let labels: Vec<&str> = view.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["kaiming", "trained"]);
    for run in &view.runs {
        let steps: Vec<usize> = run.points.iter().map(|s| s.step).collect();
        assert_eq!(steps, [0, 3], "{}", run.label);
        assert!(run
            .points
            .iter()
            .all(|s| s.values.windows(2).all(|w| w[0] <= w[1])));
    }
    // The trained init is the teacher's end: the same law, measured alike.
    let end = view.teacher.last().unwrap();
    let trained = &view.runs[1].points[0];
    assert!(
        (trained.std / end.std - 1.0).abs() < 0.05,
        "{} vs {}",
        trained.std,
        end.std
    );
    for (a, b) in trained.values.iter().zip(&end.values) {
        assert!(
            (a - b).abs() < 0.05 * end.std,
            "{:?} vs {:?}",
            trained.values,
            end.values
        );
    }
    // Kaiming's uniform ±1/sqrt(64) starts narrower in the tails than a trained law.
    let kaiming = &view.runs[0].points[0];
    assert!(
        kaiming.values[6] <= 0.125 && kaiming.values[6] > 0.1,
        "{:?}",
        kaiming.values
    );
}

#[test]
fn the_charts_data_the_worker_sends_is_what_the_session_draws() {
    use histinit_core::params::Role;
    use histinit_web::session::ChartData;
    let state = SessionState::new(TEACHER_LINK, BackendKind::Cpu).unwrap();
    let state = with_teacher_nano_trained(state);
    pollster::block_on(histinit_web::session::snapshot(&state)).unwrap();
    let state = state.borrow();
    let data = state.chart_data(Role::AttnOut);
    assert_eq!(data.role, Role::AttnOut);
    assert_eq!(data.loss, state.loss_series());
    assert_eq!(data.grads, state.grad_series());
    assert_eq!(data.distribution, state.distribution_series(Role::AttnOut));
    // The distribution chart: the source's histogram and one density per init.
    assert_eq!(data.distribution.len(), 3);
    let trajectory = data.trajectory.as_ref().expect("a trajectory was added");
    assert!(trajectory
        .iter()
        .any(|series| series.label.contains("kaiming")));
    assert!(data.loss.iter().all(|series| !series.points.is_empty()));
    // What crosses to the page as JSON comes back whole (serde_json's float parsing may
    // differ in the last bit: invisible in a chart).
    let json = serde_json::to_string(&data).unwrap();
    let back: ChartData = serde_json::from_str(&json).unwrap();
    assert_eq!(back.role, data.role);
    let pairs = [
        (&back.loss, &data.loss),
        (&back.grads, &data.grads),
        (&back.distribution, &data.distribution),
        (back.trajectory.as_ref().unwrap(), trajectory),
    ];
    for (got, sent) in pairs {
        assert_eq!(got.len(), sent.len());
        for (a, b) in got.iter().zip(sent) {
            assert_eq!(
                (&a.label, a.colour, a.faint, a.filled),
                (&b.label, b.colour, b.faint, b.filled)
            );
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1e-300);
            assert_eq!(a.points.len(), b.points.len(), "{}", b.label);
            assert!(a
                .points
                .iter()
                .zip(&b.points)
                .all(|(p, q)| close(p.0, q.0) && close(p.1, q.1)));
            assert_eq!(a.band.len(), b.band.len(), "{}", b.label);
            assert!(a
                .band
                .iter()
                .zip(&b.band)
                .all(|(p, q)| close(p.0, q.0) && close(p.1, q.1) && close(p.2, q.2)));
        }
    }
    // Another role changes the role's charts, not the curves.
    let other = state.chart_data(Role::MlpIn);
    assert_eq!(other.loss, data.loss);
    assert_ne!(other.distribution, data.distribution);
}
