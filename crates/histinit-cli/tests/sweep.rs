//! `histinit sweep` and `histinit report` end to end: a sweep killed with SIGKILL and
//! started again ends with exactly the results of an uninterrupted one, and its report
//! is drawn from the runs it stored.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn histinit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_histinit"))
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 2 variants x 3 inits x 2 seeds = 12 short runs of the nano model.
const CONFIG: &str = r#"
name = "resume-test"
baseline = "kaiming"

[base]
preset = "nano"
inits = ["kaiming", "pythia", "empirical"]
source = "teacher-nano"
scale = "as-is"
seed = 5
seeds = 2

[base.train]
steps = 12
batch = 4
context = 32
warmup = 2
eval_every = 3
eval_batches = 2

[grid]
warmup = [2, 0]
"#;

fn sweep(config: &Path, out: &Path, jobs: usize) -> Command {
    let mut command = histinit();
    command
        .arg("sweep")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--shipped")
        .arg(shipped())
        .arg("--jobs")
        .arg(jobs.to_string());
    command
}

fn finished_runs(out: &Path) -> usize {
    std::fs::read_dir(out.join("runs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

fn check_success(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_killed_sweep_resumes_to_the_same_results_and_reports_them() {
    let dir = scratch("resume");
    let config = dir.join("sweep.toml");
    std::fs::write(&config, CONFIG).unwrap();

    // Uninterrupted, with two worker processes.
    let whole = dir.join("whole");
    let stdout = check_success(&sweep(&config, &whole, 2).output().unwrap());
    assert!(
        stdout.contains("12 runs (0 already finished), 2 workers"),
        "{stdout}"
    );
    assert_eq!(finished_runs(&whole), 12);

    // Killed with SIGKILL once a few runs are on disk, then started again.
    let resumed = dir.join("resumed");
    let mut child = sweep(&config, &resumed, 1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while finished_runs(&resumed) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no run finished in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before = finished_runs(&resumed);
    assert!(
        (3..12).contains(&before),
        "{before} runs finished before the kill: the test needs a partial sweep"
    );
    assert!(!resumed.join("summary.json").exists());
    // A run file cut short (as by a crash without atomic writes) is not trusted.
    let victim = std::fs::read_dir(resumed.join("runs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();

    let stdout = check_success(&sweep(&config, &resumed, 1).output().unwrap());
    assert!(
        stdout.contains(&format!("({} already finished)", before - 1)),
        "{stdout}"
    );
    for file in ["curves.csv", "runs.csv", "distances.csv", "summary.json"] {
        let a = std::fs::read(whole.join(file)).unwrap();
        let b = std::fs::read(resumed.join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between the whole and the resumed sweep"
        );
    }

    // The aggregates hold what they claim.
    let runs = std::fs::read_to_string(whole.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 12);
    assert!(
        runs.lines().skip(1).all(|l| l.contains(",completed,")),
        "{runs}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["backend"], "cpu");
    let variants = summary["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["name"], "warmup-2");
    assert_eq!(variants[1]["name"], "warmup-0");
    for variant in variants {
        let comparisons = variant["comparisons"].as_array().unwrap();
        assert_eq!(comparisons.len(), 3);
        let kaiming = &comparisons[0];
        assert_eq!(kaiming["init"], "kaiming");
        assert_eq!(kaiming["final_difference"]["difference"]["estimate"], 0.0);
        for comparison in comparisons {
            assert_eq!(comparison["runs"], 2);
            assert_eq!(comparison["speedups"].as_array().unwrap().len(), 4);
        }
    }
    // What the runs start from: kaiming's N(0, 1) embedding and U(±1/8) attention
    // output (std 1/sqrt(3*64)), both light-tailed, and the nano teacher's own weights.
    let moments = |weights: &str, role: &str| {
        summary["initial_roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["weights"] == weights && m["role"] == role)
            .map(|m| {
                (
                    m["std"].as_f64().unwrap(),
                    m["excess_kurtosis"].as_f64().unwrap(),
                )
            })
            .unwrap_or_else(|| panic!("no {weights} {role} in {}", summary["initial_roles"]))
    };
    let (std, kurtosis) = moments("kaiming", "embed");
    assert!(
        (std - 1.0).abs() < 0.02 && kurtosis.abs() < 0.1,
        "{std} {kurtosis}"
    );
    let (std, kurtosis) = moments("kaiming", "attn_out");
    assert!((std - 1.0 / 192f64.sqrt()).abs() < 0.003, "{std}");
    assert!((kurtosis + 1.2).abs() < 0.1, "a uniform law: {kurtosis}");
    let (teacher_std, _) = moments("source", "unembed");
    let (empirical_std, _) = moments("empirical", "unembed");
    assert!(
        teacher_std > 0.3,
        "the nano teacher's unembedding: {teacher_std}"
    );
    assert!(
        (empirical_std / teacher_std - 1.0).abs() < 0.05,
        "{empirical_std}"
    );
    let distances = std::fs::read_to_string(whole.join("distances.csv")).unwrap();
    // Every run: 4 parts at the init and at each of its 5 evaluation steps.
    assert_eq!(distances.lines().count(), 1 + 12 * 4 * 6, "{distances}");

    // The report: charts and generated verdicts.
    let stdout = check_success(&histinit().arg("report").arg(&whole).output().unwrap());
    assert!(stdout.contains("report.md"), "{stdout}");
    let report = std::fs::read_to_string(whole.join("report.md")).unwrap();
    let start = report
        .lines()
        .find(|l| l.starts_with("| unembed |"))
        .unwrap_or_else(|| panic!("no start table:\n{report}"));
    assert!(start.contains(&format!("{teacher_std:.4}")), "{start}");
    for variant in ["warmup-2", "warmup-0"] {
        for chart in ["loss", "loss-end", "speedup", "grads", "distance"] {
            let name = format!("{variant}-{chart}.png");
            assert!(report.contains(&format!("]({name})")), "{name} not linked");
            let png = std::fs::read(whole.join(&name)).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
            assert!(
                png.len() > 5_000,
                "{name} is {} bytes: empty chart?",
                png.len()
            );
        }
    }
    // One verdict per non-baseline init and variant, with the numbers of summary.json.
    for variant in variants {
        for comparison in variant["comparisons"].as_array().unwrap().iter().skip(1) {
            let init = comparison["init"].as_str().unwrap();
            let estimate = comparison["final_difference"]["difference"]["estimate"]
                .as_f64()
                .unwrap();
            let row = report
                .lines()
                .find(|l| {
                    l.starts_with(&format!(
                        "| {} | {init} |",
                        variant["name"].as_str().unwrap()
                    ))
                })
                .unwrap_or_else(|| panic!("no table row for {init}:\n{report}"));
            assert!(
                row.contains(&format!("{estimate:+.4}")),
                "{row} vs {estimate}"
            );
            assert!(
                report.contains(&format!("- {init}: ")),
                "no verdict for {init}"
            );
        }
    }
    charts_are_drawn_from_the_run_files(&whole);
    let _ = std::fs::remove_dir_all(dir);
}

/// The report reads the runs under `runs/`, not the CSV tables: without the tables it
/// draws the same charts, a changed run changes its variant's chart (and no other),
/// and a missing run or a folder without runs is an error that says what to do.
fn charts_are_drawn_from_the_run_files(out: &Path) {
    let report = || histinit().arg("report").arg(out).output().unwrap();
    let png = |name: &str| std::fs::read(out.join(name)).unwrap();
    let before = [png("warmup-2-loss.png"), png("warmup-0-loss.png")];
    for table in ["curves.csv", "distances.csv", "runs.csv"] {
        std::fs::remove_file(out.join(table)).unwrap();
    }
    check_success(&report());
    assert!(before == [png("warmup-2-loss.png"), png("warmup-0-loss.png")]);

    // Halve the validation losses of one run of variant warmup-2 (its key says warmup 2).
    let run_files: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    let (path, mut file) = run_files
        .iter()
        .map(|path| {
            let file: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            (path, file)
        })
        .find(|(_, file)| {
            let key: serde_json::Value =
                serde_json::from_str(file["key"].as_str().unwrap()).unwrap();
            key["train"]["warmup"] == 2
        })
        .expect("a run of variant warmup-2");
    for point in file["result"]["points"].as_array_mut().unwrap() {
        if let Some(loss) = point["val_loss"].as_f64() {
            point["val_loss"] = (loss / 2.0).into();
        }
    }
    std::fs::write(path, serde_json::to_vec(&file).unwrap()).unwrap();
    check_success(&report());
    assert!(
        png("warmup-2-loss.png") != before[0],
        "the changed run is not drawn"
    );
    assert!(png("warmup-0-loss.png") == before[1]);

    std::fs::remove_file(path).unwrap();
    let output = report();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("1 of 12 runs have no result file"),
        "{stderr}"
    );

    let published = out.join("published");
    std::fs::create_dir_all(&published).unwrap();
    std::fs::copy(out.join("summary.json"), published.join("summary.json")).unwrap();
    let output = histinit().arg("report").arg(&published).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("no runs/") && stderr.contains("run-all.sh"),
        "{stderr}"
    );
}

#[test]
fn bad_sweep_configs_are_named() {
    let dir = scratch("bad");
    let config = dir.join("bad.toml");
    std::fs::write(
        &config,
        "name = \"bad\"\n[base]\ninits = [\"pythia\"]\n[grid]\nwarmup = [0]\n",
    )
    .unwrap();
    let output = sweep(&config, &dir.join("out"), 1).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("baseline 'kaiming' is not among the inits"),
        "{stderr}"
    );

    std::fs::write(&config, "name = \"bad\"\n[base]\n[grid]\nwarmup = [5000]\n").unwrap();
    let output = sweep(&config, &dir.join("out"), 1).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("variant 'warmup-5000'") && stderr.contains("warmup"),
        "{stderr}"
    );

    std::fs::write(&config, "name = \"bad\"\n[base]\n[grid]\nwarmupp = [1]\n").unwrap();
    let output = sweep(&config, &dir.join("out"), 1).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warmupp"), "{stderr}");

    let output = histinit()
        .arg("report")
        .arg(dir.join("nowhere"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("summary.json"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// 2 variants x 2 inits x 2 seeds = 8 runs, 6 distinct: kaiming draws on no source, so
/// the scale rule does not change its runs and both variants share them.
const SHARDED: &str = r#"
name = "shard-test"
baseline = "kaiming"

[base]
preset = "nano"
inits = ["kaiming", "empirical"]
source = "teacher-nano"
seed = 5
seeds = 2

[base.train]
steps = 12
batch = 4
context = 32
warmup = 2
eval_every = 3
eval_batches = 2

[grid]
scale = ["as-is", "shape-only"]
"#;

/// Two shards run at once as separate processes into one directory, then `--aggregate`,
/// give byte for byte the tables and summary of one process's sweep; a missing run makes
/// `--aggregate` refuse and name it. The summary holds no timestamp; its `commit` is
/// the checkout the aggregating process runs in, the same here for every process.
#[test]
fn sharded_sweeps_aggregate_to_the_single_process_summary() {
    let dir = scratch("shard");
    let config = dir.join("sweep.toml");
    std::fs::write(&config, SHARDED).unwrap();

    let single = dir.join("single");
    check_success(&sweep(&config, &single, 1).output().unwrap());
    assert_eq!(finished_runs(&single), 6);

    let sharded = dir.join("sharded");
    let shard = |k: usize| {
        let mut command = sweep(&config, &sharded, 1);
        command.arg("--shard").arg(format!("{k}/2"));
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let (first, second) = (shard(1), shard(2));
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for (k, output) in outputs.iter().enumerate() {
        let stdout = check_success(output);
        assert!(
            stdout.contains(&format!(
                "shard {}/2: 3 of the 6 distinct runs (0 already finished)",
                k + 1
            )),
            "{stdout}"
        );
        assert!(stdout.contains("--aggregate"), "{stdout}");
    }
    // Each shard trained its own 3 runs: 6 different ones between them.
    let mut trained: Vec<String> = outputs
        .iter()
        .flat_map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|l| l.contains(": final val "))
                .map(|l| {
                    l.split("] ")
                        .nth(1)
                        .unwrap()
                        .split(':')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(trained.len(), 6, "{trained:?}");
    trained.sort();
    trained.dedup();
    assert_eq!(
        trained.len(),
        6,
        "a run was trained by both shards: {trained:?}"
    );
    assert_eq!(finished_runs(&sharded), 6, "the shards split the runs");
    assert!(
        !sharded.join("summary.json").exists(),
        "a shard wrote a summary"
    );

    // One run gone: --aggregate trains nothing, refuses and names what is missing.
    let victim = std::fs::read_dir(sharded.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("empirical-s6")
        })
        .unwrap();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::remove_file(&victim).unwrap();
    let aggregate = || {
        let mut command = histinit();
        command
            .arg("sweep")
            .arg(&config)
            .arg("--out")
            .arg(&sharded)
            .arg("--shipped")
            .arg(shipped())
            .arg("--aggregate");
        command.output().unwrap()
    };
    let output = aggregate();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 of 8 runs have no result file")
            && stderr.contains(&format!("variant scale-as-is empirical seed 6: {name}"))
            && stderr.contains("--shard K/N"),
        "{stderr}"
    );
    assert_eq!(finished_runs(&sharded), 5, "--aggregate trained a run");
    assert!(!sharded.join("summary.json").exists());

    std::fs::write(&victim, bytes).unwrap();
    let stdout = check_success(&aggregate());
    assert!(stdout.contains("summary.json"), "{stdout}");
    for file in [
        "summary.json",
        "comparisons.csv",
        "curves.csv",
        "runs.csv",
        "distances.csv",
        "config.toml",
    ] {
        let a = std::fs::read(single.join(file)).unwrap();
        let b = std::fs::read(sharded.join(file)).unwrap();
        assert!(a == b, "{file} differs between one process and two shards");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sharded.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["variants"].as_array().unwrap().len(), 2);
    assert_eq!(summary["equivalence_margin"], 0.02);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shard_numbers_are_checked() {
    let dir = scratch("shard-args");
    let config = dir.join("sweep.toml");
    std::fs::write(&config, SHARDED).unwrap();
    for (shard, message) in [
        ("0/2", "shards are numbered from 1 (1/2 to 2/2)"),
        ("3/2", "there is no shard 3 of 2"),
        ("1/0", "the shard count must be at least 1"),
        ("a/2", "shard 'a' is not a whole number"),
        ("1-2", "is not K/N"),
    ] {
        let output = sweep(&config, &dir.join("out"), 1)
            .arg("--shard")
            .arg(shard)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(message),
            "{shard}: {stderr}"
        );
    }
    assert_eq!(finished_runs(&dir.join("out")), 0);
    let output = sweep(&config, &dir.join("out"), 1)
        .args(["--shard", "1/2", "--aggregate"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

/// The Slurm and Kubernetes examples call the real CLI: every `--flag` they use is
/// either `histinit sweep`'s (by its --help) or one of the scheduler's named here, and
/// both run shards with `--shard` and aggregate with `--aggregate`.
#[test]
fn the_scheduler_examples_use_real_sweep_flags() {
    let help = histinit().args(["sweep", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(
        help.contains("--shard") && help.contains("--aggregate"),
        "{help}"
    );
    let schedulers = [
        // sbatch
        "--parsable",
        "--job-name",
        "--array",
        "--cpus-per-task",
        "--output",
        "--export",
        "--dependency",
        "--partition",
        "--gres",
        "--time",
        // the script's own modes and options, cargo's
        "--task",
        "--bin",
        // kubectl
        "--for",
        "--timeout",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    for name in ["slurm-array.sh", "k8s-indexed-job.yaml"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        for stage in ["--shard", "--aggregate", "histinit report"] {
            assert!(text.contains(stage), "{name} does not use {stage}");
        }
        let flags = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
        let flags = flags
            .filter(|f| f.len() > 2 && f.starts_with("--") && f.as_bytes()[2].is_ascii_lowercase());
        for flag in flags {
            assert!(
                help.contains(&format!("{flag} "))
                    || help.contains(&format!("{flag}\n"))
                    || schedulers.contains(&flag),
                "{name}: {flag} is not a `histinit sweep` flag"
            );
        }
    }
}

/// A sweep on its own text: the config names the file, `--corpus` gives it, the runs read
/// it (not the bundled book) and every mismatch between the two is refused by name.
#[test]
fn a_sweep_trains_on_the_text_its_config_names() {
    let dir = scratch("corpus");
    let text = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/jargon.txt");
    let one_run = |corpus: Option<&str>| {
        format!(
            "name = \"corpus-test\"\n[base]\npreset = \"nano\"\ninits = [\"kaiming\"]\nseed = 3\nseeds = 1\n{}\
             [base.train]\nsteps = 6\nbatch = 2\ncontext = 32\nwarmup = 1\neval_every = 3\neval_batches = 2\n",
            corpus.map_or(String::new(), |name| format!("corpus = \"{name}\"\n"))
        )
    };
    let config = dir.join("sweep.toml");
    let final_loss = |out: &Path| -> f64 {
        let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
        let row = runs.lines().nth(1).unwrap();
        let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
        let column = header.iter().position(|h| *h == "final_val_loss").unwrap();
        row.split(',').nth(column).unwrap().parse().unwrap()
    };

    std::fs::write(&config, one_run(Some("jargon.txt"))).unwrap();
    let heldout = dir.join("heldout");
    check_success(
        &sweep(&config, &heldout, 1)
            .arg("--corpus")
            .arg(&text)
            .output()
            .unwrap(),
    );
    let summary = std::fs::read_to_string(heldout.join("summary.json")).unwrap();
    assert!(
        summary.contains("corpus=jargon.txt"),
        "the link names the text"
    );
    // The aggregate needs no flag: the runs are keyed by the text's name.
    check_success(
        &sweep(&config, &heldout, 1)
            .arg("--aggregate")
            .output()
            .unwrap(),
    );

    std::fs::write(&config, one_run(None)).unwrap();
    let bundled = dir.join("bundled");
    check_success(&sweep(&config, &bundled, 1).output().unwrap());
    let (on_jargon, on_kjv) = (final_loss(&heldout), final_loss(&bundled));
    assert!(
        (on_jargon - on_kjv).abs() > 1e-3,
        "the same loss on two texts: {on_jargon} {on_kjv}"
    );

    let refused = |corpus: Option<&str>, flag: Option<&Path>, says: &str| {
        std::fs::write(&config, one_run(corpus)).unwrap();
        let mut command = sweep(&config, &dir.join("refused"), 1);
        if let Some(flag) = flag {
            command.arg("--corpus").arg(flag);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(says),
            "{stderr}"
        );
    };
    refused(
        Some("jargon.txt"),
        None,
        "give that file with --corpus FILE",
    );
    refused(
        Some("other.txt"),
        Some(&text),
        "but --corpus gives 'jargon.txt'",
    );
    refused(None, Some(&text), "add corpus = \"jargon.txt\" to [base]");
    let _ = std::fs::remove_dir_all(dir);
}
