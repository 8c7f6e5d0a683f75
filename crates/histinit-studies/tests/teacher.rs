//! `train_teacher` (histinit-studies): checkpoints on Pythia's schedule with their
//! histograms and trajectory, with and without LayerNorm; students taking a teacher's
//! weights. The `histinit teacher` command line is tested in histinit-cli's tests.

use std::path::{Path, PathBuf};

use histinit_core::checkpoint::{weights_from_safetensors, StoreDtype};
use histinit_core::config::NormMode;
use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::histogram::{HistogramFile, Role, Trajectory, TRAJECTORY_PROBS};
use histinit_studies::experiment::{load_config, run};
use histinit_studies::teacher::{train_teacher, TeacherOptions};
use histinit_studies::{device, sources, Backend};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-teacher-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 + 1e-6 * want.abs(),
        "{what}: got {got}, want {want}"
    );
}

/// A nano teacher of `steps` steps (batch 2) on the bundled corpus, on the CPU, into `out`.
fn train(out: &Path, norm: NormMode, steps: usize, final_dtype: StoreDtype) {
    let context = histinit_core::ModelConfig::preset("nano").unwrap().context;
    let corpus = Corpus::new(&bundled_corpus().unwrap(), context).unwrap();
    let options = TeacherOptions {
        preset: "nano".into(),
        norm,
        steps,
        batch: 2,
        lr: 3e-3,
        seed: 1,
        out: out.to_path_buf(),
        final_dtype,
        backend_name: "cpu".into(),
        command: "test".into(),
    };
    let device = device(Backend::Cpu).unwrap();
    train_teacher(&options, &corpus, &device, |_| {}).unwrap_or_else(|err| panic!("{err}"));
}

/// `histinit run --link LINK --weights WEIGHTS`: the students trained, or the message.
fn students(link: &str, weights: &Path, out: &Path) -> Result<(), String> {
    let config = load_config(None, Some(link), None, None, None).map_err(|e| e.to_string())?;
    let sources = sources::load(
        &config,
        None,
        Some(weights),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms"),
    )
    .map_err(|e| e.to_string())?;
    run(&config, &sources, Backend::Cpu, None, out, true).map_err(|e| e.to_string())
}

#[test]
fn teacher_saves_checkpoints_on_schedule_with_histograms() {
    let dir = temp_dir("teacher");
    train(&dir, NormMode::Layer, 5, StoreDtype::F16);
    for step in [0, 1, 2, 4, 5] {
        let checkpoint = dir.join(format!("checkpoints/step{step:06}.safetensors"));
        let weights = weights_from_safetensors(&std::fs::read(&checkpoint).unwrap()).unwrap();
        assert!(weights.contains_key("embed_out.weight"));
        let histogram = dir.join(format!("histograms/step{step:06}.json.gz"));
        let file = HistogramFile::parse(&std::fs::read(histogram).unwrap()).unwrap();
        assert_eq!(file.source.step, Some(step));
    }
    assert!(!dir.join("checkpoints/step000003.safetensors").exists());
    // The checkpoint and its histogram agree; training moved the weights.
    let first = weights_from_safetensors(
        &std::fs::read(dir.join("checkpoints/step000000.safetensors")).unwrap(),
    )
    .unwrap();
    let last = weights_from_safetensors(
        &std::fs::read(dir.join("checkpoints/step000005.safetensors")).unwrap(),
    )
    .unwrap();
    assert_ne!(first["embed_out.weight"], last["embed_out.weight"]);
    let final_file =
        HistogramFile::parse(&std::fs::read(dir.join("teacher-nano.json.gz")).unwrap()).unwrap();
    let unembed = final_file.tensor("embed_out.weight").unwrap();
    let values = &last["embed_out.weight"].values;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
    close(unembed.mean, mean, "unembed mean");
    assert!(final_file
        .source
        .note
        .as_deref()
        .unwrap_or("")
        .contains("Not a Pythia checkpoint"));
    assert!(final_file
        .tensor("gpt_neox.layers.1.attention.query_key_value.weight#q")
        .is_some());
    // The f16 final weights are the last checkpoint to half precision.
    let half =
        weights_from_safetensors(&std::fs::read(dir.join("teacher-nano.safetensors")).unwrap())
            .unwrap();
    for (a, b) in half["embed_out.weight"].values.iter().zip(values) {
        assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-6);
    }
    // The reader the page uses reads what the writer wrote.
    let trajectory =
        Trajectory::parse(&std::fs::read(dir.join("teacher-nano-trajectory.json.gz")).unwrap())
            .unwrap();
    let steps: Vec<usize> = trajectory.checkpoints.iter().map(|c| c.step).collect();
    assert_eq!(steps, vec![0, 1, 2, 4, 5]);
    assert_eq!(trajectory.probs, TRAJECTORY_PROBS);
    let last = &trajectory.checkpoints[4];
    let unembed = last.role(Role::Unembed).expect("an unembed snapshot");
    let pooled = final_file.pooled(Role::Unembed).unwrap();
    assert_eq!(
        unembed.std, pooled.std,
        "the last checkpoint is the final file"
    );
    assert_eq!(
        unembed.quantile(&trajectory.probs, 0.5),
        Some(pooled.quantiles.quantile(0.5))
    );
}

#[test]
fn a_teacher_without_layernorm_is_named_so_and_has_no_norm_tensors() {
    let dir = temp_dir("teacher-nonorm");
    train(&dir, NormMode::None, 2, StoreDtype::F32);
    let file =
        HistogramFile::parse(&std::fs::read(dir.join("teacher-nano-nonorm.json.gz")).unwrap())
            .unwrap();
    assert!(file
        .source
        .note
        .as_deref()
        .unwrap_or("")
        .contains("without LayerNorm"));
    assert!(file.pooled(Role::Unembed).is_some());
    assert!(file.pooled(Role::NormGain).is_none() && file.pooled(Role::NormBias).is_none());
    let weights = weights_from_safetensors(
        &std::fs::read(dir.join("teacher-nano-nonorm.safetensors")).unwrap(),
    )
    .unwrap();
    assert!(
        weights.keys().all(|name| !name.contains("layernorm")),
        "{:?}",
        weights.keys()
    );
    assert!(dir.join("teacher-nano-nonorm-trajectory.json.gz").exists());
    // Students with LayerNorm cannot take its (missing) norm weights, and are told why;
    // students without it can.
    let weights_path = dir.join("teacher-nano-nonorm.safetensors");
    let link = "?preset=nano&inits=permuted&steps=1&warmup=0&eval_every=1&batch=2&context=32";
    let with_norm = students(link, &weights_path, &dir.join("with-norm")).unwrap_err();
    assert!(
        with_norm.contains("input_layernorm.weight', and the source has none")
            && with_norm.contains("train these students without it too: norm none"),
        "{with_norm}"
    );
    students(
        &format!("{link}&norm=none"),
        &weights_path,
        &dir.join("without-norm"),
    )
    .unwrap();
}
