//! The URLs the downloads follow: parsed, redirects resolved, and whether the token
//! may go along.

use std::net::IpAddr;

use super::HubError;

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Url {
    pub(super) tls: bool,
    /// Lower case, without the brackets of an IPv6 address.
    pub(super) host: String,
    pub(super) port: u16,
    /// The path and query, starting with '/'.
    pub(super) path: String,
}

impl Url {
    pub(super) fn parse(url: &str) -> Option<Url> {
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
    pub(super) fn join(&self, location: &str) -> Option<Url> {
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

    pub(super) fn host_for_header(&self) -> String {
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
    pub(super) fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host_for_header()
        )
    }

    pub(super) fn same_origin(&self, other: &Url) -> bool {
        (self.tls, &self.host, self.port) == (other.tls, &other.host, other.port)
    }

    /// The URL for messages: without its query string (a CDN's is a signature).
    pub(super) fn display(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("/");
        format!("{}{path}", self.origin())
    }
}

pub(super) fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the token may go with a request to `current` when the transfer began at
/// `original`: the same origin, and encrypted unless it stays on this machine.
pub(super) fn token_allowed(original: &Url, current: &Url) -> bool {
    original.same_origin(current) && (current.tls || is_loopback(&current.host))
}

/// The next hop of a redirect: never from https down to http.
pub(super) fn follow(current: &Url, location: &str) -> Result<Url, HubError> {
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
