use super::*;

#[test]
fn for_init_applies_that_inits_tuning_and_nothing_else() {
    let config = ExperimentConfig::from_query(
        "inits=kaiming,empirical&gain=all:2&lr=0.004&tuned=empirical/embed:0.5/3",
    )
    .unwrap();
    let empirical = config.for_init(InitMethod::Empirical);
    assert_eq!(empirical.gain, InitGains::parse("all:2,embed:0.5").unwrap());
    assert!((empirical.train.lr - 0.012).abs() < 1e-15);
    assert!(empirical.tuned.is_empty());
    let kaiming = config.for_init(InitMethod::Kaiming);
    assert_eq!(kaiming.gain, InitGains::parse("all:2").unwrap());
    assert_eq!(kaiming.train.lr, 0.004);
    assert!(kaiming.tuned.is_empty());
    // A tuned learning rate is checked like any other: 4 × 3 is past the limit of 10.
    let err = ExperimentConfig::from_query("lr=4&tuned=kaiming//3").unwrap_err();
    assert_eq!(err.field(), "lr", "{err}");
    // So is a multiplier that the product takes out of range.
    let err = ExperimentConfig::from_query("gain=out:1024&tuned=kaiming/out:2/").unwrap_err();
    assert_eq!(err.field(), "gain", "{err}");
}

#[test]
fn the_budget_refuses_what_a_browser_cannot_hold_and_names_it() {
    let big = |query: &str| ExperimentConfig::from_query(query).unwrap();
    // The shipped presets, with their study settings, fit the page.
    for preset in ["nano", "micro", "pythia-14m"] {
        let config = big(&format!("preset={preset}&inits=kaiming,pythia&seeds=4"));
        assert!(config.check_budget(&PAGE_BUDGET).is_ok(), "{preset}");
    }
    // A long run fits; its curves are counted: nano's weights are nothing, but a
    // ten million steps of eight runs are 40 GB of points.
    assert!(big("preset=nano&steps=10000")
        .check_budget(&PAGE_BUDGET)
        .is_ok());
    let err = big("preset=nano&steps=10000000&seeds=4")
        .check_budget(&PAGE_BUDGET)
        .unwrap_err();
    assert!(err.to_string().contains("for 10000000 steps"), "{err}");
    for query in [
        "preset=nano&context=8192",
        "layers=64&width=8192&heads=128&batch=4096&context=4096&seeds=64",
        "preset=pythia-70m&batch=512&context=256",
        "preset=nano&steps=5000000",
    ] {
        let err = big(query).check_budget(&PAGE_BUDGET).unwrap_err();
        assert_eq!(err.field(), "budget", "{query}");
        assert!(err.to_string().contains("histinit run"), "{err}");
    }
    // The CLI allows more (at batch 512 pythia-70m's activations are ~80 GiB), not
    // everything.
    assert!(big("preset=pythia-70m&batch=256&context=256")
        .check_budget(&CLI_BUDGET)
        .is_ok());
    let err = big("layers=64&width=8192&heads=128&batch=4096&context=4096&seeds=64")
        .check_budget(&CLI_BUDGET)
        .unwrap_err();
    assert!(err.to_string().contains("--no-budget"), "{err}");
}

/// How a numeric link key moves [`ExperimentConfig::cost`] when it grows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moves {
    Bytes,
    Both,
    /// Neither, and why.
    Neither(&'static str),
}

