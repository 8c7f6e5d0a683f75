use super::*;

/// The first bytes of the first validation batch (context 64, batch 4).
const PINNED: &str = "all not see life; but the wrath of God a";

fn corpus() -> Corpus {
    Corpus::new(&bundled_corpus().unwrap(), 256).unwrap()
}

#[test]
fn bundled_corpus_is_the_king_james_bible() {
    let text = bundled_corpus().unwrap();
    assert!(text.len() > 4_000_000, "{} bytes", text.len());
    assert!(text.contains("In the beginning God created the heaven and the earth."));
}

#[test]
fn splits_are_disjoint_and_cover_the_corpus() {
    let corpus = corpus();
    let mut owner = vec![None; corpus.len()];
    for split in [Split::Teacher, Split::Student, Split::Val] {
        for (start, end) in corpus.ranges(split) {
            for slot in &mut owner[start..end] {
                assert_eq!(*slot, None, "byte owned twice");
                *slot = Some(split);
            }
        }
    }
    assert!(
        owner.iter().all(Option::is_some),
        "every byte belongs to a split"
    );
    let val = corpus.split_len(Split::Val) as f64 / corpus.len() as f64;
    assert!((0.08..0.12).contains(&val), "val fraction {val}");
}

#[test]
fn sampled_windows_stay_inside_their_split() {
    let corpus = corpus();
    let context = 256;
    for split in [Split::Teacher, Split::Student, Split::Val] {
        let ranges = corpus.ranges(split);
        let mut sampler = corpus.sampler(split, context, 7);
        for start in sampler.next_starts(2000) {
            let end = start + context + 1;
            assert!(
                ranges.iter().any(|&(lo, hi)| lo <= start && end <= hi),
                "{split:?} window {start}..{end} leaves its split"
            );
        }
    }
}

#[test]
fn same_seed_same_batches_other_seed_other_batches() {
    let corpus = corpus();
    let mut a = corpus.sampler(Split::Student, 64, 42);
    let mut b = corpus.sampler(Split::Student, 64, 42);
    let mut c = corpus.sampler(Split::Student, 64, 43);
    let (first_a, first_b, first_c) = (a.next_batch(8), b.next_batch(8), c.next_batch(8));
    assert_eq!(first_a, first_b);
    assert_ne!(first_a, first_c);
    assert_eq!(first_a.inputs[1..64], first_a.targets[..63]);
}

#[test]
fn eval_batches_are_fixed_validation_text() {
    let corpus = corpus();
    let context = 64;
    let batches = corpus.eval_batches(3, 4, context);
    assert_eq!(batches.len(), 3);
    // Every row is a window of the validation split (inputs, then the last target).
    let val = corpus.ranges(Split::Val);
    for (index, batch) in batches.iter().enumerate() {
        assert_eq!((batch.batch, batch.context), (4, context));
        for row in 0..batch.batch {
            let mut window: Vec<u8> = batch.inputs[row * context..(row + 1) * context]
                .iter()
                .map(|&t| t as u8)
                .collect();
            window.push(batch.targets[(row + 1) * context - 1] as u8);
            let in_val = val.iter().any(|&(start, end)| {
                corpus.tokens()[start..end]
                    .windows(context + 1)
                    .any(|w| w == window.as_slice())
            });
            assert!(in_val, "batch {index} row {row} is not validation text");
        }
    }
    // Distinct batches, not one batch repeated.
    assert_ne!(batches[0], batches[1]);
    // A longer evaluation scores the same batches first, then more.
    assert_eq!(corpus.eval_batches(5, 4, context)[..3], batches[..]);
    // Drawn once and shared by every run that asks for the same set.
    assert!(Arc::ptr_eq(&corpus.eval_batches(3, 4, context), &batches));
    assert!(!Arc::ptr_eq(&corpus.eval_batches(3, 5, context), &batches));
    // Pinned text: the set is a function of EVAL_SEED alone (no run seed, no state),
    // the same on every platform; a change to the sampler or the seed shows here.
    let first: String = batches[0].inputs[..PINNED.len()]
        .iter()
        .map(|&t| t as u8 as char)
        .collect();
    assert_eq!(first, PINNED);
}

#[test]
fn clean_utf8_is_taken_as_it_is() {
    let text = "In the beginning — Ἐν ἀρχῇ\n\tand tabs\r\n";
    let read = corpus_text(text.as_bytes()).unwrap();
    assert_eq!(read.text, text);
    assert_eq!((read.invalid_bytes, read.warning()), (0, None));
}

