//! `extract` (histinit-studies) on inputs made here: numpy reference statistics, GPT-2,
//! Llama and sharded checkpoints, corrupt files; and the shipped histogram files. The
//! command line over it is tested in histinit-cli's tests/extract.rs; hub downloads in
//! its tests/hub.rs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use histinit_core::checkpoint::{weights_from_safetensors, weights_to_safetensors, StoreDtype};
use histinit_core::histogram::{HistogramFile, Provenance, Role, Trajectory};
use histinit_core::params::{HostTensor, Weights};
use histinit_studies::extract::{
    extract, resolve_input, Arch, ExtractError, ExtractOptions, Extraction, RoleRule, Unmapped,
};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-extract-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `extract` with the architecture and `--role` rules `histinit extract` would pass.
fn try_extract(
    input: &Path,
    arch: Option<&str>,
    roles: &[&str],
) -> Result<Extraction, ExtractError> {
    // The command line's default model id: the input's name.
    let model = input.file_stem().unwrap().to_string_lossy().into_owned();
    let input = resolve_input(input)?;
    extract(
        &input,
        &ExtractOptions {
            arch: arch.map(Arch::parse).transpose()?,
            heads: None,
            rules: roles
                .iter()
                .map(|rule| RoleRule::parse(rule))
                .collect::<Result<_, _>>()?,
            provenance: Provenance {
                model,
                ..Provenance::default()
            },
        },
    )
}

/// The histogram file as written (gzipped JSON) and read back, and the extraction.
fn extract_ok(input: &Path, arch: Option<&str>, roles: &[&str]) -> (HistogramFile, Extraction) {
    let extraction = try_extract(input, arch, roles).unwrap_or_else(|err| panic!("{err}"));
    let file = HistogramFile::parse(&extraction.file.to_json_gz()).unwrap();
    (file, extraction)
}

/// The message an input is refused with.
fn refused(input: &Path) -> String {
    match try_extract(input, None, &[]) {
        Ok(_) => panic!("{} was accepted", input.display()),
        Err(err) => err.to_string(),
    }
}

fn names(list: &[Unmapped]) -> Vec<&str> {
    list.iter().map(|entry| entry.name.as_str()).collect()
}

/// Deterministic, non-constant values (a sine walk, so every tensor differs).
fn tensor(shape: &[usize], seed: f32) -> HostTensor {
    let n: usize = shape.iter().product();
    HostTensor {
        shape: shape.to_vec(),
        values: (0..n)
            .map(|i| 0.05 * ((i as f32 + 1.0) * 0.7 + seed).sin())
            .collect(),
    }
}

fn save(weights: &Weights, path: &Path, meta: &[(&str, &str)]) {
    let meta: BTreeMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::fs::write(
        path,
        weights_to_safetensors(weights, StoreDtype::F32, &meta).unwrap(),
    )
    .unwrap();
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 + 1e-6 * want.abs(),
        "{what}: got {got}, numpy says {want}"
    );
}

