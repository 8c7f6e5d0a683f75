//! Training in headless Chromium: WebGPU (SwiftShader there) and the CPU backend, each
//! compared with the native CPU backend's losses (tests/data/cpu_reference.json).
#![cfg(target_arch = "wasm32")]

use histinit_web::{probe, BackendKind, ProbeResult, PROBE_QUERY, PROBE_STEPS};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn native_losses() -> Vec<f64> {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/cpu_reference.json")).unwrap();
    let losses: Vec<f64> = serde_json::from_value(reference["losses"].clone()).unwrap();
    // An empty or short reference must fail here, not compare nothing.
    assert_eq!(losses.len(), PROBE_STEPS, "tests/data/cpu_reference.json");
    losses
}

fn check(result: &ProbeResult, tolerance_steps: usize) {
    let losses: Vec<f64> = result
        .losses
        .iter()
        .map(|loss| loss.expect("a loss was not finite"))
        .collect();
    assert_eq!(losses.len(), PROBE_STEPS);
    assert!(result.all_finite);
    assert!(
        losses[PROBE_STEPS - 1] < losses[0],
        "loss did not go down: {losses:?}"
    );
    let native = native_losses();
    for step in 0..tolerance_steps {
        let relative = ((losses[step] - native[step]) / native[step]).abs();
        assert!(
            relative < 1e-3,
            "step {step}: {:?} {} vs native cpu {}",
            result.backend,
            losses[step],
            native[step]
        );
    }
    web_sys_log(&format!(
        "{:?}: first step {:.0} ms, then {:.2} steps/s, losses {:.4} -> {:.4}",
        result.backend,
        result.first_step_ms,
        result.steps_per_second,
        losses[0],
        losses[PROBE_STEPS - 1]
    ));
}

fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{}", message);
}

#[wasm_bindgen_test]
async fn trains_on_the_cpu_backend_like_native() {
    histinit_web::start();
    let result = probe(BackendKind::Cpu, PROBE_QUERY, PROBE_STEPS)
        .await
        .unwrap();
    // Same code, same backend: the whole curve matches.
    check(&result, PROBE_STEPS);
}

#[wasm_bindgen_test]
async fn trains_on_webgpu_like_native() {
    histinit_web::start();
    let result = probe(BackendKind::Webgpu, PROBE_QUERY, PROBE_STEPS)
        .await
        .unwrap();
    // Another backend's float rounding drifts over training: the first steps match.
    check(&result, 5);
}

#[wasm_bindgen_test]
async fn a_session_trains_two_inits_side_by_side_on_the_cpu() {
    use histinit_web::session::{step_run, SessionState};
    let link = "?preset=nano&inits=kaiming,pythia&steps=8&batch=4&context=32&warmup=1&eval_every=4&backend=cpu";
    let mut state = SessionState::new(link, BackendKind::Cpu).unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = std::cell::RefCell::new(state);
    loop {
        let next = state.borrow().next_run();
        let Some(index) = next else { break };
        step_run(&state, index).await.unwrap();
        // As the page does: the CPU backend's read-backs resolve at once, and a test
        // that never yields looks like a hung renderer to chromedriver.
        histinit_web::yield_to_browser().await;
    }
    let state = state.borrow();
    for page in &state.runs {
        let val: Vec<f64> = page
            .run
            .points()
            .iter()
            .filter_map(|p| p.val_loss)
            .collect();
        assert_eq!(val.len(), 3, "{}", page.label);
        assert!(val.iter().all(|v| v.is_finite()));
        assert!(val[2] < val[0], "{}: {val:?}", page.label);
    }
    assert!(state.result_rows().iter().all(|row| row.status == "done"));
}

#[wasm_bindgen_test]
fn links_are_read_forgivingly_in_the_browser() {
    use histinit_core::experiment::ExperimentConfig;
    let (config, warnings) = ExperimentConfig::from_query_lenient(
        "?preset=huge&lr=abc&inits=kaiming,%3Cscript%3E&steps=40",
    );
    assert_eq!(config.train.steps, 40);
    assert_eq!(config.preset, "nano");
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    let again = ExperimentConfig::from_query(&config.to_query()).unwrap();
    assert_eq!(again, config);
}

#[wasm_bindgen_test]
fn gpu_errors_in_the_log_are_kept_for_the_next_step() {
    histinit_web::start();
    assert_eq!(histinit_web::take_gpu_error(), None);
    log::error!(target: "wgpu_core::device", "Invalid ShaderModule \"matmul\"");
    log::error!(target: "histinit", "not a GPU error");
    let error = histinit_web::take_gpu_error().expect("the GPU error was kept");
    assert!(error.contains("Invalid ShaderModule"), "{error}");
    assert_eq!(histinit_web::take_gpu_error(), None);
}

#[path = "common/study.rs"]
mod study;

/// The embedding-ablation link of docs/results/ablation-nano, as the page trains it on
/// its CPU fallback, ends at the validation losses the study stored (seed 1).
#[wasm_bindgen_test]
async fn a_study_link_reproduces_the_stored_study_losses_in_the_browser() {
    use histinit_core::experiment::ExperimentConfig;
    use histinit_web::session::{step_run, SessionState};
    histinit_web::start();
    let link = study::variant_link(
        include_str!("../../../docs/results/ablation-nano/summary.json"),
        "scope-embedding",
    )
    .unwrap();
    let mut config = ExperimentConfig::from_query(&link).unwrap();
    config.seeds = 1;
    let mut state = SessionState::from_config(config, BackendKind::Cpu).unwrap();
    state
        .add_histogram(
            include_bytes!("../../../www/histograms/teacher-nano.json.gz"),
            "teacher-nano",
        )
        .unwrap();
    state
        .add_weights(
            include_bytes!("../../../www/histograms/teacher-nano.safetensors"),
            "teacher-nano",
        )
        .unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = std::cell::RefCell::new(state);
    loop {
        let next = state.borrow().next_run();
        let Some(index) = next else { break };
        step_run(&state, index).await.unwrap();
        histinit_web::yield_to_browser().await;
    }
    let state = state.borrow();
    for page in &state.runs {
        let result = page.run.result();
        let got = result.final_val_loss().unwrap();
        let stored = study::stored_final_val_loss(
            include_str!("../../../docs/results/ablation-nano/runs.csv"),
            "scope-embedding",
            result.init,
            result.seed,
        )
        .unwrap();
        assert!(
            (got - stored).abs() < 1e-5,
            "{}: {got} in the browser, {stored} stored",
            page.label
        );
    }
}

/// After a WebGPU failure the page gives its device up and opens the next generation:
/// each generation is a new registration in Burn (reopening one that is registered is
/// refused), and the new device computes.
#[wasm_bindgen_test]
async fn each_webgpu_generation_opens_a_new_working_device() {
    use histinit_core::burn::tensor::Tensor;
    use histinit_web::open_device_generation;
    histinit_web::start();
    let first = open_device_generation(BackendKind::Webgpu, 7)
        .await
        .unwrap();
    assert!(
        open_device_generation(BackendKind::Webgpu, 7)
            .await
            .is_err(),
        "a registered generation cannot be opened again: a dead device would stay dead"
    );
    let second = open_device_generation(BackendKind::Webgpu, 8)
        .await
        .unwrap();
    assert_ne!(format!("{first:?}"), format!("{second:?}"));
    let sum = Tensor::<1>::from_floats([1.5, 2.0, 4.0], &second).sum();
    let sum = histinit_core::train::read_scalar_async(sum).await.unwrap();
    assert_eq!(sum, 7.5);
}
