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
    let mut sampler = TextSampler::new(prompt, temperature, seed);
    for _ in 0..length {
        sampler.next_byte(model, config, device).await?;
    }
    Ok(sampler.text())
}

/// [`sample_text`] one byte at a time, for a caller that must give control back in
/// between (a browser thread: on the CPU backend each byte is a forward pass).
/// Sample from a validation snapshot (`Module::valid`, on `device.inner()`): through the
/// training (autodiff) model each pass kept its activations, and the page's wasm memory
/// grew by ~230 MB for two 120-byte samples.
pub struct TextSampler {
    tokens: Vec<u8>,
    start: usize,
    temperature: f64,
    rng: ChaCha8Rng,
}

impl TextSampler {
    pub fn new(prompt: &str, temperature: f64, seed: u64) -> Self {
        let mut tokens: Vec<u8> = prompt.as_bytes().to_vec();
        if tokens.is_empty() {
            tokens.push(b'\n');
        }
        Self {
            start: tokens.len(),
            tokens,
            temperature,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Samples the next byte and appends it.
    pub async fn next_byte(
        &mut self,
        model: &NeoxModel,
        config: &ModelConfig,
        device: &Device,
    ) -> Result<u8, TrainError> {
        let window = &self.tokens[self.tokens.len().saturating_sub(config.context)..];
        let seq = window.len();
        let ids: Vec<i32> = window.iter().map(|&t| t as i32).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, seq]), device);
        let tables = PositionTables::new(config, seq, device);
        let logits = model.forward(input, &tables).inner();
        let last = logits
            .slice([0..1, seq - 1..seq, 0..config.vocab])
            .reshape([config.vocab])
            .div_scalar(self.temperature.max(1e-3));
        let probs = softmax(last, 0)
            .into_data_async()
            .await
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?
            .try_into_vec::<f32>()
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
        let u: f32 = self.rng.random();
        let mut acc = 0.0;
        let mut next = probs.len() - 1;
        for (index, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                next = index;
                break;
            }
        }
        self.tokens.push(next as u8);
        Ok(next as u8)
    }

    /// What was sampled so far, without the prompt.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.tokens[self.start..]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::init::{init_weights, InitMethod};

    /// The CPU backend's read-backs are ready at once, so polling finishes the future.
    fn ready<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
                return value;
            }
        }
    }

    #[test]
    fn sampling_byte_by_byte_is_sampling_at_once_and_seeded() {
        let config = ModelConfig::preset("nano").unwrap();
        let device = crate::cpu_device();
        let weights = init_weights(&config, InitMethod::Pythia, 1, None).unwrap();
        let model = NeoxModel::from_weights(&config, &weights, &device).unwrap();
        let at_once = ready(sample_text(&model, &config, &device, "And", 24, 0.8, 7)).unwrap();

        let mut sampler = TextSampler::new("And", 0.8, 7);
        let mut bytes = Vec::new();
        for _ in 0..24 {
            bytes.push(ready(sampler.next_byte(&model, &config, &device)).unwrap());
        }
        assert_eq!(sampler.text(), at_once);
        assert_eq!(String::from_utf8_lossy(&bytes), at_once);

        // Another seed, another text (24 bytes from an untrained model's spread-out
        // distribution: equal by chance with negligible probability).
        let other = ready(sample_text(&model, &config, &device, "And", 24, 0.8, 8)).unwrap();
        assert_ne!(other, at_once);
    }
}
