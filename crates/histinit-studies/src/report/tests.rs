use super::png::encode_png;
use super::variant::{speedup_series, zoom_from, zoomed};
use super::*;
use histinit_charts::Series;
use histinit_core::stats::Comparison;
use histinit_core::stats::FinalDifference;
use histinit_core::stats::Interval;
use histinit_core::stats::SpeedupAt;
use histinit_core::InitMethod;

#[test]
fn pngs_have_a_valid_structure() {
    let png = encode_png(&[255, 0, 0, 0, 255, 0], 2, 1).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
    // The IDAT payload inflates back to one filter byte and the pixels.
    let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
    assert_eq!(&png[37..41], b"IDAT");
    let mut decoder = flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut raw).unwrap();
    assert_eq!(raw, vec![0, 255, 0, 0, 0, 255, 0]);
}

fn comparison(reached: usize, low: f64, p_value: f64) -> Comparison {
    use histinit_core::stats::{FinalDifference, SpeedupAt};
    let interval = |estimate, low, high| Interval {
        estimate,
        low,
        high,
    };
    Comparison {
        init: InitMethod::GaussianMatched,
        runs: 6,
        diverged: 0,
        final_val_loss_mean: 1.5,
        final_val_loss_std: 0.03,
        speedups: vec![SpeedupAt {
            fraction: 1.0,
            seeds: 6,
            reached,
            per_seed: vec![1.1, 1.2, 1.3, 1.15, 1.25, 1.2],
            speedup: Some(interval(1.2, low, 1.31)),
            p_value: Some(p_value),
            p_adjusted: None,
        }],
        final_difference: Some(FinalDifference {
            seeds: 6,
            per_seed: vec![-0.04, -0.05, -0.06, -0.045, -0.055, -0.05],
            difference: interval(-0.048, -0.074, -0.021),
            p_value: Some(0.024),
            p_adjusted: None,
            equivalence: None,
        }),
    }
}

/// A final-loss comparison from per-seed differences, tested as the sweep does
/// (t-test, TOST at `margin`), then Holm-adjusted within a sweep of `others` more
/// tests with the raw p-values given.
fn final_loss(per_seed: &[f64], margin: f64, others: &[f64]) -> Comparison {
    use histinit_core::stats::{bootstrap_mean, paired_t_p_value, Equivalence};
    let mut c = comparison(6, 1.10, 0.014);
    c.speedups.clear();
    c.final_difference = Some(FinalDifference {
        seeds: per_seed.len(),
        per_seed: per_seed.to_vec(),
        difference: bootstrap_mean(per_seed, 1),
        p_value: paired_t_p_value(per_seed),
        p_adjusted: None,
        equivalence: Some(Equivalence::test(per_seed, margin)),
    });
    let other = |p_value: f64| SpeedupAt {
        fraction: 1.0,
        seeds: 5,
        reached: 5,
        per_seed: vec![0.9, 1.0, 1.1, 0.95, 1.05],
        speedup: None,
        p_value: Some(p_value),
        p_adjusted: None,
    };
    let mut filler = comparison(6, 1.10, 0.014);
    filler.init = InitMethod::Pythia;
    filler.speedups = others.iter().map(|&p| other(p)).collect();
    filler.final_difference = None;
    let mut summary = SweepSummary {
        name: "t".into(),
        description: String::new(),
        baseline: InitMethod::Kaiming,
        seeds: per_seed.len(),
        backend: Default::default(),
        commit: None,
        config: String::new(),
        equivalence_margin: Some(margin),
        p_adjustment: None,
        initial_roles: Vec::new(),
        interactions: Vec::new(),
        variants: vec![crate::summary::VariantSummary {
            name: "base".into(),
            settings: Default::default(),
            link: String::new(),
            steps: 10,
            validation: None,
            comparisons: vec![c, filler],
        }],
    };
    summary.adjust_p_values();
    summary.variants.remove(0).comparisons.remove(0)
}

