//! `histinit serve`: the playground as plain static files, from 127.0.0.1 only, with a
//! Content-Security-Policy that allows no inline script (WebAssembly compilation is
//! allowed with 'wasm-unsafe-eval', the one thing a wasm-bindgen page needs) and lets no
//! other site frame anything but the page itself on an embed link (`embed=1`).
//!
//! Only files inside the served folder are sent: a request path is checked by its
//! components (no `..`, no hidden names such as `.git`), then canonicalized (symlinks
//! resolved) and must still lie inside the canonical folder (403 otherwise). Requests
//! whose `Host` is not 127.0.0.1, localhost or [::1] with the server's port are refused
//! with 421, so a page on another site cannot read the repository (`out/` included) by
//! pointing its own name at 127.0.0.1 (DNS rebinding). Files beyond 8 MiB are streamed
//! from disk.
//!
//! The HTTP side ([`http`] and [`request`], on `std::net` only) gives each connection its
//! own thread, up to [`Limits::connections`], and bounds what a client can make it hold:
//! the size of a request's head, the time it may take to arrive, and the time a reply
//! may wait for a client that stopped reading.

mod http;
mod request;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use http::{Body, Reply};
use request::Request;

/// The policy's directives that a `<meta http-equiv>` element can carry, as a literal so
/// that the header forms below can extend it with `concat!`.
///
/// `connect-src 'self' https:`: the page's own files, and a histogram URL a reader gave
/// (any https server; the page fetches it only after the reader saw its host and size and
/// pressed Fetch). No `http:`: nothing the page offers needs plain http elsewhere.
macro_rules! meta_policy {
    () => {
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self' https:; \
object-src 'none'; base-uri 'none'; form-action 'none'"
    };
}

/// The policy of every reply but the page's on an embed link: no page may show it in a
/// frame (a full page inside someone else's is how clicks get stolen).
pub const CONTENT_SECURITY_POLICY: &str = concat!(meta_policy!(), "; frame-ancestors 'none'");

/// The policy of the page itself on an embed link (`embed=1`, the compact layout made to
/// sit in an iframe of a teacher's page): any page may frame it.
pub const EMBED_CONTENT_SECURITY_POLICY: &str = concat!(meta_policy!(), "; frame-ancestors *");

/// The same policy for a `<meta http-equiv="Content-Security-Policy">` element, which
/// static hosts that send no headers of the site's choosing (GitHub Pages) still apply:
/// without `frame-ancestors`, which browsers ignore there (with a console error).
pub const META_POLICY: &str = meta_policy!();

/// Sent with every reply: no other site may load these files as a subresource (an
/// `<img>` or `<script>` of theirs reading the bytes). Frames are navigations, which it
/// does not govern, unless the framing page sets `Cross-Origin-Embedder-Policy`.
pub const CROSS_ORIGIN_RESOURCE_POLICY: &str = "same-origin";

/// The request paths of the page itself: the only ones an embed link may frame.
pub const PAGE_PATHS: [&str; 2] = ["/", "/index.html"];

/// The framing rule, stated once: the page itself (a path in [`PAGE_PATHS`]) may be
/// framed when the query is an embed link, as the page's own link reader reads it;
/// nothing else ever. `serve` applies it to every request ([`policy_for`]); `_headers`
/// in the published site applies it as far as a rule that sees only the path can
/// ([`policy_for_path`]); the page applies it itself where no header does (GitHub
/// Pages, or `_headers` on a non-embed link): framed without `embed=1`, as the module's
/// link reader reads it, it does not run (`refusedFrame` in `www/app.js`).
fn frameable(target: &str, links: &LinkRules) -> bool {
    let target = target.split('#').next().unwrap_or("");
    // The whole target goes to the reader: a query may hold a second '?' (a lesson's).
    target
        .split_once('?')
        .is_some_and(|(path, _)| PAGE_PATHS.contains(&path) && (links.is_embed)(target))
}

