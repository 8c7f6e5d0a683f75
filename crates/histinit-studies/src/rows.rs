//! `histinit rows`: a byte-level teacher's embedding and unembedding, split into the rows
//! of byte values its training text uses and the rows it never saw.
//!
//! A byte vocabulary has 256 rows but a text uses few of them (the KJV 73). The rows of
//! unused bytes get no gradient through the embedding and only a push-down through the
//! unembedding, so a histogram pooled over all rows mixes trained rows with rows that are
//! close to their init. This reports the two apart and writes the teacher's histogram
//! file with those two tensors (and their pooled roles) rebuilt from the used rows only.

use std::path::PathBuf;

use clap::Args;
use histinit_core::checkpoint::{CheckpointError, SafetensorsFile};
use histinit_core::data::{self, Corpus, Split};
use histinit_core::error::DataError;
use histinit_core::histogram::{HistogramError, HistogramFile, Role, TensorHistogram};
use histinit_files::fs::FileError;

/// The tensors whose rows are byte values, in the GPT-NeoX names the teachers are saved in.
pub const VOCAB_TENSORS: [(&str, Role); 2] = [
    ("gpt_neox.embed_in.weight", Role::Embed),
    ("embed_out.weight", Role::Unembed),
];

#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Histogram(#[from] HistogramError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{tensor}: expected a [256, width] byte-vocabulary matrix, found {shape:?}")]
    NotByteVocabulary { tensor: String, shape: Vec<usize> },
    #[error("{0}: not in the histogram file (is it the histogram of these weights?)")]
    MissingEntry(String),
    #[error("the teacher split uses every byte value or none: no rows to set apart")]
    NothingApart,
}

#[derive(Args, Debug)]
pub struct RowsArgs {
    /// The teacher's weights (.safetensors, GPT-NeoX names).
    #[arg(long)]
    pub weights: PathBuf,
    /// The teacher's histogram file (what `histinit teacher` wrote beside the weights).
    #[arg(long)]
    pub histogram: PathBuf,
    /// The text the teacher trained on (its teacher split is read); the bundled KJV if
    /// omitted.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Where to write the histogram file rebuilt from the used rows (.json.gz or .json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One side (used or unused rows) of one vocabulary tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSide {
    pub rows: usize,
    pub std: f64,
    pub mean: f64,
    pub excess_kurtosis: f64,
    /// Weibull shape of |W| on its middle 80% (the published Pythia statistic).
    pub weibull_k: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowSplit {
    pub tensor: String,
    pub role: Role,
    pub all: RowSide,
    pub used: RowSide,
    pub unused: RowSide,
}

/// Which byte values occur in the teacher split of `corpus`.
pub fn used_bytes(corpus: &Corpus) -> [bool; 256] {
    let mut used = [false; 256];
    let tokens = corpus.tokens();
    for (start, end) in corpus.ranges(Split::Teacher) {
        for &byte in &tokens[start..end] {
            used[byte as usize] = true;
        }
    }
    used
}

fn side(entry: &TensorHistogram, rows: usize) -> RowSide {
    RowSide {
        rows,
        std: entry.std,
        mean: entry.mean,
        excess_kurtosis: entry.excess_kurtosis,
        weibull_k: entry.weibull_abs().map(|fit| fit.k),
    }
}

/// The histogram of the chosen rows of a [256, width] matrix, named and placed as `like`.
fn rows_entry(
    like: &TensorHistogram,
    values: &[f32],
    width: usize,
    keep: impl Fn(usize) -> bool,
) -> Result<(TensorHistogram, usize), HistogramError> {
    let picked: Vec<f32> = values
        .chunks(width)
        .enumerate()
        .filter(|(row, _)| keep(*row))
        .flat_map(|(_, row)| row.iter().copied())
        .collect();
    let rows = picked.len() / width;
    // The layer count only places block tensors; the embedding sits at depth 0 and the
    // unembedding at 1 whatever it is.
    let entry = TensorHistogram::from_values(
        &like.name,
        like.role,
        like.layer,
        1,
        &[rows, width],
        like.fan_in,
        &picked,
    )?;
    Ok((entry, rows))
}

/// Splits the vocabulary tensors of `weights` by `used`, and returns `file` with those
/// tensors and their pooled roles rebuilt from the used rows.
pub fn split_rows(
    file: &HistogramFile,
    weights: &SafetensorsFile,
    used: &[bool; 256],
) -> Result<(HistogramFile, Vec<RowSplit>), RowsError> {
    let used_count = used.iter().filter(|u| **u).count();
    if used_count == 0 || used_count == 256 {
        return Err(RowsError::NothingApart);
    }
    let mut out = file.clone();
    let mut splits = Vec::new();
    for (name, role) in VOCAB_TENSORS {
        let tensor = weights.tensor(name)?;
        let [256, width] = tensor.shape[..] else {
            return Err(RowsError::NotByteVocabulary {
                tensor: name.to_string(),
                shape: tensor.shape.clone(),
            });
        };
        let index = out
            .tensors
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| RowsError::MissingEntry(name.to_string()))?;
        let all = out.tensors[index].clone();
        let (used_entry, used_rows) = rows_entry(&all, &tensor.values, width, |r| used[r])?;
        let (unused_entry, unused_rows) = rows_entry(&all, &tensor.values, width, |r| !used[r])?;
        splits.push(RowSplit {
            tensor: name.to_string(),
            role,
            all: side(&all, 256),
            used: side(&used_entry, used_rows),
            unused: side(&unused_entry, unused_rows),
        });
        out.tensors[index] = used_entry;
        let members: Vec<&TensorHistogram> =
            out.tensors.iter().filter(|t| t.role == role).collect();
        let pooled = TensorHistogram::pool(role.name(), role, &members)?.with_fits();
        match out.pooled.iter_mut().find(|t| t.role == role) {
            Some(slot) => *slot = pooled,
            None => out.pooled.push(pooled),
        }
    }
    let note = format!(
        "The embedding and unembedding are rebuilt from the {used_count} rows of byte values \
         the teacher split uses ({} never-seen rows left out; `histinit rows`).",
        256 - used_count
    );
    out.source.note = Some(match out.source.note.take() {
        Some(before) => format!("{before} {note}"),
        None => note,
    });
    out.validate()?;
    Ok((out, splits))
}

