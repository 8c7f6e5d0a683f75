//! What `histinit serve` needs to know of the page's links, from histinit-core's link
//! reader: the server itself (histinit-files) is Burn-free and takes these rules.

use histinit_core::link::{PageLink, MAX_LINK_BYTES};
use histinit_files::serve::LinkRules;

/// The page's links as the server sees them: an embed link is one whose `embed` key the
/// page's own reader reads as on.
pub const LINK_RULES: LinkRules = LinkRules {
    is_embed: |target| PageLink::read(target).view.embed,
    max_link_bytes: MAX_LINK_BYTES,
};
