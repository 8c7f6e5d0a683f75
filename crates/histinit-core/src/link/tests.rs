use super::*;
use crate::config::TrainConfig;

/// A configuration in which every field differs from its default.
fn every_field_changed() -> ExperimentConfig {
    ExperimentConfig {
        preset: "micro".into(),
        layers: Some(3),
        width: Some(96),
        heads: Some(3),
        norm: NormMode::None,
        inits: vec![InitMethod::HeNormal, InitMethod::Empirical],
        source: Some("https://example.org/h.json?x=1&y=2#frag".into()),
        scale: ScaleRule::FanIn,
        scope: InitScope::Embedding,
        gain: InitGains::parse("all:0.5,embed:0.0625,unembed:2,out:0.25,norm:1.5").unwrap(),
        tuned: [
            (
                InitMethod::HeNormal,
                InitTuning {
                    gain: InitGains::parse("unembed:4,norm:2").unwrap(),
                    lr_scale: 2.5,
                },
            ),
            (
                InitMethod::Empirical,
                InitTuning {
                    gain: InitGains::default(),
                    lr_scale: 0.5,
                },
            ),
        ]
        .into(),
        seed: 17,
        seeds: 3,
        backend: BackendChoice::Cpu,
        corpus: Some("my notes (2024) é.txt".into()),
        train: TrainConfig {
            steps: 500,
            batch: 5,
            context: 48,
            lr: 0.00123,
            warmup: 7,
            min_lr_ratio: 0.25,
            weight_decay: 0.03,
            beta1: 0.8,
            beta2: 0.99,
            eps: 1e-7,
            clip: 0.5,
            eval_every: 11,
            eval_batches: 3,
            eval_split: crate::config::EvalSplit::Teacher,
        },
    }
}

#[test]
fn every_field_round_trips_through_a_link() {
    let config = every_field_changed();
    let default = ExperimentConfig::default();
    // The fixture really changes every field (else a forgotten key would pass).
    let changed = serde_json::to_value(&config).unwrap();
    let defaults = serde_json::to_value(&default).unwrap();
    for (key, value) in changed.as_object().unwrap() {
        if key == "train" {
            for (key, value) in value.as_object().unwrap() {
                assert_ne!(value, &defaults["train"][key], "train.{key} is the default");
            }
        } else {
            assert_ne!(value, &defaults[key], "{key} is the default");
        }
    }
    let link = format!("http://127.0.0.1:8000/index.html?{}", config.to_query());
    assert_eq!(ExperimentConfig::from_query(&link).unwrap(), config);
    // The run's own link carries no version: read as one made before links had one,
    // its `gain` (whose meaning changed) is named, and nothing else.
    let (lenient, messages) = ExperimentConfig::from_query_lenient(&link);
    assert_eq!(lenient, config);
    assert!(
        messages.len() == 1 && messages[0].starts_with("'gain' changed meaning"),
        "{messages:?}"
    );
    let (lenient, messages) =
        ExperimentConfig::from_query_lenient(&format!("{link}&v={LINK_VERSION}"));
    assert_eq!((lenient, messages), (config, Vec::<String>::new()));
}

#[test]
fn every_key_has_one_entry_in_the_table_of_key_changes() {
    let keys: Vec<&str> = LINK_KEYS.iter().map(|entry| entry.key).collect();
    let table: Vec<&str> = KEY_CHANGES.iter().map(|entry| entry.key).collect();
    assert_eq!(
        keys, table,
        "KEY_CHANGES lists LINK_KEYS' keys, in their order"
    );
    for entry in KEY_CHANGES {
        assert!(
            (1..=LINK_VERSION).contains(&entry.introduced),
            "{}",
            entry.key
        );
        for (changed, what) in entry.changed {
            assert!(
                (entry.introduced + 1..=LINK_VERSION).contains(changed) && !what.is_empty(),
                "{}: a change at {changed}",
                entry.key
            );
        }
    }
    assert_eq!(link_key(VERSION_KEY).unwrap().role(), KeyRole::Page);
}

