//! Downloads from the Hugging Face hub's URL layout, `{endpoint}/{repo}/resolve/{revision}/{file}`
//! (`HF_ENDPOINT` overrides the endpoint, `HF_TOKEN` is sent as a bearer token).
//!
//! A small HTTP/1.1 client over std's TCP and rustls rather than the `hf-hub` crate:
//! hf-hub's ureq pulls in `url`/ICU, whose derive macros switch on a `syn` feature and
//! force a rebuild of the whole Burn stack; rustls adds no feature to any crate Burn
//! uses. Redirects (the hub sends files to a CDN) and chunked bodies are followed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
const MAX_REDIRECTS: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: not found (HTTP 404)")]
    NotFound { url: String },
    #[error("{url}: cannot connect: {source} (the hub is not reachable from this machine? set HF_ENDPOINT to a mirror)")]
    Connect { url: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("repository '{0}' is not of the form owner/name")]
    Repo(String),
}

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq)]
struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

impl Url {
    fn parse(url: &str) -> Option<Url> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                (host, port.parse().ok()?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return None;
        }
        Some(Url {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// Resolves a `Location` header (absolute, or relative to this URL's host).
    fn join(&self, location: &str) -> Option<Url> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Url::parse(location)
        } else if location.starts_with('/') {
            Some(Url {
                path: location.to_string(),
                ..self.clone()
            })
        } else {
            None
        }
    }

