//! Any bytes: `weights_from_safetensors` and the streaming `SafetensorsFile` return
//! weights or an error, never panic, and stay within their caps
//! (`histinit_core::checkpoint::fuzz_check`).
//!
//! `checkpoint.rs` is compiled here on its own, without the rest of histinit-core (and
//! so without Burn): it needs only `crate::params::{HostTensor, Weights}`, stood in for
//! below with the same definitions. If checkpoint.rs grows another `crate::` import,
//! this target stops compiling (CI builds it: `make fuzz-check`); add the item here.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/histinit-core/src/checkpoint.rs"]
mod checkpoint;

/// The two items of `histinit_core::params` that checkpoint.rs uses.
mod params {
    /// A host-side tensor: row-major values and their shape.
    #[derive(Debug, Clone, PartialEq)]
    pub struct HostTensor {
        pub shape: Vec<usize>,
        pub values: Vec<f32>,
    }

    /// Named host tensors.
    pub type Weights = std::collections::BTreeMap<String, HostTensor>;
}

fuzz_target!(|data: &[u8]| {
    checkpoint::fuzz_check(data);
});
