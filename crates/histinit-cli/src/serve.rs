//! `histinit serve`: the playground as plain static files, from 127.0.0.1 only, with a
//! Content-Security-Policy that allows no inline script (WebAssembly compilation is
//! allowed with 'wasm-unsafe-eval', the one thing a wasm-bindgen page needs) and lets no
//! other site frame the page, except an embed link (`embed=1`), which is made for it.
//!
//! Only files inside the served folder are sent: a request path is checked by its
//! components (no `..`, no hidden names such as `.git`), then canonicalized (symlinks
//! resolved) and must still lie inside the canonical folder (403 otherwise). Requests
//! whose `Host` is not 127.0.0.1, localhost or [::1] with the server's port are refused
//! with 421, so a page on another site cannot read the repository (`out/` included) by
//! pointing its own name at 127.0.0.1 (DNS rebinding). Requests are answered by a few
//! threads; files beyond 8 MiB are streamed from disk. Each connection is read on its
//! own thread (tiny_http's pool, patched so that a browser's parallel connections are
//! all taken up: patches/README.md).

use std::path::{Component, Path, PathBuf};

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

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

/// The policy of every reply but an embed link's (and of `_headers` in the published
/// site, see `site.rs`): no page may show it in a frame (a full page inside someone
/// else's is how clicks get stolen).
pub const CONTENT_SECURITY_POLICY: &str = concat!(meta_policy!(), "; frame-ancestors 'none'");

/// The policy of an embed link (`embed=1`, the compact layout made to sit in an
/// iframe of a teacher's page): any page may frame it.
pub const EMBED_CONTENT_SECURITY_POLICY: &str = concat!(meta_policy!(), "; frame-ancestors *");

/// The same policy for a `<meta http-equiv="Content-Security-Policy">` element, which
/// static hosts that send no headers of the site's choosing (GitHub Pages) still apply:
/// without `frame-ancestors`, which browsers ignore there (with a console error).
pub const META_POLICY: &str = meta_policy!();

/// The policy for a request to `url`: framing is allowed only for an embed link, as the
/// page's own link reader reads it.
pub fn policy_for(url: &str) -> &'static str {
    let embed = url.contains('?') && histinit_core::link::PageLink::read(url).view.embed;
    if embed {
        EMBED_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    }
}

/// Threads answering requests: a client slow to read a large file holds only one.
const WORKERS: usize = 4;

/// Files up to this size are read whole and sent with their length; larger ones are
/// streamed from disk.
const IN_MEMORY_BYTES: u64 = 8 << 20;

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
    #[error("cannot listen on 127.0.0.1:{port}: {reason} (try another --port)")]
    Bind { port: u16, reason: String },
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

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

