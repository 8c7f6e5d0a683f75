//! Byte-level tokenizer: every UTF-8 text is a sequence of its bytes, so any corpus
//! works and embedding tables (and their histograms) stay comparable across corpora.

pub const VOCAB_SIZE: usize = 256;

pub fn encode(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// Decodes bytes to text; byte sequences that are not valid UTF-8 (a model may emit
/// them) become U+FFFD rather than an error.
pub fn decode(tokens: &[u8]) -> String {
    String::from_utf8_lossy(tokens).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_utf8() {
        let text = "In the beginning — Ἐν ἀρχῇ — 太初有道 🌍";
        assert_eq!(decode(&encode(text)), text);
        assert_eq!(encode("ab"), vec![97, 98]);
        assert_eq!(decode(&[0xff, b'a']), "\u{fffd}a");
    }
}
