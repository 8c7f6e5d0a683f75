//! Reading with the limits checked while reading (issue 24): a file is refused as soon
//! as what it has said passes a limit, not after it has been inflated and built.
//!
//! - gzip is inflated as the JSON parser reads it ([`read_json`]), never into a buffer;
//!   the text stops at [`MAX_JSON_BYTES`] and a string at [`MAX_STRING_BYTES`] (serde_json
//!   copies every string of a stream into its scratch buffer, even an ignored one);
//! - every array a file holds is read by a visitor that refuses the element past its
//!   limit ([`seq`]): `MAX_BINS`, `MAX_KNOTS`, `MAX_TENSORS`, `MAX_CHECKPOINTS`,
//!   `MAX_PROBS`, ...; every kept string by one that refuses it past its length
//!   ([`string`]);
//! - all of them together draw on one budget, [`MAX_PARSED_BYTES`] for the whole file
//!   (`size_of` of each element, the length of each string), so that no mix of arrays
//!   that are each within their limit builds more than that before the file is refused.
//!
//! The budget is per thread and only armed while [`read_json`] runs (a `Deserialize`
//! outside it, say `serde_json::from_str::<HistogramFile>`, has the per-array limits
//! but no overall budget).

use std::cell::Cell;
use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::format::MAX_JSON_BYTES;

/// Most bytes of values and strings one file may build while it is read: 64 MiB (a
/// 12B-parameter model's histogram file, ~20 MB of JSON, builds under 16 MiB). Vectors
/// grow by doubling, so the memory they take is at most twice this.
pub const MAX_PARSED_BYTES: usize = 64 << 20;
/// Longest string in a gzipped file's text, in bytes (names are at most 512 bytes,
/// provenance strings at most [`MAX_TEXT_BYTES`]).
pub const MAX_STRING_BYTES: usize = 1 << 20;
/// Longest provenance string (model, command, note, ...), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 << 10;

thread_local! {
    /// Bytes the file being read may still build; `None` outside [`read_json`].
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Arms the budget for one read; disarms it when dropped (also on a panic).
struct Armed(Option<usize>);

impl Armed {
    fn new() -> Armed {
        Armed(BUDGET.with(|budget| budget.replace(Some(MAX_PARSED_BYTES))))
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        BUDGET.with(|budget| budget.set(self.0));
    }
}

/// Takes `bytes` from the budget, or errors when it does not hold them.
fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    BUDGET.with(|budget| match budget.get() {
        None => Ok(()),
        Some(left) if bytes <= left => {
            budget.set(Some(left - bytes));
            Ok(())
        }
        Some(_) => Err(E::custom(format!(
            "the file holds more than {} MiB of values in all, the most a file may build \
             (reading stopped here)",
            MAX_PARSED_BYTES >> 20
        ))),
    })
}

/// A sequence of at most `max` elements, refused at element `max + 1`; `what` names
/// the elements and the limit for the message ("edges (the most for 65536 bins)").
pub(crate) fn seq<'de, D, T>(de: D, max: usize, what: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T> {
        max: usize,
        what: &'static str,
        marker: PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of at most {} {}", self.max, self.what)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(element) = seq.next_element()? {
                if out.len() == self.max {
                    return Err(de::Error::custom(format!(
                        "more than {} {}: reading stopped at element {}",
                        self.max,
                        self.what,
                        self.max + 1
                    )));
                }
                charge(std::mem::size_of::<T>())?;
                out.push(element);
            }
            Ok(out)
        }
    }
    de.deserialize_seq(Bounded {
        max,
        what,
        marker: PhantomData,
    })
}

/// A string of at most `max` bytes (refused before it is copied), charged to the budget.
pub(crate) fn string<'de, D: Deserializer<'de>>(de: D, max: usize) -> Result<String, D::Error> {
    struct Bounded(usize);
    impl Visitor<'_> for Bounded {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a string of at most {} bytes", self.0)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
            if text.len() > self.0 {
                return Err(E::custom(format!(
                    "a string of {} bytes, more than the {} this field may have",
                    text.len(),
                    self.0
                )));
            }
            charge(text.len())?;
            Ok(text.to_owned())
        }
    }
    de.deserialize_str(Bounded(max))
}

/// [`string`] for an optional field (`null` is `None`).
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(
    de: D,
    max: usize,
) -> Result<Option<String>, D::Error> {
    struct Opt(usize);
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "null or a string of at most {} bytes", self.0)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            string(de, self.0).map(Some)
        }
    }
    de.deserialize_option(Opt(max))
}

/// A provenance string ([`MAX_TEXT_BYTES`]).
pub(crate) fn text<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    string(de, MAX_TEXT_BYTES)
}

/// An optional provenance string ([`MAX_TEXT_BYTES`]).
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    opt_string(de, MAX_TEXT_BYTES)
}