#[test]
fn the_page_address_carries_the_link_version() {
    let page = PageLink::read("preset=nano");
    assert!(page.warnings.is_empty(), "{:?}", page.warnings);
    assert!(
        page.to_query().ends_with(&format!("&v={LINK_VERSION}")),
        "{}",
        page.to_query()
    );
    // The run's link is the experiment alone: the published links stay as they were.
    assert!(!page.config.to_query().contains("v="));
    let schema = schema();
    let version = schema.iter().find(|info| info.key == VERSION_KEY).unwrap();
    assert_eq!(version.default.as_deref(), Some("2"));
}

#[test]
fn a_link_from_an_older_version_warns_about_the_keys_that_changed_meaning() {
    // A link the page wrote at version 1 (no `v` yet) and one that says v=1.
    for link in ["preset=nano&gain=all:0.5", "preset=nano&gain=all:0.5&v=1"] {
        let page = PageLink::read(link);
        assert_eq!(page.warnings.len(), 1, "{link}: {:?}", page.warnings);
        assert!(
            page.warnings[0].starts_with("'gain' changed meaning in link version 2")
                && page.warnings[0].contains("44aab79"),
            "{:?}",
            page.warnings
        );
        // The run still uses the key, with its current meaning.
        assert_eq!(page.config.gain.to_string(), "all:0.5");
        // The strict reader (histinit run --link) accepts it too (its warning goes to
        // the log, which the CLI prints).
        assert_eq!(ExperimentConfig::from_query(link).unwrap(), page.config);
    }
    // Written by this version: nothing to say. A link without a changed key: neither.
    assert!(PageLink::read("gain=all:0.5&v=2").warnings.is_empty());
    assert!(PageLink::read("preset=nano&lr=0.002&v=1")
        .warnings
        .is_empty());
    assert!(PageLink::read("preset=nano&lr=0.002").warnings.is_empty());
}

#[test]
fn key_changes_are_read_against_the_link_version_in_a_simulated_history() {
    // A history in which version 3 changed 'lr' and introduced 'clip'.
    let table = [
        KeyChange::since(1, "preset"),
        KeyChange {
            key: "lr",
            introduced: 1,
            changed: &[(3, "now the peak, not the final rate")],
        },
        KeyChange::since(3, "clip"),
    ];
    let keys = ["preset", "lr", "clip"];
    let at = |version| changes_since(&table, 3, version, &keys);
    let old = at(Some(2));
    assert_eq!(old.len(), 2, "{old:?}");
    assert!(old[0].starts_with(
        "'lr' changed meaning in link version 3 (this link is of version 2): now the peak"
    ));
    assert!(old[1].starts_with("'clip' came with link version 3, but this link is of version 2"));
    assert!(at(None)[0].contains("this link has no version"));
    assert!(at(Some(3)).is_empty());
    let newer = at(Some(4));
    assert!(
        newer.len() == 1 && newer[0].contains("newer than this histinit's 3"),
        "{newer:?}"
    );
    // Only the keys the link gives.
    assert!(changes_since(&table, 3, Some(1), &["preset"]).is_empty());
}

#[test]
fn a_bad_link_version_is_named_by_the_page_and_refused_by_the_cli() {
    for bad in ["0", "x", "-1", "2.5"] {
        let link = format!("preset=nano&v={bad}");
        let page = PageLink::read(&link);
        assert!(
            page.warnings.len() == 1 && page.warnings[0].starts_with("ignored 'v'"),
            "{link}: {:?}",
            page.warnings
        );
        let err = ExperimentConfig::from_query(&link).unwrap_err().to_string();
        assert!(err.contains("link version"), "{err}");
    }
    let newer = PageLink::read(&format!("preset=nano&v={}", LINK_VERSION + 1));
    assert!(
        newer.warnings[0].contains("newer than this histinit's"),
        "{:?}",
        newer.warnings
    );
}

#[test]
fn the_schema_has_one_key_per_field() {
    // Every field set (an unset `corpus` is left out of the serialized form).
    let value = serde_json::to_value(every_field_changed()).unwrap();
    let mut fields: Vec<String> = value
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(key, value)| match key.as_str() {
            "train" => value.as_object().unwrap().keys().cloned().collect(),
            _ => vec![key.clone()],
        })
        .collect();
    let mut keys: Vec<String> = LINK_KEYS
        .iter()
        .filter(|k| k.role() == KeyRole::Experiment)
        .map(|k| k.key.to_string())
        .collect();
    fields.sort();
    keys.sort();
    assert_eq!(keys, fields);
}

