//! One speedup: the same runs give the same speedup in `histinit run`'s table and
//! summary (the numbers the page's table shows: both come from `stats::summarize`), in
//! a sweep's summary and in its report (`stats::compare`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Run from the repository root, where both commands find the shipped histograms.
fn histinit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_histinit"));
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-speedup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn success(output: std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Three seeds whose speeds differ, so a ratio of mean steps and a mean of per-seed
/// ratios would part.
const LINK: &str =
    "preset=nano&inits=kaiming,pythia,empirical&source=teacher-nano&scale=shape-only\
&seed=1&seeds=3&steps=40&batch=4&context=32&warmup=3&eval_every=5&eval_batches=8";

const SWEEP: &str = r#"
name = "one-speedup"
baseline = "kaiming"

[base]
preset = "nano"
inits = ["kaiming", "pythia", "empirical"]
source = "teacher-nano"
scale = "shape-only"
seed = 1
seeds = 3

[base.train]
steps = 40
batch = 4
context = 32
warmup = 3
eval_every = 5
eval_batches = 8
"#;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_sweep_and_report_show_one_speedup_for_the_same_runs() {
    let dir = scratch("runs");
    let run_out = dir.join("run");
    let table = success(
        histinit()
            .args(["run", "--quiet", "--link", LINK, "--out"])
            .arg(&run_out)
            .output()
            .unwrap(),
    );
    let config = dir.join("sweep.toml");
    std::fs::write(&config, SWEEP).unwrap();
    let sweep_out = dir.join("sweep");
    success(
        histinit()
            .arg("sweep")
            .arg(&config)
            .arg("--out")
            .arg(&sweep_out)
            .args(["--jobs", "1"])
            .output()
            .unwrap(),
    );
    success(histinit().arg("report").arg(&sweep_out).output().unwrap());

    let run_summary = json(&run_out.join("summary.json"));
    let sweep_summary = json(&sweep_out.join("summary.json"));
    let report = std::fs::read_to_string(sweep_out.join("report.md")).unwrap();
    let comparisons = sweep_summary["variants"][0]["comparisons"]
        .as_array()
        .unwrap_or_else(|| panic!("no comparisons in {sweep_summary}"));
    let mut checked = 0;
    for init in ["pythia", "empirical"] {
        let shown = run_summary["summary"]["inits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["init"] == init)
            .unwrap()["speedup"]
            .as_f64();
        let at_end = comparisons.iter().find(|c| c["init"] == init).unwrap()["speedups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["fraction"] == 1.0)
            .unwrap()
            .clone();
        let seeds = at_end["seeds"].as_u64().unwrap();
        if at_end["reached"].as_u64() != Some(seeds) {
            // Not every seed got there: the report gives a bound, the table none.
            assert_eq!(shown, None, "{init}");
            continue;
        }
        let estimate = at_end["speedup"]["estimate"].as_f64().unwrap();
        // The sweep reads its curves back from run files, and serde_json's default float
        // parsing can move a value by one ulp; any other difference is a second definition.
        let shown = shown.unwrap_or_else(|| panic!("{init}: the run shows no speedup"));
        assert!(
            (shown - estimate).abs() <= 1e-12 * estimate,
            "{init}: run summary {shown} vs sweep summary {estimate}"
        );
        let per_seed: Vec<f64> = at_end["per_seed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(per_seed.len(), 3);
        assert!(
            per_seed.iter().any(|&s| (s - per_seed[0]).abs() > 1e-6),
            "{init}: the seeds should differ for this test to mean anything: {per_seed:?}"
        );
        let printed = format!("{estimate:.2}x");
        let row = table
            .lines()
            .find(|line| line.starts_with(init))
            .unwrap_or_else(|| panic!("no {init} row in\n{table}"));
        assert!(row.ends_with(&printed), "{row} vs {printed}");
        assert!(
            report.contains(&printed),
            "{init}: {printed} not in the report"
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no init reached kaiming's final loss in every seed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