#[test]
fn final_losses_are_called_equivalent_different_or_inconclusive() {
    let shifted = |mean: f64, spread: f64| -> Vec<f64> {
        [-1.0, -0.5, 0.0, 0.5, 1.0]
            .iter()
            .map(|u| mean + spread * u)
            .collect()
    };
    // Pinned near zero: equivalent within ±0.02.
    let tight = final_loss(&shifted(0.001, 0.004), 0.02, &[]);
    let text = verdict(&tight, InitMethod::Kaiming);
    assert!(
        text.contains("final loss **equivalent within ±0.02 nats** to kaiming's"),
        "{text}"
    );
    let d = tight.final_difference.as_ref().unwrap();
    assert_eq!(FinalLoss::of(d).label(d), "equivalent within ±0.02");
    // The same data against a margin they cannot pin: inconclusive, not "the same".
    let narrow = final_loss(&shifted(0.001, 0.004), 0.001, &[]);
    let text = verdict(&narrow, InitMethod::Kaiming);
    assert!(text.contains("final loss **inconclusive**"), "{text}");
    // Clearly higher: different.
    let far = final_loss(&shifted(0.06, 0.01), 0.02, &[]);
    let text = verdict(&far, InitMethod::Kaiming);
    assert!(
        text.contains("final loss **different**: ends **higher** by 0.0600"),
        "{text}"
    );
    // Too noisy to tell: inconclusive.
    let noisy = final_loss(&shifted(0.005, 0.05), 0.02, &[]);
    let text = verdict(&noisy, InitMethod::Kaiming);
    assert!(text.contains("final loss **inconclusive**"), "{text}");
    assert!(
        text.contains("equivalence test (TOST, ±0.02 nats)"),
        "{text}"
    );
}

