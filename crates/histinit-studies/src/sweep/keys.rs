//! Which runs a sweep trains and where each is kept: one file per distinct run, named
//! by the hash of its key ([`histinit_core::plan`]), and the shards that share them.

use super::*;

/// Shard K of N (`--shard K/N`, K from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Reads `K/N`: 1 ≤ K ≤ N.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not K/N (shard K of N, e.g. 1/4)"))?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}': {what} '{part}' is not a whole number"))
    };
    let index = number(index, "shard")?;
    let count = number(count, "shard count")?;
    if count == 0 {
        return Err(format!("'{text}': the shard count must be at least 1"));
    }
    if index == 0 {
        return Err(format!(
            "'{text}': shards are numbered from 1 (1/{count} to {count}/{count})"
        ));
    }
    if index > count {
        return Err(format!(
            "'{text}': there is no shard {index} of {count} (1/{count} to {count}/{count})"
        ));
    }
    Ok(Shard { index, count })
}

/// The runs a shard trains: each distinct run file once (runs shared by variants are
/// one file), in the grid's order; with `--shard K/N`, the i-th of those (i from 0)
/// when i % N == K - 1. Without a shard, all of them.
pub fn shard_units(units: &[Unit], shard: Option<Shard>) -> Vec<&Unit> {
    let mut seen = std::collections::HashSet::new();
    units
        .iter()
        .filter(|unit| seen.insert(unit.file.as_str()))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index - 1))
        .map(|(_, unit)| unit)
        .collect()
}

/// One training run of the sweep and what determines its result.
#[derive(Debug, Clone)]
pub struct Unit {
    pub variant: usize,
    pub init: InitMethod,
    pub seed: u64,
    /// The canonical description hashed into the file name (and checked on load).
    pub key: String,
    pub file: String,
}

/// The single-run config a unit trains ([`plan::single_run`] on the backend's link name).
pub(super) fn unit_config(
    variant: &ExperimentConfig,
    init: InitMethod,
    seed: u64,
    backend: Backend,
) -> ExperimentConfig {
    plan::single_run(variant, init, seed, backend.link_choice())
}

pub fn units(variants: &[Variant], backend: Backend) -> Vec<Unit> {
    let mut units = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        for planned in plan::runs(&variant.config) {
            let (init, seed) = (planned.init, planned.seed);
            let config = unit_config(&variant.config, init, seed, backend);
            // The variant's source is also the reference distances are measured
            // against, so it stays in the key even for inits that do not draw on it.
            let mut key = plan::run_key(&config);
            // A link has no name for LibTorch (the page cannot run it): its keys
            // are marked; CPU keys stay as they were.
            if backend == Backend::Libtorch {
                key.insert_str(0, &format!("{} ", backend.name()));
            }
            let file = plan::run_file(init, seed, &key);
            units.push(Unit {
                variant: index,
                init,
                seed,
                key,
                file,
            });
        }
    }
    units
}

#[derive(Serialize, Deserialize)]
pub(super) struct RunFile {
    pub(super) key: String,
    pub(super) result: RunResult,
}

pub(super) fn load_run(path: &Path, unit: &Unit) -> Option<RunResult> {
    let bytes = std::fs::read(path).ok()?;
    let file: RunFile = serde_json::from_slice(&bytes).ok()?;
    (file.key == unit.key).then_some(file.result)
}

#[cfg(test)]
mod backend_keys {
    use super::*;

    /// Each backend's runs are files of their own (floating point differs between them),
    /// while a CPU run keeps the key it had before other backends existed.
    #[test]
    fn every_backend_keeps_its_runs_apart() {
        let text = r#"
name = "keys"
[base]
inits = ["kaiming", "empirical"]
source = "teacher-nano"
seeds = 2
"#;
        let variants = SweepConfig::parse(text, Path::new("keys.toml"))
            .unwrap()
            .variants();
        let files = |backend| -> Vec<String> {
            units(&variants, backend)
                .into_iter()
                .map(|unit| unit.file)
                .collect()
        };
        let (cpu, wgpu, libtorch) = (
            files(Backend::Cpu),
            files(Backend::Wgpu),
            files(Backend::Libtorch),
        );
        assert_eq!(cpu.len(), 4);
        let all: std::collections::BTreeSet<&String> =
            cpu.iter().chain(&wgpu).chain(&libtorch).collect();
        assert_eq!(all.len(), 12, "{cpu:?} {wgpu:?} {libtorch:?}");
        for unit in units(&variants, Backend::Cpu) {
            assert!(unit.key.starts_with('{'), "{}", unit.key);
            assert!(!unit.key.contains("webgpu"), "{}", unit.key);
        }
        for unit in units(&variants, Backend::Libtorch) {
            assert!(unit.key.starts_with("libtorch {"), "{}", unit.key);
        }
    }
}
