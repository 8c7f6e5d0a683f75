//! A few characters sampled from a model, so a reader sees it learn.

use burn::tensor::{activation::softmax, Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::ModelConfig;
use crate::error::TrainError;
use crate::model::{NeoxModel, PositionTables};

/// Continues `prompt` by `length` bytes, sampling each from the model's next-byte
/// distribution at `temperature` with a seeded stream (so the page and the CLI sample
/// the same text from the same weights). Reads back once per byte, without blocking.
pub async fn sample_text(
    model: &NeoxModel,
    config: &ModelConfig,
    device: &Device,
    prompt: &str,
    length: usize,
    temperature: f64,
    seed: u64,
) -> Result<String, TrainError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tokens: Vec<u8> = prompt.as_bytes().to_vec();
    if tokens.is_empty() {
        tokens.push(b'\n');
    }
    let start = tokens.len();
    for _ in 0..length {
        let window = &tokens[tokens.len().saturating_sub(config.context)..];
        let seq = window.len();
        let ids: Vec<i32> = window.iter().map(|&t| t as i32).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, seq]), device);
        let tables = PositionTables::new(config, seq, device);
        let logits = model.forward(input, &tables).inner();
        let last = logits
            .slice([0..1, seq - 1..seq, 0..config.vocab])
            .reshape([config.vocab])
            .div_scalar(temperature.max(1e-3));
        let probs = softmax(last, 0)
            .into_data_async()
            .await
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?
            .try_into_vec::<f32>()
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
        let u: f32 = rng.random();
        let mut acc = 0.0;
        let mut next = probs.len() - 1;
        for (index, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                next = index;
                break;
            }
        }
        tokens.push(next as u8);
    }
    Ok(String::from_utf8_lossy(&tokens[start..]).into_owned())
}
