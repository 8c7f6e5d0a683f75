//! HTTP/1.1 for `histinit serve` on `std::net`: GET and HEAD of static files, nothing
//! more. Each connection gets its own thread (a browser loads a page over several
//! kept-alive connections at once, and every one must be answered), up to
//! [`Limits::connections`]; one more is answered 503 and closed at once.
//!
//! What a client can make a connection hold is bounded ([`Limits`]): its request heads
//! (size and time, see [`super::request`]), and its replies: a client that takes longer
//! than `write_timeout` to accept a piece of a reply (the head with a small body, or 64
//! KiB of a file) is dropped. Requests carry no body here: one that announces a body is
//! answered and its connection closed, so its bytes are never read as a request.
//!
//! Every reply, refusals included, goes through [`write_reply`], which adds the headers
//! every reply carries: the Content-Security-Policy the reply names (the framing rule's), `nosniff`,
//! `Cross-Origin-Resource-Policy` and `Cache-Control`.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::request::{parse, Connection, Ended, Request};
use super::{Limits, CONTENT_SECURITY_POLICY, CROSS_ORIGIN_RESOURCE_POLICY};

/// A reply's body.
pub enum Body {
    Text(&'static str),
    Bytes(Vec<u8>),
    /// `length` bytes of an open file, streamed.
    File {
        file: std::fs::File,
        length: u64,
    },
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Text(text) => text.len() as u64,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File { length, .. } => *length,
        }
    }
}

/// What a request gets, less the headers every reply carries.
pub struct Reply {
    status: u16,
    content_type: &'static str,
    body: Body,
    /// Its Content-Security-Policy ([`CONTENT_SECURITY_POLICY`] unless set).
    policy: &'static str,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: Body) -> Self {
        Self {
            status,
            content_type,
            body,
            policy: CONTENT_SECURITY_POLICY,
        }
    }

    /// This reply with another Content-Security-Policy (the framing rule's).
    pub fn with_policy(self, policy: &'static str) -> Self {
        Self { policy, ..self }
    }

    /// A short plain-text reply (a refusal).
    pub fn text(status: u16, text: &'static str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", Body::Text(text))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Internal Server Error",
    }
}

/// The refusal for a head that could not be read as a request.
fn refusal(status: u16) -> Reply {
    Reply::text(
        status,
        match status {
            408 => "the request took too long to arrive",
            414 => "request line too long",
            431 => "request headers too large or too many",
            505 => "only HTTP/1.0 and HTTP/1.1",
            _ => "malformed request",
        },
    )
}

/// Writes all of `bytes` within `timeout`, or fails. A deadline for the whole write, not
/// for each call: a client that reads a few bytes now and then (or whose kernel frees a
/// little buffer space now and then) would otherwise hold the connection forever.
fn write_within(stream: &mut TcpStream, mut bytes: &[u8], timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Writes `reply`, with the headers every reply carries; its
/// body only when `with_body` (not for HEAD). Fails when the client is gone, when a
/// write (the head with a small body, or one 64 KiB piece of a file) takes longer than
/// `timeout` (a client that stopped reading), and when a file ends before its length.
fn write_reply(
    stream: &mut TcpStream,
    reply: Reply,
    with_body: bool,
    close: bool,
    timeout: Duration,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {}\r\nX-Content-Type-Options: nosniff\r\n\
         Cross-Origin-Resource-Policy: {CROSS_ORIGIN_RESOURCE_POLICY}\r\n\
         Cache-Control: no-cache\r\nConnection: {}\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len(),
        reply.policy,
        if close { "close" } else { "keep-alive" },
    );
    match reply.status {
        405 => head.push_str("Allow: GET, HEAD\r\n"),
        503 => head.push_str("Retry-After: 1\r\n"),
        _ => {}
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    match reply.body {
        _ if !with_body => write_within(stream, &out, timeout),
        Body::Text(text) => {
            out.extend_from_slice(text.as_bytes());
            write_within(stream, &out, timeout)
        }
        Body::Bytes(bytes) => {
            out.extend_from_slice(&bytes);
            write_within(stream, &out, timeout)
        }
        Body::File { file, length } => {
            write_within(stream, &out, timeout)?;
            // A plain loop (no sendfile), so that every piece has its deadline.
            let mut file = file.take(length);
            let mut chunk = vec![0u8; 64 << 10];
            let mut sent = 0u64;
            loop {
                let n = match file.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err),
                };
                write_within(stream, &chunk[..n], timeout)?;
                sent += n as u64;
            }
            if sent < length {
                // The file shrank: the length already sent cannot be met.
                return Err(ErrorKind::UnexpectedEof.into());
            }
            Ok(())
        }
    }
}

