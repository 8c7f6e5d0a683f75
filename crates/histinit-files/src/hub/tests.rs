use super::http::{etag_sha256, get, Checked};
use super::repo::is_plain_name;
use super::url::{follow, token_allowed, Url};
use super::*;
use std::io::Write;
use std::path::Path;

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
    let err = get("http://192.0.2.1:9/api", Some("hf_secret"), &mut sink).unwrap_err();
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
