use super::*;
use crate::weibull::fit_abs_values;

/// The published files' layout with made-up figures (the real ones are not
/// committed), two layers.
fn texts() -> PublishedTexts {
    let mut rows = Vec::new();
    let mut rms = Vec::new();
    for layer in 0..2 {
        for (suffix, k, lambda, r) in [
            ("attention.dense.weight", 1.05, 0.02, 0.03),
            ("mlp.dense_h_to_4h.weight", 1.2, 0.03, 0.035),
            (
                "mlp.dense_4h_to_h.weight",
                0.9 + 0.1 * layer as f64,
                0.01,
                0.015,
            ),
        ] {
            let name = format!("gpt_neox.layers.{layer}.{suffix}");
            rows.push(format!("[\"{name}\", {k}, {lambda}, 100]"));
            rms.push(format!(
                "\"{name}\": {{\"layer\": {layer}, \"rms\": {r}, \"k80\": {k}}}"
            ));
        }
    }
    let mut header = vec!["entry_id".to_string(), "family".into()];
    let mut row = vec!["pythia-70m".to_string(), "Pythia".into()];
    for (component, k, lambda) in [
        ("qkv", 0.95, 0.025),
        ("o", 1.1, 0.02),
        ("ffn_in", 1.2, 0.03),
        ("ffn_out", 1.1, 0.02),
    ] {
        header.push(format!("k_median_{component}"));
        header.push(format!("lambda_median_{component}"));
        row.push(k.to_string());
        row.push(lambda.to_string());
    }
    PublishedTexts {
        per_matrix: format!("{{\"per_matrix\": [{}]}}", rows.join(",")),
        per_matrix_rms: format!("{{\"step\": 1, \"layers\": {{{}}}}}\n", rms.join(",")),
        by_step: "{\"1\": 1.2, \"143000\": 1.18}".into(),
        rms_by_step: "[{\"step\": 1, \"sigma_obs\": 0.02, \"lambda_obs\": 0.017}, {\"step\": 143000, \"sigma_obs\": 0.028, \"lambda_obs\": 0.024}]".into(),
        component_medians: format!("{}\n{}\n", header.join(","), row.join(",")),
    }
}

fn targets(width: usize, layers: usize) -> Vec<TargetTensor> {
    let mut out = vec![TargetTensor {
        name: "gpt_neox.embed_in.weight".into(),
        role: Role::Embed,
        layer: None,
        layers,
        shape: vec![256, width],
        fan_in: width,
        width,
    }];
    for layer in 0..layers {
        for (suffix, role, shape, fan_in) in [
            (
                "attention.query_key_value.weight",
                Role::Qkv,
                vec![3 * width, width],
                width,
            ),
            (
                "attention.dense.weight",
                Role::AttnOut,
                vec![width, width],
                width,
            ),
            (
                "mlp.dense_h_to_4h.weight",
                Role::MlpIn,
                vec![4 * width, width],
                width,
            ),
            (
                "mlp.dense_4h_to_h.weight",
                Role::MlpOut,
                vec![width, 4 * width],
                4 * width,
            ),
            ("attention.dense.bias", Role::Bias, vec![width], width),
        ] {
            out.push(TargetTensor {
                name: format!("gpt_neox.layers.{layer}.{suffix}"),
                role,
                layer: Some(layer),
                layers,
                shape,
                fan_in,
                width,
            });
        }
    }
    out
}

/// Each matrix carries its own published law: its RMS exactly, and a Weibull fit of
/// its |W| (the published method) that gives back its shape k.
#[test]
fn each_matrix_is_drawn_from_its_published_law() {
    let published = Published::parse(&texts()).unwrap();
    let file = published.source(&targets(64, 2)).unwrap();
    let by_name = |name: &str| file.tensors.iter().find(|t| t.name == name).unwrap();
    for (name, k, rms) in [
        (
            "gpt_neox.layers.0.mlp.dense_4h_to_h.weight",
            0.9,
            Some(0.015),
        ),
        (
            "gpt_neox.layers.1.mlp.dense_4h_to_h.weight",
            1.0,
            Some(0.015),
        ),
        ("gpt_neox.layers.1.attention.dense.weight", 1.05, Some(0.03)),
        (
            "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
            1.2,
            Some(0.035),
        ),
        // qkv: the medians' law, not rescaled.
        (
            "gpt_neox.layers.1.attention.query_key_value.weight",
            0.95,
            None,
        ),
    ] {
        let entry = by_name(name);
        if let Some(rms) = rms {
            let got = (entry.std.powi(2) + entry.mean.powi(2)).sqrt();
            assert!((got / rms - 1.0).abs() < 1e-3, "{name}: rms {got} vs {rms}");
        }
        let values: Vec<f64> = weibull_magnitudes(entry.shape.iter().product(), k, 1.0)
            .into_iter()
            .map(f64::from)
            .collect();
        let fit = fit_abs_values(&values).unwrap();
        assert!((fit.k / k - 1.0).abs() < 0.02, "{name}: k {} vs {k}", fit.k);
        // The file's own table has the same tail shape: its quantile ratio q(0.95)/q(0.75)
        // matches the law's (a Gaussian's or another k's would not).
        let table = &entry.quantiles;
        let law = |p: f64| (-(1.0 - (2.0 * p - 1.0)).ln()).powf(1.0 / k);
        let ratio = table.quantile(0.95) / table.quantile(0.75);
        assert!(
            (ratio / (law(0.95) / law(0.75)) - 1.0).abs() < 0.02,
            "{name}: {ratio}"
        );
    }
    // A layer's two mlp_out matrices differ: per matrix, not pooled.
    assert_ne!(
        by_name("gpt_neox.layers.0.mlp.dense_4h_to_h.weight").excess_kurtosis,
        by_name("gpt_neox.layers.1.mlp.dense_4h_to_h.weight").excess_kurtosis
    );
    // The embedding falls back to pythia's init std; biases are left out.
    let embed = by_name("gpt_neox.embed_in.weight");
    assert!((embed.std / (2.0f64 / 320.0).sqrt() - 1.0).abs() < 1e-3);
    assert!(file.tensors.iter().all(|t| t.role != Role::Bias));
    assert!(file.source.license.contains("arXiv:2605.18898"));
    assert_eq!(file.source.note.as_deref(), Some(SOURCE_RULE));
}

#[test]
fn missing_or_malformed_figures_are_named() {
    let published = Published::parse(&texts()).unwrap();
    let err = published.source(&targets(64, 3)).unwrap_err();
    assert!(err.to_string().contains("of layer 2"), "{err}");
    let mut bad = texts();
    bad.per_matrix = bad.per_matrix.replace("1.05", "\"x\"");
    let err = Published::parse(&bad).unwrap_err();
    assert!(
        err.to_string().contains("pythia-70m-per-matrix.json"),
        "{err}"
    );
    let mut bad = texts();
    // A medians file without pythia-70m's row: the source names what it lacks.
    bad.component_medians = "entry_id\n".into();
    let err = Published::parse(&bad)
        .unwrap()
        .source(&targets(64, 2))
        .unwrap_err();
    assert!(err.to_string().contains("qkv medians"), "{err}");
    // A pythia row without a component's columns.
    let mut bad = texts();
    bad.component_medians = "entry_id,family\npythia-70m,Pythia\n".into();
    let err = Published::parse(&bad).unwrap_err();
    assert!(err.to_string().contains("k_median_qkv"), "{err}");
    assert!(Published::parse(&bad)
        .unwrap_err()
        .to_string()
        .contains("k_median_qkv"));
    let err = Published::read(Path::new("/nonexistent/pythia")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pythia"), "{err}");
}
