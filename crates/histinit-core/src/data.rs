//! Corpus splits and the seeded batch sampler.
//!
//! The corpus is cut into equal blocks and every block belongs to exactly one split,
//! in a fixed repeating pattern (9 teacher, 9 student, 2 validation out of every 20),
//! so the splits are disjoint, deterministic, and each spans the whole text. Training
//! windows never cross a block boundary, so no split ever reads another's bytes.

use std::io::Read;
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::DataError;
use crate::tokenizer::encode;

/// King James Bible (public domain), one verse per line; see data/README.md.
const BUNDLED_CORPUS_GZ: &[u8] = include_bytes!("../../../data/kjv.txt.gz");

/// The seed of the fixed validation batches: the same for every run and every data
/// seed, so all runs are scored on identical text.
pub const EVAL_SEED: u64 = 0x5eed_e7a1;

const PATTERN: [Split; 20] = {
    use Split::*;
    [
        Teacher, Student, Teacher, Student, Val, Teacher, Student, Teacher, Student, Teacher,
        Student, Teacher, Student, Val, Teacher, Student, Teacher, Student, Teacher, Student,
    ]
};
const MAX_BLOCK: usize = 8192;
const MIN_BLOCKS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Only for training the teacher models whose histograms are shipped.
    Teacher,
    /// The compared (student) runs.
    Student,
    /// Evaluation.
    Val,
}

/// The decompressed bundled corpus.
pub fn bundled_corpus() -> Result<String, DataError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(BUNDLED_CORPUS_GZ)
        .read_to_string(&mut text)
        .map_err(|err| DataError::BundledCorpus(err.to_string()))?;
    Ok(text)
}

/// At most this share of a text's bytes may be control characters or invalid UTF-8
/// (one in twenty): more and it is taken for a binary file and refused.
const MAX_SUSPICIOUS_SHARE: f64 = 0.05;

/// Largest text [`corpus_text`] takes: 64 MiB (the page's limit for a text file; the
/// bundled corpus is 4.4 MB). Checked before anything is copied.
pub const MAX_CORPUS_BYTES: usize = 64 << 20;

/// A user's text turned into the corpus text (see [`corpus_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusText {
    pub text: String,
    /// Bytes that were not UTF-8; each invalid sequence became one U+FFFD in `text`
    /// (as `String::from_utf8_lossy` does).
    pub invalid_bytes: usize,
}

impl CorpusText {
    /// The warning to show when some bytes were not UTF-8 (`None` for clean text).
    pub fn warning(&self) -> Option<String> {
        (self.invalid_bytes > 0).then(|| {
            let s = if self.invalid_bytes == 1 { "" } else { "s" };
            format!(
                "{} byte{s} of the text {} not UTF-8 (a Windows-1252 quote, say): each invalid \
                 sequence was replaced by U+FFFD and the rest trains as it is",
                self.invalid_bytes,
                if self.invalid_bytes == 1 { "is" } else { "are" }
            )
        })
    }
}

/// Turns a file's bytes into the corpus text, the one conversion the page and the CLI
/// share: UTF-8 is taken as it is; a few stray bytes that are not UTF-8 (a Windows-1252
/// quote in an otherwise clean file) are replaced by U+FFFD and counted; an empty input,
/// and one in which more than one byte in twenty is a control character (NUL, ...; tab,
/// newlines and form feed are text) or invalid UTF-8, is refused.
pub fn corpus_text(bytes: &[u8]) -> Result<CorpusText, DataError> {
    if bytes.is_empty() {
        return Err(DataError::EmptyCorpus);
    }
    // Both limits are checked before the text is copied: the size first, then what is
    // not text, counted without building anything.
    if bytes.len() > MAX_CORPUS_BYTES {
        return Err(DataError::CorpusTooLarge {
            bytes: bytes.len(),
            limit: MAX_CORPUS_BYTES,
        });
    }
    let invalid_bytes: usize = bytes.utf8_chunks().map(|chunk| chunk.invalid().len()).sum();
    let control = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
        .count();
    let suspicious = control + invalid_bytes;
    if suspicious as f64 > MAX_SUSPICIOUS_SHARE * bytes.len() as f64 {
        let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
        return Err(DataError::NotText {
            bytes: bytes.len(),
            suspicious,
            hint: if utf16 {
                " (it starts like UTF-16 text: save it as UTF-8)"
            } else {
                ""
            },
        });
    }
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    Ok(CorpusText {
        text,
        invalid_bytes,
    })
}