fn cell(side: &RowSide) -> String {
    let k = side
        .weibull_k
        .map_or_else(|| "–".to_string(), |k| format!("{k:.3}"));
    format!(
        "{} | {:.4} | {:+.4} | {:.2} | {k}",
        side.rows, side.std, side.mean, side.excess_kurtosis
    )
}

/// A Markdown table of the splits.
pub fn render(splits: &[RowSplit]) -> String {
    let mut text = String::from(
        "| tensor | rows | count | std | mean | excess kurtosis | Weibull k of abs(W) |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for split in splits {
        for (label, side) in [
            ("all", &split.all),
            ("used", &split.used),
            ("never seen", &split.unused),
        ] {
            text.push_str(&format!(
                "| {} | {label} | {} |\n",
                split.role.name(),
                cell(side)
            ));
        }
    }
    text
}

pub fn run_rows(args: RowsArgs) -> Result<(), RowsError> {
    let weights_bytes = histinit_files::fs::read(&args.weights)?;
    let weights = SafetensorsFile::parse(&weights_bytes)?;
    let histogram_bytes = histinit_files::fs::read(&args.histogram)?;
    let file = HistogramFile::parse(&histogram_bytes)?;
    let text = match &args.corpus {
        Some(path) => data::corpus_text(&histinit_files::fs::read(path)?)?.text,
        None => data::bundled_corpus()?,
    };
    let corpus = Corpus::new(&text, 1)?;
    let (rebuilt, splits) = split_rows(&file, &weights, &used_bytes(&corpus))?;
    print!("{}", render(&splits));
    if let Some(out) = &args.out {
        let bytes = if out.extension().is_some_and(|e| e == "gz") {
            rebuilt.to_json_gz()
        } else {
            rebuilt.to_json().into_bytes()
        };
        histinit_files::fs::write_atomically_in(out, &bytes)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../www/histograms")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_nano_teachers_vocabulary_rows_split_by_the_bytes_its_text_uses() {
        let weights_bytes = shipped("teacher-nano.safetensors");
        let weights = SafetensorsFile::parse(&weights_bytes).unwrap();
        let file = HistogramFile::parse(&shipped("teacher-nano.json.gz")).unwrap();
        let corpus = Corpus::new(&data::bundled_corpus().unwrap(), 1).unwrap();
        let used = used_bytes(&corpus);
        assert_eq!(used.iter().filter(|u| **u).count(), 73);
        assert!(used[b'e' as usize] && !used[0] && !used[255]);

        let (rebuilt, splits) = split_rows(&file, &weights, &used).unwrap();
        let unembed = splits.iter().find(|s| s.role == Role::Unembed).unwrap();
        assert_eq!((unembed.used.rows, unembed.unused.rows), (73, 183));
        // The figures: trained rows are narrower than never-seen ones.
        assert!((unembed.used.std - 0.158).abs() < 0.001, "{unembed:?}");
        assert!((unembed.unused.std - 0.526).abs() < 0.001, "{unembed:?}");
        let embed = splits.iter().find(|s| s.role == Role::Embed).unwrap();
        assert!(embed.used.excess_kurtosis.abs() < 0.1 && embed.all.excess_kurtosis > 0.5);

        for (name, role) in VOCAB_TENSORS {
            let entry = rebuilt.tensor(name).unwrap();
            assert_eq!(entry.shape, vec![73, 64]);
            assert_eq!(rebuilt.pooled(role).unwrap().count, 73 * 64);
            assert!(!rebuilt.pooled(role).unwrap().fits.is_empty());
        }
        // Every other tensor is kept as it was.
        let other = "gpt_neox.layers.0.mlp.dense_h_to_4h.weight";
        assert_eq!(rebuilt.tensor(other), file.tensor(other));
    }

    #[test]
    fn a_text_of_every_byte_leaves_no_rows_apart() {
        let weights_bytes = shipped("teacher-nano.safetensors");
        let weights = SafetensorsFile::parse(&weights_bytes).unwrap();
        let file = HistogramFile::parse(&shipped("teacher-nano.json.gz")).unwrap();
        let err = split_rows(&file, &weights, &[true; 256]).unwrap_err();
        assert!(matches!(err, RowsError::NothingApart), "{err}");
    }
}
