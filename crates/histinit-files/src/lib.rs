//! histinit's file and network work that needs no Burn (and no histinit-core):
//!
//! - [`fs`]: the one durable write (temporary, fsync, rename, fsync of the folder), the
//!   clean-up of what killed writers left, "create the folder, then write", and the one
//!   error for a file that cannot be read or written;
//! - [`hub`]: a Hugging Face hub client and download cache (`histinit extract --hub`);
//! - [`docs`]: the study's Markdown rendered as HTML pages (`histinit docs`, `make docs`);
//! - [`site`]: the playground as a self-contained static folder (`histinit site`);
//! - [`serve`]: the playground's local server (`histinit serve`);
//! - [`shipped`]: the index of the histogram sources the page offers.
//!
//! The `histinit-site` binary renders the docs and writes the site without building
//! Burn (`make docs`, `make site`).

pub mod commands;
pub mod docs;
pub mod fs;
pub mod hub;
pub mod serve;
pub mod shipped;
pub mod site;
pub mod spreads;
