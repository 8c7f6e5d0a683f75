//! The teachers' per-role statistics next to the published measurements of real Pythia,
//! as Markdown (docs/pythia-distance.md holds a run of it).
//!
//! ```text
//! cargo run -p histinit-histogram --example pythia_table -- <pythia-published dir> [histograms dir]
//! ```
//!
//! The first argument is the folder of published statistics (on the project's machines
//! `../shared/data/pythia-published`): T. Ding, arXiv:2605.18898, data from the repository
//! `tiexinding/NPM-Weibull-public` (commit 213fd40575fa23ff629a6010c96bbdc78bc88362), CC
//! BY 4.0. They are read at run time and never bundled. The second argument is the folder
//! of shipped histogram files (default `www/histograms`); every `teacher-*.json.gz` in it
//! that is a histogram file (not a trajectory) is a column of the comparison. The
//! teachers' Weibull fits are made here, from each file's quantile tables, by
//! `histinit_histogram::weibull` (the published method: the middle 80% of |W|).

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use histinit_histogram::published::{Published, CITATION, MATRIX_ROLES};
use histinit_histogram::{HistogramFile, Role, TensorHistogram, WeibullFit};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Architecture of the Pythia sizes in `component-medians.csv` (Biderman et al. 2023,
/// arXiv:2304.01373, Table 1): width d_model and layers. Used only to put lambda on a
/// per-width scale (lambda times the square root of the fan-in).
const PYTHIA_SIZES: [(&str, usize, usize); 5] = [
    ("pythia-70m", 512, 6),
    ("pythia-160m", 768, 12),
    ("pythia-410m", 1024, 24),
    ("pythia-1b", 2048, 16),
    ("pythia-6.9b", 4096, 32),
];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let published = PathBuf::from(args.next().ok_or(
        "usage: pythia_table <pythia-published dir> [histograms dir] \
         (e.g. ../shared/data/pythia-published)",
    )?);
    let histograms = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/histograms"));
    let pythia = Published::read(&published)?;
    let teachers = Teacher::read_all(&histograms)?;
    print!("{}", render(&pythia, &teachers));
    Ok(())
}

/// A shipped teacher's histogram file.
struct Teacher {
    name: String,
    file: HistogramFile,
    width: usize,
    layers: usize,
}

impl Teacher {
    fn read_all(dir: &Path) -> Result<Vec<Teacher>> {
        let paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("teacher-")
                    && name.ends_with(".json.gz")
                    && !name.ends_with("-trajectory.json.gz")
            })
            .collect();
        if paths.is_empty() {
            return Err(format!("no teacher-*.json.gz in {}", dir.display()).into());
        }
        paths
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let file =
                    HistogramFile::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .trim_end_matches(".json.gz")
                    .to_string();
                let attn_out: Vec<&TensorHistogram> = file
                    .tensors
                    .iter()
                    .filter(|t| t.role == Role::AttnOut)
                    .collect();
                let width = attn_out.first().map_or(0, |t| t.fan_in);
                let layers = attn_out.len();
                Ok(Teacher {
                    name,
                    file,
                    width,
                    layers,
                })
            })
            .collect::<Result<Vec<Teacher>>>()
            .map(|mut teachers| {
                teachers.sort_by(|a, b| {
                    (a.width, a.layers, &a.name).cmp(&(b.width, b.layers, &b.name))
                });
                teachers
            })
    }

    /// The per-layer tensors of a role, by layer.
    fn layers_of(&self, role: Role) -> Vec<&TensorHistogram> {
        let mut tensors: Vec<&TensorHistogram> = self
            .file
            .tensors
            .iter()
            .filter(|t| t.role == role)
            .collect();
        tensors.sort_by_key(|t| t.layer);
        tensors
    }
}

/// RMS·√fan-in of a matrix at GPT-NeoX's Pythia init (the teachers' init too):
/// small_init N(0, 2 / (5 d)) for qkv and mlp_in, wang_init N(0, (2 / (L √d))²) for
/// attn_out and mlp_out (fan-in d and 4 d).
fn init_scaled_rms(role: Role, layers: usize) -> f64 {
    match role {
        Role::AttnOut => 2.0 / layers as f64,
        Role::MlpOut => 4.0 / layers as f64,
        _ => (2.0f64 / 5.0).sqrt(),
    }
}

