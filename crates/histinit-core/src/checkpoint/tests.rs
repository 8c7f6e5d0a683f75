use super::*;

fn sample() -> Weights {
    let mut weights = Weights::new();
    weights.insert(
        "a.weight".into(),
        HostTensor {
            shape: vec![2, 3],
            values: vec![0.5, -1.25, 3.0, 0.0, 1e-3, -7.5],
        },
    );
    weights.insert(
        "b.bias".into(),
        HostTensor {
            shape: vec![2],
            values: vec![0.1, -0.2],
        },
    );
    weights
}

#[test]
fn f32_round_trip_is_exact_and_keeps_metadata() {
    let weights = sample();
    let meta = BTreeMap::from([("source".to_string(), "test".to_string())]);
    let bytes = weights_to_safetensors(&weights, StoreDtype::F32, &meta).unwrap();
    assert_eq!(weights_from_safetensors(&bytes).unwrap(), weights);
    let file = SafetensorsFile::parse(&bytes).unwrap();
    assert_eq!(
        file.metadata().get("source").map(String::as_str),
        Some("test")
    );
    assert_eq!(file.entries().len(), 2);
}

#[test]
fn f16_round_trip_is_within_half_precision() {
    let weights = sample();
    let bytes = weights_to_safetensors(&weights, StoreDtype::F16, &BTreeMap::new()).unwrap();
    let back = weights_from_safetensors(&bytes).unwrap();
    for (name, tensor) in &weights {
        let got = &back[name];
        assert_eq!(got.shape, tensor.shape);
        for (&a, &b) in tensor.values.iter().zip(&got.values) {
            // f16 keeps 11 significant bits.
            assert!((a - b).abs() <= a.abs() * 1e-3 + 1e-7, "{name}: {a} vs {b}");
        }
        assert_ne!(got.values, vec![0.0; got.values.len()]);
    }
}

#[test]
fn bf16_and_f16_bits_decode_to_known_values() {
    // 1.0, -2.0 and 0.5 in bf16 (the top 16 bits of the f32) and in f16.
    let bf16 = [0x3f80u16, 0xc000, 0x3f00];
    let bytes: Vec<u8> = bf16.iter().flat_map(|b| b.to_le_bytes()).collect();
    assert_eq!(
        dtype_to_f32("t", Dtype::BF16, &bytes).unwrap(),
        vec![1.0, -2.0, 0.5]
    );
    let f16 = [0x3c00u16, 0xc000, 0x3800];
    let bytes: Vec<u8> = f16.iter().flat_map(|b| b.to_le_bytes()).collect();
    assert_eq!(
        dtype_to_f32("t", Dtype::F16, &bytes).unwrap(),
        vec![1.0, -2.0, 0.5]
    );
    let err = dtype_to_f32("ids", Dtype::I64, &[0; 8]).unwrap_err();
    assert!(err.to_string().contains("ids"), "{err}");
}

#[test]
fn truncated_files_name_the_tensor() {
    let bytes = weights_to_safetensors(&sample(), StoreDtype::F32, &BTreeMap::new()).unwrap();
    let err = weights_from_safetensors(&bytes[..bytes.len() - 4]).unwrap_err();
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("b.bias"), "{err}");
    let err = weights_from_safetensors(&bytes[..5]).unwrap_err();
    assert!(matches!(err, CheckpointError::Header(_)), "{err}");
    let err = weights_from_safetensors(&bytes[..20]).unwrap_err();
    assert!(err.to_string().contains("header length"), "{err}");
}

