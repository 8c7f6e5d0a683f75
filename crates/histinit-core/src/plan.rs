//! What an experiment trains, decided once for `histinit run`, `histinit sweep` and the
//! page: every (init, seed) pair in one order ([`runs`]), each run's name and label, the
//! baseline every init is compared with ([`baseline`]), and the key and file name a
//! stored run is found by ([`single_run`], [`run_key`], [`run_file`]).

use crate::experiment::{BackendChoice, ExperimentConfig};
use crate::init::InitScope;
use crate::source::ScaleRule;
use crate::InitMethod;

/// FNV-1a, the workspace's one stable hash (defined in histinit-histogram, which the
/// Burn-free crates share).
pub use histinit_histogram::fnv1a;

/// One training run of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRun {
    pub init: InitMethod,
    pub seed: u64,
    /// The init's place among the experiment's inits (the page's colour for it).
    pub index: usize,
}

impl PlannedRun {
    /// `kaiming-s1`: the run's name in progress lines, curves.csv and summaries (what
    /// [`crate::RunResult::name`] gives for its result).
    pub fn name(&self) -> String {
        run_name(self.init, self.seed)
    }

    /// The page's label: the init, and its seed where the experiment has several.
    pub fn label(&self, seeds: usize) -> String {
        if seeds > 1 {
            format!("{} (seed {})", self.init.name(), self.seed)
        } else {
            self.init.name().to_string()
        }
    }
}

/// `init-sSEED`: the name of a run (see [`PlannedRun::name`]).
pub fn run_name(init: InitMethod, seed: u64) -> String {
    format!("{}-s{seed}", init.name())
}

/// Every run of `config`: its seeds in order, each with every init in the config's
/// order (runs of one seed side by side, so they are paired by seed).
pub fn runs(config: &ExperimentConfig) -> Vec<PlannedRun> {
    config
        .seed_list()
        .into_iter()
        .flat_map(|seed| {
            config
                .inits
                .iter()
                .enumerate()
                .map(move |(index, &init)| PlannedRun { init, seed, index })
        })
        .collect()
}

/// The init every other is compared with: kaiming where the experiment runs it, else
/// its first init. (A sweep names its baseline in its file, `baseline`, kaiming by
/// default, and checks that it is among the inits.)
pub fn baseline(inits: &[InitMethod]) -> InitMethod {
    if inits.contains(&InitMethod::Kaiming) {
        InitMethod::Kaiming
    } else {
        inits[0]
    }
}

/// The single-run config a stored run trains, with every field that cannot change the
/// result of this init put back to its default, so equal runs share one key (the
/// baseline, for one, is the same in every per-role ablation). `backend` is the
/// link's name for where it trains (another backend is another run: floating point
/// differs).
pub fn single_run(
    config: &ExperimentConfig,
    init: InitMethod,
    seed: u64,
    backend: BackendChoice,
) -> ExperimentConfig {
    // The init's own tuning applied, so its key holds the recipe it really trains with.
    let mut single = config.for_init(init);
    single.inits = vec![init];
    single.seed = seed;
    single.seeds = 1;
    single.backend = backend;
    if init == InitScope::FALLBACK {
        single.scope = InitScope::All;
    }
    if !init.needs_source() {
        // The scale rule only rescales what an init draws from a source; distances are
        // measured against the source as it is.
        single.scale = ScaleRule::default();
    }
    single
}

/// The key a stored run is checked against: its [`single_run`] config as JSON.
pub fn run_key(single: &ExperimentConfig) -> String {
    serde_json::to_string(single).expect("an experiment config serializes")
}

/// The file a stored run is kept in: `init-sSEED-HASH.json`, HASH the [`fnv1a`] of its
/// key.
pub fn run_file(init: InitMethod, seed: u64, key: &str) -> String {
    format!(
        "{}-{:016x}.json",
        run_name(init, seed),
        fnv1a(key.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_pair_inits_by_seed_in_the_configs_order() {
        let mut config = ExperimentConfig {
            inits: vec![InitMethod::Pythia, InitMethod::Kaiming],
            seeds: 2,
            ..Default::default()
        };
        config.seed = 7;
        let names: Vec<String> = runs(&config).iter().map(PlannedRun::name).collect();
        assert_eq!(
            names,
            ["pythia-s7", "kaiming-s7", "pythia-s8", "kaiming-s8"]
        );
        assert_eq!(runs(&config)[1].index, 1);
        assert_eq!(runs(&config)[1].label(2), "kaiming (seed 7)");
        assert_eq!(runs(&config)[1].label(1), "kaiming");
        assert_eq!(baseline(&config.inits), InitMethod::Kaiming);
        assert_eq!(baseline(&[InitMethod::Pythia]), InitMethod::Pythia);
    }

    #[test]
    fn the_hash_is_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