/// Median (the mean of the middle two for an even count), min and max.
fn summary(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    };
    Some((median, sorted[0], sorted[n - 1]))
}

fn fmt_summary(values: &[f64], digits: usize) -> String {
    match summary(values) {
        None => "—".into(),
        Some((median, _, _)) if values.len() == 1 => format!("{median:.digits$}"),
        Some((median, min, max)) => format!("{median:.digits$} [{min:.digits$}, {max:.digits$}]"),
    }
}

fn fit(entry: &TensorHistogram) -> WeibullFit {
    entry
        .weibull_abs()
        .unwrap_or_else(|| panic!("{}: no Weibull fit of |W|", entry.name))
}

fn render(pythia: &Published, teachers: &[Teacher]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Published Pythia figures: {CITATION}. Teachers: histinit's own histogram files, \
         fitted here the same way (Weibull of |W| on its middle 80%; a Gaussian gives \
         k = 1.205, λ/RMS = 0.887; a smaller k or λ/RMS means heavier tails).\n"
    );
    let describe: Vec<String> = teachers
        .iter()
        .map(|t| {
            format!(
                "{} ({} layers, width {}, {} tokens)",
                t.name,
                t.layers,
                t.width,
                t.file
                    .source
                    .tokens_trained
                    .map_or("?".into(), |n| format!("{:.1}M", n as f64 / 1e6))
            )
        })
        .collect();
    let _ = writeln!(w, "Teachers: {}.\n", describe.join("; "));

    // Table 1: per role, per matrix and pooled.
    let _ = writeln!(
        w,
        "### Matrix roles: per matrix (median [min, max] over layers) and pooled\n"
    );
    let _ = writeln!(
        w,
        "| role | model | matrices | fan-in | RMS | RMS·√fan-in | at init | k | λ/RMS | pooled k | pooled λ/RMS |"
    );
    let _ = writeln!(
        w,
        "| --- | --- | ---: | ---: | --- | --- | ---: | --- | --- | ---: | ---: |"
    );
    for (role, component, suffix, fan_in_mult) in MATRIX_ROLES {
        for teacher in teachers {
            let tensors = teacher.layers_of(role);
            if tensors.is_empty() {
                continue;
            }
            let fits: Vec<WeibullFit> = tensors.iter().map(|t| fit(t)).collect();
            let rms: Vec<f64> = tensors.iter().map(|t| t.rms()).collect();
            let fan_in = tensors[0].fan_in;
            let scaled: Vec<f64> = rms.iter().map(|r| r * (fan_in as f64).sqrt()).collect();
            let ratio: Vec<f64> = fits.iter().zip(&rms).map(|(f, r)| f.lambda / r).collect();
            let ks: Vec<f64> = fits.iter().map(|f| f.k).collect();
            let pooled = teacher
                .file
                .pooled(role)
                .expect("a role with tensors is pooled");
            let pooled_fit = fit(pooled);
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {:.3} | {:.3} |",
                role.name(),
                teacher.name,
                tensors.len(),
                fan_in,
                fmt_summary(&rms, 4),
                fmt_summary(&scaled, 2),
                init_scaled_rms(role, teacher.layers),
                fmt_summary(&ks, 3),
                fmt_summary(&ratio, 3),
                pooled_fit.k,
                pooled_fit.lambda / pooled.rms(),
            );
        }
        let (_, d_model, layers) = PYTHIA_SIZES[0];
        let fan_in = d_model * fan_in_mult;
        match suffix.and_then(|_| pythia.per_matrix.get(&role)) {
            Some(matrices) => {
                let rms: Vec<f64> = matrices.iter().map(|m| m.rms).collect();
                let scaled: Vec<f64> = rms.iter().map(|r| r * (fan_in as f64).sqrt()).collect();
                let ks: Vec<f64> = matrices.iter().map(|m| m.k).collect();
                let ratio: Vec<f64> = matrices.iter().map(|m| m.lambda / m.rms).collect();
                let _ = writeln!(
                    w,
                    "| {} | **pythia-70m** (published) | {} | {} | {} | {} | {:.2} | {} | {} | — | — |",
                    role.name(),
                    matrices.len(),
                    fan_in,
                    fmt_summary(&rms, 4),
                    fmt_summary(&scaled, 2),
                    init_scaled_rms(role, layers),
                    fmt_summary(&ks, 3),
                    fmt_summary(&ratio, 3),
                );
            }
            None => {
                let (k, lambda) = pythia.components["pythia-70m"][component];
                let _ = writeln!(
                    w,
                    "| {} | **pythia-70m** (published) | {layers} | {fan_in} | — | — | {:.2} | {k:.3} (median only) | — (λ median {lambda:.4}) | — | — |",
                    role.name(),
                    init_scaled_rms(role, layers),
                );
            }
        }
    }
    // The three matrix types pooled: the only pooled figures published.
    let pooled_roles = [Role::AttnOut, Role::MlpIn, Role::MlpOut];
    for teacher in teachers {
        let members: Vec<&TensorHistogram> = pooled_roles
            .iter()
            .flat_map(|&role| teacher.layers_of(role))
            .collect();
        let pooled = TensorHistogram::pool("attn_out+mlp", Role::MlpIn, &members)
            .expect("valid entries pool");
        let pooled_fit = fit(&pooled);
        let _ = writeln!(
            w,
            "| attn_out + mlp_in + mlp_out | {} | {} | — | {:.4} | — | — | — | — | {:.3} | {:.3} |",
            teacher.name,
            members.len(),
            pooled.rms(),
            pooled_fit.k,
            pooled_fit.lambda / pooled.rms(),
        );
    }
    let (step, k, sigma, lambda) = pythia.pooled_final;
    let _ = writeln!(
        w,
        "| attn_out + mlp_in + mlp_out | **pythia-70m** (published, step {step}) | 18 | — | {sigma:.4} | — | — | — | — | {k:.3} | {:.3} |",
        lambda / sigma
    );
    let (step, k, sigma) = pythia.pooled_first;
    let _ = writeln!(
        w,
        "| attn_out + mlp_in + mlp_out | pythia-70m (published, step {step}, about its init) | 18 | — | {sigma:.4} | — | — | — | — | {k:.3} | — |\n",
    );
    let _ = writeln!(
        w,
        "RMS·√fan-in is the RMS in units of 1/√fan-in; \"at init\" is its value at GPT-NeoX's \
         Pythia init (small_init for qkv and mlp_in, wang_init for attn_out and mlp_out), which \
         the teachers also started from. pythia-70m per matrix: k and λ of the released weights \
         (step 143000); RMS measured after one step at learning rate 1.5e-6 from them (the \
         published file's `rms`); its qkv is published only as the median over layers \
         (component-medians.csv). The pooled pythia-70m rows are `sigma_obs`, `lambda_obs` and \
         k pooled over the 18 attention.dense and MLP matrices. Pooling matrices of different \
         scales lowers k by itself (pythia-70m: 1.162 pooled against a per-matrix median of \
         1.190).\n"
    );

    // Table 2: medians over layers per component, Pythia sizes and teachers.
    let _ = writeln!(
        w,
        "### Median over layers per component: k, and λ·√fan-in (Pythia 70m to 6.9b at step 143000)\n"
    );
    let _ = writeln!(
        w,
        "| model | width | layers | k qkv | k attn_out | k mlp_in | k mlp_out | λ√fan-in qkv | λ√fan-in attn_out | λ√fan-in mlp_in | λ√fan-in mlp_out |"
    );
    let _ = writeln!(
        w,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for teacher in teachers {
        let mut ks = Vec::new();
        let mut scaled = Vec::new();
        for (role, ..) in MATRIX_ROLES {
            let tensors = teacher.layers_of(role);
            let fits: Vec<WeibullFit> = tensors.iter().map(|t| fit(t)).collect();
            let k: Vec<f64> = fits.iter().map(|f| f.k).collect();
            let lambda: Vec<f64> = fits.iter().map(|f| f.lambda).collect();
            let fan_in = tensors.first().map_or(0, |t| t.fan_in) as f64;
            ks.push(summary(&k).map_or("—".into(), |s| format!("{:.3}", s.0)));
            scaled.push(
                summary(&lambda).map_or("—".into(), |s| format!("{:.3}", s.0 * fan_in.sqrt())),
            );
        }
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            teacher.name,
            teacher.width,
            teacher.layers,
            ks.join(" | "),
            scaled.join(" | ")
        );
    }
    for (size, d_model, layers) in PYTHIA_SIZES {
        let Some(components) = pythia.components.get(size) else {
            continue;
        };
        let mut ks = Vec::new();
        let mut scaled = Vec::new();
        for (_, component, _, fan_in_mult) in MATRIX_ROLES {
            let (k, lambda) = components[component];
            ks.push(format!("{k:.3}"));
            scaled.push(format!(
                "{:.3}",
                lambda * ((d_model * fan_in_mult) as f64).sqrt()
            ));
        }
        let _ = writeln!(
            w,
            "| **{size}** (published) | {d_model} | {layers} | {} | {} |",
            ks.join(" | "),
            scaled.join(" | ")
        );
    }
    let _ = writeln!(w);

    // Table 3: per layer.
    let max_layers = teachers
        .iter()
        .map(|t| t.layers)
        .chain(pythia.per_matrix.values().map(|m| m.len()))
        .max()
        .unwrap_or(0);
    let _ = writeln!(w, "### Per layer: k / RMS\n");
    let headers: Vec<String> = (0..max_layers).map(|l| format!("layer {l}")).collect();
    let _ = writeln!(w, "| role | model | {} |", headers.join(" | "));
    let _ = writeln!(w, "| --- | --- |{}", " --- |".repeat(max_layers));
    for (role, ..) in MATRIX_ROLES {
        for teacher in teachers {
            let cells: Vec<String> = (0..max_layers)
                .map(|layer| {
                    teacher
                        .layers_of(role)
                        .into_iter()
                        .find(|t| t.layer == Some(layer))
                        .map_or(String::new(), |t| {
                            format!("{:.3} / {:.4}", fit(t).k, t.rms())
                        })
                })
                .collect();
            let _ = writeln!(
                w,
                "| {} | {} | {} |",
                role.name(),
                teacher.name,
                cells.join(" | ")
            );
        }
        if let Some(matrices) = pythia.per_matrix.get(&role) {
            let cells: Vec<String> = (0..max_layers)
                .map(|layer| {
                    matrices
                        .iter()
                        .find(|m| m.layer == layer)
                        .map_or(String::new(), |m| format!("{:.3} / {:.4}", m.k, m.rms))
                })
                .collect();
            let _ = writeln!(
                w,
                "| {} | **pythia-70m** (published) | {} |",
                role.name(),
                cells.join(" | ")
            );
        }
    }
    let _ = writeln!(w);

    // Table 4: roles Pythia's figures do not cover.
    let _ = writeln!(
        w,
        "### Roles without published Pythia figures (teachers only, pooled per role)\n"
    );
    let _ = writeln!(
        w,
        "| role | model | tensors | RMS | mean | std | excess kurtosis | k | λ/RMS | note |"
    );
    let _ = writeln!(
        w,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    let others = [
        (Role::Q, "q third of the fused qkv"),
        (Role::K, "k third of the fused qkv"),
        (Role::V, "v third of the fused qkv"),
        (
            Role::Embed,
            "all 256 byte rows: trained and never-trained mixed (a)",
        ),
        (
            Role::Unembed,
            "all 256 byte rows: trained and never-trained mixed (a)",
        ),
        (
            Role::NormGain,
            "centred near 1: the fold at 0 says nothing of its tails, k not given",
        ),
        (Role::NormBias, "LayerNorm biases"),
        (Role::Bias, "the matrices' biases"),
    ];
    for (role, note) in others {
        for teacher in teachers {
            let Some(pooled) = teacher.file.pooled(role) else {
                continue;
            };
            let tensors = teacher
                .file
                .tensors
                .iter()
                .filter(|t| t.role == role)
                .count();
            let (k, ratio) = if role == Role::NormGain {
                ("—".to_string(), "—".to_string())
            } else {
                let f = fit(pooled);
                (
                    format!("{:.3}", f.k),
                    format!("{:.3}", f.lambda / pooled.rms()),
                )
            };
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.2} | {} | {} | {} |",
                role.name(),
                teacher.name,
                tensors,
                pooled.rms(),
                pooled.mean,
                pooled.std,
                pooled.excess_kurtosis,
                k,
                ratio,
                note
            );
        }
    }
    let _ = writeln!(
        w,
        "\n(a) The histogram files pool all 256 rows of the byte embedding and unembedding; the \
         bundled text (data/kjv.txt.gz) uses 73 of the 256 byte values. The 183 embedding rows \
         of bytes that never occur get no gradient from the data; the matching unembedding \
         rows are trained only to push those bytes' logits down. The files do not separate \
         those rows from the used ones."
    );
    out
}