/// A corpus read from a user's bytes: [`corpus_text`] then [`Corpus::new`].
#[derive(Debug, Clone)]
pub struct LoadedCorpus {
    pub corpus: Corpus,
    pub invalid_bytes: usize,
    /// What [`CorpusText::warning`] says (stray bytes), if anything.
    pub warning: Option<String>,
}

/// Reads a user's text as the corpus for sequences of up to `max_context` tokens: the
/// page and `histinit run --corpus` both call this, so they split it the same way.
pub fn load_corpus(bytes: &[u8], max_context: usize) -> Result<LoadedCorpus, DataError> {
    let text = corpus_text(bytes)?;
    let warning = text.warning();
    Ok(LoadedCorpus {
        corpus: Corpus::new(&text.text, max_context)?,
        invalid_bytes: text.invalid_bytes,
        warning,
    })
}

/// The prompt the text samples of the bundled corpus start from.
pub const BUNDLED_PROMPT: &str = "And God said";

/// A tokenized text cut into blocks assigned to splits.
#[derive(Debug)]
pub struct Corpus {
    tokens: Vec<u8>,
    block: usize,
    /// Evaluation batches drawn so far, shared by every run that asks for the same ones:
    /// an experiment's runs hold one copy of its validation set, not one each.
    eval_sets: Mutex<Vec<(EvalSetKey, Arc<[Batch]>)>>,
}

/// What fixes a set of evaluation batches: split, count, rows per batch, context.
type EvalSetKey = (Split, usize, usize, usize);

impl Clone for Corpus {
    fn clone(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            block: self.block,
            eval_sets: Mutex::default(),
        }
    }
}

impl Corpus {
    /// `max_context` is the longest sequence that will be sampled; blocks are made
    /// long enough to hold a window of it plus the shifted target.
    pub fn new(text: &str, max_context: usize) -> Result<Self, DataError> {
        let tokens = encode(text);
        let block = (tokens.len() / MIN_BLOCKS).min(MAX_BLOCK);
        let needed = (max_context + 1) * MIN_BLOCKS;
        if block < max_context + 1 {
            return Err(DataError::CorpusTooSmall {
                bytes: tokens.len(),
                context: max_context,
                needed,
            });
        }
        Ok(Self {
            tokens,
            block,
            eval_sets: Mutex::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn block_len(&self) -> usize {
        self.block
    }

    pub fn split_of_block(index: usize) -> Split {
        PATTERN[index % PATTERN.len()]
    }

    /// Byte ranges (start, end) of the blocks of a split, in corpus order.
    pub fn ranges(&self, split: Split) -> Vec<(usize, usize)> {
        (0..self.tokens.len().div_ceil(self.block))
            .filter(|&index| Self::split_of_block(index) == split)
            .map(|index| {
                (
                    index * self.block,
                    ((index + 1) * self.block).min(self.tokens.len()),
                )
            })
            .collect()
    }

    pub fn split_len(&self, split: Split) -> usize {
        self.ranges(split)
            .iter()
            .map(|(start, end)| end - start)
            .sum()
    }

    pub fn tokens(&self) -> &[u8] {
        &self.tokens
    }

    /// A prompt for text samples taken from this corpus: the first few words (at most
    /// four, at most 40 bytes, with the separators between them as they are) of the
    /// student split, starting at the first word that begins after a space or line break,
    /// so that it reads like the text the runs learn.
    pub fn prompt(&self) -> String {
        let Some(&(start, end)) = self.ranges(Split::Student).first() else {
            return String::new();
        };
        let block = String::from_utf8_lossy(&self.tokens[start..end]);
        // Skip the word the block may cut in two, unless the block starts a line.
        let from = if start == 0 || matches!(self.tokens[start - 1], b' ' | b'\n' | b'\r' | b'\t') {
            0
        } else {
            block.find(char::is_whitespace).unwrap_or(0)
        };
        // The text from the first word to the end of the last that fits, separators
        // (spaces, a line break) as they are.
        let rest = &block[from..];
        let offset = |word: &str| word.as_ptr() as usize - rest.as_ptr() as usize;
        let mut words = rest.split_whitespace().take(4);
        let Some(first) = words.next() else {
            return String::new();
        };
        let begin = offset(first);
        if first.len() > 40 {
            // One long word: its first characters.
            return first
                .char_indices()
                .take_while(|(i, c)| i + c.len_utf8() <= 40)
                .map(|(_, c)| c)
                .collect();
        }
        let mut end = begin + first.len();
        for word in words {
            let word_end = offset(word) + word.len();
            if word_end - begin > 40 {
                break;
            }
            end = word_end;
        }
        rest[begin..end].to_string()
    }

    /// Whether windows of `context` tokens and their shifted targets fit in this
    /// corpus's blocks (a sampler needs at least one window in every split).
    pub fn check_context(&self, context: usize) -> Result<(), DataError> {
        if context == 0 || context >= self.block {
            return Err(DataError::ContextTooLong {
                context,
                longest: self.block.saturating_sub(1),
            });
        }
        Ok(())
    }

    /// A sampler of training windows of `context` tokens from `split`.
    pub fn sampler(&self, split: Split, context: usize, seed: u64) -> BatchSampler<'_> {
        BatchSampler::new(self, split, context, seed)
    }

    /// The fixed validation batches every run is evaluated on.
    pub fn eval_batches(&self, count: usize, batch: usize, context: usize) -> Arc<[Batch]> {
        self.eval_batches_of(Split::Val, count, batch, context)
    }

    /// Fixed evaluation batches of `split` (the same for every run of a config), drawn
    /// once per corpus and shared: a second call with the same arguments returns the
    /// same allocation.
    pub fn eval_batches_of(
        &self,
        split: Split,
        count: usize,
        batch: usize,
        context: usize,
    ) -> Arc<[Batch]> {
        let key = (split, count, batch, context);
        // A poisoned lock only means another thread panicked while drawing: the sets
        // already stored are complete, so they are still good.
        let mut sets = self.eval_sets.lock().unwrap_or_else(|err| err.into_inner());
        if let Some((_, set)) = sets.iter().find(|(k, _)| *k == key) {
            return set.clone();
        }
        let mut sampler = self.sampler(split, context, EVAL_SEED);
        let set: Arc<[Batch]> = (0..count).map(|_| sampler.next_batch(batch)).collect();
        sets.push((key, set.clone()));
        set
    }
}

/// Token ids of a batch, row-major `[batch, context]`; targets are inputs shifted by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub batch: usize,
    pub context: usize,
    pub inputs: Vec<i32>,
    pub targets: Vec<i32>,
}

/// Draws windows uniformly from every valid start position of a split, from a
/// ChaCha stream: the same seed gives the same batches on every platform, whatever
/// model or init consumes them.
pub struct BatchSampler<'a> {
    corpus: &'a Corpus,
    context: usize,
    /// (block start, number of valid window starts), and their running total.
    starts: Vec<(usize, usize)>,
    total_starts: usize,
    rng: ChaCha8Rng,
}

