//! Weights as safetensors: what the CLI saves for teachers and what the page loads
//! for the `permuted` and `trained` controls. Reading checks the header against the
//! buffer tensor by tensor first, so a truncated file or a header that lies about
//! sizes is reported with the tensor's name rather than a bare offset error.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use safetensors::tensor::TensorView;
pub use safetensors::Dtype;
use safetensors::SafeTensors;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use thiserror::Error;

use crate::params::{HostTensor, Weights};

/// The largest header the reader accepts (the safetensors crate's own limit).
const MAX_HEADER: u64 = 100_000_000;
/// Most f32 bytes [`weights_from_safetensors`] produces: 512 MiB (128 Mi values; the
/// shipped teachers hold under 2 MiB). It converts every tensor into memory at once (the
/// page's `permuted` and `trained` controls, the CLI's sources), so a hostile or mistaken
/// file must not make it allocate without bound; a larger checkpoint is read one tensor
/// at a time through [`SafetensorsFile`] (`histinit extract`), which has no such cap.
pub const MAX_WEIGHT_BYTES: usize = 512 << 20;
/// Most tensors [`weights_from_safetensors`] reads (a 24-layer GPT-NeoX has ~400).
pub const MAX_WEIGHT_TENSORS: usize = 4096;
/// Largest header [`weights_from_safetensors`] reads: 16 MiB, far above what
/// `MAX_WEIGHT_TENSORS` entries need, and a bound on the JSON it parses.
pub const MAX_WEIGHT_HEADER: u64 = 16 << 20;
/// Most entries of a header's `__metadata__` (provenance strings: a handful).
pub const MAX_METADATA_ENTRIES: usize = 1024;
/// Longest string a header may hold: a tensor name, a dtype, a metadata key or value.
pub const MAX_HEADER_STRING: usize = 64 << 10;
/// Most dimensions of a tensor's shape.
pub const MAX_DIMS: usize = 64;

/// What [`check_header`] refuses beyond the format's own rules.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_bytes: u64,
    tensors: usize,
    /// Bytes of all float tensors once converted to f32.
    f32_bytes: usize,
}

/// [`SafetensorsFile`]: a memory map, tensors converted one at a time.
const STREAMING: Limits = Limits {
    header_bytes: MAX_HEADER,
    tensors: usize::MAX,
    f32_bytes: usize::MAX,
};

/// [`weights_from_safetensors`]: everything converted into memory.
const IN_MEMORY: Limits = Limits {
    header_bytes: MAX_WEIGHT_HEADER,
    tensors: MAX_WEIGHT_TENSORS,
    f32_bytes: MAX_WEIGHT_BYTES,
};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CheckpointError {
    #[error("not a safetensors file: {0}")]
    Header(String),
    #[error(
        "tensor '{tensor}': the header puts it at bytes {start}..{end} of the data section, \
         but the file has only {available} data bytes (truncated or corrupt file)"
    )]
    Truncated {
        tensor: String,
        start: usize,
        end: usize,
        available: usize,
    },
    #[error(
        "tensor '{tensor}': the header says {dtype} {shape:?} ({expected} bytes) but its \
         offsets span {got} bytes (the header lies about sizes)"
    )]
    SizeMismatch {
        tensor: String,
        dtype: String,
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error(
        "tensor '{tensor}': dtype {dtype} is not a float type (expected F32, F16, BF16 or F64)"
    )]
    UnsupportedDtype { tensor: String, dtype: String },
    #[error(
        "tensor '{tensor}': {count} of its {total} values are NaN or infinite; \
         a distribution cannot be taken from it"
    )]
    NonFinite {
        tensor: String,
        count: usize,
        total: usize,
    },
    #[error("tensor '{tensor}': shape {shape:?} needs {expected} values, got {got}")]
    WrongLength {
        tensor: String,
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error(
        "the file is too large to load into memory at once: {what}, more than the \
         limit of {limit}"
    )]
    TooLarge { what: String, limit: String },
    #[error("cannot write safetensors: {0}")]
    Write(String),
}

/// The float type weights are stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreDtype {
    #[default]
    F32,
    /// Half the size; about 3 significant digits, plenty for an init's marginal.
    F16,
}

impl StoreDtype {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "f32" | "F32" => Some(Self::F32),
            "f16" | "F16" => Some(Self::F16),
            _ => None,
        }
    }
}