/// Every numeric link key (and `inits`, which counts runs): a value and a larger
/// one, valid on top of `nano`, and what the larger one must raise.
const SCALING: &[(&str, &str, &str, Moves)] = &[
    ("layers", "2", "4", Moves::Both),
    ("width", "64", "128", Moves::Both),
    // The scores and probabilities are per head; their products are not.
    ("heads", "4", "8", Moves::Bytes),
    ("inits", "kaiming", "kaiming,pythia", Moves::Bytes),
    (
        "seed",
        "1",
        "2",
        Moves::Neither("it picks the draws, not their number"),
    ),
    // Runs add memory; each run's steps cost what they did.
    ("seeds", "1", "2", Moves::Bytes),
    ("steps", "100", "200", Moves::Bytes),
    ("batch", "8", "16", Moves::Both),
    ("context", "64", "128", Moves::Both),
    (
        "lr",
        "0.003",
        "0.006",
        Moves::Neither("a factor in the update"),
    ),
    ("warmup", "10", "20", Moves::Neither("the schedule's shape")),
    (
        "min_lr_ratio",
        "0.1",
        "0.2",
        Moves::Neither("the schedule's shape"),
    ),
    (
        "weight_decay",
        "0.1",
        "0.2",
        Moves::Neither("a factor in the update"),
    ),
    (
        "beta1",
        "0.9",
        "0.95",
        Moves::Neither("a factor in the update"),
    ),
    (
        "beta2",
        "0.95",
        "0.99",
        Moves::Neither("a factor in the update"),
    ),
    (
        "eps",
        "1e-8",
        "1e-6",
        Moves::Neither("a term in the update"),
    ),
    ("clip", "1", "2", Moves::Neither("a factor in the update")),
    (
        "eval_every",
        "25",
        "50",
        Moves::Neither("how often the heaviest step comes, not what it costs"),
    ),
    ("eval_batches", "8", "16", Moves::Both),
    (
        crate::link::VERSION_KEY,
        "1",
        "2",
        Moves::Neither("the link format's version"),
    ),
];

#[test]
fn every_numeric_link_key_that_scales_the_work_raises_the_estimate() {
    use crate::link::{Access, KeyKind, LINK_KEYS};
    let numeric = |kind| {
        matches!(
            kind,
            KeyKind::Count | KeyKind::OptionalCount | KeyKind::Number
        )
    };
    for key in LINK_KEYS
        .iter()
        .filter(|k| numeric(k.kind) || k.key == "inits")
    {
        let Some(&(_, low, high, moves)) = SCALING.iter().find(|(name, ..)| *name == key.key)
        else {
            panic!(
                "link key '{}' has no entry in SCALING: count what it scales in Cost",
                key.key
            );
        };
        let Access::Experiment { set, .. } = key.access else {
            // A page key changes no number of the experiment.
            assert!(matches!(moves, Moves::Neither(_)), "{}", key.key);
            continue;
        };
        let cost = |value: &str| {
            let mut config =
                ExperimentConfig::from_query("preset=nano&steps=100&warmup=10").unwrap();
            set(&mut config, value).unwrap();
            config.validate().unwrap();
            let cost = config.check_budget(&PAGE_BUDGET).unwrap();
            (cost.bytes, cost.flops_per_step)
        };
        let ((bytes, flops), (more_bytes, more_flops)) = (cost(low), cost(high));
        let (grows_bytes, grows_flops) = match moves {
            Moves::Bytes => (true, false),
            Moves::Both => (true, true),
            Moves::Neither(_) => (false, false),
        };
        let what = format!("{} {low} -> {high}: {moves:?}", key.key);
        if grows_bytes {
            assert!(more_bytes > bytes, "{what}: bytes {bytes} -> {more_bytes}");
        } else {
            assert_eq!(more_bytes, bytes, "{what}");
        }
        if grows_flops {
            assert!(more_flops > flops, "{what}: flops {flops} -> {more_flops}");
        } else {
            assert_eq!(more_flops, flops, "{what}");
        }
    }
    // No stale entries: each names a key of the link.
    for (name, ..) in SCALING {
        assert!(LINK_KEYS.iter().any(|k| k.key == *name), "{name}");
    }
}

#[test]
fn toml_configs_parse_and_refuse_unknown_keys_in_every_table() {
    let config = ExperimentConfig::from_toml(
        "preset = \"nano\"\ninits = [\"kaiming\", \"pythia\"]\nseeds = 2\n[train]\nsteps = 30\nwarmup = 0\n",
    )
    .unwrap();
    assert_eq!(config.seed_list(), vec![1, 2]);
    assert_eq!(config.train.steps, 30);
    let err = ExperimentConfig::from_toml("preset = \"nano\"\ntypo = 1\n").unwrap_err();
    assert!(err.to_string().contains("typo"), "{err}");
    let err = ExperimentConfig::from_toml("[train]\nstep = 30\n").unwrap_err();
    assert!(err.to_string().contains("step"), "{err}");
}
