//! `histinit extract --hub` against local servers in the Hugging Face hub's layout: the
//! revision API, redirects to a CDN on another origin, where `HF_TOKEN` goes (recorded by
//! each server), sizes and sha256 checked, commit-keyed caching and the offline fallback.
//! Every server listens on 127.0.0.1, answers one request per connection and stops after
//! its test (or 60 s).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use histinit_core::checkpoint::{weights_from_safetensors, weights_to_safetensors, StoreDtype};
use histinit_core::histogram::HistogramFile;
use histinit_core::params::{HostTensor, Weights};

const TOKEN: &str = "hf_TestSecretToken0123456789";

fn histinit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_histinit"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A small GPT-NeoX checkpoint; `seed` changes its values.
fn checkpoint(seed: f32) -> (Weights, Vec<u8>) {
    let d = 8;
    let tensor = |shape: &[usize], offset: f32| {
        let n: usize = shape.iter().product();
        HostTensor {
            shape: shape.to_vec(),
            values: (0..n)
                .map(|i| 0.05 * ((i as f32 + 1.0) * 0.7 + seed + offset).sin())
                .collect(),
        }
    };
    let mut weights = Weights::new();
    weights.insert("gpt_neox.embed_in.weight".into(), tensor(&[16, d], 0.1));
    weights.insert(
        "gpt_neox.layers.0.attention.query_key_value.weight".into(),
        tensor(&[3 * d, d], 0.2),
    );
    let bytes = weights_to_safetensors(&weights, StoreDtype::F32, &BTreeMap::new()).unwrap();
    (weights, bytes)
}

const CONFIG: &[u8] =
    br#"{"model_type": "gpt_neox", "num_attention_heads": 2, "num_hidden_layers": 1}"#;

/// One request as a test server saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    path: String,
    authorization: Option<String>,
}

struct TestServer {
    address: String,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Seen>>,
}

impl TestServer {
    fn bind() -> (TcpListener, String, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, format!("http://127.0.0.1:{port}"), port)
    }

    /// Answers each request with `respond(path)` (a whole HTTP response).
    fn start(
        (listener, address, _): (TcpListener, String, u16),
        respond: impl Fn(&str) -> Vec<u8> + Send + 'static,
    ) -> TestServer {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut seen = Vec::new();
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some((key, value)) = line.split_once(':') {
                        if key.trim().eq_ignore_ascii_case("authorization") {
                            authorization = Some(value.trim().to_string());
                        }
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
                let response = respond(&path);
                seen.push(Seen {
                    path,
                    authorization,
                });
                let _ = stream.write_all(&response);
            }
            seen
        });
        TestServer {
            address,
            stop,
            handle,
        }
    }

    fn finish(self) -> Vec<Seen> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn ok(body: &[u8], headers: &[(&str, String)]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len());
    for (key, value) in headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}

fn redirect(location: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n");
    for (key, value) in headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn not_found() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
}

/// The revision API's answer: `sha` and `siblings` with sizes, and LFS hashes for
/// `.safetensors` files.
fn api(commit: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let siblings: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, body)| {
            if name.ends_with(".safetensors") {
                serde_json::json!({"rfilename": name, "size": body.len(),
                    "lfs": {"sha256": sha256(body), "size": body.len()}})
            } else {
                serde_json::json!({"rfilename": name, "size": body.len()})
            }
        })
        .collect();
    ok(
        serde_json::json!({"id": "x", "sha": commit, "siblings": siblings})
            .to_string()
            .as_bytes(),
        &[("Content-Type", "application/json".into())],
    )
}

fn commit(n: u8) -> String {
    format!("{n:x}").repeat(40)
}

