use super::http::{etag_sha256, get, Checked};
use super::repo::is_plain_name;
use super::url::{follow, token_allowed, Url};
use super::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    // Messages leave out the query (a CDN's signature).
    assert_eq!(url.display(), "http://127.0.0.1:8123/a/b");
    let url = Url::parse("https://HuggingFace.co").unwrap();
    assert_eq!(
        (url.tls, url.host.as_str(), url.port, url.path.as_str()),
        (true, "huggingface.co", 443, "/")
    );
    assert_eq!(
        url.join("/x").unwrap().display(),
        "https://huggingface.co/x"
    );
    assert_eq!(
        url.join("//cdn.example/y").unwrap().display(),
        "https://cdn.example/y"
    );
    let v6 = Url::parse("http://[::1]:9000/p").unwrap();
    assert_eq!((v6.host.as_str(), v6.port), ("::1", 9000));
    assert_eq!(v6.host_for_header(), "[::1]:9000");
    for bad in [
        "ftp://x",
        "http://user:secret@evil.example/",
        "http://h/a b",
        "http://h/a\r\nX-Injected: 1",
        "http://:80/",
        "http://h:notaport/",
    ] {
        assert!(Url::parse(bad).is_none(), "{bad}");
    }
    assert!(url.join("relative/path").is_none());
}

#[test]
fn the_token_goes_to_the_original_origin_only_and_never_in_clear() {
    let hub = Url::parse("https://huggingface.co/api/x").unwrap();
    let allowed = |to: &str| token_allowed(&hub, &Url::parse(to).unwrap());
    assert!(allowed("https://huggingface.co/EleutherAI/x/resolve/c/f"));
    assert!(allowed("https://huggingface.co:443/other"));
    assert!(!allowed("https://cdn-lfs.huggingface.co/f"));
    assert!(!allowed("https://huggingface.co:8443/f"));
    assert!(!allowed("http://huggingface.co/f"));
    // Plain http only on this machine, and only to the same port.
    let local = Url::parse("http://127.0.0.1:8000/").unwrap();
    assert!(token_allowed(
        &local,
        &Url::parse("http://127.0.0.1:8000/x").unwrap()
    ));
    assert!(!token_allowed(
        &local,
        &Url::parse("http://127.0.0.1:8001/x").unwrap()
    ));
    assert!(!token_allowed(
        &local,
        &Url::parse("http://localhost:8000/x").unwrap()
    ));
    let remote = Url::parse("http://mirror.example/").unwrap();
    assert!(!token_allowed(&remote, &remote));
}

#[test]
fn redirects_never_go_from_https_to_http() {
    let hub = Url::parse("https://huggingface.co/a").unwrap();
    assert!(matches!(
        follow(&hub, "http://huggingface.co/b"),
        Err(HubError::Downgrade { .. })
    ));
    assert!(matches!(
        follow(&hub, "http://cdn.example/b?sig=1"),
        Err(HubError::Downgrade { .. })
    ));
    assert_eq!(
        follow(&hub, "https://cdn.example/b").unwrap().display(),
        "https://cdn.example/b"
    );
    // http to https is an upgrade, and fine.
    let local = Url::parse("http://127.0.0.1:1/").unwrap();
    assert!(follow(&local, "https://cdn.example/b").is_ok());
}