/// A published folder (no runs/) written before the rule on undefined p-values: its
/// text, summary and table are rewritten from the summary, the charts kept.
#[test]
fn a_published_folder_is_rewritten_with_its_charts_kept() {
    let published =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results/fair-nano-vs-pythia");
    let dir = std::env::temp_dir().join(format!("histinit-report-keep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&published).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    // As summaries held it before: a t-test p of 1 where no seed of kaiming reached
    // pythia's final loss (every value censored), and no Holm values.
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let kaiming = summary["variants"][0]["comparisons"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["init"] == "kaiming")
        .unwrap();
    let at_end = kaiming["speedups"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["fraction"] == 1.0)
        .unwrap();
    assert_eq!(at_end["reached"], 0);
    at_end["p_value"] = 1.0.into();
    strip_adjusted(&mut summary);
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    let charts_before = std::fs::read(dir.join("base-loss.png")).unwrap();

    run(&dir, None, Charts::Keep).unwrap();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("≤ 1.00 [1.00, 1.00] (0/20, never reached)"),
        "{report}"
    );
    assert!(report.contains("![validation loss](base-loss.png)"));
    assert_eq!(
        std::fs::read(dir.join("base-loss.png")).unwrap(),
        charts_before
    );
    let rewritten: SweepSummary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let kaiming = rewritten.variants[0]
        .comparisons
        .iter()
        .find(|c| c.init == InitMethod::Kaiming)
        .unwrap();
    let at_end = kaiming.speedups.iter().find(|s| s.fraction == 1.0).unwrap();
    assert_eq!((at_end.p_value, at_end.p_adjusted), (None, None));
    // Every other test got its Holm value back.
    let difference = kaiming.final_difference.as_ref().unwrap();
    assert!(difference.p_adjusted.is_some());
    let csv = std::fs::read_to_string(dir.join("comparisons.csv")).unwrap();
    assert!(csv.contains("\nbase,kaiming,speedup@1,20,"), "{csv}");
    let row = csv
        .lines()
        .find(|l| l.starts_with("base,kaiming,speedup@1,"))
        .unwrap();
    assert!(row.ends_with(",,"), "{row}");
    // Without the loss chart there is nothing to keep.
    std::fs::remove_file(dir.join("base-loss.png")).unwrap();
    assert!(matches!(
        run(&dir, None, Charts::Keep),
        Err(ReportError::Chart { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn strip_adjusted(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("p_adjusted");
            map.remove("p_adjustment");
            map.values_mut().for_each(strip_adjusted);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_adjusted),
        _ => {}
    }
}

#[test]
fn verdicts_are_decided_on_the_holm_adjusted_p_value() {
    // A lower final loss with raw p ≈ 0.01: different on its own...
    let per_seed = [-0.03, -0.01, -0.05, -0.02, -0.04];
    let alone = final_loss(&per_seed, 0.005, &[]);
    let raw = alone.final_difference.as_ref().unwrap().p_value.unwrap();
    assert!((0.001..0.02).contains(&raw), "{raw}");
    assert!(verdict(&alone, InitMethod::Kaiming).contains("**different**: ends **lower**"));
    // ...but not in a sweep of 11 tests (9 others, all p 0.5, and its TOST, p near
    // 1): the smallest p is multiplied by the family's size, 11.
    let crowded = final_loss(&per_seed, 0.005, &[0.5; 9]);
    let d = crowded.final_difference.as_ref().unwrap();
    let adjusted = d.p_adjusted.unwrap();
    assert!((adjusted - raw * 11.0).abs() < 1e-12, "{raw} -> {adjusted}");
    assert!(adjusted > 0.05, "{adjusted}");
    let text = verdict(&crowded, InitMethod::Kaiming);
    assert!(text.contains("final loss **inconclusive**"), "{text}");
    // Both p-values are printed.
    assert!(
        text.contains(&format!("p = {raw:.3}, Holm p = {adjusted:.3}")),
        "{text}"
    );
    // The same for speed: significant raw, not after adjustment.
    let mut speed = comparison(6, 1.10, 0.014);
    speed.speedups[0].p_adjusted = Some(0.07);
    let text = verdict(&speed, InitMethod::Kaiming);
    assert!(text.contains("**no clear difference in speed**"), "{text}");
    assert!(text.contains("p = 0.014, Holm p = 0.070"), "{text}");
    speed.speedups[0].p_value = Some(0.0002);
    speed.speedups[0].p_adjusted = Some(0.0004);
    let text = verdict(&speed, InitMethod::Kaiming);
    assert!(
        text.contains("p < 0.001, Holm p < 0.001") && !text.contains("0.000"),
        "{text}"
    );
}

#[test]
fn the_zoomed_loss_keeps_the_last_30_percent_of_validation_loss() {
    let mut val = Series::line(
        "kaiming val",
        0,
        (1..=10).map(|x| (x as f64 * 10.0, 5.0)).collect(),
    );
    val.band = val
        .points
        .iter()
        .map(|&(x, y)| (x, y - 0.1, y + 0.1))
        .collect();
    let train = Series {
        faint: true,
        ..Series::line("", 0, vec![(90.0, 4.0)])
    };
    assert_eq!(zoom_from(100), 70.0);
    let zoomed = zoomed(vec![train, val], zoom_from(100));
    assert_eq!(zoomed.len(), 1, "training loss left out");
    assert_eq!(
        zoomed[0].points,
        [(70.0, 5.0), (80.0, 5.0), (90.0, 5.0), (100.0, 5.0)]
    );
    assert_eq!(zoomed[0].band.len(), 4);
}

#[test]
fn censored_speedups_are_drawn_as_bounds() {
    let mut c = comparison(6, 1.10, 0.014);
    let at = |fraction: f64, reached: usize| SpeedupAt {
        fraction,
        reached,
        ..c.speedups[0].clone()
    };
    c.speedups = vec![at(0.1, 6), at(0.25, 6), at(0.5, 4), at(1.0, 0)];
    let series = speedup_series(&c, 2);
    assert_eq!(series.points, [(0.1, 1.2), (0.25, 1.2)]);
    assert_eq!(series.band.len(), 2);
    assert_eq!(series.upper_bounds, [(0.5, 1.2), (1.0, 1.2)]);
}

#[test]
fn a_speedup_is_called_only_when_every_seed_got_there() {
    let all = verdict(&comparison(6, 1.10, 0.014), InitMethod::Kaiming);
    assert!(
        all.contains("**faster**: reaches kaiming's final loss 1.20x sooner"),
        "{all}"
    );
    // One seed never reached the target: the estimate is an upper bound, not a call.
    let most = verdict(&comparison(5, 1.10, 0.014), InitMethod::Kaiming);
    assert!(most.contains("**faster not called**"), "{most}");
    assert!(
        most.contains("1 of 6 seeds never reached kaiming's final loss"),
        "{most}"
    );
    // An interval that includes 1, or a t-test that disagrees: no difference.
    for (low, p) in [(0.95, 0.014), (1.10, 0.2)] {
        let unclear = verdict(&comparison(6, low, p), InitMethod::Kaiming);
        assert!(
            unclear.contains("**no clear difference in speed**"),
            "{unclear}"
        );
    }
    // Not one seed reached it, and the final difference is not called: said as a
    // fact, not as "no clear difference".
    let none = verdict(&comparison(0, 0.95, 0.2), InitMethod::Kaiming);
    assert!(
        none.contains("**never reached** kaiming's final loss: 0 of 6 seeds got there")
            && !none.contains("no clear difference in speed"),
        "{none}"
    );
    // Every seed at the same value: no test, and the table says why.
    let mut same = comparison(6, 1.2, 0.014);
    same.speedups[0].per_seed = vec![1.2; 6];
    same.speedups[0].speedup = Some(Interval {
        estimate: 1.2,
        low: 1.2,
        high: 1.2,
    });
    same.speedups[0].p_value = None;
    let text = verdict(&same, InitMethod::Kaiming);
    assert!(
        text.contains("**faster in every seed**: reaches kaiming's final loss 1.20x in each of the 6 seeds (identical values: no test)"),
        "{text}"
    );
    assert!(all.contains("ends **lower** by 0.0480 nats"), "{all}");
    // Without a Holm-adjusted p (a summary from before them) the raw one decides.
    assert!(all.contains("p = 0.014, 6 seeds"), "{all}");
}