/// `histinit extract --hub REPO --revision REV --cache CACHE` against `endpoint`.
fn extract(endpoint: &str, repo: &str, revision: &str, cache: &Path, out: &Path) -> Output {
    histinit()
        .env("HF_ENDPOINT", endpoint)
        .env("HF_TOKEN", TOKEN)
        .args(["extract", "--hub", repo, "--revision", revision, "--cache"])
        .arg(cache)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(partial_files(&path));
            } else if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with('.') && name.contains(".tmp-"))
            {
                // A download's temporary (histinit's output::temporary_path).
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn hub_downloads_resolve_the_revision_and_follow_the_hub_url_layout() {
    let dir = temp_dir("layout");
    let (weights, body) = checkpoint(0.0);
    let c = commit(1);
    let files: Vec<(&str, &[u8])> = vec![("config.json", CONFIG), ("model.safetensors", &body)];
    let api_body = api(&c, &files);
    let (body2, c2) = (body.clone(), c.clone());
    let hub = TestServer::start(TestServer::bind(), move |path| {
        let resolve = format!("/EleutherAI/pythia-test/resolve/{c2}");
        if path == "/api/models/EleutherAI/pythia-test/revision/step3000?blobs=true" {
            api_body.clone()
        } else if path == format!("{resolve}/config.json") {
            ok(CONFIG, &[("ETag", format!("\"{}\"", "b".repeat(40)))])
        } else if path == format!("{resolve}/model.safetensors") {
            // The hub sends LFS files to a CDN, naming their size and sha256.
            redirect(
                &format!("/cdn/{}?sig=abc", sha256(&body2)),
                &[
                    ("X-Linked-Size", body2.len().to_string()),
                    ("X-Linked-Etag", format!("\"{}\"", sha256(&body2))),
                ],
            )
        } else if path == format!("/cdn/{}?sig=abc", sha256(&body2)) {
            ok(&body2, &[])
        } else {
            not_found()
        }
    });
    let out = dir.join("hub.json");
    let cache = dir.join("cache");
    let output = extract(
        &hub.address,
        "EleutherAI/pythia-test",
        "step3000",
        &cache,
        &out,
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains(&c), "{}", text(&output));
    // Extract again: cached files are not fetched again, the revision is.
    let output = extract(
        &hub.address,
        "EleutherAI/pythia-test",
        "step3000",
        &cache,
        &out,
    );
    assert!(output.status.success(), "{}", text(&output));
    // A repository the hub does not have: a clear error, nothing cached.
    let missing = extract(&hub.address, "EleutherAI/missing", "main", &cache, &out);
    let seen: Vec<String> = hub.finish().into_iter().map(|s| s.path).collect();
    let resolve = format!("/EleutherAI/pythia-test/resolve/{c}");
    let api_path = "/api/models/EleutherAI/pythia-test/revision/step3000?blobs=true";
    assert_eq!(
        seen,
        vec![
            api_path.to_string(),
            format!("{resolve}/config.json"),
            // No index in the commit's file list: not asked for.
            format!("{resolve}/model.safetensors"),
            format!("/cdn/{}?sig=abc", sha256(&body)),
            api_path.to_string(),
            "/api/models/EleutherAI/missing/revision/main?blobs=true".to_string(),
        ]
    );
    let file = HistogramFile::parse(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file.source.model, "EleutherAI/pythia-test");
    assert_eq!(file.source.revision.as_deref(), Some("step3000"));
    assert!(file
        .tensor("gpt_neox.layers.0.attention.query_key_value.weight#k")
        .is_some());
    let repo = cache.join("EleutherAI--pythia-test");
    let cached = repo.join("snapshots").join(&c).join("model.safetensors");
    assert_eq!(
        weights_from_safetensors(&std::fs::read(cached).unwrap()).unwrap(),
        weights
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/step3000")).unwrap(),
        c
    );
    assert!(partial_files(&cache).is_empty());
    assert!(!missing.status.success());
    let log = text(&missing);
    assert!(
        log.contains("revision 'main' not found") && log.contains("EleutherAI/missing"),
        "{log}"
    );
    assert!(!cache.join("EleutherAI--missing/snapshots").exists());
}

#[test]
fn the_token_goes_to_the_hub_only_never_to_another_origin() {
    let dir = temp_dir("token");
    let (_, body) = checkpoint(0.0);
    let c = commit(2);
    let files: Vec<(&str, &[u8])> = vec![("config.json", CONFIG), ("model.safetensors", &body)];
    let api_body = api(&c, &files);
    let hub_socket = TestServer::bind();
    let cdn_socket = TestServer::bind();
    let (hub_port, cdn) = (hub_socket.2, cdn_socket.1.clone());
    let (c2, body2) = (c.clone(), body.clone());
    let hub = TestServer::start(hub_socket, move |path| {
        let resolve = format!("/EleutherAI/pythia-test/resolve/{c2}");
        if path.starts_with("/api/models/EleutherAI/pythia-test/revision/main") {
            api_body.clone()
        } else if path == format!("{resolve}/config.json") {
            // Another port on the same host: another origin.
            redirect(&format!("{cdn}/cdn/config.json"), &[])
        } else if path == format!("{resolve}/model.safetensors") {
            // The same port under another host name: another origin too.
            redirect(
                &format!("http://localhost:{hub_port}/hop/model.safetensors"),
                &[],
            )
        } else if path == "/hop/model.safetensors" {
            redirect(&format!("{cdn}/cdn/model.safetensors"), &[])
        } else {
            not_found()
        }
    });
    let cdn = TestServer::start(cdn_socket, move |path| match path {
        "/cdn/config.json" => ok(CONFIG, &[]),
        "/cdn/model.safetensors" => ok(&body2, &[]),
        _ => not_found(),
    });
    let out = dir.join("hub.json");
    let output = extract(
        &hub.address,
        "EleutherAI/pythia-test",
        "main",
        &dir.join("cache"),
        &out,
    );
    let (hub_seen, cdn_seen) = (hub.finish(), cdn.finish());
    let log = text(&output);
    assert!(output.status.success(), "{log}");
    assert!(!log.contains(TOKEN), "the token was printed: {log}");
    let bearer = Some(format!("Bearer {TOKEN}"));
    let resolve = format!("/EleutherAI/pythia-test/resolve/{c}");
    assert_eq!(
        hub_seen,
        vec![
            Seen {
                path: "/api/models/EleutherAI/pythia-test/revision/main?blobs=true".into(),
                authorization: bearer.clone(),
            },
            Seen {
                path: format!("{resolve}/config.json"),
                authorization: bearer.clone(),
            },
            Seen {
                path: format!("{resolve}/model.safetensors"),
                authorization: bearer,
            },
            Seen {
                path: "/hop/model.safetensors".into(),
                authorization: None,
            },
        ]
    );
    assert_eq!(
        cdn_seen,
        vec![
            Seen {
                path: "/cdn/config.json".into(),
                authorization: None,
            },
            Seen {
                path: "/cdn/model.safetensors".into(),
                authorization: None,
            },
        ]
    );
    // Nothing was sent to a plain-http endpoint off this machine (192.0.2.1 is a
    // documentation address): the check comes before any connection.
    let output = extract(
        "http://192.0.2.1:9",
        "EleutherAI/pythia-test",
        "main",
        &dir.join("cache2"),
        &out,
    );
    let log = text(&output);
    assert!(!output.status.success());
    assert!(log.contains("in clear") && !log.contains(TOKEN), "{log}");
}

#[test]
fn endless_redirects_are_cut_short() {
    let dir = temp_dir("redirects");
    let c = commit(3);
    let api_body = api(&c, &[("config.json", CONFIG)]);
    let hub = TestServer::start(TestServer::bind(), move |path| {
        if path.starts_with("/api/") {
            api_body.clone()
        } else if let Some(n) = path.strip_prefix("/loop/") {
            redirect(&format!("/loop/{}", n.parse::<u32>().unwrap() + 1), &[])
        } else {
            redirect("/loop/1", &[])
        }
    });
    let output = extract(
        &hub.address,
        "a/b",
        "main",
        &dir.join("cache"),
        &dir.join("o.json"),
    );
    let seen = hub.finish();
    let log = text(&output);
    assert!(!output.status.success());
    assert!(log.contains("more than 8 redirects"), "{log}");
    // The API, the file, then 8 redirects followed.
    assert_eq!(seen.len(), 1 + 1 + 8, "{seen:?}");
    assert!(partial_files(&dir).is_empty());
}

#[test]
fn downloads_that_disagree_with_the_hub_are_discarded() {
    let dir = temp_dir("checks");
    let (_, body) = checkpoint(0.0);
    let mut tampered = body.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let longer = [body.clone(), vec![0; 10]].concat();
    let c = commit(4);
    let files: Vec<(&str, &[u8])> = vec![("config.json", CONFIG), ("model.safetensors", &body)];
    let api_body = api(&c, &files);
    // Without the LFS entry: only the hub's headers name the size and hash.
    let bare_api = ok(
        serde_json::json!({"sha": c, "siblings": [{"rfilename": "config.json"},
            {"rfilename": "model.safetensors"}]})
        .to_string()
        .as_bytes(),
        &[],
    );
    let (c2, body2) = (c.clone(), body.clone());
    let hub = TestServer::start(TestServer::bind(), move |path| {
        if path.starts_with("/api/") {
            if path.contains("/o/headers/") {
                bare_api.clone()
            } else {
                api_body.clone()
            }
        } else if path.ends_with("/config.json") {
            ok(CONFIG, &[])
        } else if path.starts_with("/cdn/o/tampered/") {
            ok(&tampered, &[])
        } else if path.starts_with("/cdn/o/longer/") {
            ok(&longer, &[])
        } else if path.starts_with("/cdn/o/headers/") {
            ok(&body2, &[])
        } else if path.ends_with(&format!("/resolve/{c2}/model.safetensors")) {
            // o/headers: the hub's X-Linked-Size is one byte more than the file.
            let extra = usize::from(path.starts_with("/o/headers/"));
            let (size, sha) = (body2.len() + extra, sha256(&body2));
            redirect(
                &format!("/cdn{path}"),
                &[
                    ("X-Linked-Size", size.to_string()),
                    ("X-Linked-Etag", format!("\"{sha}\"")),
                ],
            )
        } else {
            not_found()
        }
    });
    let cache = dir.join("cache");
    let out = dir.join("o.json");
    let mut logs = Vec::new();
    for repo in ["o/tampered", "o/longer", "o/headers"] {
        let output = extract(&hub.address, repo, "main", &cache, &out);
        assert!(!output.status.success(), "{repo}: {}", text(&output));
        logs.push(text(&output));
        let snapshot = cache
            .join(repo.replace('/', "--"))
            .join("snapshots")
            .join(&c);
        assert!(snapshot.join("config.json").is_file(), "{repo}");
        assert!(!snapshot.join("model.safetensors").exists(), "{repo}");
    }
    hub.finish();
    assert!(
        logs[0].contains("does not match the hub") && logs[0].contains("sha256"),
        "{}",
        logs[0]
    );
    assert!(
        logs[1].contains("does not match the hub") && logs[1].contains("more than"),
        "{}",
        logs[1]
    );
    assert!(
        logs[2].contains("does not match the hub") && logs[2].contains("X-Linked-Size"),
        "{}",
        logs[2]
    );
    assert!(partial_files(&cache).is_empty());
    assert!(!out.exists());
}

#[test]
fn a_moving_branch_is_resolved_each_time_and_the_cache_serves_offline() {
    let dir = temp_dir("moving");
    let cache = dir.join("cache");
    let out = dir.join("o.json");
    let mut commits = Vec::new();
    for (n, seed) in [(5u8, 0.0f32), (6, 1.0)] {
        let (weights, body) = checkpoint(seed);
        let c = commit(n);
        let files: Vec<(&str, &[u8])> = vec![("config.json", CONFIG), ("model.safetensors", &body)];
        let api_body = api(&c, &files);
        let c2 = c.clone();
        let hub = TestServer::start(TestServer::bind(), move |path| {
            if path.starts_with("/api/models/a/b/revision/main") {
                api_body.clone()
            } else if path == format!("/a/b/resolve/{c2}/config.json") {
                ok(CONFIG, &[])
            } else if path == format!("/a/b/resolve/{c2}/model.safetensors") {
                ok(&body, &[])
            } else {
                not_found()
            }
        });
        let output = extract(&hub.address, "a/b", "main", &cache, &out);
        assert!(output.status.success(), "{}", text(&output));
        // Each commit's files were downloaded, into its own folder.
        assert_eq!(hub.finish().len(), 3);
        let cached = cache
            .join("a--b/snapshots")
            .join(&c)
            .join("model.safetensors");
        assert_eq!(
            weights_from_safetensors(&std::fs::read(cached).unwrap()).unwrap(),
            weights
        );
        assert_eq!(
            std::fs::read_to_string(cache.join("a--b/refs/main")).unwrap(),
            c
        );
        commits.push(c);
    }
    // The hub is gone: the commit main last resolved to is used, and said so.
    let gone = {
        let (listener, address, _) = TestServer::bind();
        drop(listener);
        address
    };
    let output = extract(&gone, "a/b", "main", &cache, &out);
    let log = text(&output);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains(&format!("using the cached commit {}", commits[1])),
        "{log}"
    );
    let file = HistogramFile::parse(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file.source.model, "a/b");
    // A revision never resolved cannot be guessed.
    let output = extract(&gone, "a/b", "step1", &cache, &out);
    let log = text(&output);
    assert!(!output.status.success());
    assert!(
        log.contains("cannot resolve revision 'step1'")
            && log.contains("no commit of it is cached"),
        "{log}"
    );
}
