//! Pins the probe run's losses on the native CPU backend to
//! `tests/data/cpu_reference.json`, which the browser tests compare against. Set
//! HISTINIT_BLESS=1 to rewrite the file after an intended change to the model or data.
#![cfg(not(target_arch = "wasm32"))]

use histinit_web::{probe, BackendKind, PROBE_QUERY, PROBE_STEPS};

#[test]
fn native_cpu_losses_match_the_committed_reference() {
    let result = pollster::block_on(probe(BackendKind::Cpu, PROBE_QUERY, PROBE_STEPS)).unwrap();
    assert!(result.all_finite, "{:?}", result.losses);
    let losses: Vec<f64> = result.losses.iter().map(|loss| loss.unwrap()).collect();
    assert!(losses[PROBE_STEPS - 1] < losses[0] - 0.5, "{losses:?}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cpu_reference.json");
    if std::env::var_os("HISTINIT_BLESS").is_some() {
        let document = serde_json::json!({ "query": PROBE_QUERY, "backend": "native cpu (flex)", "losses": losses });
        std::fs::write(path, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    }
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        reference["query"], PROBE_QUERY,
        "the probe changed: rerun with HISTINIT_BLESS=1"
    );
    let expected: Vec<f64> = serde_json::from_value(reference["losses"].clone()).unwrap();
    for (step, (got, want)) in losses.iter().zip(&expected).enumerate() {
        assert!(
            ((got - want) / want).abs() < 1e-5,
            "step {step}: {got} vs committed {want}"
        );
    }
}
