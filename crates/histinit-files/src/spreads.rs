//! `docs/results/spreads.json`: every published study variant's seed spread, compactly,
//! for the page to draw behind a run whose settings equal the variant's (written beside
//! the rendered reports by `histinit docs` and `histinit site`, never committed: it is
//! made from the committed `summary.json` and `runs.csv` of each study).
//!
//! A published study keeps no per-step curves (its runs stay in the sweep's folder), so
//! what it holds of its spread is each init's final validation loss per seed: the file
//! gives, per variant and init, the completed seeds' count, minimum, median and maximum.
//! The page matches a variant by its link (the core's `spread_key`), not here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::docs::{DocsError, DOCS_DIR};
use crate::fs::FileError;

/// Where the file goes, relative to the output root.
pub const SPREADS_FILE: &str = "docs/results/spreads.json";

#[derive(Deserialize)]
struct Summary {
    name: String,
    #[serde(default)]
    description: String,
    variants: Vec<Variant>,
}

#[derive(Deserialize)]
struct Variant {
    name: String,
    link: String,
    steps: usize,
}

/// One init's spread: completed seeds, then min, median and max of their final
/// validation losses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitSpread {
    pub seeds: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSpread {
    pub name: String,
    pub link: String,
    pub steps: usize,
    pub inits: BTreeMap<String, InitSpread>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudySpreads {
    /// The study's folder name under docs/results (its report is `report.html` there).
    pub study: String,
    pub description: String,
    pub variants: Vec<VariantSpread>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> DocsError {
    DocsError::Study {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<String, DocsError> {
    std::fs::read_to_string(path).map_err(|source| {
        DocsError::File(FileError::Read {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Rounded to 5 decimals (the losses' differences that matter are in the 2nd): compact.
fn rounded(value: f64) -> f64 {
    (value * 1e5).round() / 1e5
}

/// The spread of `values` (finite), or `None` for none.
fn spread_of(mut values: Vec<f64>) -> Option<InitSpread> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = match n {
        0 => return None,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    Some(InitSpread {
        seeds: n,
        min: rounded(values[0]),
        median: rounded(median),
        max: rounded(values[n - 1]),
    })
}

/// Final validation losses of completed runs from `runs.csv`, by (variant, init).
fn finals(path: &Path) -> Result<BTreeMap<(String, String), Vec<f64>>, DocsError> {
    let text = read(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| invalid(path, format!("no '{name}' column")))
    };
    let (variant, init, status, loss) = (
        column("variant")?,
        column("init")?,
        column("status")?,
        column("final_val_loss")?,
    );
    let mut out: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or_default();
        if cell(status) != "completed" {
            continue;
        }
        let value: f64 = cell(loss).parse().map_err(|_| {
            invalid(
                path,
                format!("final_val_loss '{}' is not a number", cell(loss)),
            )
        })?;
        out.entry((cell(variant).to_string(), cell(init).to_string()))
            .or_default()
            .push(value);
    }
    Ok(out)
}

/// Every study under `root/docs/results` with a summary.json and runs.csv, by name.
pub fn collect(root: &Path) -> Result<Vec<StudySpreads>, DocsError> {
    let results = root.join(DOCS_DIR).join("results");
    if !results.is_dir() {
        return Ok(Vec::new());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .map_err(|source| {
            DocsError::File(FileError::Read {
                path: results.clone(),
                source,
            })
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| dir.join("summary.json").is_file() && dir.join("runs.csv").is_file())
        .collect();
    dirs.sort();
    let mut studies = Vec::new();
    for dir in dirs {
        let summary_path = dir.join("summary.json");
        let summary: Summary = serde_json::from_str(&read(&summary_path)?)
            .map_err(|err| invalid(&summary_path, err.to_string()))?;
        let mut finals = finals(&dir.join("runs.csv"))?;
        let variants = summary
            .variants
            .into_iter()
            .map(|variant| {
                let inits = finals
                    .iter_mut()
                    .filter(|((name, _), _)| *name == variant.name)
                    .filter_map(|((_, init), values)| {
                        spread_of(std::mem::take(values)).map(|spread| (init.clone(), spread))
                    })
                    .collect();
                VariantSpread {
                    name: variant.name,
                    link: variant.link,
                    steps: variant.steps,
                    inits,
                }
            })
            .collect();
        studies.push(StudySpreads {
            study: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(summary.name),
            description: summary.description,
            variants,
        });
    }
    Ok(studies)
}

/// Writes [`SPREADS_FILE`] under `out` from the studies under `root`.
pub fn write(root: &Path, out: &Path) -> Result<usize, DocsError> {
    let studies = collect(root)?;
    let json = serde_json::json!({ "version": 1, "studies": studies });
    crate::fs::write_file(&out.join(SPREADS_FILE), json.to_string().as_bytes())?;
    Ok(studies.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_and_range_of_the_finite_values() {
        let spread = spread_of(vec![2.0, f64::NAN, 1.0, 4.0, 3.0]).unwrap();
        assert_eq!(
            spread,
            InitSpread {
                seeds: 4,
                min: 1.0,
                median: 2.5,
                max: 4.0
            }
        );
        assert!(spread_of(vec![f64::NAN]).is_none());
    }

    #[test]
    fn the_published_fair_nano_spread_is_its_runs_csv() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let studies = collect(root).unwrap();
        let study = studies.iter().find(|s| s.study == "fair-nano").unwrap();
        let variant = &study.variants[0];
        assert!(variant.link.contains("preset=nano"), "{}", variant.link);
        let kaiming = &variant.inits["kaiming"];
        assert_eq!(kaiming.seeds, 20);
        // runs.csv's first kaiming seed lies inside its own spread.
        assert!(
            kaiming.min <= 2.00414 && 2.00414 <= kaiming.max,
            "{kaiming:?}"
        );
        assert!(kaiming.min < kaiming.median && kaiming.median < kaiming.max);
        assert_eq!(variant.inits.len(), 4);
    }
}