/// A tensor's bytes converted to f32 (little-endian, as safetensors stores them).
pub fn dtype_to_f32(tensor: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, CheckpointError> {
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F16 | Dtype::BF16 => 2,
        Dtype::F64 => 8,
        other => {
            return Err(CheckpointError::UnsupportedDtype {
                tensor: tensor.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    };
    if !bytes.len().is_multiple_of(width) {
        return Err(CheckpointError::SizeMismatch {
            tensor: tensor.to_string(),
            dtype: format!("{dtype:?}"),
            shape: vec![bytes.len() / width],
            expected: bytes.len() / width * width,
            got: bytes.len(),
        });
    }
    let values = match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
    };
    Ok(values)
}

/// Errors unless every value is finite.
pub fn check_finite(tensor: &str, values: &[f32]) -> Result<(), CheckpointError> {
    let count = values.iter().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(CheckpointError::NonFinite {
            tensor: tensor.to_string(),
            count,
            total: values.len(),
        });
    }
    Ok(())
}

/// One tensor's entry in a safetensors header.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub name: String,
    /// The dtype as the header spells it (`F32`, `BF16`, `I64`, ...).
    pub dtype: String,
    pub shape: Vec<usize>,
}

impl TensorEntry {
    /// The element count (saturating: a header's sizes are checked against the data
    /// before an entry exists, so it only saturates for types whose width is unknown).
    pub fn numel(&self) -> usize {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
            .unwrap_or(usize::MAX)
    }

    pub fn is_float(&self) -> bool {
        matches!(self.dtype.as_str(), "F32" | "F16" | "BF16" | "F64")
    }
}

/// A parsed safetensors buffer (an owned `Vec` or a memory map): tensors are converted
/// one at a time on request, so a checkpoint larger than RAM can be read through mmap.
pub struct SafetensorsFile<'a> {
    inner: SafeTensors<'a>,
    entries: Vec<TensorEntry>,
    metadata: BTreeMap<String, String>,
}

impl<'a> SafetensorsFile<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CheckpointError> {
        Self::parse_within(bytes, STREAMING)
    }

    fn parse_within(bytes: &'a [u8], limits: Limits) -> Result<Self, CheckpointError> {
        let (entries, metadata) = check_header(bytes, limits)?;
        let inner = SafeTensors::deserialize(bytes)
            .map_err(|err| CheckpointError::Header(err.to_string()))?;
        Ok(Self {
            inner,
            entries,
            metadata,
        })
    }

    /// Every tensor in the header, sorted by name.
    pub fn entries(&self) -> &[TensorEntry] {
        &self.entries
    }

    /// The header's `__metadata__` strings.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// One tensor as f32, checked to be finite.
    pub fn tensor(&self, name: &str) -> Result<HostTensor, CheckpointError> {
        let tensor = self.tensor_unchecked(name)?;
        check_finite(name, &tensor.values)?;
        Ok(tensor)
    }

    /// One tensor as f32, non-finite values kept (for statistics that count them).
    pub fn tensor_unchecked(&self, name: &str) -> Result<HostTensor, CheckpointError> {
        let view: TensorView<'_> = self.inner.tensor(name).map_err(|err| {
            CheckpointError::Header(format!("tensor '{name}' cannot be read: {err}"))
        })?;
        let values = dtype_to_f32(name, view.dtype(), view.data())?;
        Ok(HostTensor {
            shape: view.shape().to_vec(),
            values,
        })
    }
}

