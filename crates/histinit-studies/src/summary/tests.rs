use super::*;

/// Every published study's summary.json reads into the one type and writes back
/// the same (plus the backend, which older summaries do not record).
#[test]
fn every_published_summary_reads_back_unchanged() {
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
    let mut studies = 0;
    for entry in std::fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        // A sweep's folder has its config.toml; `histinit run`'s results have none.
        if !dir.join("config.toml").exists() {
            continue;
        }
        let path = dir.join("summary.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let summary: SweepSummary =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        // As values: serde_json's default float parsing can be one ulp off, so a
        // number read and written again may not be the same text.
        let mut written = serde_json::to_value(&summary).unwrap();
        assert_eq!(written["backend"], "cpu");
        let read: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Summaries from before the backend was recorded read as CPU.
        if read.get("backend").is_none() {
            written.as_object_mut().unwrap().remove("backend");
        }
        assert!(
            written == read,
            "{} changes at {}",
            path.display(),
            first_difference(&written, &read, String::new())
        );
        assert!(!summary.variants.is_empty());
        studies += 1;
    }
    assert!(
        studies >= 8,
        "{studies} studies under {}",
        results.display()
    );
}

/// Where two JSON values first differ (a path like `variants[2].comparisons[0].runs`).
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: String) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) if p == q => {}
                    (Some(p), Some(q)) => return first_difference(p, q, format!("{at}.{key}")),
                    (p, q) => return format!("{at}.{key}: {p:?} vs {q:?}"),
                }
            }
            at
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (p, q))| p != q)
            .map_or(at.clone(), |(i, (p, q))| {
                first_difference(p, q, format!("{at}[{i}]"))
            }),
        _ => format!("{at}: {a} vs {b}"),
    }
}

/// A summary of two variants, each with the baseline and one other init.
fn two_variants() -> SweepSummary {
    use histinit_core::stats::{compare, Equivalence};
    let run = |init: &str, seed: u64, rate: f64| -> RunResult {
        let points: Vec<serde_json::Value> = (0..20)
            .map(|t| {
                let loss = 1.0 + 4.0 / (1.0 + rate * (1.0 + 0.1 * seed as f64) * t as f64);
                serde_json::json!({"step": t, "tokens": t, "train_loss": loss,
                    "val_loss": loss, "lr": 0.0, "grad_norm": 0.0, "role_grad_norms": []})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "init": init, "seed": seed, "status": {"status": "completed"},
            "points": points, "distances": []
        }))
        .unwrap()
    };
    let variant = |name: &str, speed: f64| {
        let runs: Vec<RunResult> = (1..=4)
            .flat_map(|seed| {
                [
                    run("kaiming", seed, 0.1),
                    run("pythia", seed, 0.1 * speed * (1.0 + 0.02 * seed as f64)),
                ]
            })
            .collect();
        let mut comparisons = compare(&runs, InitMethod::Kaiming, 20, 3);
        for c in comparisons
            .iter_mut()
            .filter(|c| c.init != InitMethod::Kaiming)
        {
            let d = c.final_difference.as_mut().unwrap();
            d.equivalence = Some(Equivalence::test(&d.per_seed, 0.02));
        }
        VariantSummary {
            name: name.into(),
            settings: BTreeMap::new(),
            link: String::new(),
            steps: 20,
            validation: None,
            comparisons,
        }
    };
    SweepSummary {
        name: "t".into(),
        description: String::new(),
        baseline: InitMethod::Kaiming,
        seeds: 4,
        backend: Backend::Cpu,
        commit: None,
        config: String::new(),
        equivalence_margin: Some(0.02),
        p_adjustment: None,
        initial_roles: Vec::new(),
        interactions: Vec::new(),
        variants: vec![variant("fast", 1.5), variant("same", 1.0)],
    }
}

#[test]
fn one_holm_family_spans_the_sweep_without_the_baseline() {
    let mut summary = two_variants();
    summary.adjust_p_values();
    // The family, by hand: per variant 4 speedup tests, the final-loss test and the
    // equivalence test of pythia; kaiming against itself is no test.
    let mut raw = Vec::new();
    let mut adjusted = Vec::new();
    for variant in &summary.variants {
        for c in &variant.comparisons {
            let d = c.final_difference.as_ref().unwrap();
            if c.init == InitMethod::Kaiming {
                assert!(c.speedups.iter().all(|s| s.p_adjusted.is_none()));
                assert!(d.p_adjusted.is_none() && d.equivalence.is_none());
                continue;
            }
            for s in &c.speedups {
                raw.push(s.p_value.unwrap());
                adjusted.push(s.p_adjusted.unwrap());
            }
            raw.push(d.p_value.unwrap());
            adjusted.push(d.p_adjusted.unwrap());
            let e = d.equivalence.unwrap();
            raw.push(e.p_value.unwrap());
            adjusted.push(e.p_adjusted.unwrap());
        }
    }
    assert_eq!(raw.len(), 12);
    assert_eq!(adjusted, holm(&raw));
    // Not per variant: adjusting one variant alone gives smaller values somewhere.
    assert_ne!(adjusted[..6], holm(&raw[..6])[..]);
    // Running it again changes nothing, and the JSON says how it was done.
    let once = summary.to_json().unwrap();
    summary.adjust_p_values();
    assert_eq!(summary.to_json().unwrap(), once);
    assert!(once.contains("\"p_adjustment\": \"holm: one family per sweep"));
    assert!(once.contains("\"equivalence_margin\": 0.02"));

    // comparisons.csv: one row per test, raw p beside the adjusted one.
    let csv = summary.comparisons_csv();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(COMPARISONS_CSV_HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // 2 variants x (kaiming: 4 speedups + final; pythia: 4 + final + equivalence).
    assert_eq!(rows.len(), 2 * (5 + 6));
    let pythia: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == "pythia").collect();
    for (row, (r, a)) in pythia.iter().zip(raw.iter().zip(&adjusted)) {
        assert_eq!(row[8].parse::<f64>().unwrap(), *r, "{row:?}");
        assert_eq!(row[9].parse::<f64>().unwrap(), *a, "{row:?}");
    }
    assert_eq!(pythia[5][2], "equivalence");
    assert_eq!(pythia[5][7], "0.02");
    assert!(rows
        .iter()
        .filter(|r| r[1] == "kaiming")
        .all(|r| r[9].is_empty()));
}

