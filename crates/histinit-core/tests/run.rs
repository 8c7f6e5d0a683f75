//! The one run type: what it records, how it ends, and that it applies the
//! experiment's scope and sources itself.

use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::init::{init_weights_scoped, InitGains, InitScope};
use histinit_core::run::{is_eval_step, Run, RunError, RunStatus};
use histinit_core::source::RunSources;
use histinit_core::{InitMethod, TrainConfig};

fn experiment(steps: usize) -> ExperimentConfig {
    ExperimentConfig {
        preset: "nano".into(),
        inits: vec![InitMethod::Kaiming, InitMethod::Pythia],
        train: TrainConfig {
            steps,
            batch: 2,
            context: 16,
            warmup: 1,
            eval_every: 3,
            eval_batches: 2,
            ..TrainConfig::default()
        },
        ..ExperimentConfig::default()
    }
}

fn corpus() -> Corpus {
    Corpus::new(&bundled_corpus().unwrap(), 64).unwrap()
}

#[test]
fn a_run_is_running_until_its_last_step_then_completed_and_takes_no_more() {
    let config = experiment(7);
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let mut run = Run::new(&config, &corpus, InitMethod::Pythia, 3, &sources, &device).unwrap();
    assert_eq!(run.status(), &RunStatus::Running);
    for step in 0..7 {
        assert_eq!(run.status(), &RunStatus::Running, "before step {step}");
        let point = run.step().unwrap();
        assert_eq!(point.step, step);
        assert_eq!(point.tokens, (step + 1) * 2 * 16);
        assert_eq!(
            point.val_loss.is_some(),
            is_eval_step(&config.train, step),
            "step {step}"
        );
    }
    assert_eq!(run.status(), &RunStatus::Completed);
    assert!(matches!(run.step(), Err(RunError::Ended("completed"))));
    let result = run.into_result();
    assert_eq!(result.points.len(), 7);
    assert_eq!(
        result
            .points
            .iter()
            .filter(|p| p.val_loss.is_some())
            .map(|p| p.step)
            .collect::<Vec<_>>(),
        vec![0, 2, 5, 6]
    );
}

#[test]
fn a_stopped_run_says_so_and_keeps_its_curve() {
    let config = experiment(9);
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let mut run = Run::new(&config, &corpus, InitMethod::Kaiming, 1, &sources, &device).unwrap();
    run.step().unwrap();
    run.step().unwrap();
    run.stop();
    assert_eq!(run.status(), &RunStatus::Stopped { steps: 2 });
    assert!(run.step().is_err());
    let json = serde_json::to_string(run.result()).unwrap();
    assert!(json.contains("\"status\":\"stopped\""), "{json}");
}

#[test]
fn the_run_applies_the_experiments_scope() {
    let mut config = experiment(2);
    config.scope = InitScope::Embedding;
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let (_, weights) =
        Run::with_initial_weights(&config, &corpus, InitMethod::Pythia, 4, &sources, &device)
            .unwrap();
    let model = config.model_config().unwrap();
    let expected = init_weights_scoped(
        &model,
        InitMethod::Pythia,
        InitScope::Embedding,
        &InitGains::default(),
        4,
        None,
    )
    .unwrap();
    assert_eq!(weights, expected);
    let everywhere = init_weights_scoped(
        &model,
        InitMethod::Pythia,
        InitScope::All,
        &InitGains::default(),
        4,
        None,
    )
    .unwrap();
    assert_ne!(weights, everywhere, "the scope made no difference");
}

#[test]
fn an_init_without_its_source_and_a_context_too_long_for_the_corpus_are_errors() {
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let config = experiment(2);
    let err = Run::new(
        &config,
        &corpus,
        InitMethod::Empirical,
        1,
        &sources,
        &device,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("empirical") && err.contains("histogram"),
        "{err}"
    );
    let err = Run::new(&config, &corpus, InitMethod::Permuted, 1, &sources, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("weights"), "{err}");

    let small = Corpus::new(&"In the beginning. ".repeat(100), 16).unwrap();
    let mut long = experiment(2);
    long.train.context = 64;
    let err = Run::new(&long, &small, InitMethod::Kaiming, 1, &sources, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("64 tokens"), "{err}");
}

/// An init with a recipe of its own trains with its gains (times the experiment's)
/// and its multiple of the learning rate; an init without one keeps the experiment's.
#[test]
fn each_init_trains_with_its_own_tuning() {
    let mut config = experiment(3);
    config.gain = InitGains::parse("all:2").unwrap();
    config.tuned = ExperimentConfig::from_query("tuned=pythia/unembed:4,norm:1.5/2.5")
        .unwrap()
        .tuned;
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let model = config.model_config().unwrap();
    let start = |init| {
        let (mut run, weights) =
            Run::with_initial_weights(&config, &corpus, init, 4, &sources, &device).unwrap();
        let lr = run.step().unwrap().lr;
        (weights, lr)
    };
    let (pythia, pythia_lr) = start(InitMethod::Pythia);
    let tuned_gains = InitGains::parse("all:2,unembed:4,norm:1.5").unwrap();
    let expected = |init, gains: &InitGains| {
        init_weights_scoped(&model, init, InitScope::All, gains, 4, None).unwrap()
    };
    assert_eq!(pythia, expected(InitMethod::Pythia, &tuned_gains));
    let (kaiming, kaiming_lr) = start(InitMethod::Kaiming);
    assert_eq!(kaiming, expected(InitMethod::Kaiming, &config.gain));
    // Same schedule position (step 0, in warmup), 2.5 times the peak.
    assert!(
        (pythia_lr / kaiming_lr - 2.5).abs() < 1e-9,
        "{pythia_lr} vs {kaiming_lr}"
    );
}