#[test]
fn every_key_resets_to_its_default() {
    let default = ExperimentConfig::default();
    let changed = every_field_changed();
    for entry in LINK_KEYS {
        let Access::Experiment { get, reset, .. } = entry.access else {
            continue; // the page's keys: nothing to reset, a link simply leaves them out
        };
        let mut config = changed.clone();
        reset(&mut config);
        assert_eq!(get(&config), get(&default), "{}", entry.key);
    }
}

#[test]
fn tampered_links_are_refused_naming_the_key() {
    for (query, field) in [
        ("preset=huge", "preset"),
        ("lr=NaN", "lr"),
        ("lr=-1", "lr"),
        ("steps=abc", "steps"),
        ("inits=kaiming,magic", "init"),
        ("inits=kaiming,kaiming", "inits"),
        ("seeds=1000", "seeds"),
        ("context=100000", "context"),
        ("<script>=1", "link key"),
        ("lr=0.1&lr=0.2", "link key"),
        ("source=%3Cimg%20src%3Dx%3E", "source"),
        ("source=javascript:alert(1)", "source"),
        ("scale=huge", "scale"),
        ("gain=embed", "gain"),
        ("gain=magic:2", "gain"),
        ("gain=all:0", "gain"),
        ("gain=all:inf", "gain"),
        ("gain=all:2,all:3", "gain"),
        ("tuned=kaiming", "tuned"),
        ("tuned=kaiming/all:2", "tuned"),
        ("tuned=kaiming/all:2/3/4", "tuned"),
        ("tuned=magic//2", "init"),
        ("tuned=kaiming/magic:2/1", "gain"),
        ("tuned=kaiming//0", "tuned"),
        ("tuned=kaiming//NaN", "tuned"),
        ("tuned=kaiming//2;kaiming//3", "tuned"),
        ("gain=%3Cb%3E:1", "gain"),
        ("eval_split=train", "eval_split"),
        ("beta2=1", "beta2"),
        ("eval_batches=0", "eval_batches"),
        ("corpus=..%2Fetc%2Fpasswd", "corpus"),
        ("corpus=a%0Ab.txt", "corpus"),
        ("corpus=%20", "corpus"),
        ("corpus=%3Cimg%20src%3Dx%3E", "corpus"),
        ("corpus=a%3Fb.txt", "corpus"),
    ] {
        let err = ExperimentConfig::from_query(query).unwrap_err().to_string();
        assert!(err.contains(field), "{query}: {err}");
    }
    let long = format!("steps=1&{}", "x".repeat(MAX_LINK_BYTES));
    assert!(ExperimentConfig::from_query(&long)
        .unwrap_err()
        .to_string()
        .contains("link"));
}

#[test]
fn malformed_percent_encoding_is_kept_as_text() {
    assert_eq!(percent_decode("a%2"), "a%2");
    // `+` is a space in a query; a `%` without two hex digits after it stays.
    assert_eq!(percent_decode("%+1%zz%41"), "% 1%zzA");
    assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    let err = ExperimentConfig::from_query("steps=%+1").unwrap_err();
    assert_eq!(err.field(), "steps");
}

