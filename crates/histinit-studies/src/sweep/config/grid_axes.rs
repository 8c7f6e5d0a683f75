use super::*;

/// An interaction pairs the variants that differ only in its axis, one pair per
/// value of the other axes; a spec naming levels no variant has is refused.
#[test]
fn an_interaction_pairs_variants_differing_only_in_its_axis() {
    let text = r#"
name = "factorial"
[base]
inits = ["kaiming", "pythia"]
[grid]
warmup = [3, 0]
lr_scale = [1.0, 4.0]
[interaction]
axis = "warmup"
from = "3"
to = "0"
[base.train]
steps = 6
warmup = 3
"#;
    let config = SweepConfig::parse(text, Path::new("f.toml")).unwrap();
    let variants = config.variants();
    let names = |(a, b): (usize, usize)| (variants[a].name.clone(), variants[b].name.clone());
    let pairs: Vec<(String, String)> = config
        .interaction
        .as_ref()
        .unwrap()
        .pairs(&variants)
        .into_iter()
        .map(names)
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("warmup-3_lr_scale-1".into(), "warmup-0_lr_scale-1".into()),
            ("warmup-3_lr_scale-4".into(), "warmup-0_lr_scale-4".into()),
        ]
    );
    let bad = text.replace("to = \"0\"", "to = \"5\"");
    let err = SweepConfig::parse(&bad, Path::new("f.toml")).unwrap_err();
    assert!(err.to_string().contains("interaction"), "{err}");
}

/// The `steps` axis gives whole shorter or longer runs (warmup at the base's
/// fraction) and the `gain` axis the multipliers, each in a file-safe variant name.
/// The axes that are link keys are set as a link sets them: the same config as the
/// link `key=value` gives, and a value a link refuses is refused, naming it.
#[test]
fn link_axes_are_set_through_the_link_schema() {
    let text = r#"
name = "link-axes"
[base]
inits = ["kaiming", "empirical"]
source = "teacher-nano"
[grid]
warmup = [5]
norm = ["none"]
layers = [3]
scope = ["mlp"]
scale = ["fan-in"]
source = ["teacher-micro"]
gain = ["embed:0.5"]
"#;
    let config = SweepConfig::parse(text, Path::new("l.toml")).unwrap();
    let [variant] = &config.variants()[..] else {
        panic!("one variant")
    };
    let link = "warmup=5&norm=none&layers=3&scope=mlp&scale=fan-in&source=teacher-micro\
                    &gain=embed:0.5";
    let mut expected = config.base.clone();
    for pair in link.split('&') {
        let (key, value) = pair.split_once('=').unwrap();
        set_by_link(&mut expected, key, value).unwrap();
    }
    assert_eq!(variant.config.to_query(), expected.to_query());
    assert_eq!(variant.config.train.warmup, 5);
    assert_eq!(variant.config.layers, Some(3));
    // '+' may be in a variant's name, but is no source id: the link schema refuses it.
    let refused = text.replace("\"teacher-micro\"", "\"a+b\"");
    let err = SweepConfig::parse(&refused, Path::new("l.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("l.toml: grid source 'a+b': "), "{err}");
}

#[test]
fn steps_and_gain_axes_make_their_variants() {
    let text = r#"
name = "axes"
[base]
inits = ["kaiming", "empirical"]
source = "teacher-nano"
[base.train]
steps = 300
warmup = 30
[grid]
steps = [150, 1200]
gain = ["", "embed:0.0625,out:2"]
"#;
    let config = SweepConfig::parse(text, Path::new("axes.toml")).unwrap();
    let variants = config.variants();
    let summary: Vec<(String, usize, usize, String)> = variants
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                v.config.train.steps,
                v.config.train.warmup,
                v.config.gain.to_string(),
            )
        })
        .collect();
    let row =
        |name: &str, steps, warmup, gain: &str| (name.to_string(), steps, warmup, gain.to_string());
    assert_eq!(
        summary,
        vec![
            row("steps-150_gain-1", 150, 15, ""),
            row(
                "steps-150_gain-embed0.0625+out2",
                150,
                15,
                "embed:0.0625,out:2"
            ),
            row("steps-1200_gain-1", 1200, 120, ""),
            row(
                "steps-1200_gain-embed0.0625+out2",
                1200,
                120,
                "embed:0.0625,out:2"
            ),
        ]
    );
    let bad = text.replace("out:2", "out:0");
    let err = SweepConfig::parse(&bad, Path::new("axes.toml")).unwrap_err();
    assert!(err.to_string().contains("gain"), "{err}");
}

/// A variant's name goes unquoted into CSV files and Markdown: a grid value that
/// would need quoting or escaping there is refused when the config is read, naming
/// the character (visibly) and the variant.
#[test]
fn grid_values_that_would_break_a_csv_or_markdown_are_refused() {
    let config = |source: &str| {
        format!(
            "name = \"hostile\"\n[base]\ninits = [\"kaiming\", \"empirical\"]\n\
                 [grid]\nsource = [\"teacher-nano\", {source}]\n"
        )
    };
    for (source, shown) in [
        (r#""a,b""#, "','"),
        (r#""x\"y""#, "'\"'"),
        (r#""p|q""#, "'|'"),
        (r#""<img src=x>""#, "'<'"),
        (r#""`code`""#, "'`'"),
        (r#""line\nbreak""#, "<U+000A>"),
        (r#""cr\rlf""#, "<U+000D>"),
        (r#""tab\there""#, "<U+0009>"),
        (r#""rtl\u202Egnp""#, "<U+202E>"),
        (r#""zero\u200Bwidth""#, "<U+200B>"),
        (r#""a b""#, "<U+0020>"),
        (r#""[l](javascript:x)""#, "'['"),
        (r#""https://example.org/h.json""#, "':'"),
    ] {
        let err = SweepConfig::parse(&config(source), Path::new("h.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("h.toml: variant 'source-")
                && err.contains(&format!("holds {shown};"))
                && err.contains("letters, digits"),
            "{source}: {err}"
        );
        // Nothing in the message reorders or breaks it.
        assert!(
            !err.chars().any(histinit_core::text::is_unshowable),
            "{err:?}"
        );
    }
    let ok = SweepConfig::parse(&config(r#""minilm-l6""#), Path::new("h.toml")).unwrap();
    let names: Vec<String> = ok.variants().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["source-teacher-nano", "source-minilm-l6"]);
    // What the check lets through needs no CSV quoting.
    let allowed: String = (' '..='~').filter(|&c| variant_name_char(c)).collect();
    assert_eq!(histinit_core::text::csv_field(&allowed), allowed.as_str());
    assert!(!allowed.contains(['|', '<', '>', '`', '[', '\\', '"', ',']));
}