/// Parses and checks the header before the safetensors crate sees the buffer, so that
/// errors name the tensor at fault.
fn check_header(
    bytes: &[u8],
    limits: Limits,
) -> Result<(Vec<TensorEntry>, BTreeMap<String, String>), CheckpointError> {
    let Some(prefix) = bytes.get(..8) else {
        return Err(CheckpointError::Header(format!(
            "{} bytes is shorter than the 8-byte header length",
            bytes.len()
        )));
    };
    let header_len = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    if header_len > limits.header_bytes && header_len as usize <= bytes.len() - 8 {
        return Err(CheckpointError::TooLarge {
            what: format!("a {header_len}-byte header"),
            limit: format!("{} bytes", limits.header_bytes),
        });
    }
    if header_len > limits.header_bytes || header_len as usize > bytes.len() - 8 {
        return Err(CheckpointError::Header(format!(
            "the header length field says {header_len} bytes but the file has {} bytes after it",
            bytes.len() - 8
        )));
    }
    let header_end = 8 + header_len as usize;
    let text = std::str::from_utf8(&bytes[8..header_end])
        .map_err(|err| CheckpointError::Header(format!("the header is not UTF-8: {err}")))?;
    let Header { tensors, metadata } = read_header(text.trim_end(), limits)?;
    let available = bytes.len() - header_end;
    let mut f32_bytes = 0usize;
    let mut entries = Vec::new();
    for (name, info) in tensors {
        let bad = |what: &str| CheckpointError::Header(format!("tensor '{name}': {what}"));
        let dtype = info.dtype.ok_or_else(|| bad("no dtype in the header"))?;
        let shape = match info.shape {
            None => return Err(bad("no shape in the header")),
            Some(None) => return Err(bad("shape is not a list of sizes")),
            Some(Some(shape)) => shape,
        };
        let offsets = info
            .data_offsets
            .flatten()
            .ok_or_else(|| bad("data_offsets is not [start, end]"))?;
        let (start, end) = (offsets[0], offsets[1]);
        if end < start {
            return Err(bad("data_offsets end before they start"));
        }
        let element_bytes = match dtype.as_str() {
            "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => Some(1),
            "I16" | "U16" | "F16" | "BF16" => Some(2),
            "I32" | "U32" | "F32" => Some(4),
            "I64" | "U64" | "F64" | "C64" => Some(8),
            _ => None,
        };
        if let Some(width) = element_bytes {
            let expected = shape
                .iter()
                .try_fold(width, |acc: usize, &d| acc.checked_mul(d))
                .ok_or_else(|| bad("shape overflows"))?;
            if expected != end - start {
                return Err(CheckpointError::SizeMismatch {
                    tensor: name,
                    dtype,
                    shape,
                    expected,
                    got: end - start,
                });
            }
        }
        if matches!(dtype.as_str(), "F32" | "F16" | "BF16" | "F64") {
            // Known widths: the shape was checked against the offsets above.
            let values: usize = shape.iter().product();
            f32_bytes = f32_bytes.saturating_add(values.saturating_mul(4));
            if f32_bytes > limits.f32_bytes {
                return Err(CheckpointError::TooLarge {
                    what: format!("the float tensors up to '{name}' hold {f32_bytes} bytes as f32"),
                    limit: format!("{} bytes", limits.f32_bytes),
                });
            }
        }
        if end > available {
            return Err(CheckpointError::Truncated {
                tensor: name,
                start,
                end,
                available,
            });
        }
        entries.push(TensorEntry { name, dtype, shape });
    }
    Ok((entries, metadata))
}

/// A header as read: tensors by name (a repeated name keeps its last entry) and the
/// `__metadata__` strings.
struct Header {
    tensors: BTreeMap<String, RawEntry>,
    metadata: BTreeMap<String, String>,
}

/// One tensor's fields as the header gives them; `None` where a field is missing,
/// `Some(None)` where it is there but of the wrong form (the messages tell them apart).
#[derive(Default)]
struct RawEntry {
    dtype: Option<String>,
    shape: Option<Option<Vec<usize>>>,
    data_offsets: Option<Option<[usize; 2]>>,
}

/// Reads a header's JSON with its limits checked while reading (issue 24): the tensor
/// past `limits.tensors`, the metadata entry past [`MAX_METADATA_ENTRIES`], a string
/// past [`MAX_HEADER_STRING`] or a shape past [`MAX_DIMS`] stops the read where it is,
/// so a header is never built whole (as a `serde_json::Value` tree, its metadata
/// included) before it is refused. Anything no field keeps is skipped, not built.
fn read_header(text: &str, limits: Limits) -> Result<Header, CheckpointError> {
    let refused = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let read = HeaderSeed {
        limits,
        refused: &refused,
    }
    .deserialize(&mut de)
    .and_then(|header| de.end().map(|()| header));
    match (read, refused.into_inner()) {
        (_, Some(err)) => Err(err),
        (Ok(header), None) => Ok(header),
        (Err(err), None) => Err(CheckpointError::Header(format!(
            "the header is not a JSON object: {err}"
        ))),
    }
}

