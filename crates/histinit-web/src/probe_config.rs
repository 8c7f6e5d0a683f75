/// The run that the browser tests train on WebGPU and on the CPU backend, and that
/// the native test pins to `tests/data/cpu_reference.json`.
pub const PROBE_QUERY: &str =
    "preset=nano&inits=pythia&seed=1&steps=20&batch=8&context=64&warmup=2&lr=0.003";
pub const PROBE_STEPS: usize = 20;