/// What the server needs to know of the page's links, which histinit-core reads (this
/// crate does not depend on it): whether a link (a request target with its query) asks
/// for the embedded layout, and how long a link may be. `histinit serve` passes
/// `histinit_studies::playground::LINK_RULES`.
#[derive(Debug, Clone, Copy)]
pub struct LinkRules {
    /// Whether the link's `embed` key is on, as the page's own link reader reads it.
    pub is_embed: fn(&str) -> bool,
    /// The longest link the page reads, in bytes.
    pub max_link_bytes: usize,
}

/// The policy for a request to `target` (path and query): see [`frameable`].
pub fn policy_for(target: &str, links: &LinkRules) -> &'static str {
    if frameable(target, links) {
        EMBED_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    }
}

/// The policy for `path` where the query cannot be seen (a static host's `_headers`
/// rule): the page itself gets the embed policy, whatever its query, since an embed
/// link must work there; everything else [`CONTENT_SECURITY_POLICY`].
pub fn policy_for_path(path: &str) -> &'static str {
    if PAGE_PATHS.contains(&path) {
        EMBED_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    }
}

/// Files up to this size are read whole and sent with their length; larger ones are
/// streamed from disk.
const IN_MEMORY_BYTES: u64 = 8 << 20;

/// What one client can make the server hold. The defaults fit a browser loading the
/// page; tests use short timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once, each on its own thread; one more is answered 503 and
    /// closed. A browser opens about six per page.
    pub connections: usize,
    /// How long a request's head (request line and headers) may take to arrive, counted
    /// from the connection's start or the end of the previous reply; a kept-alive
    /// connection idle this long is closed, one that sent part of a head gets 408.
    pub head_timeout: Duration,
    /// How long the client may take to accept one piece of a reply (the head with a
    /// small body, or 64 KiB of a file): a client that stops reading a large file is
    /// dropped after this, one that reads a byte now and then too.
    pub write_timeout: Duration,
    /// The longest request line (414 beyond): a link of the longest length the page
    /// reads, with room for the path.
    pub request_line_bytes: usize,
    /// The largest head, request line and headers together (431 beyond).
    pub head_bytes: usize,
    /// The most header fields in a request (431 beyond).
    pub headers: usize,
    /// Requests on one kept-alive connection; the last reply says `Connection: close`.
    pub requests_per_connection: usize,
}

impl Limits {
    /// The defaults, for a page whose links are up to `links.max_link_bytes` long.
    pub fn for_links(links: &LinkRules) -> Self {
        Self {
            connections: 64,
            head_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            request_line_bytes: links.max_link_bytes + 4096,
            head_bytes: 64 << 10,
            headers: 100,
            requests_per_connection: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot serve {dir}: it has no index.html (run from the repository root or pass --dir)"
    )]
    NoIndex { dir: PathBuf },
    #[error("cannot serve {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on 127.0.0.1:{port}: {source} (try another --port)")]
    Bind { port: u16, source: std::io::Error },
}

/// The content type of a served file, from its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" | "md" | "csv" => "text/plain; charset=utf-8",
        // .json.gz and .safetensors are fetched as bytes and decoded by the page.
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `root`, refusing anything that could leave it
/// (`..`, absolute paths, backslashes, hidden files such as .git). Symlinks are not
/// looked at here: [`locate`] does that on the disk.
pub fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.strip_prefix('/')?;
    let path = if path.is_empty() { "index.html" } else { path };
    if path.contains('\\') || path.contains('\0') {
        return None;
    }
    let relative = Path::new(path);
    let safe = relative.components().all(|component| match component {
        Component::Normal(part) => !part.to_string_lossy().starts_with('.'),
        _ => false,
    });
    safe.then(|| root.join(relative))
}

/// Why a request path is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such file (or a directory, or a path [`resolve`] refuses).
    NotFound,
    /// The path leads out of the root, or into a hidden file, through a symlink.
    Outside,
}

