//! The `extract` and `teacher` subcommands: arguments and the glue between the CLI and
//! `extract.rs`, `hub.rs` and `teacher.rs`.

use std::path::{Path, PathBuf};

use clap::Args;
use histinit_core::burn::tensor::Device;
use histinit_core::checkpoint::StoreDtype;
use histinit_core::config::NormMode;
use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::histogram::Provenance;

use histinit_files::fs::FileError;

use crate::extract::{extract, resolve_input, Arch, ExtractError, ExtractOptions, RoleRule};
use crate::teacher::{train_teacher, TeacherError, TeacherOptions};
use crate::Backend;
use histinit_files::hub::{endpoint, HubError, HubRepo};

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Teacher(#[from] TeacherError),
    #[error(transparent)]
    Data(#[from] histinit_core::error::DataError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0}")]
    Usage(String),
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// A .safetensors file, a model.safetensors.index.json, or a model folder.
    #[arg(required_unless_present = "hub")]
    pub input: Option<PathBuf>,
    /// Download from a Hugging Face hub repository instead (e.g. EleutherAI/pythia-70m);
    /// honours HF_ENDPOINT and HF_TOKEN.
    #[arg(long, conflicts_with = "input")]
    pub hub: Option<String>,
    /// Hub revision (branch, tag or commit), e.g. step3000.
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// Where hub downloads are kept (OWNER--NAME/snapshots/COMMIT/, and refs/REVISION
    /// naming the commit a revision last resolved to).
    #[arg(long, default_value = "out/hub")]
    pub cache: PathBuf,
    /// Output histogram file (.json or .json.gz).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Naming convention: gpt_neox, gpt2, llama, bert (default: config.json's
    /// model_type, else guessed from the names).
    #[arg(long)]
    pub arch: Option<String>,
    /// Attention heads (to split a GPT-NeoX fused QKV per head) if config.json is absent.
    #[arg(long)]
    pub heads: Option<usize>,
    /// Extra name rules 'REGEX=ROLE' (ROLE: a role name or 'skip'), tried first.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Provenance: model id (default: the hub repository or the input's name).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub step: Option<u64>,
    #[arg(long)]
    pub tokens: Option<u64>,
    #[arg(long, default_value = "unknown")]
    pub corpus: String,
    #[arg(long, default_value = "unknown")]
    pub license: String,
    #[arg(long)]
    pub note: Option<String>,
}

pub(crate) fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut parts = vec!["histinit".to_string()];
    parts.extend(args.into_iter().skip(1).map(|arg| {
        if arg.contains([' ', '\'', '"', '*', '$']) {
            format!("'{}'", arg.replace('\'', "'\\''"))
        } else {
            arg
        }
    }));
    parts.join(" ")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ToolError> {
    Ok(histinit_files::fs::write_file(path, bytes)?)
}

pub fn run_extract(args: ExtractArgs) -> Result<(), ToolError> {
    let (input_path, revision) = match (&args.input, &args.hub) {
        (_, Some(repo)) => {
            let hub = HubRepo::new(endpoint(), repo, &args.revision, &args.cache)?;
            eprintln!(
                "resolving {repo}@{} on {} (cache {})",
                args.revision,
                hub.endpoint,
                hub.dir.display()
            );
            let snapshot = hub.fetch_model()?;
            eprintln!(
                "{repo}@{} is commit {}: {}",
                args.revision,
                snapshot.commit,
                snapshot.dir.display()
            );
            (snapshot.dir, Some(args.revision.clone()))
        }
        (Some(path), None) => (path.clone(), None),
        (None, None) => return Err(ToolError::Usage("give an INPUT path or --hub REPO".into())),
    };
    let input = resolve_input(&input_path)?;
    let arch = args
        .arch
        .as_deref()
        .map(Arch::parse)
        .transpose()
        .map_err(ExtractError::from)?;
    let rules = args
        .roles
        .iter()
        .map(|rule| RoleRule::parse(rule))
        .collect::<Result<Vec<_>, _>>()?;
    let model = args.model.clone().or(args.hub.clone()).unwrap_or_else(|| {
        input_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("checkpoint")
            .to_string()
    });
    let provenance = Provenance {
        model,
        architecture: String::new(),
        revision,
        step: args.step,
        tokens_trained: args.tokens,
        corpus: args.corpus.clone(),
        license: args.license.clone(),
        command: command_line(),
        note: args.note.clone(),
    };
    let extraction = extract(
        &input,
        &ExtractOptions {
            arch,
            heads: args.heads,
            rules,
            provenance,
        },
    )?;
    let bytes = if args.out.extension().is_some_and(|e| e == "gz") {
        extraction.file.to_json_gz()
    } else {
        extraction.file.to_json().into_bytes()
    };
    write(&args.out, &bytes)?;
    for warning in &extraction.warnings {
        eprintln!("warning: {warning}");
    }
    for skipped in &extraction.skipped {
        eprintln!(
            "skipped {} {:?}: {}",
            skipped.name, skipped.shape, skipped.reason
        );
    }
    for unknown in &extraction.unknown {
        eprintln!(
            "UNMAPPED {} {:?}: {} (add --role 'REGEX=ROLE')",
            unknown.name, unknown.shape, unknown.reason
        );
    }
    println!(
        "{} ({}): {} tensors, {} roles pooled, {} skipped, {} unmapped -> {} ({} bytes)",
        input.origin.display(),
        extraction.arch.map(|a| a.name()).unwrap_or("unknown arch"),
        extraction.file.tensors.len(),
        extraction.file.pooled.len(),
        extraction.skipped.len(),
        extraction.unknown.len(),
        args.out.display(),
        bytes.len()
    );
    for entry in &extraction.file.pooled {
        println!(
            "  {:<10} n {:>10}  mean {:>+.5}  std {:.5}  skew {:>+.3}  ex.kurt {:>+.3}",
            entry.role.name(),
            entry.count,
            entry.mean,
            entry.std,
            entry.skewness,
            entry.excess_kurtosis
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct TeacherArgs {
    /// Model preset (see `histinit presets`).
    #[arg(long, default_value = "nano")]
    pub preset: String,
    /// `none`: train without LayerNorm (the files are then named teacher-<preset>-nonorm).
    #[arg(long, default_value = "layer")]
    pub norm: String,
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Peak learning rate (the project's default recipe).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: Backend,
    /// Folder for checkpoints/, histograms/ and the final files.
    #[arg(long, default_value = "out/teacher")]
    pub out: PathBuf,
    /// dtype of the final teacher-<preset>.safetensors: f32 or f16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
}

pub fn run_teacher(args: TeacherArgs, device: &Device) -> Result<(), ToolError> {
    let final_dtype = StoreDtype::parse(&args.dtype).ok_or_else(|| {
        ToolError::Usage(format!("--dtype '{}': expected f32 or f16", args.dtype))
    })?;
    let text = bundled_corpus()?;
    let context = histinit_core::ModelConfig::preset(&args.preset)
        .map_err(|err| ToolError::Teacher(err.into()))?
        .context;
    let corpus = Corpus::new(&text, context)?;
    let norm = NormMode::parse(&args.norm).map_err(|err| ToolError::Teacher(err.into()))?;
    let options = TeacherOptions {
        preset: args.preset.clone(),
        norm,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        out: args.out.clone(),
        final_dtype,
        backend_name: format!("{:?}", args.backend).to_lowercase(),
        command: command_line(),
    };
    let report = train_teacher(&options, &corpus, device, |line| eprintln!("{line}"))?;
    println!(
        "{}: {} steps in {:.0} s, validation loss {:.4} -> {:.4}",
        crate::teacher::teacher_id(&args.preset, norm),
        args.steps,
        report.seconds,
        report.initial_val_loss,
        report.final_val_loss
    );
    for path in [
        &report.final_histogram,
        &report.final_weights,
        &report.trajectory,
    ] {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("  {} ({size} bytes)", path.display());
    }
    Ok(())
}