#[test]
fn lenient_links_keep_defaults_and_name_what_was_dropped() {
    let (config, messages) =
        ExperimentConfig::from_query_lenient("?preset=micro&lr=abc&steps=50&bogus=1");
    assert_eq!(config.preset, "micro");
    assert_eq!(config.train.steps, 50);
    assert_eq!(config.train.lr, TrainConfig::default().lr);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("lr") && messages[1].contains("bogus"));

    // Fewer steps than the default warmup is fine when the link also sets warmup.
    let (config, messages) = ExperimentConfig::from_query_lenient("steps=10&warmup=0");
    assert_eq!(
        (config.train.steps, config.train.warmup),
        (10, 0),
        "{messages:?}"
    );
    assert!(messages.is_empty());
    // Only steps given: the default warmup is shortened, nothing else changes.
    let (config, messages) =
        ExperimentConfig::from_query_lenient("preset=micro&steps=3&inits=pythia");
    assert_eq!((config.train.steps, config.train.warmup), (3, 3));
    assert_eq!((config.preset.as_str(), config.inits.len()), ("micro", 1));
    assert!(messages[0].contains("warmup lowered"), "{messages:?}");
    // A clash is resolved by dropping the key the check names.
    let (config, messages) = ExperimentConfig::from_query_lenient("steps=10&warmup=50");
    assert_eq!((config.train.steps, config.train.warmup), (10, 10));
    assert!(messages[0].contains("warmup"), "{messages:?}");
    let (config, messages) = ExperimentConfig::from_query_lenient("preset=nano&context=100000");
    assert_eq!(config.train.context, TrainConfig::default().context);
    assert!(messages[0].contains("context"), "{messages:?}");
    // An experiment too big for a browser loses the key that made it so.
    let (config, messages) = ExperimentConfig::from_query_lenient("preset=nano&context=8192");
    assert_eq!(config.train.context, TrainConfig::default().context);
    assert!(
        messages[0].contains("'context'") && messages[0].contains("GiB"),
        "{messages:?}"
    );
    // A repeated key keeps its first value.
    let (config, messages) = ExperimentConfig::from_query_lenient("steps=30&steps=40");
    assert_eq!(config.train.steps, 30);
    assert!(messages[0].contains("second 'steps'"), "{messages:?}");
}

/// A seeded random search over hostile links (keys from the schema, junk keys,
/// numbers at every scale, percent-escapes, markup, repeats): neither reader panics,
/// the forgiving one always returns a configuration that validates and fits the
/// page's budget, and what it returns writes a link the strict reader accepts.
#[test]
fn random_hostile_links_never_panic_and_the_page_always_gets_a_valid_config() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let pieces = [
        "",
        "0",
        "-1",
        "1e308",
        "NaN",
        "inf",
        "18446744073709551616",
        "4096",
        "8192",
        "0.5",
        "%",
        "%2",
        "%zz",
        "%FF%FE",
        "%00",
        "+",
        "<script>",
        "\"'",
        "a,b",
        ",,",
        "kaiming,kaiming",
        "https://x.org/h.json",
        "javascript:alert(1)",
        "\u{1F600}",
        "%E2%80%AE",
        "\u{2066}",
        "%E2%80%8B",
        "\u{E0041}",
    ];
    let keys: Vec<&str> = LINK_KEYS
        .iter()
        .map(|k| k.key)
        .chain(["bogus", "", "<img>", "lr%3D"])
        .collect();
    for _ in 0..20_000 {
        let pairs = rng.random_range(0..8);
        let mut link = String::from("?");
        for _ in 0..pairs {
            let key = keys[rng.random_range(0..keys.len())];
            let mut value = String::new();
            for _ in 0..rng.random_range(0..3) {
                value.push_str(pieces[rng.random_range(0..pieces.len())]);
            }
            if let Some(entry) = link_key(key).filter(|_| rng.random_bool(0.3)) {
                let choices = (entry.choices)();
                if !choices.is_empty() {
                    value = choices[rng.random_range(0..choices.len())].to_string();
                }
            }
            link.push_str(&format!("{key}={value}&"));
        }
        let _ = ExperimentConfig::from_query(&link);
        let page = PageLink::read(&link);
        assert_eq!(shows_unshowable(&page), None, "{link}");
        let config = &page.config;
        assert!(config.validate().is_ok(), "{link}");
        assert!(config.check_budget(&PAGE_BUDGET).is_ok(), "{link}");
        assert_eq!(
            ExperimentConfig::from_query(&config.to_query()).as_ref(),
            Ok(config),
            "{link}"
        );
        // The page's address (view included) reads back to itself, without a word.
        let again = PageLink::read(&page.to_query());
        assert_eq!((&again.config, &again.view), (config, &page.view), "{link}");
        assert!(again.warnings.is_empty(), "{link}: {:?}", again.warnings);
    }
}