#[test]
fn a_test_on_identical_values_has_no_p_and_leaves_the_family() {
    let mut summary = two_variants();
    summary.adjust_p_values();
    let adjusted = |s: &SweepSummary| {
        s.variants
            .iter()
            .flat_map(|v| &v.comparisons)
            .flat_map(|c| &c.speedups)
            .filter(|s| s.p_adjusted.is_some())
            .count()
    };
    let before = adjusted(&summary);
    // As a summary written before the rule held it: every seed at the same value
    // (as when all sit at one censored bound) and a t-test p of 0.
    fn pythia(s: &mut SweepSummary) -> &mut histinit_core::stats::SpeedupAt {
        let c = s.variants[0]
            .comparisons
            .iter_mut()
            .find(|c| c.init == InitMethod::Pythia)
            .unwrap();
        &mut c.speedups[1]
    }
    pythia(&mut summary).per_seed = vec![2.5; 4];
    pythia(&mut summary).p_value = Some(0.0);
    summary.adjust_p_values();
    assert_eq!(pythia(&mut summary).p_value, None);
    assert_eq!(pythia(&mut summary).p_adjusted, None);
    assert_eq!(adjusted(&summary), before - 1);
    let csv = summary.comparisons_csv();
    let row = csv
        .lines()
        .find(|l| l.starts_with("fast,pythia,speedup@0.25,"))
        .unwrap();
    assert!(row.ends_with(",,"), "no p and no Holm p: {row}");
}

#[test]
fn p_values_below_a_thousandth_are_not_printed_as_zero() {
    assert_eq!(format_p(Some(0.0004)), "< 0.001");
    assert_eq!(format_p(Some(0.0)), "< 0.001");
    assert_eq!(format_p(Some(0.001)), "0.001");
    assert_eq!(format_p(Some(0.0456)), "0.046");
    assert_eq!(format_p(None), "-");
    assert_eq!(p_is(Some(0.00001)), "p < 0.001");
    assert_eq!(p_is(Some(0.25)), "p = 0.250");
    assert_eq!(p_is(None), "no p-value (identical values)");
}

#[test]
fn tables_have_their_headers_and_one_row_per_run_and_point() {
    let run: RunResult = serde_json::from_value(serde_json::json!({
        "init": "pythia", "seed": 3, "status": {"status": "diverged", "step": 1},
        "points": [
            {"step": 0, "tokens": 64, "train_loss": 5.5, "val_loss": 5.25, "lr": 0.001,
             "grad_norm": 2.0, "role_grad_norms": []},
            {"step": 1, "tokens": 128, "train_loss": 7.5, "val_loss": null, "lr": 0.002,
             "grad_norm": 1e9, "role_grad_norms": []}
        ],
        "distances": [{"step": 0, "scope": "mlp", "w1_over_std": 0.5}]
    }))
    .unwrap();
    let [(curves_name, curves), (runs_name, runs), (distances_name, distances)] =
        csv_tables([("lr_scale-2", std::slice::from_ref(&run))]);
    assert_eq!(
        (curves_name, runs_name, distances_name),
        ("curves.csv", "runs.csv", "distances.csv")
    );
    assert_eq!(
        curves,
        format!(
            "variant,{CURVES_CSV_HEADER}\nlr_scale-2,pythia-s3,pythia,3,0,64,5.5,5.25,0.001,2\n\
                 lr_scale-2,pythia-s3,pythia,3,1,128,7.5,,0.002,1000000000\n"
        )
    );
    assert_eq!(
        runs,
        format!("{RUNS_CSV_HEADER}\nlr_scale-2,pythia,3,diverged,1,5.25,5.25,7.5\n")
    );
    assert_eq!(
        distances,
        format!("{DISTANCES_CSV_HEADER}\nlr_scale-2,pythia,3,0,mlp,0.5\n")
    );
}
