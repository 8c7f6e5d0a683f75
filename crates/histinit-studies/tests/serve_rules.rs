//! `histinit serve`'s framing rule with the page's real link reader (histinit-files' own
//! tests use a stand-in, as that crate does not depend on histinit-core).

use histinit_files::serve::{
    policy_for, Limits, CONTENT_SECURITY_POLICY, EMBED_CONTENT_SECURITY_POLICY,
};
use histinit_studies::playground::LINK_RULES;

#[test]
fn only_the_page_on_an_embed_link_may_be_framed() {
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
        assert_eq!(
            policy_for(url, &LINK_RULES),
            CONTENT_SECURITY_POLICY,
            "{url}"
        );
    }
    for url in [
        "/?embed=1",
        "/index.html?preset=nano&lr=0.01&hide=lr&embed=1",
        // A '?' inside the query (a lesson's) does not hide the key from the reader.
        "/?lesson=Which%20is%20faster?&embed=1",
    ] {
        assert_eq!(
            policy_for(url, &LINK_RULES),
            EMBED_CONTENT_SECURITY_POLICY,
            "{url}"
        );
    }
}

#[test]
fn the_longest_link_the_page_reads_fits_a_request_line() {
    let limits = Limits::for_links(&LINK_RULES);
    assert_eq!(
        limits.request_line_bytes,
        histinit_core::link::MAX_LINK_BYTES + 4096
    );
}
