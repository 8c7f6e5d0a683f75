//! One bounded HTTP(S) GET: headers and bodies read within limits, redirects followed,
//! and what the hub claims about a file (size, sha256) checked as it streams.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::url::{follow, is_loopback, token_allowed, Url};
use super::{HubError, MAX_HEAD_BYTES, MAX_REDIRECTS, TIMEOUT};

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
pub(super) struct Claims {
    /// (where the claim comes from, size in bytes)
    pub(super) sizes: Vec<(&'static str, u64)>,
    /// (where the claim comes from, lower-case hex sha256)
    pub(super) sha256: Vec<(&'static str, String)>,
}

/// An ETag that is a sha256 (the hub's ETag of an LFS file), in lower case.
pub(super) fn etag_sha256(value: &str) -> Option<String> {
    let value = value.trim().trim_start_matches("W/").trim_matches('"');
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

/// A sink that counts, hashes and refuses to grow past `limit` bytes.
pub(super) struct Checked<W: Write> {
    pub(super) inner: W,
    pub(super) written: u64,
    limit: Option<u64>,
    pub(super) overflow: bool,
    digest: ring::digest::Context,
}

impl<W: Write> Checked<W> {
    pub(super) fn new(inner: W, limit: Option<u64>) -> Self {
        Self {
            inner,
            written: 0,
            limit,
            overflow: false,
            digest: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    pub(super) fn sha256(&self) -> String {
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
pub(super) fn get<W: Write>(
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