#[test]
fn statistics_agree_with_numpy() {
    // tests/reference/check_extract.py wrote both files (f32, f16 and bf16 tensors).
    let reference = repo_root().join("tests/reference");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reference.join("extract_reference.json")).unwrap(),
    )
    .unwrap();
    let (file, _) = extract_ok(&reference.join("extract_reference.safetensors"), None, &[]);
    let probs: Vec<f64> = serde_json::from_value(expected["probs"].clone()).unwrap();
    let tensors = expected["tensors"].as_object().unwrap();
    assert_eq!(file.tensors.len(), tensors.len());
    for (name, want) in tensors {
        let got = file
            .tensor(name)
            .unwrap_or_else(|| panic!("no entry for {name}"));
        assert_eq!(got.role.name(), want["role"].as_str().unwrap(), "{name}");
        assert_eq!(got.count, want["count"].as_u64().unwrap(), "{name}");
        for key in ["mean", "std", "skewness", "excess_kurtosis", "min", "max"] {
            let value = match key {
                "mean" => got.mean,
                "std" => got.std,
                "skewness" => got.skewness,
                "excess_kurtosis" => got.excess_kurtosis,
                "min" => got.min,
                _ => got.max,
            };
            close(value, want[key].as_f64().unwrap(), &format!("{name} {key}"));
        }
        let quantiles = want["quantiles"].as_array().unwrap();
        for (&p, q) in probs.iter().zip(quantiles) {
            close(
                got.quantiles.quantile(p),
                q.as_f64().unwrap(),
                &format!("{name} quantile {p}"),
            );
        }
    }
    for (role, want) in expected["pooled"].as_object().unwrap() {
        let got = file.pooled(Role::parse(role).unwrap()).unwrap();
        assert_eq!(got.count, want["count"].as_u64().unwrap(), "{role}");
        for (value, key) in [
            (got.mean, "mean"),
            (got.std, "std"),
            (got.skewness, "skewness"),
            (got.excess_kurtosis, "excess_kurtosis"),
            (got.min, "min"),
            (got.max, "max"),
        ] {
            close(
                value,
                want[key].as_f64().unwrap(),
                &format!("pooled {role} {key}"),
            );
        }
    }
}

#[test]
fn gpt2_names_map_to_roles_with_conv1d_transposed() {
    let dir = temp_dir("gpt2");
    let d = 8;
    let mut weights = Weights::new();
    weights.insert("transformer.wte.weight".into(), tensor(&[40, d], 0.1));
    weights.insert("transformer.wpe.weight".into(), tensor(&[16, d], 0.2));
    weights.insert("transformer.ln_f.weight".into(), tensor(&[d], 0.3));
    weights.insert("transformer.ln_f.bias".into(), tensor(&[d], 0.4));
    for layer in 0..2 {
        let p = format!("transformer.h.{layer}");
        let s = layer as f32;
        weights.insert(format!("{p}.ln_1.weight"), tensor(&[d], s + 1.0));
        weights.insert(format!("{p}.ln_1.bias"), tensor(&[d], s + 1.1));
        weights.insert(
            format!("{p}.attn.c_attn.weight"),
            tensor(&[d, 3 * d], s + 1.2),
        );
        weights.insert(format!("{p}.attn.c_attn.bias"), tensor(&[3 * d], s + 1.3));
        weights.insert(format!("{p}.attn.c_proj.weight"), tensor(&[d, d], s + 1.4));
        weights.insert(format!("{p}.mlp.c_fc.weight"), tensor(&[d, 4 * d], s + 1.5));
        weights.insert(format!("{p}.mlp.c_fc.bias"), tensor(&[4 * d], s + 1.55));
        weights.insert(
            format!("{p}.mlp.c_proj.weight"),
            tensor(&[4 * d, d], s + 1.6),
        );
        weights.insert(format!("{p}.attn.bias"), tensor(&[1, 1, 4, 4], 0.0));
    }
    let path = dir.join("gpt2.safetensors");
    save(&weights, &path, &[]);
    let (file, extraction) = extract_ok(&path, None, &[]);
    assert_eq!(file.source.architecture, "gpt2");
    // Conv1D [in, out] is reported as [out, in] with fan-in `in`.
    let fc = file.tensor("transformer.h.1.mlp.c_fc.weight").unwrap();
    assert_eq!((fc.role, fc.layer), (Role::MlpIn, Some(1)));
    assert_eq!((fc.shape.clone(), fc.fan_in), (vec![4 * d, d], d));
    let down = file.tensor("transformer.h.0.mlp.c_proj.weight").unwrap();
    assert_eq!(
        (down.role, down.shape.clone(), down.fan_in),
        (Role::MlpOut, vec![d, 4 * d], 4 * d)
    );
    // Fused QKV kept whole and split in q, k, v blocks.
    let q = file.tensor("transformer.h.0.attn.c_attn.weight#q").unwrap();
    assert_eq!((q.role, q.shape.clone()), (Role::Q, vec![d, d]));
    let qkv = file.tensor("transformer.h.0.attn.c_attn.weight").unwrap();
    assert_eq!((qkv.role, qkv.count), (Role::Qkv, (3 * d * d) as u64));
    // The q block of the transposed weight holds columns 0..d of the stored [in, out].
    let stored = &weights["transformer.h.0.attn.c_attn.weight"].values;
    let mut q_values: Vec<f32> = (0..d)
        .flat_map(|i| (0..d).map(move |o| (i, o)))
        .map(|(i, o)| stored[i * 3 * d + o])
        .collect();
    q_values.sort_by(f32::total_cmp);
    // (JSON round trips may move the last bit.)
    close(q.max, *q_values.last().unwrap() as f64, "q max");
    close(q.min, q_values[0] as f64, "q min");
    let bias = file.tensor("transformer.h.0.mlp.c_fc.bias").unwrap();
    assert_eq!((bias.role, bias.fan_in), (Role::Bias, d));
    assert_eq!(
        file.tensor("transformer.ln_f.bias").unwrap().role,
        Role::NormBias
    );
    for role in [
        Role::Embed,
        Role::Qkv,
        Role::Q,
        Role::K,
        Role::V,
        Role::AttnOut,
        Role::MlpIn,
        Role::MlpOut,
        Role::NormGain,
        Role::NormBias,
        Role::Bias,
    ] {
        assert!(file.pooled(role).is_some(), "no pooled {}", role.name());
    }
    // The position table and mask buffers are listed as skipped, not dropped silently.
    assert!(file.tensor("transformer.wpe.weight").is_none());
    let skipped = names(&extraction.skipped);
    assert!(skipped.contains(&"transformer.wpe.weight"), "{skipped:?}");
    assert!(
        skipped.contains(&"transformer.h.0.attn.bias"),
        "{skipped:?}"
    );
}

