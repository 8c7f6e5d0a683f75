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

/// A build without LibTorch says how to get one instead of training on another backend.
#[cfg(not(feature = "libtorch"))]
#[test]
fn a_build_without_libtorch_says_how_to_build_it() {
    for args in [
        &["run", "--backend", "libtorch", "--steps", "2"][..],
        &["bench", "--presets", "nano", "--backends", "libtorch"][..],
    ] {
        let output = histinit().args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no LibTorch backend")
                && stderr.contains("benchmarks/libtorch.sh build"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?} trained anyway");
    }
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

/// A fresh directory under the system's temp directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// English text with Windows-1252 curly quotes (0x93, 0x94) and an apostrophe (0x92):
/// not UTF-8, but text.
fn windows_1252_text() -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in 0..120 {
        bytes.extend_from_slice(
            format!("Line {line}: the keeper said that the lamp was lit at dusk. ").as_bytes(),
        );
        if line % 40 == 0 {
            bytes.extend_from_slice(b"\x93It\x92s late,\x94 she said.\n");
        }
    }
    bytes
}

const SMALL_RUN: &str =
    "preset=nano&inits=kaiming&steps=3&warmup=0&batch=2&context=16&eval_every=3&eval_batches=1";

#[test]
fn a_windows_1252_text_trains_with_a_warning_counting_its_stray_bytes() {
    let dir = scratch("cp1252");
    let file = dir.join("keeper.txt");
    std::fs::write(&file, windows_1252_text()).unwrap();
    let out = dir.join("out");
    let output = histinit()
        .args(["run", "--quiet", "--link", SMALL_RUN, "--corpus"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Three lines with three stray bytes each.
    assert!(
        stderr.contains("warning:") && stderr.contains("keeper.txt") && stderr.contains("9 bytes"),
        "{stderr}"
    );
    // The summary's link names the file (not its text), so the run can be repeated.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let link = summary["link"].as_str().unwrap();
    assert!(link.contains("corpus=keeper.txt"), "{link}");
    assert!(!link.contains("keeper%20said"), "{link}");

    // That link again, with the same file: it trains; without it, or with another file
    // name, it is refused with a message that says what to give.
    let output = histinit()
        .args(["run", "--quiet", "--link", link, "--corpus"])
        .arg(&file)
        .arg("--out")
        .arg(dir.join("again"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = histinit()
        .args(["run", "--quiet", "--link", link, "--out"])
        .arg(dir.join("missing"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'keeper.txt'") && stderr.contains("--corpus FILE"),
        "{stderr}"
    );
    assert!(!dir.join("missing").exists(), "nothing trained");
    let other = dir.join("other.txt");
    std::fs::write(&other, windows_1252_text()).unwrap();
    let output = histinit()
        .args(["run", "--quiet", "--link", link, "--corpus"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'keeper.txt'") && stderr.contains("'other.txt'"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn binary_empty_and_too_small_corpus_files_are_refused_naming_the_problem() {
    let dir = scratch("badtext");
    let cases: [(&str, Vec<u8>, &[&str]); 3] = [
        ("empty.txt", Vec::new(), &["empty.txt", "empty"]),
        (
            "image.bin",
            (0..4000u32).map(|i| (i * 7 % 256) as u8).collect(),
            &["image.bin", "does not look like text"],
        ),
        (
            "short.txt",
            b"Only a line.".to_vec(),
            &["short.txt", "12 bytes", "680 bytes"],
        ),
    ];
    for (name, bytes, wants) in cases {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let output = histinit()
            .args(["run", "--quiet", "--link", SMALL_RUN, "--corpus"])
            .arg(&file)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for want in wants {
            assert!(stderr.contains(want), "{name}: {stderr}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
