//! Training in headless Chromium: WebGPU (SwiftShader there) and the CPU backend, each
//! compared with the native CPU backend's losses (tests/data/cpu_reference.json).
#![cfg(target_arch = "wasm32")]

use histinit_web::{probe, BackendKind, ProbeResult, PROBE_QUERY, PROBE_STEPS};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn native_losses() -> Vec<f64> {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/cpu_reference.json")).unwrap();
    serde_json::from_value(reference["losses"].clone()).unwrap()
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
