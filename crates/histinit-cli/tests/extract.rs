//! The `histinit extract` and `histinit teacher` command lines: what they print, write
//! and exit with. What they compute is tested on the library (histinit-studies'
//! tests/extract.rs and tests/teacher.rs); hub downloads in tests/hub.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use histinit_core::checkpoint::{weights_to_safetensors, StoreDtype};
use histinit_core::histogram::HistogramFile;
use histinit_core::params::{HostTensor, Weights};

fn histinit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_histinit"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn extract_writes_the_file_prints_the_summary_and_names_what_it_did_not_map() {
    let dir = temp_dir("extract");
    let tensor = |n: usize| HostTensor {
        shape: vec![n, 8],
        values: (0..n * 8).map(|i| 0.01 * (i as f32).sin()).collect(),
    };
    let mut weights = Weights::new();
    weights.insert("gpt_neox.embed_in.weight".into(), tensor(16));
    weights.insert("gpt_neox.layers.0.mystery".into(), tensor(2));
    let input = dir.join("model.safetensors");
    std::fs::write(
        &input,
        weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new()).unwrap(),
    )
    .unwrap();
    let out = dir.join("model.json.gz");
    let output = histinit()
        .arg("extract")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let file = HistogramFile::parse(&std::fs::read(&out).unwrap()).unwrap();
    assert!(file.tensor("gpt_neox.embed_in.weight").is_some());
    let (printed, warned) = (stdout(&output), stderr(&output));
    assert!(
        printed.contains("1 unmapped -> ") && printed.contains("model.json.gz"),
        "{printed}"
    );
    assert!(
        warned.contains("UNMAPPED gpt_neox.layers.0.mystery [2, 8]")
            && warned.contains("(add --role 'REGEX=ROLE')"),
        "{warned}"
    );

    // A file that is not a checkpoint: exit status 1 and one line naming it.
    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a header").unwrap();
    let output = histinit()
        .arg("extract")
        .arg(&garbage)
        .args(["--out", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let warned = stderr(&output);
    assert!(
        warned.starts_with("error: ") && warned.contains("garbage.safetensors"),
        "{warned}"
    );
    // Neither an input nor --hub: a usage error.
    let output = histinit()
        .args(["extract", "--out", "x.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn teacher_refuses_an_unknown_norm_or_dtype_naming_it() {
    for (args, message) in [
        (["--norm", "batch"], "unknown norm 'batch'"),
        (["--dtype", "f64"], "--dtype 'f64': expected f32 or f16"),
    ] {
        let output = histinit()
            .arg("teacher")
            .args(args)
            .args(["--steps", "1"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
    }
}
