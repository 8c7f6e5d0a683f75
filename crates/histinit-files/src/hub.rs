//! Downloads from the Hugging Face hub (`HF_ENDPOINT` overrides the endpoint, `HF_TOKEN`
//! is sent as a bearer token).
//!
//! A revision (branch, tag or commit) is first resolved to a commit with
//! `GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true`, which also lists the
//! commit's files with their sizes and, for LFS files, their sha256. Files are then read
//! from `{endpoint}/{repo}/resolve/{commit}/{file}` and kept under
//! `{cache}/{owner}--{name}/snapshots/{commit}/`, with `refs/{revision}` naming the commit
//! a revision last resolved to. A mutable branch such as `main` is therefore resolved
//! again on every run; when the hub cannot be reached, the commit recorded in `refs/` is
//! used (with a warning) if its files are all cached.
//!
//! The transfer is written to a temporary name unique to the process and renamed into
//! place only once its size (the API's, `X-Linked-Size`, `Content-Length`) and its sha256
//! (the API's LFS hash, or an `X-Linked-Etag`/`ETag` of 64 hex digits from the hub) agree.
//!
//! `HF_TOKEN` goes only to the origin (scheme, host and port) of the endpoint, never to
//! the CDN the hub redirects to, and never over plain http except to this machine
//! (127.0.0.1, ::1, localhost: a local mirror or a test). Redirects from https to http are
//! refused and at most [`MAX_REDIRECTS`] are followed. Error messages never contain the
//! token, and show URLs without their query string (the CDN's are signed).
//!
//! Every transfer of one file (its redirects included) must end within
//! [`HubLimits::deadline`], however slowly the server trickles bytes (each read also times
//! out after a minute), and a file the API lists no size for may have at most
//! [`HubLimits::unlisted_bytes`]: a stalled or endless server cannot hold a download, or
//! fill the disk, forever.
//!
//! A small HTTP/1.1 client over std's TCP and rustls rather than the `hf-hub` crate:
//! hf-hub's ureq pulls in `url`/ICU, whose derive macros switch on a `syn` feature and
//! force a rebuild of the whole Burn stack; rustls adds no feature to any crate Burn
//! uses, and its `ring` provides sha256.

mod http;
mod repo;
mod url;

use std::path::PathBuf;
use std::time::Duration;

use crate::fs::FileError;
pub use repo::{HubRepo, Snapshot};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
pub const MAX_REDIRECTS: usize = 8;
/// One read or write of a connection.
pub(super) const TIMEOUT: Duration = Duration::from_secs(60);
/// The status line and headers of one response, together.
pub(super) const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// The revision API's JSON (a large repository lists a few thousand files).
pub(super) const MAX_API_BYTES: u64 = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: HTTP {status}{hint}")]
    Status {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("{url}: not found (HTTP 404)")]
    NotFound { url: String },
    #[error("{url}: {reason} (the connection failed; retry)")]
    Broken { url: String, reason: String },
    #[error("{url}: cannot connect: {source} (the hub is not reachable from this machine? set HF_ENDPOINT to a mirror)")]
    Connect { url: String, source: std::io::Error },
    #[error("{url}: redirected from https to plain http ({location}); refused, the transfer would not be private")]
    Downgrade { url: String, location: String },
    #[error("{url}: the transfer did not finish within {} s; stopped (a stalled or very slow server: retry later, or from a faster connection)", seconds.as_secs())]
    Deadline { url: String, seconds: Duration },
    #[error("{url}: the hub lists no size for this file and it is over {cap} bytes; stopped and discarded (an endless or unexpected answer: check the repository and HF_ENDPOINT)")]
    TooLarge { url: String, cap: u64 },
    #[error("{url}: more than {MAX_REDIRECTS} redirects; refused")]
    TooManyRedirects { url: String },
    #[error("HF_TOKEN is set but the endpoint {endpoint} is plain http to another machine, so the token would travel in clear: use https, or unset HF_TOKEN")]
    ClearToken { endpoint: String },
    #[error("{url}: the download does not match the hub: {what}; it was discarded (retry; if it persists the mirror or CDN serves a corrupt file)")]
    Mismatch { url: String, what: String },
    #[error("{url}: revision '{revision}' not found (HTTP 404): check the repository and the revision (a branch, tag or commit)")]
    RevisionNotFound { url: String, revision: String },
    #[error("cannot resolve revision '{revision}' of {repo} ({source}), and no commit of it is cached under {dir}")]
    Offline {
        repo: String,
        revision: String,
        dir: PathBuf,
        source: Box<HubError>,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("repository '{0}' is not of the form owner/name")]
    Repo(String),
}

impl HubError {
    /// The hub could not be reached or failed on its side (not: the revision does not
    /// exist, access is denied, a file is corrupt).
    fn unreachable(&self) -> bool {
        match self {
            HubError::Connect { .. } | HubError::Broken { .. } | HubError::Deadline { .. } => true,
            HubError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// The hub endpoint: `HF_ENDPOINT` if set, else huggingface.co.
/// How long one file may take and how large it may be where nothing says its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// For one file's whole transfer (or the revision API's answer), redirects included.
    pub deadline: Duration,
    /// The most bytes of a file the API lists no size for (a listed size is exact).
    pub unlisted_bytes: u64,
}

impl Default for HubLimits {
    /// An hour for a file (a 10 GB shard at 3 MB/s), and 64 GiB unlisted (more than any
    /// single safetensors shard the hub serves).
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(3600),
            unlisted_bytes: 64 << 30,
        }
    }
}

pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests;