/// The `visit_*` methods of a visitor for the kinds of value it does not read: each is
/// skipped whole (through [`IgnoredAny`], nothing built) and answered with `$none`.
macro_rules! skip_other_values {
    ($de:lifetime, $none:expr; $($kind:ident),+) => {
        $(skip_other_values!(@$kind $de, $none);)+
    };
    (@str $de:lifetime, $none:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@bool $de:lifetime, $none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@i64 $de:lifetime, $none:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@u64 $de:lifetime, $none:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@f64 $de:lifetime, $none:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@unit $de:lifetime, $none:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@seq $de:lifetime, $none:expr) => {
        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
    (@map $de:lifetime, $none:expr) => {
        fn visit_map<A: MapAccess<$de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
}

/// The reader of the header's top-level object; a limit it hits is put in `refused`
/// (the error the caller returns) and stops the read.
struct HeaderSeed<'r> {
    limits: Limits,
    refused: &'r RefCell<Option<CheckpointError>>,
}

impl HeaderSeed<'_> {
    fn refuse<E: de::Error>(&self, err: CheckpointError) -> E {
        let message = err.to_string();
        *self.refused.borrow_mut() = Some(err);
        E::custom(message)
    }
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Header, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of tensors")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header {
            tensors: BTreeMap::new(),
            metadata: BTreeMap::new(),
        };
        while let Some(name) = map.next_key_seed(BoundedString("a tensor name"))? {
            if name == "__metadata__" {
                header.metadata = map.next_value_seed(MetadataSeed(&self))?;
                continue;
            }
            let entry = map.next_value_seed(EntrySeed)?;
            header.tensors.insert(name, entry);
            if header.tensors.len() > self.limits.tensors {
                return Err(self.refuse(CheckpointError::TooLarge {
                    what: format!("{} tensors", header.tensors.len()),
                    limit: format!("{} tensors", self.limits.tensors),
                }));
            }
        }
        Ok(header)
    }
}

/// A string of at most [`MAX_HEADER_STRING`] bytes, refused before it is copied.
struct BoundedString(&'static str);

impl<'de> DeserializeSeed<'de> for BoundedString {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for BoundedString {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} of at most {MAX_HEADER_STRING} bytes", self.0)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        if text.len() > MAX_HEADER_STRING {
            return Err(E::custom(format!(
                "{} of {} bytes, more than the {MAX_HEADER_STRING} a header string may have",
                self.0,
                text.len()
            )));
        }
        Ok(text.to_owned())
    }
}

/// `__metadata__`: its string values kept (at most [`MAX_METADATA_ENTRIES`]), anything
/// else skipped; not an object, it is skipped whole.
struct MetadataSeed<'s, 'r>(&'s HeaderSeed<'r>);

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_, '_> {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_, '_> {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of metadata strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut metadata = BTreeMap::new();
        while let Some(key) = map.next_key_seed(BoundedString("a metadata key"))? {
            if let Some(value) = map.next_value_seed(OptionalString("a metadata value"))? {
                metadata.insert(key, value);
                if metadata.len() > MAX_METADATA_ENTRIES {
                    return Err(self.0.refuse(CheckpointError::TooLarge {
                        what: format!("{} metadata entries", metadata.len()),
                        limit: format!("{MAX_METADATA_ENTRIES} entries"),
                    }));
                }
            }
        }
        Ok(metadata)
    }

    skip_other_values!('de, BTreeMap::new(); str, bool, i64, u64, f64, unit, seq);
}