/// The file a request path names on disk: [`resolve`], then canonicalized (symlinks
/// followed) and required to stay inside `root` (itself canonical) and out of hidden
/// names. Returns the canonical path.
pub fn locate(root: &Path, url: &str) -> Result<PathBuf, Refusal> {
    let path = resolve(root, url).ok_or(Refusal::NotFound)?;
    let real = path.canonicalize().map_err(|_| Refusal::NotFound)?;
    let inside = real.strip_prefix(root).map_err(|_| Refusal::Outside)?;
    let hidden = inside
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
    if hidden {
        return Err(Refusal::Outside);
    }
    if !real.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(real)
}

/// Whether a request's `Host` names this server on the loopback interface:
/// 127.0.0.1, localhost or [::1], with `port` (which may be left out when it is 80).
pub fn host_allowed(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}") || (port == 80 && host == *name))
}

/// The reply to one well-formed request (the HTTP side answers malformed ones), with
/// the framing rule's policy for its target ([`policy_for`]).
fn reply_to(root: &Path, port: u16, links: &LinkRules, request: &Request) -> Reply {
    answer(root, port, request).with_policy(policy_for(&request.target, links))
}

fn answer(root: &Path, port: u16, request: &Request) -> Reply {
    if !host_allowed(Some(&request.host), port) {
        return Reply::text(
            421,
            "this server answers only to 127.0.0.1, localhost and [::1] with its port",
        );
    }
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Reply::text(405, "only GET and HEAD");
    }
    let real = match locate(root, &request.target) {
        Ok(real) => real,
        Err(Refusal::Outside) => return Reply::text(403, "forbidden"),
        Err(Refusal::NotFound) => return Reply::text(404, "not found"),
    };
    // The type follows the name asked for (a symlink's target may be named otherwise).
    let kind = content_type(&resolve(root, &request.target).unwrap_or_else(|| real.clone()));
    let Ok(mut file) = std::fs::File::open(&real) else {
        return Reply::text(500, "cannot read");
    };
    let Ok(length) = file.metadata().map(|m| m.len()) else {
        return Reply::text(500, "cannot read");
    };
    if length > IN_MEMORY_BYTES {
        return Reply::new(200, kind, Body::File { file, length });
    }
    let mut bytes = Vec::new();
    match file.read_to_end(&mut bytes) {
        Ok(_) => Reply::new(200, kind, Body::Bytes(bytes)),
        Err(_) => Reply::text(500, "cannot read"),
    }
}

/// The playground's server, bound and not yet answering.
pub struct Playground {
    listener: TcpListener,
    root: PathBuf,
    port: u16,
    limits: Limits,
    links: LinkRules,
}

impl Playground {
    /// Binds 127.0.0.1:`port` (0 picks a free port) to serve `dir`.
    pub fn bind(dir: &Path, port: u16, links: LinkRules) -> Result<Self, ServeError> {
        Self::bind_with(dir, port, links, Limits::for_links(&links))
    }

    /// [`Playground::bind`] with other limits.
    pub fn bind_with(
        dir: &Path,
        port: u16,
        links: LinkRules,
        limits: Limits,
    ) -> Result<Self, ServeError> {
        if !dir.join("index.html").is_file() {
            return Err(ServeError::NoIndex { dir: dir.into() });
        }
        let root = dir.canonicalize().map_err(|source| ServeError::Dir {
            dir: dir.into(),
            source,
        })?;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|source| ServeError::Bind { port, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { port, source })?
            .port();
        Ok(Self {
            listener,
            root,
            port,
            limits,
            links,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Answers requests until the process ends.
    pub fn run(self) {
        let Self {
            listener,
            root,
            port,
            limits,
            links,
        } = self;
        http::accept(&listener, limits, move |request| {
            reply_to(&root, port, &links, request)
        });
    }
}

/// Serves `dir` on 127.0.0.1:`port` until killed (`port` 0 picks a free port).
pub fn serve(dir: &Path, port: u16, links: LinkRules) -> Result<(), ServeError> {
    let playground = Playground::bind(dir, port, links)?;
    println!(
        "serving {} (files from {})",
        playground.url(),
        dir.display()
    );
    println!("open that URL in a browser with WebGPU (Chrome, Edge); Ctrl-C stops");
    playground.run();
    Ok(())
}