/// The last evaluation keeps each validation batch's loss, and their mean is the final
/// validation loss the curve records.
#[test]
fn the_last_evaluation_keeps_each_batchs_loss() {
    let mut config = experiment(4);
    config.train.eval_batches = 5;
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let run = Run::new(
        &config,
        &corpus,
        InitMethod::Kaiming,
        2,
        &RunSources::default(),
        &device,
    )
    .unwrap();
    let result = run.run_to_end(|_| {}).unwrap();
    assert_eq!(result.final_val_batches.len(), 5);
    let mean = result.final_val_batches.iter().sum::<f64>() / 5.0;
    let last = result.final_val_loss().unwrap();
    assert!((mean - last).abs() < 1e-5, "{mean} vs {last}");
    // Batches of different text have different losses (else the spread would be 0).
    let first = result.final_val_batches[0];
    assert!(result.final_val_batches.iter().any(|&v| v != first));
}

/// Steps `run` until it ends.
fn train_on(run: &mut Run) {
    while run.is_running() {
        run.step().unwrap();
    }
}

#[test]
fn a_run_saved_at_step_k_and_resumed_equals_the_run_never_interrupted() {
    use histinit_core::resume::SavedRuns;
    // 7 steps, evaluated at 0, 2, 5 and 6: saved after an evaluation and mid-warmup.
    let config = experiment(7);
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let link = config.to_query();
    let mut whole = Run::new(&config, &corpus, InitMethod::Pythia, 3, &sources, &device).unwrap();
    train_on(&mut whole);
    for k in [1, 3] {
        let mut first =
            Run::new(&config, &corpus, InitMethod::Pythia, 3, &sources, &device).unwrap();
        for _ in 0..k {
            first.step().unwrap();
        }
        let saved = SavedRuns {
            link: link.clone(),
            runs: vec![first.save_state().unwrap()],
        };
        drop(first);
        let bytes = saved.to_bytes().unwrap();
        let mut read = SavedRuns::from_bytes(&bytes, &link).unwrap();
        assert_eq!(read, saved, "the bytes read back as written");
        let state = read.runs.remove(0);
        let mut resumed = Run::resume(&config, &corpus, state.clone(), &device).unwrap();
        assert_eq!(
            resumed.save_state().unwrap(),
            state,
            "saved again before a step"
        );
        assert_eq!(resumed.points().len(), k);
        train_on(&mut resumed);
        assert_eq!(resumed.result(), whole.result(), "curves, resumed at {k}");
        assert_eq!(
            resumed.weights().unwrap(),
            whole.weights().unwrap(),
            "final weights, resumed at {k}"
        );
    }
}

#[test]
fn a_damaged_or_foreign_saved_run_is_refused_with_a_reason() {
    use histinit_core::error::ResumeError;
    use histinit_core::resume::{SavedRuns, STATE_FORMAT};
    let config = experiment(5);
    let corpus = corpus();
    let device = histinit_core::cpu_device();
    let sources = RunSources::default();
    let link = config.to_query();
    let runs: Vec<Run> = histinit_core::plan::runs(&config)
        .into_iter()
        .map(|plan| {
            let mut run =
                Run::new(&config, &corpus, plan.init, plan.seed, &sources, &device).unwrap();
            run.step().unwrap();
            run
        })
        .collect();
    let saved = SavedRuns {
        link: link.clone(),
        runs: runs.iter().map(|run| run.save_state().unwrap()).collect(),
    };
    let bytes = saved.to_bytes().unwrap();
    assert_eq!(
        SavedRuns::from_bytes(&bytes, &link)
            .unwrap()
            .resume(&config, &corpus, &device)
            .unwrap()
            .len(),
        2
    );

    let read = |bytes: &[u8]| SavedRuns::from_bytes(bytes, &link).unwrap_err();
    for len in [0, 7, 12, 20, 40, bytes.len() / 2, bytes.len() - 1] {
        let err = read(&bytes[..len]);
        assert!(
            matches!(err, ResumeError::NotAState | ResumeError::Corrupt(_)),
            "cut at {len}: {err}"
        );
    }
    let mut changed = bytes.clone();
    *changed.last_mut().unwrap() ^= 1;
    assert!(read(&changed).to_string().contains("do not match its hash"));
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(STATE_FORMAT + 1).to_le_bytes());
    assert!(matches!(read(&newer), ResumeError::Version { .. }));
    assert_eq!(read(b"not a saved run at all"), ResumeError::NotAState);
    let other = SavedRuns::from_bytes(&bytes, "preset=micro").unwrap_err();
    assert!(other.to_string().contains("another link"), "{other}");

    // Well formed but wrong, with a valid hash: a moment of another shape, moments
    // missing, runs out of plan order, a curve that does not match the step.
    let mut reshaped = saved.clone();
    let moment = &mut reshaped.runs[0].optimizer.moments[0].moment_1;
    moment.shape = vec![moment.values.len()];
    let resumed = |saved: &SavedRuns| {
        SavedRuns::from_bytes(&saved.to_bytes().unwrap(), &link)
            .unwrap()
            .resume(&config, &corpus, &device)
            .err()
            .expect("refused")
    };
    let err = resumed(&reshaped);
    assert!(
        err.to_string().contains("AdamW moment of parameter 0"),
        "{err}"
    );
    let mut forgotten = saved.clone();
    forgotten.runs[1].optimizer.moments.pop();
    let err = resumed(&forgotten);
    assert!(err.to_string().contains("AdamW moments of"), "{err}");
    let mut reordered = saved.clone();
    reordered.runs.reverse();
    assert!(matches!(resumed(&reordered), ResumeError::Mismatch(_)));
    let mut short = saved.clone();
    short.runs[0].result.points.clear();
    assert!(matches!(resumed(&short), ResumeError::Mismatch(_)));
}