#[test]
fn a_few_stray_bytes_are_counted_exactly_and_replaced() {
    // Windows-1252 quotes (0x93, 0x94) and a lone 0xE9 (é) in English text.
    let mut bytes = b"He said \x93hello\x94 to the caf\xe9. ".to_vec();
    bytes.extend(b"Plain text follows. ".repeat(20));
    let read = corpus_text(&bytes).unwrap();
    assert_eq!(read.invalid_bytes, 3);
    assert!(read
        .text
        .starts_with("He said \u{FFFD}hello\u{FFFD} to the caf\u{FFFD}."));
    let warning = read.warning().unwrap();
    assert!(warning.starts_with("3 bytes"), "{warning}");
    // Two invalid bytes in a row count two (0xFF and 0xFE can start nothing).
    let read = corpus_text(&[b"ab\xff\xfe".as_slice(), &[b'c'; 100]].concat()).unwrap();
    assert_eq!(read.invalid_bytes, 2);
    assert_eq!(read.text.matches('\u{FFFD}').count(), 2);
    // A cut-off multi-byte character is one invalid sequence of two bytes.
    let read = corpus_text(&[b"ab\xe2\x80 ".as_slice(), &[b'c'; 100]].concat()).unwrap();
    assert_eq!(read.invalid_bytes, 2);
    assert_eq!(read.text.matches('\u{FFFD}').count(), 1);
    assert!(corpus_text(
        &[b'a'; 100]
            .iter()
            .chain(b"\x92")
            .copied()
            .collect::<Vec<_>>()
    )
    .unwrap()
    .warning()
    .unwrap()
    .starts_with("1 byte of the text is not"));
}

#[test]
fn a_text_over_the_limit_is_refused_before_it_is_copied() {
    let big = vec![b'a'; MAX_CORPUS_BYTES + 1];
    let err = corpus_text(&big).unwrap_err();
    assert_eq!(
        err,
        DataError::CorpusTooLarge {
            bytes: MAX_CORPUS_BYTES + 1,
            limit: MAX_CORPUS_BYTES
        }
    );
    assert!(err.to_string().contains("more than the 67108864"), "{err}");
    let err = load_corpus(&big, 64).unwrap_err();
    assert!(matches!(err, DataError::CorpusTooLarge { .. }), "{err}");
    // At the limit it is text like any other.
    let at = corpus_text(&big[..MAX_CORPUS_BYTES]).unwrap();
    assert_eq!(at.text.len(), MAX_CORPUS_BYTES);
}

#[test]
fn binary_and_empty_inputs_are_refused() {
    assert_eq!(corpus_text(b""), Err(DataError::EmptyCorpus));
    assert!(DataError::EmptyCorpus.to_string().contains("empty"));
    // An executable's first bytes: NULs and invalid UTF-8.
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    elf.extend((0..=255u8).cycle().take(4000));
    let err = corpus_text(&elf).unwrap_err().to_string();
    assert!(
        err.contains("does not look like text") && err.contains("NUL"),
        "{err}"
    );
    // UTF-16 text: every other byte is NUL.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "hello world "
                .repeat(50)
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    let err = corpus_text(&utf16).unwrap_err().to_string();
    assert!(err.contains("UTF-16"), "{err}");
    // Mostly invalid UTF-8 (Latin-1 bytes everywhere) is not the few stray bytes.
    let latin: Vec<u8> = b"caf\xe9 ".repeat(200);
    assert!(matches!(
        corpus_text(&latin),
        Err(DataError::NotText { .. })
    ));
}

#[test]
fn too_small_a_text_is_refused_naming_the_size_it_needs() {
    let err = load_corpus(b"A short text.", 64).unwrap_err();
    assert_eq!(
        err,
        DataError::CorpusTooSmall {
            bytes: 13,
            context: 64,
            needed: 65 * 40
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("2600 bytes") && message.contains("13 bytes"),
        "{message}"
    );
    // Exactly the needed size is enough.
    assert!(load_corpus(&[b'a'; 2600], 64).is_ok());
    assert!(load_corpus(&[b'a'; 2599], 64).is_err());
}

#[test]
fn loaded_corpora_split_like_the_cli_and_prompt_from_the_student_split() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    let loaded = load_corpus(text.as_bytes(), 32).unwrap();
    let direct = Corpus::new(&text, 32).unwrap();
    assert_eq!(loaded.corpus.tokens(), direct.tokens());
    assert_eq!(loaded.corpus.block_len(), direct.block_len());
    assert_eq!(loaded.warning, None);
    let prompt = loaded.corpus.prompt();
    assert!(!prompt.is_empty() && prompt.len() <= 40, "{prompt:?}");
    assert!(prompt.split_whitespace().count() <= 4, "{prompt:?}");
    assert!(text.contains(&prompt), "{prompt:?}");
    // The bundled corpus's prompt is real words of its student split.
    let kjv = corpus();
    let prompt = kjv.prompt();
    let (start, end) = kjv.ranges(Split::Student)[0];
    assert!(
        String::from_utf8_lossy(&kjv.tokens()[start..end]).contains(&prompt),
        "{prompt:?}"
    );
}

#[test]
fn tiny_corpus_is_refused_with_a_clear_message() {
    let err = Corpus::new("too short", 64).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
}