#[test]
fn the_page_schema_lists_every_key_with_its_default() {
    let schema = schema();
    assert_eq!(schema.len(), LINK_KEYS.len());
    let lr = schema.iter().find(|k| k.key == "lr").unwrap();
    assert_eq!(lr.default.as_deref(), Some("0.003"));
    let inits = schema.iter().find(|k| k.key == "inits").unwrap();
    assert_eq!(inits.kind, KeyKind::List);
    assert_eq!(inits.choices.len(), InitMethod::ALL.len());
    let layers = schema.iter().find(|k| k.key == "layers").unwrap();
    assert_eq!(layers.default, None);
    let corpus = schema.iter().find(|k| k.key == "corpus").unwrap();
    assert_eq!(
        (corpus.kind, corpus.default.as_ref()),
        (KeyKind::Text, None)
    );
}

#[test]
fn a_corpus_name_is_written_only_when_set_and_never_its_text() {
    assert!(!ExperimentConfig::default().to_query().contains("corpus"));
    let config =
        ExperimentConfig::from_query("corpus=notes%20%C3%A9.txt&steps=5&warmup=0").unwrap();
    assert_eq!(config.corpus.as_deref(), Some("notes é.txt"));
    assert!(config.to_query().contains("corpus=notes%20%C3%A9.txt"));
    let long = format!("corpus={}", "a".repeat(MAX_CORPUS_NAME + 1));
    let err = ExperimentConfig::from_query(&long).unwrap_err().to_string();
    assert!(
        err.contains("corpus") && err.contains("does not carry the text"),
        "{err}"
    );
    // Configs without a corpus serialize as before (sweep keys and summaries keep).
    let json = serde_json::to_string(&ExperimentConfig::default()).unwrap();
    assert!(!json.contains("corpus"), "{json}");
}

/// A classroom link: every page key away from its default, on top of an experiment.
const CLASSROOM: &str = "preset=micro&lr=0.01&steps=40&warmup=0&hide=lr,studies,inits,lr&lesson=Watch%20the%20loss.%0ALine%20two%20%3Cb%3Ebold%3F%3C%2Fb%3E&embed=1";

#[test]
fn page_keys_are_read_by_the_page_and_ignored_by_the_run() {
    let page = PageLink::read(CLASSROOM);
    assert!(page.warnings.is_empty(), "{:?}", page.warnings);
    // Every page key away from its default (else a forgotten key would pass).
    assert_ne!(page.view.hide, PageView::default().hide);
    assert_ne!(page.view.lesson, PageView::default().lesson);
    assert_ne!(page.view.embed, PageView::default().embed);
    // Named once each, in the order of the choices (the page's sections first).
    assert_eq!(page.view.hide, ["studies", "inits", "lr"]);
    assert_eq!(page.view.lesson, "Watch the loss.\nLine two <b>bold?</b>");
    assert!(page.view.embed);
    assert_eq!(page.config.train.lr, 0.01);
    // The page's address keeps them and reads back to the same.
    let address = page.to_query();
    assert!(
        address.ends_with("&hide=studies,inits,lr&lesson=Watch%20the%20loss.%0ALine%20two%20%3Cb%3Ebold%3F%3C%2Fb%3E&embed=1&v=2"),
        "{address}"
    );
    assert_eq!(PageLink::read(&address), page);
    // The run: the same experiment as without them, and its own link leaves them out.
    let run = ExperimentConfig::from_query(CLASSROOM).unwrap();
    let plain = ExperimentConfig::from_query("preset=micro&lr=0.01&steps=40&warmup=0").unwrap();
    assert_eq!(run, plain);
    assert_eq!(run.to_query(), plain.to_query());
    for key in ["hide", "lesson", "embed"] {
        assert!(!run.to_query().contains(key), "{}", run.to_query());
    }
    // The run ignores them whatever they say; a repeated one is still refused.
    assert!(ExperimentConfig::from_query("hide=bogus&lesson=%00&embed=banana").is_ok());
    let err = ExperimentConfig::from_query("embed=1&embed=1").unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[test]
fn unknown_hide_names_are_named_and_the_known_ones_kept() {
    let page = PageLink::read("hide=lr,<img src=x>,studies,,bogus");
    assert_eq!(page.view.hide, ["studies", "lr"]);
    assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
    let warning = &page.warnings[0];
    assert!(
        warning.starts_with("ignored 'hide' of '<img src=x>', 'bogus'")
            && warning.contains("studies"),
        "{warning}"
    );
    // Page keys are not hideable: the page's own note shows them back.
    let page = PageLink::read("hide=hide,lesson,embed");
    assert!(page.view.hide.is_empty() && page.warnings.len() == 1);
    // Nothing known: nothing hidden, and the address has no hide.
    let page = PageLink::read("hide=%3Cscript%3E");
    assert!(!page.to_query().contains("hide"), "{}", page.to_query());
    // At most five unknown names are quoted (a long list stays a readable message).
    let many: Vec<String> = (0..40).map(|i| format!("x{i}")).collect();
    let page = PageLink::read(&format!("hide={}", many.join(",")));
    assert!(
        page.warnings[0].contains("'x4', 35 more") && !page.warnings[0].contains("'x5'"),
        "{:?}",
        page.warnings
    );
    // Every choice is a real name: the experiment's keys and the page's groups.
    let choices = hide_choices();
    assert!(choices.contains(&"lr") && choices.contains(&"advanced"));
    assert!(!choices.contains(&"hide"));
    let mut unique = choices.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), choices.len(), "a group is named like a key");
}

