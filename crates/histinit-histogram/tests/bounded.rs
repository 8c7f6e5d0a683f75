//! Limits are checked while a file is read (issue 24, "bounded readers"): a gzip file
//! is inflated as it is parsed, not into a buffer; an array is refused at the element
//! past its limit, a string past its length, a whole file past one budget; a family's
//! parameters and a file's version are read without building what they hold. Each test
//! fails on a reader that expands before it checks: either the error names the field
//! where reading stopped (a check after building reports another error), or the peak
//! heap of the refusal, measured by the counting allocator below, stays far under what
//! building would take.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use common::tiny_file;
use histinit_histogram::{
    HistogramError, HistogramFile, Trajectory, TrajectoryError, MAX_JSON_BYTES, MAX_PARSED_BYTES,
    MAX_STRING_BYTES,
};
use serde_json::{json, Value};

/// The system allocator, counting this thread's live bytes and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `f`'s result and the most heap it held at once beyond what was live before it.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let result = f();
    let peak = (PEAK.with(Cell::get) - base).max(0) as usize;
    // Shown with --nocapture: the figures the note on bounded readers quotes.
    eprintln!("peak heap: {peak} bytes");
    (result, peak)
}

const MIB: usize = 1 << 20;

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

/// `[0,0,...]` with `n` zeros.
fn zeros(n: usize) -> String {
    let mut text = String::with_capacity(2 * n + 2);
    text.push('[');
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push('0');
    }
    text.push(']');
    text
}

/// The tiny valid file as JSON, with `edit` applied, as text in which every string
/// `"@N"` becomes `N` zeros (big arrays without a big `Value`).
fn tiny_text(edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&tiny_file().to_json()).unwrap();
    edit(&mut value);
    expand(&value.to_string())
}

fn expand(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"@") {
        out.push_str(&rest[..at]);
        let end = at + 2 + rest[at + 2..].find('"').unwrap();
        out.push_str(&zeros(rest[at + 2..end].parse().unwrap()));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn json_error(err: HistogramError) -> (String, String) {
    match err {
        HistogramError::Json { path, message } => (path, message),
        other => panic!("expected a JSON error naming the field, got: {other}"),
    }
}

#[test]
fn a_gzip_bomb_is_refused_without_inflating_it() {
    // 128 MiB + 1 MiB of spaces in under 1 MiB of gzip: refused at the limit, having
    // held only the parser's buffers (inflating it first holds 128 MiB).
    let bomb = gzip(&vec![b' '; MAX_JSON_BYTES + MIB]);
    assert!(bomb.len() < MIB);
    let (result, peak) = peak_during(|| HistogramFile::parse(&bomb));
    assert_eq!(
        result.unwrap_err(),
        HistogramError::TooLarge {
            limit: MAX_JSON_BYTES
        }
    );
    assert!(peak < 2 * MIB, "refusing the bomb held {peak} bytes");
    let (result, peak) = peak_during(|| Trajectory::parse(&bomb));
    assert!(matches!(result, Err(TrajectoryError::TooLarge { .. })));
    assert!(peak < 2 * MIB, "refusing the bomb held {peak} bytes");
}

#[test]
fn too_many_edges_are_refused_at_the_element_past_the_limit() {
    let text = tiny_text(|v| v["tensors"][0]["bins"]["edges"] = json!("@1000000"));
    for bytes in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
        let (result, peak) = peak_during(|| HistogramFile::parse(&bytes));
        let (path, message) = json_error(result.unwrap_err());
        assert_eq!(path, "tensors[0].bins.edges");
        assert!(
            message.contains("more than 65537 bin edges: reading stopped at element 65538"),
            "{message}"
        );
        // The 65537 edges read (1 MiB at most with the vector's doubling), not a million.
        assert!(peak < 4 * MIB, "refusing held {peak} bytes");
    }
}

