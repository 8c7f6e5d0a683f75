//! Reading a request's head for `histinit serve` within [`Limits`]: it must arrive
//! whole within `head_timeout`, its request line may not exceed `request_line_bytes`
//! (414) and the head `head_bytes` and `headers` (431); a head that breaks HTTP/1.1's
//! syntax, or has no or several `Host` headers, gets 400.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Instant;

use super::Limits;

/// A request's head, as far as the server needs it.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query), not decoded.
    pub target: String,
    /// The one `Host` header (a request with none or several is refused).
    pub host: String,
    /// The connection ends after this reply: HTTP/1.0 without keep-alive,
    /// `Connection: close`, or a body the server does not read.
    pub(super) close: bool,
}

/// Where the head in `bytes` ends (just past its empty line), if it is complete.
fn head_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find_map(|at| match &bytes[at..] {
        [b'\n', b'\n', ..] => Some(at + 2),
        [b'\n', b'\r', b'\n', ..] => Some(at + 3),
        _ => None,
    })
}

/// The status for a (possibly partial) head that breaks a limit: 414 for the request
/// line, 431 for the whole or the number of lines.
fn over_limits(head: &[u8], limits: &Limits) -> Option<u16> {
    let line = head
        .iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(head.len());
    if line > limits.request_line_bytes {
        return Some(414);
    }
    let lines = head.iter().filter(|&&byte| byte == b'\n').count();
    // The request line and the empty line are not header fields.
    if head.len() > limits.head_bytes || lines > limits.headers + 2 {
        return Some(431);
    }
    None
}

/// Why no request came out of a connection.
#[derive(Debug, PartialEq)]
pub(super) enum Ended {
    /// Closed, reset or idle before a request began: nothing to answer.
    Quietly,
    /// Answered with this status, then closed.
    With(u16),
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads a complete head as a request: the request line, then header fields, of which
/// `Host` must come exactly once (RFC 9112 §3.2).
pub(super) fn parse(head: &[u8], limits: &Limits) -> Result<Request, Ended> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Ended::With(400));
    };
    if !is_token(method) || target.is_empty() {
        return Err(Ended::With(400));
    }
    let mut close = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other if other.starts_with("HTTP/") => return Err(Ended::With(505)),
        _ => return Err(Ended::With(400)),
    };
    let (mut hosts, mut fields, mut body) = (Vec::new(), 0, false);
    for line in lines.filter(|line| !line.is_empty()) {
        fields += 1;
        if fields > limits.headers {
            return Err(Ended::With(431));
        }
        // No whitespace before the colon, no folded lines (RFC 9112 §5.1, §5.2).
        let Some((name, value)) = line.split_once(':') else {
            return Err(Ended::With(400));
        };
        if !is_token(name) {
            return Err(Ended::With(400));
        }
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "host" => hosts.push(value),
            "connection" => {
                for option in value.split(',').map(|o| o.trim().to_ascii_lowercase()) {
                    match option.as_str() {
                        "close" => close = true,
                        "keep-alive" if version == "HTTP/1.0" => close = false,
                        _ => {}
                    }
                }
            }
            "content-length" if value != "0" => body = true,
            "transfer-encoding" => body = true,
            _ => {}
        }
    }
    let [host] = hosts[..] else {
        return Err(Ended::With(400));
    };
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        host: host.to_string(),
        // A body is never read: the connection ends after the reply instead.
        close: close || body,
    })
}

/// One client's connection: its socket and what it sent past the last head.
pub(super) struct Connection {
    pub(super) stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub(super) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    /// The next request's head, within the head timeout and the size limits.
    pub(super) fn next_head(&mut self, limits: &Limits) -> Result<Vec<u8>, Ended> {
        let deadline = Instant::now() + limits.head_timeout;
        let mut chunk = [0u8; 8 << 10];
        loop {
            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            let blank = self
                .buffer
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.buffer.drain(..blank);
            if let Some(end) = head_end(&self.buffer) {
                if let Some(status) = over_limits(&self.buffer[..end], limits) {
                    return Err(Ended::With(status));
                }
                return Ok(self.buffer.drain(..end).collect());
            }
            if let Some(status) = over_limits(&self.buffer, limits) {
                return Err(Ended::With(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(if self.buffer.is_empty() {
                    Ended::Quietly
                } else {
                    Ended::With(408)
                });
            }
            if self.stream.set_read_timeout(Some(left)).is_err() {
                return Err(Ended::Quietly);
            }
            // Never more than one byte past the size limit.
            let room = (limits.head_bytes + 1).saturating_sub(self.buffer.len());
            let room = room.clamp(1, chunk.len());
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => return Err(Ended::Quietly),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(err)
                    if matches!(
                        err.kind(),
                        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(_) => return Err(Ended::Quietly),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::LinkRules;

    fn defaults() -> Limits {
        Limits::for_links(&LinkRules {
            is_embed: |_| false,
            max_link_bytes: 8192,
        })
    }

    #[test]
    fn heads_end_at_their_first_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: a\n\nx"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn limits_name_the_part_that_is_too_large() {
        let limits = Limits {
            request_line_bytes: 20,
            head_bytes: 64,
            headers: 2,
            ..defaults()
        };
        assert_eq!(over_limits(b"GET / HTTP/1.1\r\nA: b\r\n", &limits), None);
        assert_eq!(over_limits(&[b'a'; 21], &limits), Some(414));
        assert_eq!(
            over_limits(b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n", &limits),
            Some(414)
        );
        assert_eq!(
            over_limits(b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\n\r\n", &limits),
            None
        );
        assert_eq!(
            over_limits(b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\nC: d\r\n\r\n", &limits),
            Some(431)
        );
        let long = format!("GET / HTTP/1.1\r\nA: {}\r\n", "b".repeat(60));
        assert_eq!(over_limits(long.as_bytes(), &limits), Some(431));
    }

    #[test]
    fn requests_are_read_strictly() {
        let limits = defaults();
        let read = |head: &str| parse(head.as_bytes(), &limits);
        let request = read("GET /x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n").unwrap();
        assert_eq!(
            (
                request.method.as_str(),
                request.target.as_str(),
                request.host.as_str()
            ),
            ("GET", "/x?a=1", "127.0.0.1:80")
        );
        assert!(!request.close);
        for (head, status) in [
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET / FTP\r\nHost: a\r\n\r\n", 400),
        ] {
            assert_eq!(read(head).unwrap_err(), Ended::With(status), "{head:?}");
        }
        let closes = |head: &str| read(head).unwrap().close;
        assert!(closes("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
        assert!(!closes(
            "GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n"
        ));
        assert!(closes(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(closes(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
        ));
        assert!(closes(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(!closes(
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(closes(
            "GET / HTTP/1.0\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n"
        ));
    }
}
