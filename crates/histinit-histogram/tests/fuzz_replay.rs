//! The fuzzer's findings and seeds, replayed in every test run, and a deterministic
//! mutation test so CI covers the parser without cargo-fuzz.

mod common;

use std::path::Path;

use common::{tiny_file, Rng};
use histinit_histogram::{fuzz_check, fuzz_check_source, HistogramFile};

/// Every committed input of `target` (seeds and regressions), replayed through `check`;
/// returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in [format!("seeds/{target}"), format!("regressions/{target}")] {
        let entries = std::fs::read_dir(root.join(&dir))
            .unwrap_or_else(|err| panic!("fuzz/{dir} is committed: {err}"));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            check(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn committed_fuzz_inputs_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let replayed = replay("parse", fuzz_check);
    assert!(replayed >= 4, "only {replayed} inputs replayed");
    // The seeds still agree with the format: the valid one parses, the others do not.
    let seed = |name: &str| std::fs::read(root.join("seeds/parse").join(name)).unwrap();
    assert!(HistogramFile::parse(&seed("valid.json")).is_ok());
    assert!(HistogramFile::parse(&seed("valid.json.gz")).is_ok());
    assert!(HistogramFile::parse(&seed("truncated.json")).is_err());
    assert!(HistogramFile::parse(&seed("version2.json")).is_err());
}

#[test]
fn committed_source_fuzz_inputs_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    // The parse target's inputs are the source target's too.
    let replayed = replay("source", fuzz_check_source) + replay("parse", fuzz_check_source);
    assert!(replayed >= 6, "only {replayed} inputs replayed");
    // The separate q/k seed exercises the q/k/v mixture a fused target falls back on.
    let seed = std::fs::read(root.join("seeds/source/separate_qk.json")).unwrap();
    let file = HistogramFile::parse(&seed).unwrap();
    assert!(file.pooled(histinit_histogram::Role::Q).is_some());
    assert!(file.pooled(histinit_histogram::Role::Qkv).is_none());
}

#[test]
fn random_mutations_of_a_valid_file_never_panic() {
    let file = tiny_file();
    let json = file.to_json().into_bytes();
    let gz = file.to_json_gz();
    let mut rng = Rng(2024);
    let alphabet = b"0123456789-+.eE,:[]{}\"nul ";
    let (mut rounds, mut rejected) = (0, 0);
    for round in 0..400 {
        let mut bytes = if round % 4 == 3 {
            gz.clone()
        } else {
            json.clone()
        };
        for _ in 0..1 + rng.next_u64() % 6 {
            let pos = (rng.next_u64() % bytes.len() as u64) as usize;
            match rng.next_u64() % 4 {
                0 => bytes[pos] ^= 1 << (rng.next_u64() % 8),
                1 => bytes[pos] = alphabet[(rng.next_u64() % alphabet.len() as u64) as usize],
                2 => {
                    bytes.remove(pos);
                }
                _ => bytes.truncate(pos.max(1)),
            }
        }
        // Panics (the test fails) on any violation.
        fuzz_check(&bytes);
        fuzz_check_source(&bytes);
        rounds += 1;
        if HistogramFile::parse(&bytes).is_err() {
            rejected += 1;
        }
    }
    // Mutations do reach the parser's error paths (the test is not vacuous).
    assert!(
        rejected * 2 > rounds,
        "{rejected} of {rounds} mutants rejected"
    );
}