impl Connection {
    /// Ends the connection after its last reply without losing the reply: closing a
    /// socket with unread bytes (a refused head's rest, a body) resets it, and a reset
    /// can discard the reply before the client reads it. So the write side is shut, and
    /// what the client still sends is read and dropped for a moment (bounded in time and
    /// bytes) before closing.
    fn linger(mut self, limits: &Limits) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let until = Instant::now() + limits.head_timeout.min(Duration::from_secs(1));
        let mut chunk = [0u8; 8 << 10];
        let mut left = 1usize << 20;
        while left > 0 {
            let wait = until.saturating_duration_since(Instant::now());
            if wait.is_zero() || self.stream.set_read_timeout(Some(wait)).is_err() {
                break;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => left = left.saturating_sub(n),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

/// Answers the requests of one connection until it closes, breaks a limit, asks to
/// close, or has made [`Limits::requests_per_connection`] requests.
fn serve_connection(stream: TcpStream, limits: &Limits, answer: &dyn Fn(&Request) -> Reply) {
    // Small replies go out in one write; no waiting for the client's acknowledgement.
    let _ = stream.set_nodelay(true);
    let mut connection = Connection::new(stream);
    for served in 1..=limits.requests_per_connection.max(1) {
        let request = connection
            .next_head(limits)
            .and_then(|head| parse(&head, limits));
        let request = match request {
            Ok(request) => request,
            Err(Ended::Quietly) => return,
            Err(Ended::With(status)) => {
                let refused = refusal(status);
                let written = write_reply(
                    &mut connection.stream,
                    refused,
                    true,
                    true,
                    limits.write_timeout,
                );
                if written.is_ok() {
                    connection.linger(limits);
                }
                return;
            }
        };
        let close = request.close || served == limits.requests_per_connection;
        let reply = answer(&request);
        let with_body = request.method != "HEAD";
        let written = write_reply(
            &mut connection.stream,
            reply,
            with_body,
            close,
            limits.write_timeout,
        );
        if written.is_err() {
            return;
        }
        if close {
            connection.linger(limits);
            return;
        }
    }
}

/// Frees a connection's place when its thread ends, however it ends.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection beyond the limit with 503 and closes it, without waiting for
/// it: what it already sent is read first (so that closing does not reset it), the
/// reply fits the socket's empty send buffer.
fn turn_away(mut stream: TcpStream) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut chunk = [0u8; 8 << 10];
    for _ in 0..8 {
        if !matches!(stream.read(&mut chunk), Ok(n) if n > 0) {
            break;
        }
    }
    let reply = Reply::text(503, "too many connections; try again");
    // The socket is non-blocking: these few bytes go out at once or not at all.
    let _ = write_reply(&mut stream, reply, true, true, Duration::from_secs(1));
    let _ = stream.shutdown(Shutdown::Write);
}

/// Accepts connections on `listener` until the process ends, each on its own thread
/// while fewer than [`Limits::connections`] are open.
pub fn accept(
    listener: &TcpListener,
    limits: Limits,
    answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) {
    let limits = Arc::new(limits);
    let answer = Arc::new(answer);
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors, say: let connections close before the next try.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        // Only this thread adds, so the count cannot pass the limit.
        if open.load(Ordering::SeqCst) >= limits.connections {
            turn_away(stream);
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let place = Place(Arc::clone(&open));
        let (limits, answer) = (Arc::clone(&limits), Arc::clone(&answer));
        // If the thread cannot start, the closure (the place and the stream) is
        // dropped: the connection closes and its place is freed.
        let _ = std::thread::Builder::new()
            .name("serve-connection".into())
            .spawn(move || {
                let _place = place;
                serve_connection(stream, &limits, &*answer);
            });
    }
}
