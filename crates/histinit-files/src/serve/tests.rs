//! The policies and path checks, then the server in this process on a free port, with
//! raw sockets as clients: browsers' parallel kept-alive connections, and hostile local
//! clients (endless or slow heads, too many headers, readers that stop) that must not
//! keep a normal client waiting. Timeouts are short here ([`quick`]), so every test
//! ends in a few seconds; every client socket has a read timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

/// A stand-in for the page's link reader (histinit-core's, which this crate does not
/// depend on; `histinit-studies`'s tests check the server's rule with the real one):
/// `embed=1` anywhere in the query.
fn embed_key(target: &str) -> bool {
    target
        .split_once('?')
        .is_some_and(|(_, query)| query.split(['&', '?']).any(|pair| pair == "embed=1"))
}

const LINKS: LinkRules = LinkRules {
    is_embed: embed_key,
    max_link_bytes: 8192,
};

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
        "http://127.0.0.1:8000/index.html",
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
    let base = temp_dir("locate");
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
fn only_the_page_on_an_embed_link_may_be_framed() {
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
        "/embed=1",
        // Any other path, whatever its query: scripts, the module, docs, a 404.
        "/www/app.js?embed=1",
        "/www/pkg/histinit_web_bg.wasm?embed=1",
        "/docs/FINDINGS.html?embed=1",
        "/index.html/?embed=1",
        "//?embed=1",
        "/missing.html?embed=1",
        "",
    ] {
        assert_eq!(policy_for(url, &LINKS), CONTENT_SECURITY_POLICY, "{url}");
    }
    for url in [
        "/?embed=1",
        "/index.html?preset=nano&lr=0.01&hide=lr&embed=1",
        // A '?' inside the query (a lesson's) does not hide the key from the reader.
        "/?lesson=Which%20is%20faster?&embed=1",
    ] {
        assert_eq!(
            policy_for(url, &LINKS),
            EMBED_CONTENT_SECURITY_POLICY,
            "{url}"
        );
    }
    // Where only the path is seen (`_headers`): the page may be framed, nothing else.
    for path in PAGE_PATHS {
        assert_eq!(
            policy_for_path(path),
            EMBED_CONTENT_SECURITY_POLICY,
            "{path}"
        );
    }
    for path in ["/www/app.js", "/docs/FINDINGS.html", "/www/*", "/*"] {
        assert_eq!(policy_for_path(path), CONTENT_SECURITY_POLICY, "{path}");
    }
}

// ---------------------------------------------------------------- the server, in process

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Larger than what the sockets of a stalled client buffer (a few MiB each side on
/// loopback), and beyond [`IN_MEMORY_BYTES`], so streamed.
const BIG: usize = 48 << 20;

/// A served folder: the page, a script and, when `big`, a file of [`BIG`] bytes.
fn site(name: &str, big: bool) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("index.html"), "<p>index</p>").unwrap();
    std::fs::write(dir.join("www/app.js"), "let x = 1;").unwrap();
    if big {
        std::fs::write(dir.join("big.bin"), vec![7u8; BIG]).unwrap();
    }
    dir
}

/// Limits with short timeouts, so that hostile clients are dropped within a test.
fn quick() -> Limits {
    Limits {
        head_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
        ..Limits::for_links(&LINKS)
    }
}

/// Serves `dir` on a free port from a thread; returns the port.
fn start(dir: &Path, limits: Limits) -> u16 {
    let playground = Playground::bind_with(dir, 0, LINKS, limits).unwrap();
    let port = playground.port;
    std::thread::spawn(move || playground.run());
    port
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// One reply as a client reads it.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one reply (its body by `Content-Length`, none for HEAD).
fn read_answer(reader: &mut impl BufRead, head_only: bool) -> std::io::Result<Answer> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("a header line");
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = answer.header("content-length").unwrap().parse().unwrap();
    if !head_only {
        answer.body = vec![0; length];
        reader.read_exact(&mut answer.body)?;
    }
    Ok(answer)
}

fn request(port: u16, target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
}