#[test]
fn too_many_knots_counts_and_tensors_are_refused_while_reading() {
    let (path, message) = json_error(
        HistogramFile::parse(
            tiny_text(|v| v["tensors"][0]["quantiles"]["probs"] = json!("@70000")).as_bytes(),
        )
        .unwrap_err(),
    );
    assert_eq!(path, "tensors[0].quantiles.probs");
    assert!(message.contains("more than 65536 knots"), "{message}");
    let (path, message) = json_error(
        HistogramFile::parse(
            tiny_text(|v| v["pooled"][0]["bins"]["counts"] = json!("@70000")).as_bytes(),
        )
        .unwrap_err(),
    );
    assert_eq!(path, "pooled[0].bins.counts");
    assert!(message.contains("more than 65536 bin counts"), "{message}");
    let (path, message) = json_error(
        HistogramFile::parse(tiny_text(|v| v["tensors"][0]["shape"] = json!("@65")).as_bytes())
            .unwrap_err(),
    );
    assert_eq!(path, "tensors[0].shape");
    assert!(message.contains("more than 64 dimensions"), "{message}");
    // 65,537 (small) entries: the one past MAX_TENSORS stops the read.
    let mut entry = String::new();
    let text = tiny_text(|v| {
        let mut small = v["tensors"][0].clone();
        for key in ["edges", "counts"] {
            small["bins"][key] = json!([]);
        }
        for key in ["probs", "values"] {
            small["quantiles"][key] = json!([]);
        }
        entry = small.to_string();
        v["tensors"] = json!("TENSORS");
    })
    .replace(
        "\"TENSORS\"",
        &format!("[{}]", vec![entry.as_str(); (1 << 16) + 1].join(",")),
    );
    let (path, message) = json_error(HistogramFile::parse(text.as_bytes()).unwrap_err());
    assert_eq!(path, "tensors");
    assert!(message.contains("more than 65536 entries"), "{message}");
}

#[test]
fn arrays_each_within_their_limit_are_refused_past_the_files_budget() {
    // 80 entries of 65,537 edges and 65,536 counts each: every array is within its
    // limit, the file's 80 MiB of values is over MAX_PARSED_BYTES (16 MB of JSON in
    // 40 kB of gzip).
    let text = tiny_text(|v| {
        let mut entry = v["tensors"][0].clone();
        entry["bins"]["edges"] = json!("@65537");
        entry["bins"]["counts"] = json!("@65536");
        v["tensors"] = Value::Array(vec![entry; 80]);
    });
    let bytes = gzip(text.as_bytes());
    let (result, peak) = peak_during(|| HistogramFile::parse(&bytes));
    let (path, message) = json_error(result.unwrap_err());
    assert!(path.starts_with("tensors["), "{path}");
    assert!(
        message.contains(&format!(
            "more than {} MiB of values in all",
            MAX_PARSED_BYTES >> 20
        )),
        "{message}"
    );
    // The budget and the vectors' doubling bound what was built.
    assert!(
        peak < 2 * MAX_PARSED_BYTES + 8 * MIB,
        "refusing held {peak} bytes"
    );
}

#[test]
fn long_strings_are_refused_before_they_are_kept() {
    let (path, message) = json_error(
        HistogramFile::parse(
            tiny_text(|v| v["tensors"][0]["name"] = json!("n".repeat(513))).as_bytes(),
        )
        .unwrap_err(),
    );
    assert_eq!(path, "tensors[0].name");
    assert!(
        message.contains("a string of 513 bytes, more than the 512"),
        "{message}"
    );
    let (path, message) = json_error(
        HistogramFile::parse(
            tiny_text(|v| v["source"]["note"] = json!("n".repeat(70_000))).as_bytes(),
        )
        .unwrap_err(),
    );
    assert_eq!(path, "source.note");
    assert!(message.contains("more than the 65536"), "{message}");
    // In a gzipped file, a string (even one no field keeps) stops the read at
    // MAX_STRING_BYTES: the parser would copy it whole otherwise.
    let text = tiny_text(|v| v["ignored"] = json!("x".repeat(4 * MAX_STRING_BYTES)));
    let bytes = gzip(text.as_bytes());
    let (result, peak) = peak_during(|| HistogramFile::parse(&bytes));
    let (_, message) = json_error(result.unwrap_err());
    assert!(
        message.contains(&format!("a string longer than {MAX_STRING_BYTES} bytes")),
        "{message}"
    );
    assert!(peak < 3 * MAX_STRING_BYTES, "refusing held {peak} bytes");
}

