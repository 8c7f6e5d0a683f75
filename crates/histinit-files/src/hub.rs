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

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fs::FileError;

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
pub const MAX_REDIRECTS: usize = 8;
/// One read or write of a connection.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The status line and headers of one response, together.
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// The revision API's JSON (a large repository lists a few thousand files).
const MAX_API_BYTES: u64 = 32 << 20;

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

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq)]
struct Url {
    tls: bool,
    /// Lower case, without the brackets of an IPv6 address.
    host: String,
    port: u16,
    /// The path and query, starting with '/'.
    path: String,
}

impl Url {
    fn parse(url: &str) -> Option<Url> {
        // Nothing that could break the request line or smuggle a header.
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(i) => (&rest[..i], "/"),
            None => (rest, "/"),
        };
        // No user:password@ (it would be sent nowhere, and hides the real host).
        if authority.contains('@') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after {
                "" => None,
                port => Some(port.strip_prefix(':')?.parse().ok()?),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port.parse().ok()?)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let path = path.split('#').next().unwrap_or("/");
        Some(Url {
            tls,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if tls { 443 } else { 80 }),
            path: path.to_string(),
        })
    }

    /// Resolves a `Location` header (absolute, scheme-relative, or relative to this
    /// URL's origin).
    fn join(&self, location: &str) -> Option<Url> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Url::parse(location)
        } else if let Some(rest) = location.strip_prefix("//") {
            Url::parse(&format!(
                "{}://{rest}",
                if self.tls { "https" } else { "http" }
            ))
        } else if location.starts_with('/') {
            Url::parse(&format!("{}{location}", self.origin()))
        } else {
            None
        }
    }

    fn host_for_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `scheme://host:port`.
    fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host_for_header()
        )
    }

    fn same_origin(&self, other: &Url) -> bool {
        (self.tls, &self.host, self.port) == (other.tls, &other.host, other.port)
    }

    /// The URL for messages: without its query string (a CDN's is a signature).
    fn display(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("/");
        format!("{}{path}", self.origin())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the token may go with a request to `current` when the transfer began at
/// `original`: the same origin, and encrypted unless it stays on this machine.
fn token_allowed(original: &Url, current: &Url) -> bool {
    original.same_origin(current) && (current.tls || is_loopback(&current.host))
}

/// The next hop of a redirect: never from https down to http.
fn follow(current: &Url, location: &str) -> Result<Url, HubError> {
    let next = current.join(location).ok_or_else(|| HubError::Http {
        url: current.display(),
        reason: "cannot follow a redirect to an unusable Location".into(),
    })?;
    if current.tls && !next.tls {
        return Err(HubError::Downgrade {
            url: current.display(),
            location: next.display(),
        });
    }
    Ok(next)
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(url: &Url, deadline: Instant) -> Result<Timed, HubError> {
    let err = |source| HubError::Connect {
        url: url.display(),
        source,
    };
    let left = Timed::left(deadline).map_err(err)?;
    let mut last = std::io::Error::other("the host name resolves to no address");
    let mut tcp = None;
    for address in (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(err)?
    {
        match TcpStream::connect_timeout(&address, left.min(TIMEOUT)) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or_else(|| err(last))?;
    tcp.set_read_timeout(Some(TIMEOUT)).map_err(err)?;
    tcp.set_write_timeout(Some(TIMEOUT)).map_err(err)?;
    let stream = |inner: Box<dyn Stream>| -> Result<Timed, HubError> {
        Ok(Timed {
            inner,
            tcp: tcp.try_clone().map_err(err)?,
            deadline,
        })
    };
    if !url.tls {
        return stream(Box::new(tcp.try_clone().map_err(err)?));
    }
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| HubError::Http {
        url: url.display(),
        reason: format!("TLS setup: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(|e| HubError::Http {
            url: url.display(),
            reason: format!("bad host name: {e}"),
        })?;
    let conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| HubError::Http {
            url: url.display(),
            reason: format!("TLS: {e}"),
        })?;
    stream(Box::new(rustls::StreamOwned::new(
        conn,
        tcp.try_clone().map_err(err)?,
    )))
}

/// A connection that reads and writes nothing past `deadline`: its socket's timeouts
/// shrink to the time left, so a server that trickles a byte a minute cannot hold it.
struct Timed {
    inner: Box<dyn Stream>,
    /// The same socket as `inner`'s, for its timeouts.
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    fn left(deadline: Instant) -> std::io::Result<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "past the transfer's deadline",
            ));
        }
        Ok(left)
    }

    fn shrink_timeouts(&self) -> std::io::Result<()> {
        let left = Self::left(self.deadline)?;
        if left < TIMEOUT {
            self.tcp.set_read_timeout(Some(left))?;
            self.tcp.set_write_timeout(Some(left))?;
        }
        Ok(())
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.shrink_timeouts()?;
        self.inner.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.shrink_timeouts()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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

/// Reads one line of at most `*budget` bytes (taken from the budget).
fn read_line_bounded(reader: &mut impl BufRead, budget: &mut u64) -> std::io::Result<String> {
    let mut line = Vec::new();
    let read = reader.take(*budget).read_until(b'\n', &mut line)?;
    *budget -= read as u64;
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::other(if *budget == 0 {
            "the response's header lines are too long"
        } else {
            "the connection closed in the middle of the response"
        }));
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// What the responses said the file should be, besides its bytes.
#[derive(Debug, Default)]
struct Claims {
    /// (where the claim comes from, size in bytes)
    sizes: Vec<(&'static str, u64)>,
    /// (where the claim comes from, lower-case hex sha256)
    sha256: Vec<(&'static str, String)>,
}

/// An ETag that is a sha256 (the hub's ETag of an LFS file), in lower case.
fn etag_sha256(value: &str) -> Option<String> {
    let value = value.trim().trim_start_matches("W/").trim_matches('"');
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

/// A sink that counts, hashes and refuses to grow past `limit` bytes.
struct Checked<W: Write> {
    inner: W,
    written: u64,
    limit: Option<u64>,
    overflow: bool,
    digest: ring::digest::Context,
}

impl<W: Write> Checked<W> {
    fn new(inner: W, limit: Option<u64>) -> Self {
        Self {
            inner,
            written: 0,
            limit,
            overflow: false,
            digest: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    fn sha256(&self) -> String {
        hex(self.digest.clone().finish().as_ref())
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self
            .limit
            .is_some_and(|limit| self.written + buf.len() as u64 > limit)
        {
            self.overflow = true;
            return Err(std::io::Error::other("longer than the hub said"));
        }
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// GETs `url` (following redirects) and streams the body into `sink`, all of it within
/// `limit`; returns what the hub's own responses (not the CDN's) claimed about the file.
fn get<W: Write>(
    url: &str,
    token: Option<&str>,
    sink: &mut Checked<W>,
    limit: Duration,
) -> Result<Claims, HubError> {
    let deadline = Instant::now() + limit;
    let result = get_until(url, token, sink, deadline);
    match result {
        // Whatever failed, it failed because time ran out.
        Err(_) if Instant::now() >= deadline => Err(HubError::Deadline {
            url: url.split('?').next().unwrap_or("").to_string(),
            seconds: limit,
        }),
        other => other,
    }
}

fn get_until<W: Write>(
    url: &str,
    token: Option<&str>,
    sink: &mut Checked<W>,
    deadline: Instant,
) -> Result<Claims, HubError> {
    let original = Url::parse(url).ok_or_else(|| HubError::Http {
        url: url.split('?').next().unwrap_or("").to_string(),
        reason: "not an http(s) URL".into(),
    })?;
    if token.is_some() && !original.tls && !is_loopback(&original.host) {
        return Err(HubError::ClearToken {
            endpoint: original.origin(),
        });
    }
    let mut claims = Claims::default();
    let mut current = original.clone();
    for _ in 0..=MAX_REDIRECTS {
        let shown = current.display();
        let http = |reason: String| HubError::Http {
            url: shown.clone(),
            reason,
        };
        let broken = |reason: String| HubError::Broken {
            url: shown.clone(),
            reason,
        };
        let mut stream = connect(&current, deadline)?;
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: histinit/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n",
            current.path,
            current.host_for_header(),
            env!("CARGO_PKG_VERSION")
        );
        if let (Some(token), true) = (token, token_allowed(&original, &current)) {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| broken(format!("sending the request: {e}")))?;
        let mut reader = BufReader::new(stream);
        let mut budget = MAX_HEAD_BYTES;
        let status_line = read_line_bounded(&mut reader, &mut budget)
            .map_err(|e| broken(format!("reading the response: {e}")))?;
        let status: u16 = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| http("malformed status line".into()))?;
        let from_hub = current.same_origin(&original);
        let mut length = None;
        let mut chunked = false;
        let mut location = None;
        loop {
            let line = read_line_bounded(&mut reader, &mut budget)
                .map_err(|e| broken(format!("reading headers: {e}")))?;
            if line.is_empty() {
                break;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| http("malformed Content-Length".into()))?,
                    )
                }
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "location" => location = Some(value.to_string()),
                "x-linked-size" if from_hub => {
                    if let Ok(size) = value.parse() {
                        claims.sizes.push(("X-Linked-Size", size));
                    }
                }
                "x-linked-etag" if from_hub => {
                    if let Some(sha) = etag_sha256(value) {
                        claims.sha256.push(("X-Linked-Etag", sha));
                    }
                }
                "etag" if from_hub => {
                    if let Some(sha) = etag_sha256(value) {
                        claims.sha256.push(("ETag", sha));
                    }
                }
                _ => {}
            }
        }
        match status {
            200 => {}
            301 | 302 | 303 | 307 | 308 => {
                let location =
                    location.ok_or_else(|| http(format!("HTTP {status} without Location")))?;
                current = follow(&current, &location)?;
                continue;
            }
            404 => return Err(HubError::NotFound { url: shown }),
            401 | 403 => {
                return Err(HubError::Status {
                    url: shown,
                    status,
                    hint: ": access denied (a gated or private repository? set HF_TOKEN)",
                })
            }
            other => {
                return Err(HubError::Status {
                    url: shown,
                    status: other,
                    hint: "",
                })
            }
        }
        let body = |e: std::io::Error| broken(format!("reading the body: {e}"));
        if chunked {
            copy_chunked(&mut reader, sink).map_err(body)?;
        } else if let Some(length) = length {
            claims.sizes.push(("Content-Length", length));
            let copied = std::io::copy(&mut (&mut reader).take(length), sink).map_err(body)?;
            if copied != length {
                return Err(broken(format!(
                    "the body ended after {copied} of {length} bytes"
                )));
            }
        } else {
            std::io::copy(&mut reader, sink).map_err(body)?;
        }
        return Ok(claims);
    }
    Err(HubError::TooManyRedirects {
        url: original.display(),
    })
}

fn copy_chunked(reader: &mut impl BufRead, sink: &mut dyn Write) -> std::io::Result<u64> {
    let mut total = 0;
    loop {
        let mut budget = 1024;
        let line = read_line_bounded(reader, &mut budget)?;
        let size = u64::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
        if size == 0 {
            return Ok(total);
        }
        let copied = std::io::copy(&mut reader.take(size), sink)?;
        if copied != size {
            return Err(std::io::Error::other("the body ended inside a chunk"));
        }
        total += copied;
        let mut budget = 2;
        read_line_bounded(reader, &mut budget)?;
    }
}

/// The hub endpoint: `HF_ENDPOINT` if set, else huggingface.co.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// What the hub's API says about one file of a commit.
#[derive(Debug, Clone, Default, PartialEq)]
struct Expected {
    size: Option<u64>,
    sha256: Option<String>,
}

/// A revision resolved to a commit, and where its files are kept.
#[derive(Debug)]
pub struct Snapshot {
    pub commit: String,
    pub dir: PathBuf,
    /// The commit's files; `None` when the API did not list them.
    files: Option<BTreeMap<String, Expected>>,
    /// Resolved from the cache because the hub could not be reached: nothing is downloaded.
    pub offline: bool,
}

fn is_commit(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file name the hub may list: not a path, and not hidden (which is also what keeps it
/// apart from the temporaries of downloads, [`crate::fs::temporary_path`]).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// Writes `bytes` to `path` durably ([`crate::fs::write_atomically`]), its folder
/// created first.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    Ok(crate::fs::write_atomically_in(path, bytes)?)
}

/// A hub repository at a revision, downloaded file by file into a local cache.
pub struct HubRepo {
    pub endpoint: String,
    pub repo: String,
    pub revision: String,
    /// `{cache}/{owner}--{name}`: `refs/` and `snapshots/` under it.
    pub dir: PathBuf,
    token: Option<String>,
    limits: HubLimits,
}

impl HubRepo {
    pub fn new(
        endpoint: String,
        repo: &str,
        revision: &str,
        cache: &Path,
    ) -> Result<Self, HubError> {
        let valid = |part: &str| {
            !part.is_empty()
                && part != ".."
                && part != "."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match repo.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => {}
            _ => return Err(HubError::Repo(repo.to_string())),
        }
        if !valid(revision) {
            return Err(HubError::Repo(format!("{repo}@{revision}")));
        }
        Ok(Self {
            endpoint,
            repo: repo.to_string(),
            revision: revision.to_string(),
            dir: cache.join(repo.replace('/', "--")),
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
            limits: HubLimits::default(),
        })
    }

    pub fn with_limits(mut self, limits: HubLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The URL of `file` at `commit`.
    pub fn url(&self, commit: &str, file: &str) -> String {
        format!("{}/{}/resolve/{commit}/{file}", self.endpoint, self.repo)
    }

    pub fn api_url(&self) -> String {
        format!(
            "{}/api/models/{}/revision/{}?blobs=true",
            self.endpoint, self.repo, self.revision
        )
    }

    fn shown(url: &str) -> String {
        url.split('?').next().unwrap_or(url).to_string()
    }

    fn ref_path(&self) -> PathBuf {
        self.dir.join("refs").join(&self.revision)
    }

    fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.dir.join("snapshots").join(commit)
    }

    /// Resolves the revision to a commit with the hub's API; when the hub cannot be
    /// reached, falls back to the commit `refs/` recorded (a warning says so).
    pub fn resolve(&self) -> Result<Snapshot, HubError> {
        match self.resolve_online() {
            Ok(snapshot) => Ok(snapshot),
            Err(err) if err.unreachable() => {
                let cached = if is_commit(&self.revision) {
                    Some(self.revision.to_ascii_lowercase())
                } else {
                    std::fs::read_to_string(self.ref_path())
                        .ok()
                        .map(|s| s.trim().to_string())
                        .filter(|s| is_commit(s))
                };
                let dir = cached.as_deref().map(|c| self.snapshot_dir(c));
                match (cached, dir) {
                    (Some(commit), Some(dir)) if dir.is_dir() => {
                        eprintln!(
                            "warning: {err}\nwarning: using the cached commit {commit}, which \
                             revision '{}' of {} resolved to when last online (it may have moved since)",
                            self.revision, self.repo
                        );
                        let files = std::fs::read_dir(&dir)
                            .map_err(FileError::read(&dir))?
                            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                            .filter(|name| is_plain_name(name))
                            .map(|name| (name, Expected::default()))
                            .collect();
                        Ok(Snapshot {
                            commit,
                            dir,
                            files: Some(files),
                            offline: true,
                        })
                    }
                    _ => Err(HubError::Offline {
                        repo: self.repo.clone(),
                        revision: self.revision.clone(),
                        dir: self.dir.clone(),
                        source: Box::new(err),
                    }),
                }
            }
            Err(err) => Err(err),
        }
    }

    fn resolve_online(&self) -> Result<Snapshot, HubError> {
        let url = self.api_url();
        let mut sink = Checked::new(Vec::new(), Some(MAX_API_BYTES));
        match get(&url, self.token.as_deref(), &mut sink, self.limits.deadline) {
            Ok(_) => {}
            Err(HubError::NotFound { url }) => {
                return Err(HubError::RevisionNotFound {
                    url,
                    revision: self.revision.clone(),
                })
            }
            Err(_) if sink.overflow => {
                return Err(HubError::Http {
                    url: Self::shown(&url),
                    reason: format!("the revision's description is over {MAX_API_BYTES} bytes"),
                })
            }
            Err(err) => return Err(err),
        }
        let bad = |reason: String| HubError::Http {
            url: Self::shown(&url),
            reason,
        };
        let json: serde_json::Value = serde_json::from_slice(&sink.inner)
            .map_err(|e| bad(format!("the hub's answer is not JSON: {e}")))?;
        let commit = json
            .get("sha")
            .and_then(|s| s.as_str())
            .filter(|s| is_commit(s))
            .ok_or_else(|| bad("the hub's answer has no commit ('sha' of 40 hex digits)".into()))?
            .to_ascii_lowercase();
        if is_commit(&self.revision) && !self.revision.eq_ignore_ascii_case(&commit) {
            return Err(bad(format!(
                "asked for commit {} but the hub answered {commit}",
                self.revision
            )));
        }
        let files = json.get("siblings").and_then(|s| s.as_array()).map(|list| {
            list.iter()
                .filter_map(|file| {
                    let name = file.get("rfilename")?.as_str()?.to_string();
                    let lfs = file.get("lfs");
                    let size = lfs
                        .and_then(|l| l.get("size"))
                        .or(file.get("size"))
                        .and_then(|s| s.as_u64());
                    let sha256 = lfs
                        .and_then(|l| l.get("sha256"))
                        .and_then(|s| s.as_str())
                        .and_then(etag_sha256);
                    Some((name, Expected { size, sha256 }))
                })
                .collect()
        });
        write_atomically(&self.ref_path(), commit.as_bytes())?;
        Ok(Snapshot {
            dir: self.snapshot_dir(&commit),
            commit,
            files,
            offline: false,
        })
    }

    /// `file` of the snapshot, downloaded unless already cached; `Ok(None)` when the
    /// commit has no such file.
    pub fn fetch(&self, snapshot: &Snapshot, file: &str) -> Result<Option<PathBuf>, HubError> {
        let url = self.url(&snapshot.commit, file);
        if !is_plain_name(file) {
            return Err(HubError::Http {
                url: Self::shown(&url),
                reason: format!("'{file}' is not a plain file name"),
            });
        }
        let expected = match &snapshot.files {
            Some(files) => match files.get(file) {
                Some(expected) => expected.clone(),
                None => return Ok(None),
            },
            None => Expected::default(),
        };
        let path = snapshot.dir.join(file);
        if let Ok(meta) = std::fs::metadata(&path) {
            // Files are renamed into place only once checked; the size is checked again
            // (cheap) in case the cache was touched since.
            match expected.size {
                Some(size) if meta.len() != size => {
                    eprintln!(
                        "warning: {} has {} bytes, the hub says {size}: downloading it again",
                        path.display(),
                        meta.len()
                    );
                }
                _ if meta.is_file() => return Ok(Some(path)),
                _ => {}
            }
        }
        if snapshot.offline {
            return Ok(None);
        }
        let write = |path: &Path| {
            let error = FileError::write(path);
            move |source| HubError::File(error(source))
        };
        std::fs::create_dir_all(&snapshot.dir).map_err(write(&snapshot.dir))?;
        // What a killed download of this file left goes first (it may be most of a
        // large checkpoint).
        crate::fs::remove_stale_temporaries(&snapshot.dir, Some(file));
        let partial = crate::fs::temporary_path(&path);
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(write(&partial))?;
        let limit = expected.size.unwrap_or(self.limits.unlisted_bytes);
        let mut sink = Checked::new(std::io::BufWriter::new(out), Some(limit));
        let result = match get(&url, self.token.as_deref(), &mut sink, self.limits.deadline) {
            Err(_) if sink.overflow => Err(match expected.size {
                Some(size) => HubError::Mismatch {
                    url: Self::shown(&url),
                    what: format!("more than the {size} bytes listed"),
                },
                None => HubError::TooLarge {
                    url: Self::shown(&url),
                    cap: limit,
                },
            }),
            Err(err) => Err(err),
            Ok(claims) => self.check(&url, &expected, &claims, &sink).and_then(|()| {
                // On disk, then under its name: never a partial file under the name.
                let out = sink.inner.into_inner().map_err(|e| e.into_error());
                out.and_then(|out| out.sync_all())
                    .and_then(|()| crate::fs::rename_durably(&partial, &path))
                    .map_err(write(&path))
            }),
        };
        match result {
            Ok(()) => Ok(Some(path)),
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                match err {
                    HubError::NotFound { .. } if snapshot.files.is_none() => Ok(None),
                    other => Err(other),
                }
            }
        }
    }

    /// The bytes written against every size and sha256 the API and the hub gave.
    fn check<W: Write>(
        &self,
        url: &str,
        expected: &Expected,
        claims: &Claims,
        sink: &Checked<W>,
    ) -> Result<(), HubError> {
        let mismatch = |what: String| HubError::Mismatch {
            url: Self::shown(url),
            what,
        };
        let sizes = expected.size.map(|s| ("the API's size", s));
        for (source, size) in sizes.into_iter().chain(claims.sizes.iter().copied()) {
            if size != sink.written {
                return Err(mismatch(format!(
                    "{} bytes received, {source} says {size}",
                    sink.written
                )));
            }
        }
        let hashes = expected.sha256.clone().map(|s| ("the API's LFS sha256", s));
        let actual = sink.sha256();
        for (source, sha) in hashes.into_iter().chain(claims.sha256.iter().cloned()) {
            if sha != actual {
                return Err(mismatch(format!("sha256 {actual}, {source} says {sha}")));
            }
        }
        Ok(())
    }

    /// Resolves the revision, downloads config.json and the safetensors weights (an
    /// index and its shards, or model.safetensors) and returns the snapshot, whose folder
    /// is ready for `extract`.
    pub fn fetch_model(&self) -> Result<Snapshot, HubError> {
        let snapshot = self.resolve()?;
        let index_name = "model.safetensors.index.json";
        self.fetch(&snapshot, "config.json")?;
        if let Some(index) = self.fetch(&snapshot, index_name)? {
            let url = Self::shown(&self.url(&snapshot.commit, index_name));
            let text = std::fs::read_to_string(&index).map_err(FileError::read(&index))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| HubError::Http {
                    url: url.clone(),
                    reason: format!("not valid JSON: {e}"),
                })?;
            let mut shards: Vec<String> = json
                .get("weight_map")
                .and_then(|m| m.as_object())
                .map(|m| {
                    m.values()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            shards.sort();
            shards.dedup();
            for shard in shards {
                if !is_plain_name(&shard) {
                    return Err(HubError::Http {
                        url,
                        reason: format!("shard name '{shard}' is not a plain file name"),
                    });
                }
                self.fetch(&snapshot, &shard)?
                    .ok_or_else(|| self.missing(&snapshot, &shard, "the index names it but"))?;
            }
        } else if self.fetch(&snapshot, "model.safetensors")?.is_none() {
            return Err(self.missing(
                &snapshot,
                "model.safetensors",
                "extract reads safetensors only, and",
            ));
        }
        Ok(snapshot)
    }

    fn missing(&self, snapshot: &Snapshot, file: &str, why: &str) -> HubError {
        HubError::Http {
            url: Self::shown(&self.url(&snapshot.commit, file)),
            reason: if snapshot.offline {
                format!("{why} it is not cached, and the hub cannot be reached")
            } else if file == "model.safetensors" {
                "this revision has no model.safetensors nor model.safetensors.index.json \
                 (extract reads safetensors only)"
                    .into()
            } else {
                format!("{why} the commit has no such file")
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_ports_and_paths() {
        let url = Url::parse("http://127.0.0.1:8123/a/b?c=1").unwrap();
        assert_eq!(
            url,
            Url {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8123,
                path: "/a/b?c=1".into()
            }
        );
        // Messages leave out the query (a CDN's signature).
        assert_eq!(url.display(), "http://127.0.0.1:8123/a/b");
        let url = Url::parse("https://HuggingFace.co").unwrap();
        assert_eq!(
            (url.tls, url.host.as_str(), url.port, url.path.as_str()),
            (true, "huggingface.co", 443, "/")
        );
        assert_eq!(
            url.join("/x").unwrap().display(),
            "https://huggingface.co/x"
        );
        assert_eq!(
            url.join("//cdn.example/y").unwrap().display(),
            "https://cdn.example/y"
        );
        let v6 = Url::parse("http://[::1]:9000/p").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9000));
        assert_eq!(v6.host_for_header(), "[::1]:9000");
        for bad in [
            "ftp://x",
            "http://user:secret@evil.example/",
            "http://h/a b",
            "http://h/a\r\nX-Injected: 1",
            "http://:80/",
            "http://h:notaport/",
        ] {
            assert!(Url::parse(bad).is_none(), "{bad}");
        }
        assert!(url.join("relative/path").is_none());
    }

    #[test]
    fn the_token_goes_to_the_original_origin_only_and_never_in_clear() {
        let hub = Url::parse("https://huggingface.co/api/x").unwrap();
        let allowed = |to: &str| token_allowed(&hub, &Url::parse(to).unwrap());
        assert!(allowed("https://huggingface.co/EleutherAI/x/resolve/c/f"));
        assert!(allowed("https://huggingface.co:443/other"));
        assert!(!allowed("https://cdn-lfs.huggingface.co/f"));
        assert!(!allowed("https://huggingface.co:8443/f"));
        assert!(!allowed("http://huggingface.co/f"));
        // Plain http only on this machine, and only to the same port.
        let local = Url::parse("http://127.0.0.1:8000/").unwrap();
        assert!(token_allowed(
            &local,
            &Url::parse("http://127.0.0.1:8000/x").unwrap()
        ));
        assert!(!token_allowed(
            &local,
            &Url::parse("http://127.0.0.1:8001/x").unwrap()
        ));
        assert!(!token_allowed(
            &local,
            &Url::parse("http://localhost:8000/x").unwrap()
        ));
        let remote = Url::parse("http://mirror.example/").unwrap();
        assert!(!token_allowed(&remote, &remote));
    }

    #[test]
    fn redirects_never_go_from_https_to_http() {
        let hub = Url::parse("https://huggingface.co/a").unwrap();
        assert!(matches!(
            follow(&hub, "http://huggingface.co/b"),
            Err(HubError::Downgrade { .. })
        ));
        assert!(matches!(
            follow(&hub, "http://cdn.example/b?sig=1"),
            Err(HubError::Downgrade { .. })
        ));
        assert_eq!(
            follow(&hub, "https://cdn.example/b").unwrap().display(),
            "https://cdn.example/b"
        );
        // http to https is an upgrade, and fine.
        let local = Url::parse("http://127.0.0.1:1/").unwrap();
        assert!(follow(&local, "https://cdn.example/b").is_ok());
    }

    #[test]
    fn a_token_for_a_plain_http_mirror_elsewhere_is_refused_before_connecting() {
        // Port 9 on a documentation address: nothing is contacted, the check comes first.
        let mut sink = Checked::new(Vec::new(), None);
        let err = get(
            "http://192.0.2.1:9/api",
            Some("hf_secret"),
            &mut sink,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, HubError::ClearToken { .. }), "{err}");
        assert!(!err.to_string().contains("hf_secret"));
    }

    #[test]
    fn sha256_etags_are_recognised() {
        let sha = "a".repeat(64);
        assert_eq!(etag_sha256(&format!("\"{sha}\"")), Some(sha.clone()));
        assert_eq!(
            etag_sha256(&format!("W/\"{}\"", sha.to_uppercase())),
            Some(sha)
        );
        // A git blob's sha1 (a small file's ETag) is not a sha256.
        assert_eq!(etag_sha256(&format!("\"{}\"", "b".repeat(40))), None);
        let mut sink = Checked::new(Vec::new(), Some(3));
        sink.write_all(b"abc").unwrap();
        assert_eq!(
            sink.sha256(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sink.write_all(b"d").is_err() && sink.overflow);
    }

    #[test]
    fn download_temporaries_are_unique_per_call_and_never_plain_names() {
        let path = Path::new("/tmp/x/model.safetensors");
        let a = crate::fs::temporary_path(path);
        let b = crate::fs::temporary_path(path);
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".model.safetensors.tmp-"), "{name}");
        assert!(
            name.contains(&format!("-{}-", std::process::id())),
            "{name}"
        );
        assert!(!is_plain_name(name));
    }

    #[test]
    fn repo_names_are_checked() {
        let cache = Path::new("/tmp");
        let ok = HubRepo::new(
            "http://h".into(),
            "EleutherAI/pythia-70m",
            "step3000",
            cache,
        )
        .unwrap();
        assert_eq!(
            ok.url("0123", "config.json"),
            "http://h/EleutherAI/pythia-70m/resolve/0123/config.json"
        );
        assert_eq!(
            ok.api_url(),
            "http://h/api/models/EleutherAI/pythia-70m/revision/step3000?blobs=true"
        );
        assert!(HubRepo::new("http://h".into(), "../etc", "main", cache).is_err());
        assert!(HubRepo::new("http://h".into(), "a/b", "../x", cache).is_err());
        assert!(HubRepo::new("http://h".into(), "a/b", ".", cache).is_err());
    }

    /// A server on 127.0.0.1 that answers each connection with `respond(path, stream)`,
    /// until the returned flag is set (or 30 s pass).
    fn serve(
        respond: impl Fn(&str, &mut TcpStream) + Send + 'static,
    ) -> (String, Arc<std::sync::atomic::AtomicBool>) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(30);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < end {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
                respond(&path, &mut stream);
            }
        });
        (address, stop)
    }

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    /// The revision API's answer listing `model.safetensors`, with `size` if given.
    fn answer_api(stream: &mut TcpStream, size: Option<u64>) {
        let size = size
            .map(|n| format!(r#", "size": {n}"#))
            .unwrap_or_default();
        let body = format!(
            r#"{{"sha": "{COMMIT}", "siblings": [{{"rfilename": "model.safetensors"{size}}}]}}"#
        );
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        let _ = stream.write_all(format!("{head}{body}").as_bytes());
    }

    fn fetched(
        endpoint: String,
        name: &str,
        limits: HubLimits,
    ) -> (Result<Option<PathBuf>, HubError>, PathBuf) {
        let cache =
            std::env::temp_dir().join(format!("histinit-hub-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let hub = HubRepo::new(endpoint, "owner/model", COMMIT, &cache)
            .unwrap()
            .with_limits(limits);
        let snapshot = hub.resolve().unwrap();
        let result = hub.fetch(&snapshot, "model.safetensors");
        (result, snapshot.dir)
    }

    #[test]
    fn a_trickling_download_stops_at_the_deadline_and_leaves_nothing() {
        // 40 listed bytes, one every 100 ms: each read is quick, the whole takes 4 s.
        let (endpoint, stop) = serve(|path, stream| {
            if path.starts_with("/api/") {
                return answer_api(stream, Some(40));
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n");
            for _ in 0..40 {
                if stream.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let limits = HubLimits {
            deadline: Duration::from_secs(1),
            ..HubLimits::default()
        };
        let started = Instant::now();
        let (result, dir) = fetched(endpoint, "deadline", limits);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let err = result.unwrap_err();
        assert!(matches!(err, HubError::Deadline { .. }), "{err}");
        assert!(err.to_string().contains("within 1 s"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn an_unlisted_file_past_the_cap_is_refused_and_discarded() {
        // No size from the API and none from the response: read until the connection closes.
        let (endpoint, stop) = serve(|path, stream| {
            if path.starts_with("/api/") {
                return answer_api(stream, None);
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(&[7u8; 5000]);
        });
        let limits = HubLimits {
            unlisted_bytes: 1000,
            ..HubLimits::default()
        };
        let (result, dir) = fetched(endpoint.clone(), "cap", limits);
        let err = result.unwrap_err();
        assert!(matches!(err, HubError::TooLarge { cap: 1000, .. }), "{err}");
        assert!(err.to_string().contains("over 1000 bytes"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        // The same file under a cap it fits in is downloaded whole.
        let limits = HubLimits {
            unlisted_bytes: 5000,
            ..HubLimits::default()
        };
        let (result, _) = fetched(endpoint, "cap-fits", limits);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let path = result.unwrap().unwrap();
        assert_eq!(std::fs::read(path).unwrap().len(), 5000);
    }
}