#[test]
fn a_long_lesson_is_shortened_with_a_warning_and_kept_as_plain_text() {
    // 600 characters, each two bytes in UTF-8: capped by characters, not bytes.
    let long = "é".repeat(600);
    let page = PageLink::read(&format!("lesson={}", percent_encode(&long)));
    assert_eq!(page.view.lesson.chars().count(), MAX_LESSON_CHARS);
    assert!(
        page.warnings.len() == 1
            && page.warnings[0].contains("'lesson' shortened")
            && page.warnings[0].contains("600"),
        "{:?}",
        page.warnings
    );
    // Exactly at the cap: kept whole, no warning.
    let page = PageLink::read(&format!("lesson={}", "a".repeat(MAX_LESSON_CHARS)));
    assert_eq!(
        (page.view.lesson.len(), page.warnings.len()),
        (MAX_LESSON_CHARS, 0)
    );
    // Line breaks stay (paragraphs); other control characters go; spaces trimmed.
    let page = PageLink::read("lesson=%20%20one%0D%0Atwo%00%1B%09three%0A%20");
    assert_eq!(page.view.lesson, "one\ntwo three");
    // Only blanks: no lesson.
    let page = PageLink::read("lesson=%20%0A%09");
    assert_eq!(page.view, PageView::default());
}

#[test]
fn embed_is_1_or_absent() {
    assert!(PageLink::read("embed=1").view.embed);
    for off in ["embed=0", "embed=", ""] {
        let page = PageLink::read(off);
        assert!(!page.view.embed && page.warnings.is_empty(), "{off}");
        assert!(!page.to_query().contains("embed"), "{off}");
    }
    let page = PageLink::read("embed=%3Cb%3E");
    assert!(!page.view.embed);
    assert!(page.warnings[0].contains("'embed'"), "{:?}", page.warnings);
}

#[test]
fn the_schema_marks_the_page_keys() {
    let schema = schema();
    let page: Vec<&str> = schema
        .iter()
        .filter(|k| k.role == KeyRole::Page)
        .map(|k| k.key)
        .collect();
    assert_eq!(page, ["hide", "lesson", "embed", VERSION_KEY]);
    let hide = schema.iter().find(|k| k.key == "hide").unwrap();
    assert_eq!((hide.kind, hide.default.as_ref()), (KeyKind::List, None));
    assert_eq!(hide.choices, hide_choices());
    let embed = schema.iter().find(|k| k.key == "embed").unwrap();
    assert_eq!((embed.kind, embed.default.as_ref()), (KeyKind::Flag, None));
}

/// One of each kind of character that reorders or hides text (see
/// [`crate::text::is_formatting`]).
const HIDING: &[char] = &[
    '\u{202E}',  // right-to-left override
    '\u{2067}',  // right-to-left isolate
    '\u{200F}',  // right-to-left mark
    '\u{061C}',  // Arabic letter mark
    '\u{200B}',  // zero-width space
    '\u{200D}',  // zero-width joiner between ASCII letters
    '\u{FEFF}',  // zero-width no-break space
    '\u{2060}',  // word joiner
    '\u{00AD}',  // soft hyphen
    '\u{3164}',  // Hangul filler
    '\u{E0041}', // tag letter A
    '\u{2028}',  // line separator
];