#[test]
fn a_familys_parameters_are_read_without_buffering_them() {
    // `params` before `name`, with a million-element key no family has: serde's derived
    // reader buffers it all (32 bytes an element); this one skips it.
    let mut family = Value::Null;
    let text = tiny_text(|v| {
        family = v["pooled"][0]["fits"][0]["family"].take();
        v["pooled"][0]["fits"][0]["family"] = json!("FAMILY");
    });
    let params = family["params"].to_string();
    let reordered = format!(
        "{{\"params\":{},\"junk\":{}}},\"name\":{}}}",
        &params[..params.len() - 1],
        zeros(1_000_000),
        family["name"]
    );
    let text = text.replace("\"FAMILY\"", &reordered);
    let (result, peak) = peak_during(|| HistogramFile::parse(text.as_bytes()));
    let file = result.unwrap();
    let plain = HistogramFile::parse(tiny_text(|_| {}).as_bytes()).unwrap();
    assert!(file == plain, "the reordered family reads as the plain one");
    assert!(peak < 4 * MIB, "reading held {peak} bytes");
}

#[test]
fn a_version_that_is_not_a_number_is_not_built_to_be_quoted() {
    let text = tiny_text(|v| v["version"] = json!("@1000000"));
    let (result, peak) = peak_during(|| HistogramFile::parse(text.as_bytes()));
    assert_eq!(
        result.unwrap_err().to_string(),
        "version: an array is not a version number"
    );
    assert!(peak < 4 * MIB, "refusing held {peak} bytes");
    // Short values are still quoted as they are.
    let err = HistogramFile::parse(tiny_text(|v| v["version"] = json!(-1)).as_bytes());
    assert_eq!(
        err.unwrap_err().to_string(),
        "version: -1 is not a version number"
    );
}

/// A one-checkpoint trajectory of one role, with `edit` applied, `"@N"` expanded.
fn trajectory_text(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = json!({
        "version": 1,
        "source": serde_json::to_value(common::provenance()).unwrap(),
        "probs": [0.5],
        "checkpoints": [{
            "step": 0, "tokens": 0, "train_loss": null, "val_loss": 5.0,
            "roles": [{
                "role": "mlp_in", "count": 4, "mean": 0.0, "std": 1.0, "skewness": 0.0,
                "excess_kurtosis": 0.0, "min": -1.0, "max": 1.0,
                "edges": [-1.0, 1.0], "counts": [4], "quantiles": [0.0]
            }]
        }]
    });
    Trajectory::parse(value.to_string().as_bytes()).expect("the template is valid");
    edit(&mut value);
    expand(&value.to_string())
}

fn trajectory_json_error(text: &str) -> (String, String) {
    match Trajectory::parse(text.as_bytes()).unwrap_err() {
        TrajectoryError::Json { path, message } => (path, message),
        other => panic!("expected a JSON error naming the field, got: {other}"),
    }
}

#[test]
fn trajectory_arrays_are_refused_at_the_element_past_their_limit() {
    let (path, message) = trajectory_json_error(&trajectory_text(|v| v["probs"] = json!("@1025")));
    assert_eq!(path, "probs");
    assert!(
        message.contains("more than 1024 probabilities"),
        "{message}"
    );
    let (path, message) = trajectory_json_error(&trajectory_text(|v| {
        v["checkpoints"][0]["roles"][0]["edges"] = json!("@1000000")
    }));
    assert_eq!(path, "checkpoints[0].roles[0].edges");
    assert!(message.contains("more than 65537 bin edges"), "{message}");
    let (path, message) = trajectory_json_error(&trajectory_text(|v| {
        let role = v["checkpoints"][0]["roles"][0].clone();
        v["checkpoints"][0]["roles"] = Value::Array(vec![role; 13]);
    }));
    assert_eq!(path, "checkpoints[0].roles");
    assert!(message.contains("more than 12 role snapshots"), "{message}");
    let (path, message) = trajectory_json_error(&trajectory_text(|v| {
        let point = v["checkpoints"][0].clone();
        v["checkpoints"] = Value::Array(vec![point; 4097]);
    }));
    assert_eq!(path, "checkpoints");
    assert!(message.contains("more than 4096 checkpoints"), "{message}");
}