    fn display(&self) -> String {
        format!(
            "{}://{}:{}{}",
            if self.tls { "https" } else { "http" },
            self.host,
            self.port,
            self.path
        )
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(url: &Url) -> Result<Box<dyn Stream>, HubError> {
    let err = |source| HubError::Connect {
        url: url.display(),
        source,
    };
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).map_err(err)?;
    tcp.set_read_timeout(Some(TIMEOUT)).map_err(err)?;
    tcp.set_write_timeout(Some(TIMEOUT)).map_err(err)?;
    if !url.tls {
        return Ok(Box::new(tcp));
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
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

/// GETs `url` (following redirects) and streams the body into `sink`.
fn get(url: &str, token: Option<&str>, sink: &mut dyn Write) -> Result<u64, HubError> {
    let mut current = Url::parse(url).ok_or_else(|| HubError::Http {
        url: url.to_string(),
        reason: "not an http(s) URL".into(),
    })?;
    let original_host = current.host.clone();
    for _ in 0..=MAX_REDIRECTS {
        let shown = current.display();
        let http = |reason: String| HubError::Http {
            url: shown.clone(),
            reason,
        };
        let mut stream = connect(&current)?;
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: histinit/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n",
            current.path,
            current.host,
            env!("CARGO_PKG_VERSION")
        );
        // The token goes to the hub only, never to the CDN it redirects to.
        if let (Some(token), true) = (token, current.host == original_host) {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| http(format!("sending the request: {e}")))?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .map_err(|e| http(format!("reading the response: {e}")))?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| http(format!("malformed status line '{}'", status_line.trim())))?;
        let mut length = None;
        let mut chunked = false;
        let mut location = None;
        loop {
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .map_err(|e| http(format!("reading headers: {e}")))?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((key, value)) = line.split_once(':') {
                let value = value.trim();
                match key.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse::<u64>().ok(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "location" => location = Some(value.to_string()),
                    _ => {}
                }
            }
        }
        match status {
            200 => {}
            301 | 302 | 303 | 307 | 308 => {
                let location =
                    location.ok_or_else(|| http(format!("HTTP {status} without Location")))?;
                current = current
                    .join(&location)
                    .ok_or_else(|| http(format!("cannot follow redirect to '{location}'")))?;
                continue;
            }
            404 => return Err(HubError::NotFound { url: shown }),
            401 | 403 => {
                return Err(http(format!(
                    "HTTP {status}: access denied (gated or private repository? set HF_TOKEN)"
                )))
            }
            other => return Err(http(format!("HTTP {other}"))),
        }
        let written = if chunked {
            copy_chunked(&mut reader, sink).map_err(|e| http(format!("reading the body: {e}")))?
        } else if let Some(length) = length {
            let copied = std::io::copy(&mut (&mut reader).take(length), sink)
                .map_err(|e| http(format!("reading the body: {e}")))?;
            if copied != length {
                return Err(http(format!(
                    "the body ended after {copied} of {length} bytes"
                )));
            }
            copied
        } else {
            std::io::copy(&mut reader, sink).map_err(|e| http(format!("reading the body: {e}")))?
        };
        return Ok(written);
    }
    Err(HubError::Http {
        url: url.to_string(),
        reason: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

fn copy_chunked(reader: &mut impl BufRead, sink: &mut dyn Write) -> std::io::Result<u64> {
    let mut total = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size '{}'", line.trim())))?;
        if size == 0 {
            return Ok(total);
        }
        total += std::io::copy(&mut reader.take(size as u64), sink)?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
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

/// A hub repository at a revision, downloaded file by file into a local folder.
pub struct HubRepo {
    pub endpoint: String,
    pub repo: String,
    pub revision: String,
    pub dir: PathBuf,
    token: Option<String>,
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
            dir: cache.join(repo.replace('/', "--")).join(revision),
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
        })
    }

    pub fn url(&self, file: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            self.endpoint, self.repo, self.revision, file
        )
    }

    /// Downloads `file` unless it is already in the folder; `Ok(None)` on 404.
    pub fn fetch(&self, file: &str) -> Result<Option<PathBuf>, HubError> {
        let path = self.dir.join(file);
        if path.is_file() {
            return Ok(Some(path));
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| HubError::Write {
            path: self.dir.clone(),
            source,
        })?;
        // Download to a temporary name, so an interrupted transfer is never taken
        // for a complete file.
        let partial = self.dir.join(format!("{file}.partial"));
        let mut out = std::fs::File::create(&partial).map_err(|source| HubError::Write {
            path: partial.clone(),
            source,
        })?;
        let result = get(&self.url(file), self.token.as_deref(), &mut out);
        drop(out);
        match result {
            Ok(_) => {
                std::fs::rename(&partial, &path).map_err(|source| HubError::Write {
                    path: path.clone(),
                    source,
                })?;
                Ok(Some(path))
            }
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                match err {
                    HubError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        }
    }

    /// Downloads config.json and the safetensors weights (an index and its shards, or
    /// model.safetensors) and returns the local folder, ready for `extract`.
    pub fn fetch_model(&self) -> Result<PathBuf, HubError> {
        self.fetch("config.json")?;
        if let Some(index) = self.fetch("model.safetensors.index.json")? {
            let text = std::fs::read_to_string(&index).map_err(|source| HubError::Write {
                path: index.clone(),
                source,
            })?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| HubError::Http {
                    url: self.url("model.safetensors.index.json"),
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
                if shard.contains('/') || shard.contains("..") {
                    return Err(HubError::Http {
                        url: self.url("model.safetensors.index.json"),
                        reason: format!("shard name '{shard}' is not a plain file name"),
                    });
                }
                self.fetch(&shard)?.ok_or_else(|| HubError::NotFound {
                    url: self.url(&shard),
                })?;
            }
        } else if self.fetch("model.safetensors")?.is_none() {
            return Err(HubError::Http {
                url: self.url("model.safetensors"),
                reason: "this revision has no model.safetensors nor model.safetensors.index.json \
                         (extract reads safetensors only)"
                    .into(),
            });
        }
        Ok(self.dir.clone())
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
        let url = Url::parse("https://huggingface.co").unwrap();
        assert_eq!((url.tls, url.port, url.path.as_str()), (true, 443, "/"));
        assert_eq!(
            url.join("/x").unwrap().display(),
            "https://huggingface.co:443/x"
        );
        assert!(Url::parse("ftp://x").is_none());
    }

    #[test]
    fn repo_names_are_checked() {
        let cache = Path::new("/tmp");
        let ok = HubRepo::new(
            "http://h".into(),
            "EleutherAI/pythia-70m",
            "step3000",
            cache,
        );
        assert_eq!(
            ok.unwrap().url("config.json"),
            "http://h/EleutherAI/pythia-70m/resolve/step3000/config.json"
        );
        assert!(HubRepo::new("http://h".into(), "../etc", "main", cache).is_err());
        assert!(HubRepo::new("http://h".into(), "a/b", "../x", cache).is_err());
    }
}