/// Whether anything the page would show from `page` holds a character that cannot be
/// shown as it is (the lesson keeps its line breaks).
fn shows_unshowable(page: &PageLink) -> Option<String> {
    let texts = [
        serde_json::to_string(&page.config).unwrap(),
        page.view.lesson.replace('\n', " "),
    ];
    texts
        .into_iter()
        .chain(page.warnings.iter().cloned())
        .find(|text| text.chars().any(crate::text::is_unshowable))
}

#[test]
fn no_key_lets_text_reorder_or_hide_itself_or_the_page_around_it() {
    let text_keys: Vec<&str> = LINK_KEYS
        .iter()
        .filter(|entry| entry.kind == KeyKind::Text)
        .map(|entry| entry.key)
        .collect();
    assert_eq!(text_keys, ["source", "gain", "tuned", "corpus", "lesson"]);
    for &c in HIDING {
        let value = percent_encode(&format!("notes{c}gnp.txt"));
        for entry in LINK_KEYS {
            let link = format!("{}={value}", entry.key);
            let page = PageLink::read(&link);
            if let Some(text) = shows_unshowable(&page) {
                panic!("{link}: shows {text:?}");
            }
            // The strict reader's error quotes it visibly too.
            if let Err(err) = ExperimentConfig::from_query(&link) {
                let err = err.to_string();
                assert!(
                    !err.chars().any(crate::text::is_unshowable),
                    "{link}: {err:?}"
                );
            }
            if entry.kind != KeyKind::Text {
                continue;
            }
            let shown = code_point(c);
            if entry.key == "lesson" && c == '\u{2028}' {
                // A line separator is a line break, as in any lesson.
                assert_eq!(page.view.lesson, "notes\ngnp.txt", "{link}");
            } else if entry.key == "lesson" {
                // Free text: kept without it, and the page says so.
                assert_eq!(page.view.lesson, "notesgnp.txt", "{link}");
                assert_eq!(page.warnings.len(), 1, "{link}: {:?}", page.warnings);
                assert!(
                    page.warnings[0]
                        .contains("'lesson': removed 1 invisible or reordering character")
                        && page.warnings[0].contains(&shown),
                    "{link}: {:?}",
                    page.warnings
                );
            } else {
                // A name or a number: refused, naming the key and showing the character.
                assert_eq!(page.config, ExperimentConfig::default(), "{link}");
                assert!(
                    page.warnings.len() == 1
                        && page.warnings[0].contains(&format!("'{}'", entry.key))
                        && page.warnings[0].contains(&shown),
                    "{link}: {:?}",
                    page.warnings
                );
                let err = ExperimentConfig::from_query(&link).unwrap_err();
                assert_eq!(err.field(), entry.key, "{link}");
            }
        }
    }
    // A key's own name is quoted visibly.
    let page = PageLink::read("a%E2%80%AEb=1");
    assert!(
        page.warnings[0].starts_with("ignored 'a<U+202E>b'"),
        "{:?}",
        page.warnings
    );
}

#[test]
fn corpus_names_refuse_reordering_characters_and_keep_the_joiners_scripts_need() {
    let err = parse_corpus_name("holiday\u{202E}gnp.txt")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holiday<U+202E>gnp.txt")
            && err.contains("<U+202E>, a character that reorders or hides text"),
        "{err}"
    );
    for name in [
        "report\u{200B}.txt",
        "\u{FEFF}notes.txt",
        "a\u{200D}b.txt",
        "x\u{E0041}.txt",
    ] {
        assert!(parse_corpus_name(name).is_err(), "{name:?}");
    }
    // A Persian name with a zero-width non-joiner, an emoji sequence, a variation
    // selector: real file names, kept as they are.
    for name in [
        "می\u{200C}خواهم.txt",
        "👨\u{200D}👩\u{200D}👧 notes.txt",
        "❤\u{FE0F}.txt",
    ] {
        assert_eq!(parse_corpus_name(name).as_deref(), Ok(name));
    }
}

