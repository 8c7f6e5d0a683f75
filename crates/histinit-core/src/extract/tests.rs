use super::*;
use crate::params::NEOX_BASE;

#[test]
fn neox_names_map_to_roles_and_layers() {
    let arch = Some(Arch::GptNeox);
    let cases = [
        ("gpt_neox.embed_in.weight", Role::Embed, None),
        (
            "gpt_neox.layers.3.attention.dense.weight",
            Role::AttnOut,
            Some(3),
        ),
        (
            "gpt_neox.layers.0.mlp.dense_h_to_4h.bias",
            Role::Bias,
            Some(0),
        ),
        (
            "gpt_neox.layers.1.input_layernorm.bias",
            Role::NormBias,
            Some(1),
        ),
        ("gpt_neox.final_layer_norm.weight", Role::NormGain, None),
        ("embed_out.weight", Role::Unembed, None),
    ];
    for (name, role, layer) in cases {
        match map_tensor(name, arch, &no_rules) {
            Mapping::Param {
                role: got,
                layer: got_layer,
                ..
            } => assert_eq!((got, got_layer), (role, layer), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        map_tensor(
            "gpt_neox.layers.0.attention.rotary_emb.inv_freq",
            arch,
            &no_rules
        ),
        Mapping::Skip(_)
    ));
    assert_eq!(
        map_tensor("gpt_neox.mystery", arch, &no_rules),
        Mapping::Unknown
    );
}

#[test]
fn every_tensor_of_histinits_models_maps_to_its_own_role() {
    use crate::params::param_specs;
    use crate::ModelConfig;
    let config = ModelConfig::preset("micro").unwrap();
    for spec in param_specs(&config) {
        let split = (spec.role == Role::Qkv).then_some(QkvLayout::PerHead);
        let expected = Mapping::Param {
            role: spec.role,
            layer: spec.layer,
            conv1d: false,
            split,
        };
        assert_eq!(
            map_tensor(&spec.name, Some(Arch::GptNeox), &no_rules),
            expected
        );
        // GPTNeoXModel (no LM head) saves the same names without `gpt_neox.`.
        let bare = spec.name.trim_start_matches(NEOX_BASE);
        assert_eq!(
            map_tensor(bare, Some(Arch::GptNeox), &no_rules),
            expected,
            "{bare}"
        );
        if spec.name.starts_with(NEOX_BASE) {
            assert_eq!(Arch::detect([spec.name.as_str()]), Some(Arch::GptNeox));
        }
    }
}

#[test]
fn neox_qkv_splits_per_head() {
    // 2 heads of head_dim 1, width 2: rows are [q0, k0, v0, q1, k1, v1].
    let rows = 6;
    let cols = 2;
    let values: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
    let [q, k, v] = split_qkv(&values, rows, cols, QkvLayout::PerHead, 2).unwrap();
    assert_eq!(q, vec![0.0, 1.0, 6.0, 7.0]);
    assert_eq!(k, vec![2.0, 3.0, 8.0, 9.0]);
    assert_eq!(v, vec![4.0, 5.0, 10.0, 11.0]);
    let [q, _, v] = split_qkv(&values, rows, cols, QkvLayout::Blocks, 2).unwrap();
    assert_eq!(q, vec![0.0, 1.0, 2.0, 3.0]);
    assert_eq!(v, vec![8.0, 9.0, 10.0, 11.0]);
    assert!(split_qkv(&values, rows, cols, QkvLayout::PerHead, 4).is_none());
}

#[test]
fn conv1d_weights_are_transposed() {
    // [in 2, out 3] -> [out 3, in 2].
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_eq!(transpose(&values, 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn architectures_are_detected_from_names() {
    assert_eq!(
        Arch::detect(["transformer.h.0.attn.c_attn.weight"]),
        Some(Arch::Gpt2)
    );
    assert_eq!(
        Arch::detect(["model.layers.0.self_attn.q_proj.weight"]),
        Some(Arch::Llama)
    );
    assert_eq!(
        Arch::detect(["encoder.layer.0.attention.self.query.weight"]),
        Some(Arch::Bert)
    );
    assert_eq!(Arch::detect(["foo.bar"]), None);
}