#[test]
fn llama_names_map_to_roles_and_fuse_qkv() {
    let dir = temp_dir("llama");
    let d = 8;
    let kv = 4; // grouped-query attention: k and v are narrower
    let mut weights = Weights::new();
    weights.insert("model.embed_tokens.weight".into(), tensor(&[40, d], 0.1));
    weights.insert("model.norm.weight".into(), tensor(&[d], 0.2));
    weights.insert("lm_head.weight".into(), tensor(&[40, d], 0.3));
    for layer in 0..2 {
        let p = format!("model.layers.{layer}");
        let s = layer as f32;
        weights.insert(format!("{p}.input_layernorm.weight"), tensor(&[d], s + 1.0));
        weights.insert(
            format!("{p}.post_attention_layernorm.weight"),
            tensor(&[d], s + 1.1),
        );
        weights.insert(
            format!("{p}.self_attn.q_proj.weight"),
            tensor(&[d, d], s + 1.2),
        );
        weights.insert(
            format!("{p}.self_attn.k_proj.weight"),
            tensor(&[kv, d], s + 1.3),
        );
        weights.insert(
            format!("{p}.self_attn.v_proj.weight"),
            tensor(&[kv, d], s + 1.4),
        );
        weights.insert(
            format!("{p}.self_attn.o_proj.weight"),
            tensor(&[d, d], s + 1.5),
        );
        weights.insert(
            format!("{p}.mlp.gate_proj.weight"),
            tensor(&[3 * d, d], s + 1.6),
        );
        weights.insert(
            format!("{p}.mlp.up_proj.weight"),
            tensor(&[3 * d, d], s + 1.7),
        );
        weights.insert(
            format!("{p}.mlp.down_proj.weight"),
            tensor(&[d, 3 * d], s + 1.8),
        );
        weights.insert(format!("{p}.mlp.mystery_gate"), tensor(&[d], s + 1.9));
    }
    let path = dir.join("llama.safetensors");
    save(&weights, &path, &[]);
    let (file, extraction) = extract_ok(&path, Some("llama"), &[]);
    assert_eq!(file.source.architecture, "llama");
    let k = file
        .tensor("model.layers.1.self_attn.k_proj.weight")
        .unwrap();
    assert_eq!(
        (k.role, k.layer, k.shape.clone()),
        (Role::K, Some(1), vec![kv, d])
    );
    let fused = file.tensor("model.layers.0.self_attn.qkv#fused").unwrap();
    assert_eq!(
        (fused.role, fused.count),
        (Role::Qkv, ((d + 2 * kv) * d) as u64)
    );
    assert_eq!(
        file.tensor("model.layers.0.mlp.gate_proj.weight")
            .unwrap()
            .role,
        Role::MlpIn
    );
    assert_eq!(
        file.tensor("model.layers.0.mlp.down_proj.weight")
            .unwrap()
            .fan_in,
        3 * d
    );
    assert_eq!(
        file.tensor("model.norm.weight").unwrap().role,
        Role::NormGain
    );
    assert_eq!(file.tensor("lm_head.weight").unwrap().role, Role::Unembed);
    // Unknown tensors are listed (the command line prints them) and in the provenance note.
    let unknown = names(&extraction.unknown);
    assert!(
        unknown.contains(&"model.layers.0.mlp.mystery_gate"),
        "{unknown:?}"
    );
    let note = file.source.note.clone().unwrap_or_default();
    assert!(note.contains("model.layers.1.mlp.mystery_gate"), "{note}");

    // A --role rule takes them in.
    let (file, extraction) = extract_ok(&path, None, &[r"mlp\.mystery_gate$=norm_gain"]);
    assert!(extraction.unknown.is_empty(), "{:?}", extraction.unknown);
    let gate = file.tensor("model.layers.1.mlp.mystery_gate").unwrap();
    assert_eq!((gate.role, gate.layer), (Role::NormGain, Some(1)));
}