/// Sends `raw` on a fresh connection and reads one reply.
fn exchange(port: u16, raw: &str) -> Answer {
    let mut stream = connect(port);
    stream.write_all(raw.as_bytes()).unwrap();
    read_answer(&mut BufReader::new(stream), raw.starts_with("HEAD"))
        .unwrap_or_else(|e| panic!("no reply to {raw:?}: {e}"))
}

fn get(port: u16, target: &str) -> Answer {
    exchange(port, &request(port, target))
}

#[test]
fn replies_carry_the_framing_rule_corp_and_their_status() {
    let dir = site("replies", false);
    let port = start(&dir, quick());
    let framing = |answer: &Answer| {
        let policy = answer.header("content-security-policy").unwrap();
        policy.rsplit("; ").next().unwrap().to_string()
    };
    for (target, status, frame) in [
        ("/", 200, "frame-ancestors 'none'"),
        ("/?embed=1", 200, "frame-ancestors *"),
        ("/index.html?preset=nano&embed=1", 200, "frame-ancestors *"),
        ("/www/app.js", 200, "frame-ancestors 'none'"),
        ("/www/app.js?embed=1", 200, "frame-ancestors 'none'"),
        ("/missing.html?embed=1", 404, "frame-ancestors 'none'"),
        ("/.hidden?embed=1", 404, "frame-ancestors 'none'"),
    ] {
        let answer = get(port, target);
        assert_eq!(answer.status, status, "{target}");
        assert_eq!(framing(&answer), frame, "{target}");
    }
    let index = get(port, "/");
    assert_eq!(index.body, b"<p>index</p>");
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(get(port, "/www/app.js")
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));

    let post = exchange(
        port,
        &format!("POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 2\r\n\r\nhi"),
    );
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    assert_eq!(post.header("connection"), Some("close")); // its body is never read
    let foreign = exchange(port, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    assert_eq!(foreign.status, 421);
    let twice = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n");
    assert_eq!(exchange(port, &twice).status, 400);
    let same_twice =
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    assert_eq!(exchange(port, &same_twice).status, 400);
    assert_eq!(exchange(port, "GET / HTTP/1.1\r\n\r\n").status, 400);

    // Every reply, refusals included, carries the headers every reply carries.
    for answer in [index, post, foreign, get(port, "/missing")] {
        assert_eq!(
            answer.header("cross-origin-resource-policy"),
            Some("same-origin"),
            "{}",
            answer.status
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A HEAD reply has the length and no body (the next reply on the connection starts
/// right after its head); two requests sent at once are answered in order; the last
/// request a connection may make is answered with `Connection: close`, then it closes.
#[test]
fn kept_alive_connections_frame_replies_exactly() {
    let dir = site("keepalive", false);
    let port = start(
        &dir,
        Limits {
            requests_per_connection: 3,
            ..quick()
        },
    );
    let mut stream = connect(port);
    let host = format!("127.0.0.1:{port}");
    write!(
        stream,
        "HEAD / HTTP/1.1\r\nHost: {host}\r\n\r\nGET /www/app.js HTTP/1.1\r\nHost: {host}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let head = read_answer(&mut reader, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("12"));
    assert_eq!(head.header("connection"), Some("keep-alive"));
    let script = read_answer(&mut reader, false).unwrap();
    assert_eq!(script.body, b"let x = 1;");
    stream.write_all(request(port, "/").as_bytes()).unwrap();
    let last = read_answer(&mut reader, false).unwrap();
    assert_eq!(
        (last.status, last.header("connection")),
        (200, Some("close"))
    );
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A browser opens several connections at once and keeps them alive; each must be
/// answered while the others stay open (tiny_http's pool, used before, queued some
/// behind the open ones, unanswered until one closed: a page load that never finished).
#[test]
fn parallel_keep_alive_connections_are_all_answered() {
    let dir = site("parallel", false);
    let port = start(&dir, Limits::for_links(&LINKS));
    for round in 0..5 {
        let connections: Vec<TcpStream> = (0..24).map(|_| connect(port)).collect();
        let mut readers: Vec<_> = connections
            .iter()
            .map(|c| BufReader::new(c.try_clone().unwrap()))
            .collect();
        // Three requests on each, every connection kept open throughout.
        for turn in 0..3 {
            for mut connection in &connections {
                connection
                    .write_all(request(port, "/www/app.js").as_bytes())
                    .unwrap();
            }
            let mut unanswered = 0;
            for reader in &mut readers {
                let answered = matches!(read_answer(reader, false), Ok(a) if a.status == 200);
                unanswered += usize::from(!answered);
            }
            assert_eq!(
                unanswered, 0,
                "round {round}, turn {turn}: {unanswered} of 24 connections unanswered"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn oversized_heads_are_refused() {
    let dir = site("oversized", false);
    let port = start(&dir, quick());
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let long_line = format!("GET /?{} HTTP/1.1\r\n{host}\r\n", "a".repeat(20 << 10));
    assert_eq!(exchange(port, &long_line).status, 414);
    let long_header = format!(
        "GET / HTTP/1.1\r\n{host}X: {}\r\n\r\n",
        "a".repeat(100 << 10)
    );
    assert_eq!(exchange(port, &long_header).status, 431);
    let many = format!("GET / HTTP/1.1\r\n{host}{}\r\n", "X: y\r\n".repeat(1000));
    assert_eq!(exchange(port, &many).status, 431);
    // A link of the longest length the page reads still fits.
    let longest = format!("/?lesson={}", "a".repeat(LINKS.max_link_bytes - 8));
    assert_eq!(get(port, &longest).status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a hostile client left running reports when it ends.
struct Hostile {
    name: &'static str,
    thread: std::thread::JoinHandle<Outcome>,
}

#[derive(Debug)]
struct Outcome {
    /// The status the server answered with, if any.
    status: Option<u16>,
    /// Bytes of the body read (the stalled reader's).
    body: usize,
    /// How long after it started the server let it go.
    took: Duration,
}

/// Writes `first`, then `more` again and again (every `pause`) until the server stops
/// it, while another thread reads its reply.
fn hostile_writer(
    name: &'static str,
    port: u16,
    first: String,
    more: &'static [u8],
    pause: Duration,
) -> Hostile {
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut stream = connect(port);
        let reader = stream.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stream.write_all(first.as_bytes());
            // Bounded, in case the server never stops it (the test then fails on time).
            while !more.is_empty() && started.elapsed() < Duration::from_secs(20) {
                if stream.write_all(more).is_err() {
                    break;
                }
                std::thread::sleep(pause);
            }
        });
        let answer = read_answer(&mut BufReader::new(reader), false);
        let took = started.elapsed();
        let _ = writer.join();
        Outcome {
            status: answer.ok().map(|a| a.status),
            body: 0,
            took,
        }
    });
    Hostile { name, thread }
}

/// Asks for the big file, reads its head, then reads nothing for `stall`, then
/// everything that is left.
fn stalled_reader(port: u16, stall: Duration) -> Hostile {
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut stream = connect(port);
        stream
            .write_all(request(port, "/big.bin").as_bytes())
            .unwrap();
        let mut reader = BufReader::new(stream);
        let answer = read_answer(&mut reader, true).unwrap();
        std::thread::sleep(stall);
        let mut body = Vec::new();
        let _ = reader.read_to_end(&mut body);
        Outcome {
            status: Some(answer.status),
            body: body.len(),
            took: started.elapsed(),
        }
    });
    Hostile {
        name: "stalled reader",
        thread,
    }
}

/// Endless and slow heads, too many headers, idle connections and readers that stop:
/// while they are connected a normal client is answered at once, and each of them is
/// refused or dropped within the limits.
#[test]
fn hostile_clients_do_not_starve_a_normal_one() {
    let dir = site("hostile", true);
    let limits = quick();
    let port = start(&dir, limits.clone());
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let mut hostiles = vec![
        hostile_writer(
            "endless request line",
            port,
            "GET /".into(),
            &[b'a'; 4096],
            Duration::ZERO,
        ),
        hostile_writer(
            "endless headers",
            port,
            format!("GET / HTTP/1.1\r\n{host}"),
            b"X-Endless: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            Duration::ZERO,
        ),
        hostile_writer(
            "1000 headers",
            port,
            format!("GET / HTTP/1.1\r\n{host}{}\r\n", "X: y\r\n".repeat(1000)),
            b"",
            Duration::from_millis(100),
        ),
    ];
    for _ in 0..4 {
        hostiles.push(hostile_writer(
            "slowloris",
            port,
            String::new(),
            b"G",
            Duration::from_secs(1),
        ));
        hostiles.push(stalled_reader(port, Duration::from_secs(3)));
    }
    let idle: Vec<TcpStream> = (0..8).map(|_| connect(port)).collect();
    std::thread::sleep(Duration::from_millis(200));

    // A normal client, fresh connections and one kept alive, while they are all there.
    let mut kept = BufReader::new(connect(port));
    for _ in 0..5 {
        let started = Instant::now();
        let answer = get(port, "/www/app.js");
        assert_eq!(answer.body, b"let x = 1;");
        kept.get_mut()
            .write_all(request(port, "/").as_bytes())
            .unwrap();
        assert_eq!(read_answer(&mut kept, false).unwrap().status, 200);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "a normal client waited {took:?}"
        );
    }

    let bound = limits.head_timeout + Duration::from_secs(3);
    for hostile in hostiles {
        let outcome = hostile.thread.join().unwrap();
        let name = hostile.name;
        match name {
            "endless request line" => assert_eq!(outcome.status, Some(414), "{outcome:?}"),
            "endless headers" | "1000 headers" => {
                assert_eq!(outcome.status, Some(431), "{name}: {outcome:?}")
            }
            // One byte a second never completes a head: 408 at the head timeout.
            "slowloris" => assert_eq!(outcome.status, Some(408), "{outcome:?}"),
            _ => {
                // Dropped after the write timeout: what the sockets held, not the file.
                assert_eq!(outcome.status, Some(200));
                assert!(outcome.body < BIG, "a stalled reader got the whole file");
            }
        }
        let limit = if name == "stalled reader" {
            Duration::from_secs(3) + bound
        } else {
            bound
        };
        assert!(
            outcome.took < limit,
            "{name} held on for {:?}",
            outcome.took
        );
    }
    // Idle connections are closed at the head timeout, without a reply.
    for mut connection in idle {
        let mut rest = Vec::new();
        assert!(matches!(connection.read_to_end(&mut rest), Ok(0)));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Beyond the connection limit a client is turned away at once with 503; once the
/// connections holding the places are dropped (idle ones at the head timeout, stalled
/// readers at the write timeout), clients are served again.
#[test]
fn the_connection_limit_turns_clients_away_until_places_free() {
    let dir = site("limit", true);
    let port = start(
        &dir,
        Limits {
            connections: 4,
            head_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(2),
            ..Limits::for_links(&LINKS)
        },
    );
    let idle: Vec<TcpStream> = (0..2).map(|_| connect(port)).collect();
    let stalled: Vec<BufReader<TcpStream>> = (0..2)
        .map(|_| {
            let mut stream = connect(port);
            stream
                .write_all(request(port, "/big.bin").as_bytes())
                .unwrap();
            let mut reader = BufReader::new(stream);
            assert_eq!(read_answer(&mut reader, true).unwrap().status, 200);
            reader
        })
        .collect();
    let started = Instant::now();
    let refused = get(port, "/");
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.header("cross-origin-resource-policy"),
        Some("same-origin")
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Places free within the timeouts.
    let served = loop {
        std::thread::sleep(Duration::from_millis(100));
        let answer = get(port, "/");
        if answer.status == 200 || started.elapsed() > Duration::from_secs(8) {
            break answer;
        }
    };
    assert_eq!(
        served.status,
        200,
        "no place freed in {:?}",
        started.elapsed()
    );
    drop((idle, stalled));
    let _ = std::fs::remove_dir_all(&dir);
}
