//! A trained run as the next teacher: the page exports a run's weights (GPT-NeoX names,
//! as the extractor reads them) and their histograms (the shipped format), and both load
//! back as sources; the empirical init then draws tensors with the exported histogram's
//! statistics, and the trained init the exported weights themselves.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;

use histinit_core::checkpoint::weights_from_safetensors;
use histinit_core::histogram::{HistogramFile, Role};
use histinit_core::params::param_specs;
use histinit_core::source::mean_std;
use histinit_web::session::{export_run, RunExport, SessionState};
use histinit_web::BackendKind;

#[path = "common/train.rs"]
mod train;
use train::train_to_end;

const TRAIN: &str =
    "?preset=nano&inits=kaiming&steps=6&batch=4&context=32&warmup=1&eval_every=3&backend=cpu";

fn trained_export() -> RunExport {
    let mut state = SessionState::new(TRAIN, BackendKind::Cpu).unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    train_to_end(&state);
    pollster::block_on(export_run(&state, 0)).unwrap()
}

#[test]
fn an_exported_run_loads_back_as_both_sources() {
    let export = trained_export();
    assert_eq!(export.name, "histinit-kaiming-seed1-step6");
    let weights = weights_from_safetensors(&export.weights).unwrap();
    let histogram = HistogramFile::parse(export.histogram.as_bytes()).unwrap();
    assert_eq!(histogram.source.step, Some(6));
    let model = histinit_core::ModelConfig::preset("nano").unwrap();
    // Every parameter under its GPT-NeoX name, with the extractor's entry of the same
    // name and shape whose statistics are those of the exported values.
    for spec in param_specs(&model) {
        let tensor = weights
            .get(&spec.name)
            .unwrap_or_else(|| panic!("{}", spec.name));
        assert_eq!(tensor.shape, spec.shape, "{}", spec.name);
        let entry = histogram
            .tensors
            .iter()
            .find(|t| t.name == spec.name)
            .unwrap_or_else(|| panic!("no histogram of {}", spec.name));
        assert_eq!((entry.role, &entry.shape), (spec.role, &spec.shape));
        let (mean, std) = mean_std(&tensor.values);
        assert!(
            (entry.mean - mean).abs() <= 1e-6 + 1e-6 * std,
            "{}",
            spec.name
        );
        assert!(
            (entry.std - std).abs() <= 1e-6 * (1.0 + std),
            "{}",
            spec.name
        );
    }
    // The header names the heads, so the fused QKV is split per head as for a teacher.
    for role in [Role::Q, Role::K, Role::V] {
        assert!(histogram.tensors.iter().any(|t| t.role == role), "{role:?}");
    }

    // Both back in as the sources of a new session (scale as-is: the law itself).
    let query = "?preset=nano&inits=empirical,trained&scale=as-is&steps=1&warmup=0&batch=4&context=32&backend=cpu";
    let mut state = SessionState::new(query, BackendKind::Cpu).unwrap();
    state
        .add_histogram(export.histogram.as_bytes(), "exported.json")
        .unwrap();
    state
        .add_weights(&export.weights, "exported.safetensors")
        .unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    let drawn = pollster::block_on(export_run(&state, 0)).unwrap();
    assert_eq!(drawn.name, "histinit-empirical-seed1-step0");
    let drawn = weights_from_safetensors(&drawn.weights).unwrap();
    for spec in param_specs(&model) {
        let entry = histogram
            .tensors
            .iter()
            .find(|t| t.name == spec.name)
            .unwrap();
        let values = &drawn[&spec.name].values;
        let (mean, std) = mean_std(values);
        // Sampling error of n draws, five standard errors wide.
        let n = values.len() as f64;
        let slack = 5.0 / n.sqrt();
        assert!(
            (mean - entry.mean).abs() <= slack * entry.std + 1e-6,
            "{}: drawn mean {mean} vs exported {}",
            spec.name,
            entry.mean
        );
        assert!(
            (std - entry.std).abs() <= (slack + 0.02) * entry.std + 1e-6,
            "{}: drawn std {std} vs exported {}",
            spec.name,
            entry.std
        );
    }
    let copied = pollster::block_on(export_run(&state, 1)).unwrap();
    assert_eq!(weights_from_safetensors(&copied.weights).unwrap(), weights);
}
