//! Pins the probe run's losses on the native CPU backend to
//! `tests/data/cpu_reference.json`, which the browser tests compare against.
//!
//! After an intended change to the model or data, bless the file explicitly:
//! `HISTINIT_BLESS=1 cargo test -p histinit-web --test native_reference` writes it and
//! then fails ("blessed, re-run without HISTINIT_BLESS"), so a blessing run never counts
//! as a pass; the plain run that follows compares against what was written.
#![cfg(not(target_arch = "wasm32"))]

use histinit_web::{probe, BackendKind, PROBE_QUERY, PROBE_STEPS};

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cpu_reference.json");
const RELATIVE_TOLERANCE: f64 = 1e-5;

/// Why the reference file's text does not pin `losses`; `None` when it does.
fn mismatch(losses: &[f64], reference: &str) -> Option<String> {
    let reference: serde_json::Value = match serde_json::from_str(reference) {
        Ok(value) => value,
        Err(err) => return Some(format!("the reference is not JSON: {err}")),
    };
    if reference["query"] != PROBE_QUERY {
        return Some(format!(
            "the reference is for query {}, the probe runs {PROBE_QUERY}",
            reference["query"]
        ));
    }
    let expected: Vec<f64> = match serde_json::from_value(reference["losses"].clone()) {
        Ok(expected) => expected,
        Err(err) => return Some(format!("the reference has no list of losses: {err}")),
    };
    if expected.len() != PROBE_STEPS || losses.len() != PROBE_STEPS {
        return Some(format!(
            "expected {PROBE_STEPS} losses on each side: the reference has {}, the run {}",
            expected.len(),
            losses.len()
        ));
    }
    losses
        .iter()
        .zip(&expected)
        .enumerate()
        .find(|(_, (got, want))| {
            let close = ((*got - *want) / *want).abs() < RELATIVE_TOLERANCE;
            !(want.is_finite() && close)
        })
        .map(|(step, (got, want))| format!("step {step}: {got} vs committed {want}"))
}

#[test]
fn native_cpu_losses_match_the_committed_reference() {
    let result = pollster::block_on(probe(BackendKind::Cpu, PROBE_QUERY, PROBE_STEPS)).unwrap();
    assert!(result.all_finite, "{:?}", result.losses);
    let losses: Vec<f64> = result.losses.iter().map(|loss| loss.unwrap()).collect();
    assert_eq!(losses.len(), PROBE_STEPS);
    assert!(losses[PROBE_STEPS - 1] < losses[0] - 0.5, "{losses:?}");
    if std::env::var_os("HISTINIT_BLESS").is_some() {
        let document = serde_json::json!({ "query": PROBE_QUERY, "backend": "native cpu (flex)", "losses": losses });
        std::fs::write(REFERENCE, serde_json::to_string_pretty(&document).unwrap()).unwrap();
        panic!("blessed {REFERENCE}; re-run without HISTINIT_BLESS to test against it");
    }
    let reference = std::fs::read_to_string(REFERENCE).unwrap_or_else(|err| {
        panic!("cannot read {REFERENCE} ({err}); write it with HISTINIT_BLESS=1")
    });
    if let Some(problem) = mismatch(&losses, &reference) {
        panic!("{problem} (after an intended change, rerun with HISTINIT_BLESS=1)");
    }
}

#[test]
fn an_empty_stale_or_different_reference_is_a_mismatch() {
    let losses: Vec<f64> = (0..PROBE_STEPS)
        .map(|step| 5.0 - step as f64 * 0.1)
        .collect();
    let document = |query: &str, losses: &[f64]| {
        serde_json::json!({ "query": query, "losses": losses }).to_string()
    };
    assert_eq!(mismatch(&losses, &document(PROBE_QUERY, &losses)), None);
    for (case, reference) in [
        ("empty file", String::new()),
        ("empty object", "{}".to_string()),
        ("no losses", document(PROBE_QUERY, &[])),
        ("fewer losses", document(PROBE_QUERY, &losses[..3])),
        ("another query", document("preset=micro", &losses)),
    ] {
        assert!(mismatch(&losses, &reference).is_some(), "{case}");
    }
    let mut off = losses.clone();
    off[7] *= 1.0 + 1e-4;
    let problem = mismatch(&off, &document(PROBE_QUERY, &losses)).unwrap();
    assert!(problem.starts_with("step 7:"), "{problem}");
    assert!(mismatch(&losses[..3], &document(PROBE_QUERY, &losses)).is_some());
}