#[test]
fn sharded_model_folders_with_config_are_read() {
    let dir = temp_dir("sharded");
    let d = 8;
    let mut first = Weights::new();
    let mut second = Weights::new();
    first.insert("gpt_neox.embed_in.weight".into(), tensor(&[16, d], 0.1));
    first.insert(
        "gpt_neox.layers.0.attention.query_key_value.weight".into(),
        tensor(&[3 * d, d], 0.2),
    );
    second.insert("embed_out.weight".into(), tensor(&[16, d], 0.3));
    second.insert(
        "gpt_neox.layers.0.attention.rotary_emb.inv_freq".into(),
        tensor(&[2], 0.4),
    );
    save(&first, &dir.join("model-00001-of-00002.safetensors"), &[]);
    save(&second, &dir.join("model-00002-of-00002.safetensors"), &[]);
    let mut map = serde_json::Map::new();
    for name in first.keys() {
        map.insert(name.clone(), "model-00001-of-00002.safetensors".into());
    }
    for name in second.keys() {
        map.insert(name.clone(), "model-00002-of-00002.safetensors".into());
    }
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::json!({"metadata": {}, "weight_map": map}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "gpt_neox", "num_attention_heads": 4, "num_hidden_layers": 1}"#,
    )
    .unwrap();
    let (file, extraction) = extract_ok(&dir, None, &[]);
    let skipped = names(&extraction.skipped);
    assert_eq!(file.tensors.len(), 2 + 1 + 3, "{skipped:?}");
    assert!(file
        .tensor("gpt_neox.layers.0.attention.query_key_value.weight#v")
        .is_some());
    assert!(
        skipped.contains(&"gpt_neox.layers.0.attention.rotary_emb.inv_freq"),
        "{skipped:?}"
    );
    // The index file itself is an input too.
    let (file, _) = extract_ok(&dir.join("model.safetensors.index.json"), None, &[]);
    assert_eq!(file.tensors.len(), 6);
}

