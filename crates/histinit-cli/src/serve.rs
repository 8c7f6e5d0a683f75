//! `histinit serve`: the playground as plain static files, from 127.0.0.1 only, with a
//! Content-Security-Policy that allows no inline script (WebAssembly compilation is
//! allowed with 'wasm-unsafe-eval', the one thing a wasm-bindgen page needs).

use std::path::{Component, Path, PathBuf};

use tiny_http::{Header, Method, Response, Server, StatusCode};

/// `connect-src 'self' https:`: the page's own files, and a histogram URL a reader gave
/// (any https server; the page fetches it only after the reader saw its host and size and
/// pressed Fetch). No `http:`: nothing the page offers needs plain http elsewhere.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self' https:; \
object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot serve {dir}: it has no index.html (run from the repository root or pass --dir)"
    )]
    NoIndex { dir: PathBuf },
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
/// (`..`, absolute paths, backslashes, hidden files such as .git).
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

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

/// Serves `dir` on 127.0.0.1:`port` until killed (`port` 0 picks a free port).
pub fn serve(dir: &Path, port: u16) -> Result<(), ServeError> {
    if !dir.join("index.html").is_file() {
        return Err(ServeError::NoIndex { dir: dir.into() });
    }
    let server = Server::http(("127.0.0.1", port)).map_err(|err| ServeError::Bind {
        port,
        reason: err.to_string(),
    })?;
    let address = server
        .server_addr()
        .to_ip()
        .map(|addr| addr.to_string())
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    println!("serving http://{address}/ (files from {})", dir.display());
    println!("open that URL in a browser with WebGPU (Chrome, Edge); Ctrl-C stops");
    for request in server.incoming_requests() {
        let response = if !matches!(request.method(), Method::Get | Method::Head) {
            Response::from_string("only GET").with_status_code(StatusCode(405))
        } else {
            match resolve(dir, request.url()).filter(|path| path.is_file()) {
                Some(path) => match std::fs::read(&path) {
                    Ok(bytes) => Response::from_data(bytes)
                        .with_header(header("Content-Type", content_type(&path))),
                    Err(_) => {
                        Response::from_string("cannot read").with_status_code(StatusCode(500))
                    }
                },
                None => Response::from_string("not found").with_status_code(StatusCode(404)),
            }
        };
        let response = response
            .with_header(header("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            .with_header(header("X-Content-Type-Options", "nosniff"))
            .with_header(header("Cache-Control", "no-cache"));
        // A client that went away is not the server's problem.
        let _ = request.respond(response);
    }
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
    fn wasm_is_served_as_wasm_and_scripts_need_no_inline() {
        assert_eq!(content_type(Path::new("x/y_bg.wasm")), "application/wasm");
        assert!(content_type(Path::new("app.js")).starts_with("text/javascript"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(CONTENT_SECURITY_POLICY.contains("connect-src 'self' https:;"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http:"));
    }
}
