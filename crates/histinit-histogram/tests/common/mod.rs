//! Deterministic samples for the tests (the crate has no RNG dependency).
#![allow(dead_code)]

use histinit_histogram::{HistogramFile, Provenance, Role, TensorHistogram};

/// SplitMix64: a tiny, well-mixed generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    pub fn laplace(&mut self) -> f64 {
        let u = self.uniform() - 0.5;
        -u.signum() * (1.0 - 2.0 * u.abs()).ln()
    }

    /// Student-t with integer `dof`: normal / sqrt(chi² / dof).
    pub fn student_t(&mut self, dof: usize) -> f64 {
        let chi2: f64 = (0..dof).map(|_| self.normal().powi(2)).sum();
        self.normal() / (chi2 / dof as f64).sqrt()
    }
}

pub fn provenance() -> Provenance {
    Provenance {
        model: "test/synthetic".into(),
        architecture: "gpt_neox".into(),
        revision: Some("main".into()),
        step: Some(1000),
        tokens_trained: Some(2_048_000),
        corpus: "synthetic draws".into(),
        license: "MIT".into(),
        command: "cargo test".into(),
        note: None,
    }
}

/// A two-layer file: per layer a qkv weight (Laplace), an attention-output weight
/// (normal) and a norm gain (near 1).
pub fn small_file(seed: u64) -> HistogramFile {
    let mut rng = Rng(seed);
    let mut tensors = Vec::new();
    for layer in 0..2 {
        let qkv: Vec<f32> = (0..96 * 32)
            .map(|_| (0.02 * rng.laplace()) as f32)
            .collect();
        tensors.push(
            TensorHistogram::from_values(
                &format!("gpt_neox.layers.{layer}.attention.query_key_value.weight"),
                Role::Qkv,
                Some(layer),
                2,
                &[96, 32],
                32,
                &qkv,
            )
            .unwrap(),
        );
        let out: Vec<f32> = (0..32 * 32)
            .map(|_| (0.01 * (layer + 1) as f64 * rng.normal()) as f32)
            .collect();
        tensors.push(
            TensorHistogram::from_values(
                &format!("gpt_neox.layers.{layer}.attention.dense.weight"),
                Role::AttnOut,
                Some(layer),
                2,
                &[32, 32],
                32,
                &out,
            )
            .unwrap(),
        );
        let gain: Vec<f32> = (0..32).map(|_| (1.0 + 0.1 * rng.normal()) as f32).collect();
        tensors.push(
            TensorHistogram::from_values(
                &format!("gpt_neox.layers.{layer}.input_layernorm.weight"),
                Role::NormGain,
                Some(layer),
                2,
                &[32],
                32,
                &gain,
            )
            .unwrap(),
        );
    }
    HistogramFile::new(provenance(), tensors).unwrap()
}

/// The smallest valid file: one norm gain of 48 values, and its pooled entry.
pub fn tiny_file() -> HistogramFile {
    let values: Vec<f32> = (0..48)
        .map(|i| 1.0 + 0.01 * ((i * 37 % 48) as f32 - 24.0))
        .collect();
    let tensor = TensorHistogram::from_values(
        "gpt_neox.layers.0.input_layernorm.weight",
        Role::NormGain,
        Some(0),
        1,
        &[48],
        48,
        &values,
    )
    .unwrap();
    HistogramFile::new(provenance(), vec![tensor]).unwrap()
}
