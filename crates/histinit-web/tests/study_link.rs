//! A published study link reproduces the study: the embedding-ablation link printed in
//! docs/results/ablation-nano (the one the summary stores for that variant), trained
//! through the page's own session code on the native CPU backend with the shipped
//! teacher-nano sources, ends at the validation losses the study stored for seed 1.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;

use histinit_core::experiment::ExperimentConfig;
use histinit_core::init::InitScope;
use histinit_web::session::SessionState;
use histinit_web::BackendKind;

#[path = "common/study.rs"]
mod study;
#[path = "common/train.rs"]
mod train;
use study::{stored_final_val_loss, variant_link};
use train::train_to_end;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/{path}")).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

#[test]
fn the_embedding_ablation_link_reproduces_the_stored_study_losses() {
    let summary = text("docs/results/ablation-nano/summary.json");
    let runs_csv = text("docs/results/ablation-nano/runs.csv");
    let link = variant_link(&summary, "scope-embedding").unwrap();
    // The study's link, read the strict way: every key is one the core knows.
    let mut config = ExperimentConfig::from_query(&link).unwrap();
    assert_eq!(config.scope, InitScope::Embedding);
    assert_eq!(config.train.eval_batches, 4, "the link lost eval_batches");
    // One seed of the five: the study's first.
    config.seeds = 1;
    let mut state = SessionState::from_config(config, BackendKind::Cpu).unwrap();
    state
        .add_histogram(&read("www/histograms/teacher-nano.json.gz"), "teacher-nano")
        .unwrap();
    state
        .add_weights(
            &read("www/histograms/teacher-nano.safetensors"),
            "teacher-nano",
        )
        .unwrap();
    state.prepare(histinit_core::cpu_device()).unwrap();
    let state = RefCell::new(state);
    train_to_end(&state);
    let state = state.borrow();
    assert_eq!(state.runs.len(), 2);
    for page in &state.runs {
        let result = page.run.result();
        let got = result.final_val_loss().unwrap();
        let stored =
            stored_final_val_loss(&runs_csv, "scope-embedding", result.init, result.seed).unwrap();
        assert!(
            (got - stored).abs() < 1e-5,
            "{}: final validation loss {got}, the study stored {stored}",
            page.label
        );
    }
}

/// The page's study link for round three at nano is a run of the published fair-nano
/// variant by `spread_key` (the seeds and backend aside), so the page draws that study's
/// spread behind it; any other experiment key (here the learning rate) makes it another
/// experiment, with no spread.
#[test]
fn the_round_three_study_link_is_a_run_of_the_fair_nano_variant() {
    use histinit_core::link::spread_key;
    let studies = text("www/studies.js");
    let entry = studies
        .split("title: 'Round three: both sides tuned, nano")
        .nth(1)
        .expect("the round three nano study link");
    let query = entry
        .split("query: '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    let link = variant_link(&text("docs/results/fair-nano/summary.json"), "base").unwrap();
    let page = ExperimentConfig::from_query(query).unwrap();
    let study = ExperimentConfig::from_query(&link).unwrap();
    assert_ne!(
        page.seeds, study.seeds,
        "the page runs fewer seeds than the study"
    );
    assert_eq!(spread_key(&page), spread_key(&study));
    let other = ExperimentConfig::from_query(&query.replace("lr=0.003", "lr=0.004")).unwrap();
    assert_ne!(spread_key(&other), spread_key(&study));
}