#[test]
fn a_token_for_a_plain_http_mirror_elsewhere_is_refused_before_connecting() {
    // Port 9 on a documentation address: nothing is contacted, the check comes first.
    let mut sink = Checked::new(Vec::new(), None);
    let err = get(
        "http://192.0.2.1:9/api",
        Some("hf_secret"),
        &mut sink,
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(matches!(err, HubError::ClearToken { .. }), "{err}");
    assert!(!err.to_string().contains("hf_secret"));
}

#[test]
fn sha256_etags_are_recognised() {
    let sha = "a".repeat(64);
    assert_eq!(etag_sha256(&format!("\"{sha}\"")), Some(sha.clone()));
    assert_eq!(
        etag_sha256(&format!("W/\"{}\"", sha.to_uppercase())),
        Some(sha)
    );
    // A git blob's sha1 (a small file's ETag) is not a sha256.
    assert_eq!(etag_sha256(&format!("\"{}\"", "b".repeat(40))), None);
    let mut sink = Checked::new(Vec::new(), Some(3));
    sink.write_all(b"abc").unwrap();
    assert_eq!(
        sink.sha256(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(sink.write_all(b"d").is_err() && sink.overflow);
}

#[test]
fn download_temporaries_are_unique_per_call_and_never_plain_names() {
    let path = Path::new("/tmp/x/model.safetensors");
    let a = crate::fs::temporary_path(path);
    let b = crate::fs::temporary_path(path);
    assert_ne!(a, b);
    let name = a.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with(".model.safetensors.tmp-"), "{name}");
    assert!(
        name.contains(&format!("-{}-", std::process::id())),
        "{name}"
    );
    assert!(!is_plain_name(name));
}

#[test]
fn repo_names_are_checked() {
    let cache = Path::new("/tmp");
    let ok = HubRepo::new(
        "http://h".into(),
        "EleutherAI/pythia-70m",
        "step3000",
        cache,
    )
    .unwrap();
    assert_eq!(
        ok.url("0123", "config.json"),
        "http://h/EleutherAI/pythia-70m/resolve/0123/config.json"
    );
    assert_eq!(
        ok.api_url(),
        "http://h/api/models/EleutherAI/pythia-70m/revision/step3000?blobs=true"
    );
    assert!(HubRepo::new("http://h".into(), "../etc", "main", cache).is_err());
    assert!(HubRepo::new("http://h".into(), "a/b", "../x", cache).is_err());
    assert!(HubRepo::new("http://h".into(), "a/b", ".", cache).is_err());
}

/// A server on 127.0.0.1 that answers each connection with `respond(path, stream)`,
/// until the returned flag is set (or 30 s pass).
fn serve(
    respond: impl Fn(&str, &mut TcpStream) + Send + 'static,
) -> (String, Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(30);
        while !stopped.load(Ordering::SeqCst) && Instant::now() < end {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            respond(&path, &mut stream);
        }
    });
    (address, stop)
}

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// The revision API's answer listing `model.safetensors`, with `size` if given.
fn answer_api(stream: &mut TcpStream, size: Option<u64>) {
    let size = size
        .map(|n| format!(r#", "size": {n}"#))
        .unwrap_or_default();
    let body = format!(
        r#"{{"sha": "{COMMIT}", "siblings": [{{"rfilename": "model.safetensors"{size}}}]}}"#
    );
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let _ = stream.write_all(format!("{head}{body}").as_bytes());
}

fn fetched(
    endpoint: String,
    name: &str,
    limits: HubLimits,
) -> (Result<Option<PathBuf>, HubError>, PathBuf) {
    let cache = std::env::temp_dir().join(format!("histinit-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let hub = HubRepo::new(endpoint, "owner/model", COMMIT, &cache)
        .unwrap()
        .with_limits(limits);
    let snapshot = hub.resolve().unwrap();
    let result = hub.fetch(&snapshot, "model.safetensors");
    (result, snapshot.dir)
}

#[test]
fn a_trickling_download_stops_at_the_deadline_and_leaves_nothing() {
    // 40 listed bytes, one every 100 ms: each read is quick, the whole takes 4 s.
    let (endpoint, stop) = serve(|path, stream| {
        if path.starts_with("/api/") {
            return answer_api(stream, Some(40));
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n");
        for _ in 0..40 {
            if stream.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let limits = HubLimits {
        deadline: Duration::from_secs(1),
        ..HubLimits::default()
    };
    let started = Instant::now();
    let (result, dir) = fetched(endpoint, "deadline", limits);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = result.unwrap_err();
    assert!(matches!(err, HubError::Deadline { .. }), "{err}");
    assert!(err.to_string().contains("within 1 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_unlisted_file_past_the_cap_is_refused_and_discarded() {
    // No size from the API and none from the response: read until the connection closes.
    let (endpoint, stop) = serve(|path, stream| {
        if path.starts_with("/api/") {
            return answer_api(stream, None);
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(&[7u8; 5000]);
    });
    let limits = HubLimits {
        unlisted_bytes: 1000,
        ..HubLimits::default()
    };
    let (result, dir) = fetched(endpoint.clone(), "cap", limits);
    let err = result.unwrap_err();
    assert!(matches!(err, HubError::TooLarge { cap: 1000, .. }), "{err}");
    assert!(err.to_string().contains("over 1000 bytes"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // The same file under a cap it fits in is downloaded whole.
    let limits = HubLimits {
        unlisted_bytes: 5000,
        ..HubLimits::default()
    };
    let (result, _) = fetched(endpoint, "cap-fits", limits);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let path = result.unwrap().unwrap();
    assert_eq!(std::fs::read(path).unwrap().len(), 5000);
}
