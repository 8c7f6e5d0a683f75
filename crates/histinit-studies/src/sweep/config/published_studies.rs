use super::*;

/// Every study under docs/results: its config, and the summary its report shows.
fn studies() -> Vec<(PathBuf, SweepConfig, serde_json::Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let (Ok(_), Ok(summary)) = (
            std::fs::metadata(dir.join("config.toml")),
            std::fs::read_to_string(dir.join("summary.json")),
        ) else {
            continue;
        };
        let (config, _) = SweepConfig::load(&dir.join("config.toml")).unwrap();
        found.push((dir, config, serde_json::from_str(&summary).unwrap()));
    }
    assert!(found.len() >= 8, "only {} studies found", found.len());
    found
}

#[test]
fn every_published_link_is_its_variants_experiment() {
    for (dir, config, summary) in studies() {
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap_or_default();
        for variant in config.variants() {
            let stored = summary["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == variant.name.as_str())
                .unwrap_or_else(|| panic!("{}: no variant {}", dir.display(), variant.name));
            let link = stored["link"].as_str().unwrap();
            let parsed = ExperimentConfig::from_query(link)
                .unwrap_or_else(|err| panic!("{} {}: {err}", dir.display(), variant.name));
            assert_eq!(parsed, variant.config, "{} {}", dir.display(), variant.name);
            assert_eq!(link, variant.config.to_query());
            assert!(
                report.is_empty() || report.contains(link),
                "{}: report.md does not show the link of {}",
                dir.display(),
                variant.name
            );
        }
    }
}

/// The page's one-click study links (www/studies.js) are published variants, with
/// fewer seeds or a subset of the inits at most: the same recipe, the same numbers.
#[test]
fn the_pages_study_links_are_published_variants() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/studies.js");
    let script = std::fs::read_to_string(path).unwrap();
    let queries: Vec<&str> = script
        .split("query: '")
        .skip(1)
        .map(|rest| rest.split('\'').next().unwrap())
        .collect();
    assert!(queries.len() >= 5, "{queries:?}");
    let variants: Vec<ExperimentConfig> = studies()
        .into_iter()
        .flat_map(|(_, config, _)| config.variants().into_iter().map(|v| v.config))
        .collect();
    for query in queries {
        let linked = ExperimentConfig::from_query(query).unwrap();
        let matches = |variant: &ExperimentConfig| {
            let mut narrowed = variant.clone();
            narrowed.inits.retain(|init| linked.inits.contains(init));
            narrowed.seeds = linked.seeds.min(variant.seeds);
            narrowed.backend = linked.backend;
            narrowed == linked
        };
        assert!(
            variants.iter().any(matches),
            "www/studies.js: no published variant has the recipe of {query}"
        );
    }
}

#[test]
fn every_experiment_config_reads_back_from_its_link() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut count = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let configs: Vec<ExperimentConfig> = if text.contains("[base]") {
            let (config, _) = SweepConfig::load(&path).unwrap();
            config.variants().into_iter().map(|v| v.config).collect()
        } else {
            vec![ExperimentConfig::from_toml(&text).unwrap()]
        };
        for config in configs {
            let back = ExperimentConfig::from_query(&config.to_query()).unwrap();
            assert_eq!(back, config, "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} configs checked");
}