#[test]
fn corrupt_files_are_refused_naming_file_and_tensor() {
    let dir = temp_dir("corrupt");
    let mut weights = Weights::new();
    weights.insert("gpt_neox.embed_in.weight".into(), tensor(&[16, 8], 0.1));
    weights.insert(
        "gpt_neox.layers.0.mlp.dense_h_to_4h.weight".into(),
        tensor(&[32, 8], 0.2),
    );
    let good = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new()).unwrap();

    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &good[..good.len() - 100]).unwrap();
    let log = refused(&truncated);
    assert!(
        log.contains("truncated.safetensors")
            && log.contains("gpt_neox.layers.0.mlp.dense_h_to_4h.weight")
            && log.contains("truncated"),
        "{log}"
    );

    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[8..8 + header_len]).unwrap();
    let lying = header.replacen("[16,8]", "[16,9]", 1);
    assert_ne!(lying, header);
    let mut forged = good[..8].to_vec();
    forged.extend_from_slice(lying.as_bytes());
    forged.extend_from_slice(&good[8 + header_len..]);
    let liar = dir.join("liar.safetensors");
    std::fs::write(&liar, forged).unwrap();
    let log = refused(&liar);
    assert!(
        log.contains("liar.safetensors")
            && log.contains("gpt_neox.embed_in.weight")
            && log.contains("lies about sizes"),
        "{log}"
    );

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a header").unwrap();
    let log = refused(&garbage);
    assert!(
        log.contains("garbage.safetensors") && log.contains("header length"),
        "{log}"
    );

    let mut nan = weights.clone();
    nan.get_mut("gpt_neox.layers.0.mlp.dense_h_to_4h.weight")
        .unwrap()
        .values
        .fill(f32::NAN);
    let nan_path = dir.join("nan.safetensors");
    save(&nan, &nan_path, &[]);
    let log = refused(&nan_path);
    assert!(
        log.contains("nan.safetensors")
            && log.contains("dense_h_to_4h.weight")
            && log.contains("NaN"),
        "{log}"
    );
}

#[test]
fn shipped_histograms_are_indexed_and_parse() {
    let dir = repo_root().join("www/histograms");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["version"], 1);
    let sources = index["sources"].as_array().unwrap();
    let ids: Vec<&str> = sources.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in [
        "teacher-nano",
        "teacher-micro",
        "teacher-nano-nonorm",
        "minilm-l6",
    ] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let mut total = 0;
    for source in sources {
        let histogram = dir.join(source["histogram"].as_str().unwrap());
        let bytes = std::fs::read(&histogram).unwrap();
        total += bytes.len();
        let file = HistogramFile::parse(&bytes).unwrap();
        assert!(!source["provenance"].as_str().unwrap().is_empty());
        if let Some(weights) = source["weights"].as_str() {
            let bytes = std::fs::read(dir.join(weights)).unwrap();
            total += bytes.len();
            let weights = weights_from_safetensors(&bytes).unwrap();
            // The shipped weights are the model the histogram describes.
            for entry in file.tensors.iter().filter(|t| !t.name.contains('#')) {
                assert_eq!(weights[&entry.name].shape, entry.shape, "{}", entry.name);
            }
        }
        if let Some(trajectory) = source["trajectory"].as_str() {
            let bytes = std::fs::read(dir.join(trajectory)).unwrap();
            total += bytes.len();
            // The page reads it with the same parser; it ends where the histogram is.
            let trajectory = Trajectory::parse(&bytes).unwrap();
            let last = trajectory.checkpoints.last().unwrap();
            assert_eq!(last.step as u64, file.source.step.unwrap());
            for entry in &file.pooled {
                assert_eq!(
                    last.role(entry.role).unwrap().std,
                    entry.std,
                    "{}",
                    entry.name
                );
            }
        }
        if source["id"] == "minilm-l6" {
            // Labelled as what it is.
            assert_eq!(file.source.architecture, "bert");
            assert!(source["preset"].is_null());
            assert!(file.pooled(Role::Qkv).is_some() && file.pooled(Role::MlpIn).is_some());
        }
    }
    // About 9.6 MB today (7.9 MB before teacher-nano-long, the long-horizon study's
    // teacher, shipped without its trajectory): the per-entry quantile tables dominate.
    // The page fetches only the source a run uses.
    assert!(
        total < 10_000_000,
        "shipped histogram files total {total} bytes"
    );
}