#[test]
fn a_lesson_keeps_what_scripts_need_and_breaks_lines_at_unicode_separators() {
    let page = PageLink::read(&format!(
        "lesson={}",
        percent_encode("one\u{2028}two\u{2029}\u{2067}three\u{2069} می\u{200C}خواهم 👍\u{FE0F}")
    ));
    assert_eq!(
        page.view.lesson,
        "one\ntwo\nthree می\u{200C}خواهم 👍\u{FE0F}"
    );
    assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
    assert!(
        page.warnings[0]
            .contains("removed 2 invisible or reordering characters (the first: <U+2067>)"),
        "{:?}",
        page.warnings
    );
    // What the page writes back reads back the same, without a word.
    let again = PageLink::read(&page.to_query());
    assert_eq!((&again.view, again.warnings.len()), (&page.view, 0));
}

/// The total length of a link's warnings, in characters.
fn total_chars(warnings: &[String]) -> usize {
    warnings.iter().map(|w| w.chars().count()).sum()
}

#[test]
fn thousands_of_unknown_or_repeated_keys_give_a_few_short_warnings() {
    assert!(MAX_WARNINGS >= LINK_KEYS.len() + MAX_UNKNOWN_NAMED + 2);

    // 1000 distinct unknown keys: five named, the rest counted, the keys listed once.
    let link: Vec<String> = (0..1000).map(|i| format!("k{i}=")).collect();
    let link = link.join("&");
    assert!(link.len() <= MAX_LINK_BYTES);
    let page = PageLink::read(&link);
    assert_eq!(
        page.warnings.len(),
        MAX_UNKNOWN_NAMED + 1,
        "{:?}",
        page.warnings
    );
    assert!(page.warnings[0].starts_with("ignored 'k0': unknown key (a link's keys are: preset,"));
    assert_eq!(page.warnings[4], "ignored 'k4': unknown key");
    assert_eq!(page.warnings[5], "ignored 995 more unknown keys");
    let lists = page
        .warnings
        .iter()
        .filter(|w| w.contains("eval_split"))
        .count();
    assert_eq!(lists, 1, "{:?}", page.warnings);
    assert!(total_chars(&page.warnings) < 600, "{:?}", page.warnings);

    // One unknown key 1000 times: one warning. One known key 1000 times (a bad value
    // first): the value's warning and one for the repeats.
    let page = PageLink::read(&"zz=1&".repeat(1000));
    assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
    let page = PageLink::read(&format!("lr=bad&{}", "lr=0.5&".repeat(999)));
    assert_eq!(page.config.train.lr, TrainConfig::default().lr);
    assert_eq!(page.warnings.len(), 2, "{:?}", page.warnings);
    assert!(page.warnings[0].starts_with("ignored 'lr':"));
    assert_eq!(page.warnings[1], "ignored a second 'lr' and 998 more");

    // The worst a link can do: every key bad and repeated, the longest quotes (code
    // points written out) everywhere, many unknown keys. Bounded by the constants.
    let worst = "%F3%A0%81%BF".repeat(8);
    let mut link: Vec<String> = Vec::new();
    for entry in LINK_KEYS {
        let hide = format!("{worst},").repeat(6);
        let value = if entry.key == "hide" { &hide } else { &worst };
        link.push(format!("{}={value}&{}=x", entry.key, entry.key));
    }
    let mut link = link.join("&");
    let mut i = 0;
    while link.len() + 40 < MAX_LINK_BYTES {
        link.push_str(&format!("&{worst:.24}{i}="));
        i += 1;
    }
    let page = PageLink::read(&link);
    assert_eq!(page.warnings.len(), MAX_WARNINGS, "{:?}", page.warnings);
    assert!(page.warnings[MAX_WARNINGS - 1].ends_with("more problems with this link"));
    for warning in &page.warnings {
        assert!(warning.chars().count() <= MAX_WARNING_CHARS, "{warning}");
    }
    assert!(total_chars(&page.warnings) <= MAX_WARNINGS_TOTAL_CHARS);
    // Every key is still named, and the longest warning, `hide`'s, is not cut.
    for entry in LINK_KEYS {
        let named = format!("'{}'", entry.key);
        assert!(
            page.warnings.iter().any(|w| w.contains(&named)),
            "{named}: {:?}",
            page.warnings
        );
    }
    let hide = page
        .warnings
        .iter()
        .find(|w| w.starts_with("ignored 'hide'"))
        .unwrap();
    assert!(hide.ends_with("eval_split)"), "{hide}");
}
