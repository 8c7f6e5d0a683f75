//! `histinit serve` as a process on a free port: symlinks out of the root, foreign `Host`
//! headers, and slow clients that must not block other requests. Every client has a
//! timeout; the server is killed when its test ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `histinit serve --port 0` on `root`, killed on drop.
struct Server {
    child: Child,
    port: u16,
    /// Kept open: the server prints a second line, and a closed pipe would end it.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(root: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_histinit"))
            .args(["serve", "--port", "0", "--dir"])
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // "serving http://127.0.0.1:PORT/ (files from ...)"
        let port = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no address in '{line}'"));
        Server {
            child,
            port,
            _stdout: stdout,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// GET `path` with `Host: host`; the status and the body.
    fn get(&self, path: &str, host: &str) -> (u16, Vec<u8>) {
        let mut stream = self.connect();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .unwrap_or_else(|e| panic!("GET {path}: no complete answer: {e}"));
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header block");
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        (status, response[split + 4..].to_vec())
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn site(name: &str) -> (PathBuf, PathBuf) {
    let base = temp_dir(name);
    let (root, outside) = (base.join("root"), base.join("outside"));
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("index.html"), "<p>index</p>").unwrap();
    std::fs::write(root.join("www/app.js"), "let x = 1;").unwrap();
    std::fs::write(outside.join("secret.txt"), "SECRET").unwrap();
    (root, outside)
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_refused() {
    use std::os::unix::fs::symlink;
    let (root, outside) = site("symlinks");
    symlink(outside.join("secret.txt"), root.join("leak.txt")).unwrap();
    symlink(&outside, root.join("www/out")).unwrap();
    symlink(root.join("www/app.js"), root.join("alias.js")).unwrap();
    let server = Server::start(&root);
    let host = server.host();
    assert_eq!(server.get("/", &host), (200, b"<p>index</p>".to_vec()));
    // A symlink that stays inside the root is followed.
    assert_eq!(
        server.get("/alias.js", &host),
        (200, b"let x = 1;".to_vec())
    );
    for path in [
        "/leak.txt",
        "/www/out/secret.txt",
        "/www/../../outside/secret.txt",
    ] {
        let (status, body) = server.get(path, &host);
        assert!(matches!(status, 403 | 404), "{path}: {status}");
        assert!(!String::from_utf8_lossy(&body).contains("SECRET"), "{path}");
    }
    assert_eq!(server.get("/leak.txt", &host).0, 403);
}

#[test]
fn foreign_host_headers_are_refused() {
    let (root, _) = site("host");
    let server = Server::start(&root);
    let port = server.port;
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(server.get("/www/app.js", &host).0, 200, "{host}");
    }
    // DNS rebinding: a page from another site reaching 127.0.0.1 under its own name.
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let (status, body) = server.get("/www/app.js", &host);
        assert_eq!(status, 421, "{host}");
        assert!(!String::from_utf8_lossy(&body).contains("let x"), "{host}");
    }
}
