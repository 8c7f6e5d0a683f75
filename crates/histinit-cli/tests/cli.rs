//! The `histinit` binary end to end.

use std::process::Command;

fn histinit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_histinit"))
}

#[test]
fn run_compares_two_inits_over_two_seeds_and_writes_results() {
    let out = std::env::temp_dir().join(format!("histinit-cli-test-{}", std::process::id()));
    let status = histinit()
        .args(["run", "--quiet", "--link", "preset=nano&inits=kaiming,pythia&seeds=2&steps=30&batch=4&context=32&warmup=3&eval_every=10"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        stdout.contains("kaiming") && stdout.contains("pythia"),
        "{stdout}"
    );

    let curves = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    let mut lines = curves.lines();
    assert_eq!(
        lines.next().unwrap(),
        "run,init,seed,step,tokens,train_loss,val_loss,lr,grad_norm"
    );
    assert_eq!(lines.count(), 2 * 2 * 30);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for run in runs {
        assert_eq!(run["status"]["status"], "completed");
        let final_loss = run["final_val_loss"].as_f64().unwrap();
        assert!(
            final_loss < 4.5,
            "{run}: a byte model starts near ln 256 = 5.55"
        );
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn bad_links_and_files_give_clear_errors() {
    let output = histinit()
        .args(["run", "--link", "preset=nano&lr=banana"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lr") && stderr.contains("banana"),
        "{stderr}"
    );

    let output = histinit()
        .args(["run", "/nonexistent/config.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/config.toml"));
}

#[test]
fn link_schema_prints_every_link_key_as_the_page_gets_it() {
    let output = histinit().arg("link-schema").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = serde_json::to_value(histinit_core::link::schema()).unwrap();
    assert_eq!(printed, expected);
    let keys: Vec<&str> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["key"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = histinit_core::link::LINK_KEYS
        .iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(keys, want);
}