/// A bounded string ([`BoundedString`]), or `None` for any other value (skipped).
struct OptionalString(&'static str);

impl<'de> DeserializeSeed<'de> for OptionalString {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptionalString {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        BoundedString(self.0).visit_str(text).map(Some)
    }

    skip_other_values!('de, None; bool, i64, u64, f64, unit, seq, map);
}

/// A list of at most `max` non-negative integers that fit a `usize`; `None` for any
/// other value (skipped, not built). Past `max` elements the read stops when
/// `refuse_past` (a shape), or the rest is skipped and the list is `None` (offsets:
/// three are as wrong as one).
struct Sizes {
    max: usize,
    what: &'static str,
    refuse_past: bool,
}

impl<'de> DeserializeSeed<'de> for Sizes {
    type Value = Option<Vec<usize>>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Sizes {
    type Value = Option<Vec<usize>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of at most {} sizes", self.max)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut sizes = Vec::new();
        let mut all_sizes = true;
        while let Some(element) = seq.next_element::<Size>()? {
            if sizes.len() == self.max {
                if self.refuse_past {
                    return Err(de::Error::custom(format!(
                        "{} has more than {} elements",
                        self.what, self.max
                    )));
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(None);
            }
            match element.0 {
                Some(size) => sizes.push(size),
                None => all_sizes = false,
            }
        }
        Ok(all_sizes.then_some(sizes))
    }

    skip_other_values!('de, None; str, bool, i64, u64, f64, unit, map);
}

/// One element of a list of sizes: `Some` for an integer that fits a `usize`.
struct Size(Option<usize>);

impl<'de> de::Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Size, D::Error> {
        OptionalSize.deserialize(de).map(Size)
    }
}

struct OptionalSize;

impl<'de> DeserializeSeed<'de> for OptionalSize {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptionalSize {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(usize::try_from(v).ok())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(usize::try_from(v).ok())
    }

    skip_other_values!('de, None; str, bool, f64, unit, seq, map);
}

/// One tensor's entry: `dtype`, `shape` and `data_offsets` kept (bounded), any other
/// key skipped; not an object, every field is missing.
struct EntrySeed;

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = RawEntry;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<RawEntry, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tensor entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut entry = RawEntry::default();
        while let Some(key) = map.next_key_seed(BoundedString("a key"))? {
            match key.as_str() {
                "dtype" => entry.dtype = map.next_value_seed(OptionalString("a dtype"))?,
                "shape" => {
                    entry.shape = Some(map.next_value_seed(Sizes {
                        max: MAX_DIMS,
                        what: "a shape",
                        refuse_past: true,
                    })?)
                }
                "data_offsets" => {
                    let offsets = map.next_value_seed(Sizes {
                        max: 2,
                        what: "data_offsets",
                        refuse_past: false,
                    })?;
                    entry.data_offsets = Some(match offsets {
                        Some(offsets) if offsets.len() == 2 => Some([offsets[0], offsets[1]]),
                        _ => None,
                    });
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(entry)
    }

    skip_other_values!('de, RawEntry::default(); str, bool, i64, u64, f64, unit, seq);
}

/// Every tensor of a safetensors buffer, as f32 (F32, F16, BF16 and F64 are read;
/// a non-float tensor is an error). At most [`MAX_WEIGHT_TENSORS`] tensors,
/// [`MAX_WEIGHT_BYTES`] of f32 values and a [`MAX_WEIGHT_HEADER`]-byte header: checked
/// from the header, before anything is converted.
pub fn weights_from_safetensors(bytes: &[u8]) -> Result<Weights, CheckpointError> {
    let file = SafetensorsFile::parse_within(bytes, IN_MEMORY)?;
    file.entries()
        .iter()
        .map(|entry| Ok((entry.name.clone(), file.tensor(&entry.name)?)))
        .collect()
}

/// Serializes weights (name order) as safetensors, in f32 or f16. `metadata` goes into
/// the header's `__metadata__` (provenance strings).
pub fn weights_to_safetensors(
    weights: &Weights,
    dtype: StoreDtype,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let mut buffers = Vec::with_capacity(weights.len());
    for (name, tensor) in weights {
        let expected: usize = tensor.shape.iter().product();
        if expected != tensor.values.len() {
            return Err(CheckpointError::WrongLength {
                tensor: name.clone(),
                shape: tensor.shape.clone(),
                expected,
                got: tensor.values.len(),
            });
        }
        let bytes: Vec<u8> = match dtype {
            StoreDtype::F32 => tensor.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            StoreDtype::F16 => tensor
                .values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes())
                .collect(),
        };
        buffers.push((name.as_str(), tensor.shape.clone(), bytes));
    }
    let st_dtype = match dtype {
        StoreDtype::F32 => Dtype::F32,
        StoreDtype::F16 => Dtype::F16,
    };
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(st_dtype, shape.clone(), bytes)
                .map(|view| (*name, view))
                .map_err(|err| CheckpointError::Write(format!("tensor '{name}': {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let info = (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });
    safetensors::serialize(views, info).map_err(|err| CheckpointError::Write(err.to_string()))
}

/// What the `safetensors` fuzz target (fuzz/fuzz_targets/safetensors.rs, which compiles
/// this file without Burn) and the replay test check on any input: reading never
/// panics; weights it returns match their shapes, are finite, stay within the caps and
/// round-trip exactly through f32 safetensors; every tensor of a file the streaming
/// reader accepts converts or errors. Panics on a violation (a finding).
#[doc(hidden)]
pub fn fuzz_check(bytes: &[u8]) {
    if let Ok(weights) = weights_from_safetensors(bytes) {
        assert!(weights.len() <= MAX_WEIGHT_TENSORS);
        let mut total = 0usize;
        for (name, tensor) in &weights {
            assert_eq!(
                tensor.shape.iter().product::<usize>(),
                tensor.values.len(),
                "{name}"
            );
            assert!(tensor.values.iter().all(|v| v.is_finite()), "{name}");
            total += 4 * tensor.values.len();
        }
        assert!(total <= MAX_WEIGHT_BYTES);
        let again = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new())
            .expect("read weights write");
        assert_eq!(
            weights_from_safetensors(&again).expect("written weights read"),
            weights
        );
    }
    if let Ok(file) = SafetensorsFile::parse(bytes) {
        for entry in file.entries() {
            let _ = entry.numel();
            match file.tensor_unchecked(&entry.name) {
                Ok(tensor) => assert_eq!(tensor.shape, entry.shape, "{}", entry.name),
                Err(err) => assert!(!entry.is_float(), "{}: {err}", entry.name),
            }
        }
    }
}

#[cfg(test)]
mod tests;