impl<'a> BatchSampler<'a> {
    fn new(corpus: &'a Corpus, split: Split, context: usize, seed: u64) -> Self {
        let starts: Vec<(usize, usize)> = corpus
            .ranges(split)
            .into_iter()
            .filter(|(start, end)| end - start > context)
            .map(|(start, end)| (start, end - start - context))
            .collect();
        let total_starts = starts.iter().map(|(_, count)| count).sum();
        Self {
            corpus,
            context,
            starts,
            total_starts,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn window_start(&self, mut index: usize) -> usize {
        for &(start, count) in &self.starts {
            if index < count {
                return start + index;
            }
            index -= count;
        }
        unreachable!("index below total_starts always falls in a block")
    }

    /// How far the stream has been read: with the seed, all a resumed run needs to draw
    /// the same batches as one never interrupted.
    pub fn position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// Continues the stream from `position` (see [`BatchSampler::position`]).
    pub fn seek(&mut self, position: u128) {
        self.rng.set_word_pos(position);
    }

    /// Start offsets of the next `batch` windows (consumes the stream like `next_batch`).
    pub fn next_starts(&mut self, batch: usize) -> Vec<usize> {
        (0..batch)
            .map(|_| {
                let index = self.rng.random_range(0..self.total_starts);
                self.window_start(index)
            })
            .collect()
    }

    pub fn next_batch(&mut self, batch: usize) -> Batch {
        let context = self.context;
        let mut inputs = Vec::with_capacity(batch * context);
        let mut targets = Vec::with_capacity(batch * context);
        for start in self.next_starts(batch) {
            let window = &self.corpus.tokens[start..start + context + 1];
            inputs.extend(window[..context].iter().map(|&t| t as i32));
            targets.extend(window[1..].iter().map(|&t| t as i32));
        }
        Batch {
            batch,
            context,
            inputs,
            targets,
        }
    }
}

#[cfg(test)]
mod tests;