#[test]
fn a_header_that_lies_about_sizes_names_the_tensor() {
    let bytes = weights_to_safetensors(&sample(), StoreDtype::F32, &BTreeMap::new()).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    // Claim a [2, 4] shape for a tensor that holds 6 values, keeping the length.
    let lying = header.replacen("[2,3]", "[2,4]", 1);
    assert_ne!(lying, header);
    let mut forged = bytes[..8].to_vec();
    forged.extend_from_slice(lying.as_bytes());
    forged.extend_from_slice(&bytes[8 + header_len..]);
    let err = weights_from_safetensors(&forged).unwrap_err();
    assert!(matches!(err, CheckpointError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("a.weight"), "{err}");
}

#[test]
fn non_finite_tensors_are_refused_by_name() {
    let mut weights = sample();
    weights.get_mut("b.bias").unwrap().values = vec![f32::NAN, f32::NAN];
    let bytes = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new()).unwrap();
    let err = weights_from_safetensors(&bytes).unwrap_err();
    assert_eq!(
        err,
        CheckpointError::NonFinite {
            tensor: "b.bias".into(),
            count: 2,
            total: 2
        }
    );
}

/// A safetensors buffer from a header's JSON text and the data section.
fn forge(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn header_limits_stop_the_read_where_they_are_passed() {
    // 4097 tensors and then broken JSON: the tensor past the limit stops the read,
    // so the error is the limit, not the syntax error a whole parse would reach.
    let many: Vec<String> = (0..=MAX_WEIGHT_TENSORS)
        .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
        .collect();
    let broken = forge(&format!("{{{}, \"x\": [1, 2,", many.join(",")), &[]);
    let err = weights_from_safetensors(&broken).unwrap_err();
    assert!(
        err.to_string()
            .contains("4097 tensors, more than the limit of 4096"),
        "{err}"
    );
    // Metadata: at most MAX_METADATA_ENTRIES strings, each at most MAX_HEADER_STRING
    // bytes, refused while reading (the streaming reader too).
    let entries: Vec<String> = (0..=MAX_METADATA_ENTRIES)
        .map(|i| format!(r#""k{i}":"v""#))
        .collect();
    let header = format!(r#"{{"__metadata__":{{{}}}}}"#, entries.join(","));
    let err = SafetensorsFile::parse(&forge(&header, &[])).err().unwrap();
    assert!(matches!(err, CheckpointError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("1025 metadata entries"), "{err}");
    let long = "v".repeat(MAX_HEADER_STRING + 1);
    let header = format!(r#"{{"__metadata__":{{"note":"{long}"}}}}"#);
    let err = SafetensorsFile::parse(&forge(&header, &[])).err().unwrap();
    assert!(
        err.to_string()
            .contains("a metadata value of 65537 bytes, more than the 65536"),
        "{err}"
    );
    let header = format!(r#"{{"{long}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}}}"#);
    let err = SafetensorsFile::parse(&forge(&header, &[])).err().unwrap();
    assert!(
        err.to_string().contains("a tensor name of 65537 bytes"),
        "{err}"
    );
    // A shape of 65 dimensions.
    let dims = vec!["1"; MAX_DIMS + 1].join(",");
    let header = format!(r#"{{"w":{{"dtype":"F32","shape":[{dims}],"data_offsets":[0,4]}}}}"#);
    let err = SafetensorsFile::parse(&forge(&header, &[0; 4]))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("a shape has more than 64 elements"),
        "{err}"
    );
    // Within every limit, a file still reads.
    let header = format!(
        r#"{{"__metadata__":{{"a":"{}"}},"w":{{"dtype":"F32","shape":[{}],"data_offsets":[0,4]}}}}"#,
        "v".repeat(MAX_HEADER_STRING),
        vec!["1"; MAX_DIMS].join(",")
    );
    let bytes = forge(&header, &[0; 4]);
    let file = SafetensorsFile::parse(&bytes).unwrap();
    assert_eq!(file.metadata().len(), 1);
    assert_eq!(file.entries().len(), 1);
}

#[test]
fn the_in_memory_reader_is_capped_before_it_converts_anything() {
    // 1 GiB of f32 claimed by a 100-byte file: refused as too large (not as
    // truncated, and without allocating), naming the limit.
    let huge = forge(
        r#"{"w":{"dtype":"F32","shape":[16384,16384],"data_offsets":[0,1073741824]}}"#,
        &[],
    );
    let err = weights_from_safetensors(&huge).unwrap_err();
    assert!(matches!(err, CheckpointError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("'w' hold 1073741824 bytes as f32, more than the limit of 536870912"),
        "{err}"
    );
    // The streaming reader has no such cap: it reports the missing data.
    let err = SafetensorsFile::parse(&huge).err().unwrap();
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    // The cap is on f32 bytes: 160 Mi f16 values (320 MiB stored) are 640 MiB.
    let half = forge(
        r#"{"w":{"dtype":"F16","shape":[167772160],"data_offsets":[0,335544320]}}"#,
        &[],
    );
    let err = weights_from_safetensors(&half).unwrap_err();
    assert!(matches!(err, CheckpointError::TooLarge { .. }), "{err}");
    // Too many tensors, each empty.
    let many: Vec<String> = (0..=MAX_WEIGHT_TENSORS)
        .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
        .collect();
    let many = forge(&format!("{{{}}}", many.join(",")), &[]);
    let err = weights_from_safetensors(&many).unwrap_err();
    assert!(
        err.to_string()
            .contains("4097 tensors, more than the limit of 4096"),
        "{err}"
    );
    assert_eq!(SafetensorsFile::parse(&many).unwrap().entries().len(), 4097);
    // A header above 16 MiB (spaces are valid JSON padding).
    let padded = format!("{{}}{}", " ".repeat(MAX_WEIGHT_HEADER as usize));
    let err = weights_from_safetensors(&forge(&padded, &[])).unwrap_err();
    assert!(matches!(err, CheckpointError::TooLarge { .. }), "{err}");
    // Just under every cap still reads.
    let bytes = weights_to_safetensors(&sample(), StoreDtype::F32, &BTreeMap::new()).unwrap();
    assert_eq!(weights_from_safetensors(&bytes).unwrap(), sample());
}

#[test]
fn malformed_headers_are_errors_not_panics() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            r#"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "shape",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":"4","data_offsets":[0,4]}}"#,
            &[0; 4],
            "shape",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "shape",
        ),
        (
            r#"{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "dtype",
        ),
        (
            r#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "dtype",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            &[0; 4],
            "end before",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            &[0; 4],
            "data_offsets",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}"#,
            &[0; 4],
            "'w'",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
            &[0; 4],
            "overflows",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}}"#,
            &[],
            "",
        ),
        (
            r#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
            &[0; 8],
            "not a float",
        ),
        (
            r#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            &[0; 2],
            "",
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &[0, 0, 0xc0, 0x7f],
            "NaN",
        ),
        (r#"[1, 2]"#, &[], "JSON object"),
        (r#"{"w": 5}"#, &[], "dtype"),
    ];
    for (header, data, needle) in cases {
        let bytes = forge(header, data);
        let result = std::panic::catch_unwind(|| weights_from_safetensors(&bytes));
        let err = match result {
            Ok(Ok(weights)) => panic!("{header}: accepted as {weights:?}"),
            Ok(Err(err)) => err.to_string(),
            Err(_) => panic!("{header}: panicked"),
        };
        assert!(err.contains(needle), "{header}: {err}");
        fuzz_check(&bytes);
    }
    // A header that is not UTF-8, and a length field beyond the file.
    let mut bytes = forge(r#"{"x":1}"#, &[]);
    bytes[10] = 0xff;
    let err = weights_from_safetensors(&bytes).unwrap_err();
    assert!(err.to_string().contains("not a safetensors file"), "{err}");
    let mut bytes = forge("{}", &[]);
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = weights_from_safetensors(&bytes).unwrap_err();
    assert!(err.to_string().contains("header length"), "{err}");
}

#[test]
fn committed_fuzz_inputs_do_not_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["seeds/safetensors", "regressions/safetensors"] {
        let entries = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|err| panic!("fuzz/{dir} is committed: {err}"));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            fuzz_check(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed >= 3, "only {replayed} inputs replayed");
    let seed = std::fs::read(root.join("seeds/safetensors/f32.safetensors")).unwrap();
    assert_eq!(weights_from_safetensors(&seed).unwrap(), sample());
}

#[test]
fn wrong_lengths_are_refused_on_write() {
    let mut weights = sample();
    weights.get_mut("a.weight").unwrap().values.pop();
    let err = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("a.weight"), "{err}");
}