/// A file's `version` field, read without building whatever else it may be (an array
/// of a million elements is skipped, not kept to be quoted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Version {
    /// A non-negative integer.
    Number(u64),
    /// Anything else, as the message quotes it (`"one"`, `-1`, `1.5`, `an array`).
    Other(String),
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Version, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Version;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a version number")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
                Ok(Version::Number(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Version, E> {
                Ok(match u64::try_from(v) {
                    Ok(v) => Version::Number(v),
                    Err(_) => Version::Other(v.to_string()),
                })
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Version, E> {
                Ok(Version::Other(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Version, E> {
                Ok(Version::Other(v.to_string()))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                const SHOWN: usize = 64;
                Ok(Version::Other(if v.len() <= SHOWN {
                    serde_json::Value::from(v).to_string()
                } else {
                    format!("a string of {} bytes", v.len())
                }))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Version, E> {
                Ok(Version::Other("null".into()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Version, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Version::Other("an array".into()))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Version, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Version::Other("an object".into()))
            }
        }
        de.deserialize_any(V)
    }
}

/// Just a file's version, read before the rest is trusted, so a future format is
/// reported as such (histogram and trajectory files alike).
#[derive(Deserialize)]
pub(crate) struct VersionOnly {
    pub(crate) version: Option<Version>,
}

/// Why bytes could not be read as a file.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Starts like gzip but does not decompress, or more follows the first member.
    Gzip(String),
    /// Over `MAX_JSON_BYTES`, once decompressed.
    TooLarge,
    /// Not JSON of the type, or past a limit: `(path, message)`.
    Json(String, String),
}

/// Reads `bytes` as `T`: plain JSON, or, when they start with gzip's 1f 8b magic, the
/// JSON its one member inflates to, inflated as it is parsed. At most
/// [`MAX_JSON_BYTES`] of text and [`MAX_PARSED_BYTES`] built either way.
pub(crate) fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ReadError> {
    let _armed = Armed::new();
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        if bytes.len() > MAX_JSON_BYTES {
            return Err(ReadError::TooLarge);
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        return finish(&mut de).map_err(|(path, message)| ReadError::Json(path, message));
    }
    let mut text = Inflated::new(bytes);
    let result = {
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, &mut text));
        finish(&mut de)
    };
    let value = match result {
        Ok(value) => value,
        Err(_) if text.over_limit => return Err(ReadError::TooLarge),
        Err((path, _)) if text.long_string => {
            return Err(ReadError::Json(
                path,
                format!(
                    "a string longer than {MAX_STRING_BYTES} bytes, the longest a file may \
                     have (reading stopped there)"
                ),
            ))
        }
        Err((_, message)) if text.io_error => return Err(ReadError::Gzip(message)),
        Err((path, message)) => return Err(ReadError::Json(path, message)),
    };
    // The parser read to the end of the member (it checks that nothing but whitespace
    // follows the value); what the decoder leaves is what follows the member.
    let rest = text.decoder.into_inner();
    if !rest.is_empty() {
        return Err(ReadError::Gzip(format!(
            "{} bytes follow the first gzip member ({}); a file of this format is one gzip \
             member (re-compress it with `gzip -d < file | gzip > new.json.gz`)",
            rest.len(),
            if rest.starts_with(&[0x1f, 0x8b]) {
                "a second member, as concatenated .gz files have"
            } else {
                "trailing garbage"
            }
        )));
    }
    Ok(value)
}

/// serde_json with the path of the failing field in the error, then the end of input.
fn finish<'de, R: serde_json::de::Read<'de>, T: Deserialize<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<T, (String, String)> {
    let value = serde_path_to_error::deserialize(&mut *de)
        .map_err(|err| (err.path().to_string(), err.inner().to_string()))?;
    de.end().map_err(|err| (".".to_string(), err.to_string()))?;
    Ok(value)
}

/// The inflated text of a gzip member, as a reader that fails (and says why) past
/// [`MAX_JSON_BYTES`] or inside a string longer than [`MAX_STRING_BYTES`]; the string
/// check follows JSON's lexing (a `"` not escaped by a backslash opens or closes one).
struct Inflated<'a> {
    decoder: flate2::bufread::GzDecoder<&'a [u8]>,
    read: usize,
    in_string: bool,
    escaped: bool,
    string_len: usize,
    over_limit: bool,
    long_string: bool,
    io_error: bool,
}

impl<'a> Inflated<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Inflated {
            decoder: flate2::bufread::GzDecoder::new(bytes),
            read: 0,
            in_string: false,
            escaped: false,
            string_len: 0,
            over_limit: false,
            long_string: false,
            io_error: false,
        }
    }

    fn scan(&mut self, text: &[u8]) -> std::io::Result<()> {
        for &byte in text {
            if self.in_string {
                self.string_len += 1;
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                if self.string_len > MAX_STRING_BYTES + 1 {
                    self.long_string = true;
                    return Err(std::io::Error::other("a string is too long"));
                }
            } else if byte == b'"' {
                self.in_string = true;
                self.string_len = 0;
            }
        }
        Ok(())
    }
}

impl Read for Inflated<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = MAX_JSON_BYTES - self.read;
        let want = buf.len().min(room.max(1));
        let n = self.decoder.read(&mut buf[..want]).inspect_err(|_| {
            self.io_error = true;
        })?;
        if n > room {
            self.over_limit = true;
            return Err(std::io::Error::other(format!(
                "larger than {MAX_JSON_BYTES} bytes once decompressed"
            )));
        }
        self.read += n;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}