/// What a request gets. Each kind is sent as its own concrete tiny_http response: a
/// boxed response (one type for all) left some of a page's module requests unanswered
/// on a fresh browser profile's first load.
enum Reply {
    Text(u16, &'static str),
    /// A file small enough to send from memory, with its type.
    Bytes(Vec<u8>, &'static str),
    /// A large file (the wasm module), streamed from disk.
    Stream(std::fs::File, &'static str),
}

/// The reply to one request.
fn reply_to(root: &Path, port: u16, request: &Request) -> Reply {
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str());
    if !host_allowed(host, port) {
        return Reply::Text(
            421,
            "this server answers only to 127.0.0.1, localhost and [::1] with its port",
        );
    }
    if !matches!(request.method(), Method::Get | Method::Head) {
        return Reply::Text(405, "only GET");
    }
    let real = match locate(root, request.url()) {
        Ok(real) => real,
        Err(Refusal::Outside) => return Reply::Text(403, "forbidden"),
        Err(Refusal::NotFound) => return Reply::Text(404, "not found"),
    };
    // The type follows the name asked for (a symlink's target may be named otherwise).
    let kind = content_type(&resolve(root, request.url()).unwrap_or_else(|| real.clone()));
    let Ok(file) = std::fs::File::open(&real) else {
        return Reply::Text(500, "cannot read");
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if length > IN_MEMORY_BYTES {
        return Reply::Stream(file, kind);
    }
    match std::fs::read(&real) {
        Ok(bytes) => Reply::Bytes(bytes, kind),
        Err(_) => Reply::Text(500, "cannot read"),
    }
}

fn answer(root: &Path, port: u16, request: Request) {
    let common = [
        header("Content-Security-Policy", policy_for(request.url())),
        header("X-Content-Type-Options", "nosniff"),
        header("Cache-Control", "no-cache"),
    ];
    // A client that went away is not the server's problem.
    let _ = match reply_to(root, port, &request) {
        Reply::Text(status, body) => {
            let mut response = Response::from_string(body).with_status_code(StatusCode(status));
            for h in common {
                response.add_header(h);
            }
            request.respond(response)
        }
        Reply::Bytes(bytes, kind) => {
            let mut response = Response::from_data(bytes).with_header(header("Content-Type", kind));
            for h in common {
                response.add_header(h);
            }
            request.respond(response)
        }
        Reply::Stream(file, kind) => {
            let mut response = Response::from_file(file).with_header(header("Content-Type", kind));
            for h in common {
                response.add_header(h);
            }
            request.respond(response)
        }
    };
}

/// The playground's server, bound and not yet answering.
pub struct Playground {
    server: Server,
    root: PathBuf,
    port: u16,
}

impl Playground {
    /// Binds 127.0.0.1:`port` (0 picks a free port) to serve `dir`.
    pub fn bind(dir: &Path, port: u16) -> Result<Self, ServeError> {
        if !dir.join("index.html").is_file() {
            return Err(ServeError::NoIndex { dir: dir.into() });
        }
        let root = dir.canonicalize().map_err(|source| ServeError::Dir {
            dir: dir.into(),
            source,
        })?;
        let server = Server::http(("127.0.0.1", port)).map_err(|err| ServeError::Bind {
            port,
            reason: err.to_string(),
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .unwrap_or(port);
        Ok(Self { server, root, port })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Answers requests from [`WORKERS`] threads until the process ends.
    pub fn run(self) {
        let Self { server, root, port } = self;
        let (server, root) = (&server, &root);
        std::thread::scope(|scope| {
            for _ in 0..WORKERS {
                scope.spawn(move || {
                    for request in server.incoming_requests() {
                        answer(root, port, request);
                    }
                });
            }
        });
    }
}

/// Serves `dir` on 127.0.0.1:`port` until killed (`port` 0 picks a free port).
pub fn serve(dir: &Path, port: u16) -> Result<(), ServeError> {
    let playground = Playground::bind(dir, port)?;
    println!(
        "serving {} (files from {})",
        playground.url(),
        dir.display()
    );
    println!("open that URL in a browser with WebGPU (Chrome, Edge); Ctrl-C stops");
    playground.run();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_root() {
        let root = Path::new("/srv/site");
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(root, "/www/pkg/histinit_web_bg.wasm?v=1"),
            Some(root.join("www/pkg/histinit_web_bg.wasm"))
        );
        for bad in [
            "/../etc/passwd",
            "/www/../../x",
            "/.git/config",
            "//etc/passwd",
            "/a\\..\\b",
            "noslash",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts_must_name_this_server_on_loopback() {
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LocalHost:8000",
            "[::1]:8000",
        ] {
            assert!(host_allowed(Some(ok), 8000), "{ok}");
        }
        for bad in [
            "evil.example:8000",
            "127.0.0.1:8001",
            "127.0.0.1",
            "localhost.evil.example:8000",
            "127.0.0.2:8000",
            "",
        ] {
            assert!(!host_allowed(Some(bad), 8000), "{bad}");
        }
        assert!(!host_allowed(None, 8000));
        assert!(host_allowed(Some("localhost"), 80));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_cannot_lead_out_of_the_root() {
        use std::os::unix::fs::symlink;
        let base =
            std::env::temp_dir().join(format!("histinit-serve-locate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("index.html"), "index").unwrap();
        std::fs::write(root.join(".git/config"), "secret").unwrap();
        std::fs::write(outside.join("secret.txt"), "secret").unwrap();
        symlink(outside.join("secret.txt"), root.join("leak.txt")).unwrap();
        symlink(&outside, root.join("www/out")).unwrap();
        symlink(root.join(".git/config"), root.join("config.txt")).unwrap();
        symlink(root.join("index.html"), root.join("www/alias.html")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(locate(&root, "/"), Ok(root.join("index.html")));
        // A symlink that stays inside is followed.
        assert_eq!(
            locate(&root, "/www/alias.html"),
            Ok(root.join("index.html"))
        );
        assert_eq!(locate(&root, "/leak.txt"), Err(Refusal::Outside));
        assert_eq!(locate(&root, "/www/out/secret.txt"), Err(Refusal::Outside));
        assert_eq!(locate(&root, "/config.txt"), Err(Refusal::Outside));
        assert_eq!(locate(&root, "/www"), Err(Refusal::NotFound));
        assert_eq!(locate(&root, "/missing.js"), Err(Refusal::NotFound));
        assert_eq!(
            locate(&root, "/../outside/secret.txt"),
            Err(Refusal::NotFound)
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn wasm_is_served_as_wasm_and_scripts_need_no_inline() {
        assert_eq!(content_type(Path::new("x/y_bg.wasm")), "application/wasm");
        assert!(content_type(Path::new("app.js")).starts_with("text/javascript"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(CONTENT_SECURITY_POLICY.contains("connect-src 'self' https:;"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http:"));
        // The meta form is the header less what a <meta> element cannot carry.
        assert_eq!(
            CONTENT_SECURITY_POLICY,
            format!("{META_POLICY}; frame-ancestors 'none'")
        );
        assert!(!META_POLICY.contains("frame-ancestors") && !META_POLICY.contains('"'));
    }

    #[test]
    fn only_an_embed_link_may_be_framed() {
        assert!(CONTENT_SECURITY_POLICY.ends_with("frame-ancestors 'none'"));
        assert!(EMBED_CONTENT_SECURITY_POLICY.ends_with("frame-ancestors *"));
        // Everything else is the same policy.
        assert_eq!(
            CONTENT_SECURITY_POLICY.replace("'none'", ""),
            EMBED_CONTENT_SECURITY_POLICY
                .replace("frame-ancestors *", "frame-ancestors ")
                .replace("'none'", "")
        );
        for url in [
            "/",
            "/index.html",
            "/?preset=nano&hide=lr",
            "/?embed=0",
            "/?embed=yes",
            "/www/app.js",
            "/embed=1",
        ] {
            assert_eq!(policy_for(url), CONTENT_SECURITY_POLICY, "{url}");
        }
        for url in [
            "/?embed=1",
            "/index.html?preset=nano&lr=0.01&hide=lr&embed=1",
        ] {
            assert_eq!(policy_for(url), EMBED_CONTENT_SECURITY_POLICY, "{url}");
        }
    }

    /// A browser opens several connections at once and keeps them alive. Unpatched,
    /// tiny_http's pool queued some of them behind the open ones, unanswered until one
    /// closed (a page load that never finished).
    #[test]
    fn parallel_keep_alive_connections_are_all_answered() {
        use std::io::{Read, Write};
        use std::net::TcpStream;
        use std::time::Duration;
        let dir =
            std::env::temp_dir().join(format!("histinit-serve-parallel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "index").unwrap();
        let playground = Playground::bind(&dir, 0).unwrap();
        let port = playground.port;
        std::thread::spawn(move || playground.run());
        for round in 0..5 {
            let mut connections: Vec<TcpStream> = (0..24)
                .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
                .collect();
            for connection in &mut connections {
                let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
                connection.write_all(request.as_bytes()).unwrap();
            }
            let mut unanswered = 0;
            for connection in &mut connections {
                connection
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut head = [0u8; 12];
                let answered = connection.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200";
                unanswered += usize::from(!answered);
            }
            assert_eq!(
                unanswered, 0,
                "round {round}: {unanswered} of 24 connections unanswered"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A client that asks for a large file and does not read it holds one worker; the
    /// others go on answering.
    #[test]
    fn a_slow_client_does_not_hold_up_the_others() {
        use std::io::{Read, Write};
        use std::net::TcpStream;
        use std::time::Duration;
        let dir = std::env::temp_dir().join(format!("histinit-serve-slow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "index").unwrap();
        // Streamed (beyond IN_MEMORY_BYTES) and far beyond what socket buffers hold.
        std::fs::write(dir.join("big.bin"), vec![7u8; 64 << 20]).unwrap();
        let playground = Playground::bind(&dir, 0).unwrap();
        let port = playground.port;
        std::thread::spawn(move || playground.run());
        let request = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.write_all(request("/big.bin").as_bytes()).unwrap();
        let mut head = [0u8; 12];
        slow.read_exact(&mut head).unwrap(); // the big file is being sent, and not read
        assert_eq!(&head, b"HTTP/1.1 200");
        for _ in 0..3 {
            let mut other = TcpStream::connect(("127.0.0.1", port)).unwrap();
            other
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            other.write_all(request("/").as_bytes()).unwrap();
            let mut head = [0u8; 12];
            other
                .read_exact(&mut head)
                .expect("answered while the slow client holds a worker");
            assert_eq!(&head, b"HTTP/1.1 200");
        }
        drop(slow);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
