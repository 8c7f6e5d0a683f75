//! A hub repository at a revision: resolved to a commit through the API and
//! downloaded file by file into a local cache that also serves offline.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::http::{etag_sha256, get, Checked, Claims};
use super::{HubError, HubLimits, MAX_API_BYTES};
use crate::fs::FileError;

/// What the hub's API says about one file of a commit.
#[derive(Debug, Clone, Default, PartialEq)]
struct Expected {
    size: Option<u64>,
    sha256: Option<String>,
}

/// A revision resolved to a commit, and where its files are kept.
#[derive(Debug)]
pub struct Snapshot {
    pub commit: String,
    pub dir: PathBuf,
    /// The commit's files; `None` when the API did not list them.
    files: Option<BTreeMap<String, Expected>>,
    /// Resolved from the cache because the hub could not be reached: nothing is downloaded.
    pub offline: bool,
}

fn is_commit(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file name the hub may list: not a path, and not hidden (which is also what keeps it
/// apart from the temporaries of downloads, [`crate::fs::temporary_path`]).
pub(super) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// Writes `bytes` to `path` durably ([`crate::fs::write_atomically`]), its folder
/// created first.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    Ok(crate::fs::write_atomically_in(path, bytes)?)
}

/// A hub repository at a revision, downloaded file by file into a local cache.
pub struct HubRepo {
    pub endpoint: String,
    pub repo: String,
    pub revision: String,
    /// `{cache}/{owner}--{name}`: `refs/` and `snapshots/` under it.
    pub dir: PathBuf,
    token: Option<String>,
    limits: HubLimits,
}

impl HubRepo {
    pub fn new(
        endpoint: String,
        repo: &str,
        revision: &str,
        cache: &Path,
    ) -> Result<Self, HubError> {
        let valid = |part: &str| {
            !part.is_empty()
                && part != ".."
                && part != "."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match repo.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => {}
            _ => return Err(HubError::Repo(repo.to_string())),
        }
        if !valid(revision) {
            return Err(HubError::Repo(format!("{repo}@{revision}")));
        }
        Ok(Self {
            endpoint,
            repo: repo.to_string(),
            revision: revision.to_string(),
            dir: cache.join(repo.replace('/', "--")),
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
            limits: HubLimits::default(),
        })
    }

    pub fn with_limits(mut self, limits: HubLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The URL of `file` at `commit`.
    pub fn url(&self, commit: &str, file: &str) -> String {
        format!("{}/{}/resolve/{commit}/{file}", self.endpoint, self.repo)
    }

    pub fn api_url(&self) -> String {
        format!(
            "{}/api/models/{}/revision/{}?blobs=true",
            self.endpoint, self.repo, self.revision
        )
    }

    fn shown(url: &str) -> String {
        url.split('?').next().unwrap_or(url).to_string()
    }

    fn ref_path(&self) -> PathBuf {
        self.dir.join("refs").join(&self.revision)
    }

    fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.dir.join("snapshots").join(commit)
    }

    /// Resolves the revision to a commit with the hub's API; when the hub cannot be
    /// reached, falls back to the commit `refs/` recorded (a warning says so).
    pub fn resolve(&self) -> Result<Snapshot, HubError> {
        match self.resolve_online() {
            Ok(snapshot) => Ok(snapshot),
            Err(err) if err.unreachable() => {
                let cached = if is_commit(&self.revision) {
                    Some(self.revision.to_ascii_lowercase())
                } else {
                    std::fs::read_to_string(self.ref_path())
                        .ok()
                        .map(|s| s.trim().to_string())
                        .filter(|s| is_commit(s))
                };
                let dir = cached.as_deref().map(|c| self.snapshot_dir(c));
                match (cached, dir) {
                    (Some(commit), Some(dir)) if dir.is_dir() => {
                        eprintln!(
                            "warning: {err}\nwarning: using the cached commit {commit}, which \
                             revision '{}' of {} resolved to when last online (it may have moved since)",
                            self.revision, self.repo
                        );
                        let files = std::fs::read_dir(&dir)
                            .map_err(FileError::read(&dir))?
                            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                            .filter(|name| is_plain_name(name))
                            .map(|name| (name, Expected::default()))
                            .collect();
                        Ok(Snapshot {
                            commit,
                            dir,
                            files: Some(files),
                            offline: true,
                        })
                    }
                    _ => Err(HubError::Offline {
                        repo: self.repo.clone(),
                        revision: self.revision.clone(),
                        dir: self.dir.clone(),
                        source: Box::new(err),
                    }),
                }
            }
            Err(err) => Err(err),
        }
    }

    fn resolve_online(&self) -> Result<Snapshot, HubError> {
        let url = self.api_url();
        let mut sink = Checked::new(Vec::new(), Some(MAX_API_BYTES));
        match get(&url, self.token.as_deref(), &mut sink, self.limits.deadline) {
            Ok(_) => {}
            Err(HubError::NotFound { url }) => {
                return Err(HubError::RevisionNotFound {
                    url,
                    revision: self.revision.clone(),
                })
            }
            Err(_) if sink.overflow => {
                return Err(HubError::Http {
                    url: Self::shown(&url),
                    reason: format!("the revision's description is over {MAX_API_BYTES} bytes"),
                })
            }
            Err(err) => return Err(err),
        }
        let bad = |reason: String| HubError::Http {
            url: Self::shown(&url),
            reason,
        };
        let json: serde_json::Value = serde_json::from_slice(&sink.inner)
            .map_err(|e| bad(format!("the hub's answer is not JSON: {e}")))?;
        let commit = json
            .get("sha")
            .and_then(|s| s.as_str())
            .filter(|s| is_commit(s))
            .ok_or_else(|| bad("the hub's answer has no commit ('sha' of 40 hex digits)".into()))?
            .to_ascii_lowercase();
        if is_commit(&self.revision) && !self.revision.eq_ignore_ascii_case(&commit) {
            return Err(bad(format!(
                "asked for commit {} but the hub answered {commit}",
                self.revision
            )));
        }
        let files = json.get("siblings").and_then(|s| s.as_array()).map(|list| {
            list.iter()
                .filter_map(|file| {
                    let name = file.get("rfilename")?.as_str()?.to_string();
                    let lfs = file.get("lfs");
                    let size = lfs
                        .and_then(|l| l.get("size"))
                        .or(file.get("size"))
                        .and_then(|s| s.as_u64());
                    let sha256 = lfs
                        .and_then(|l| l.get("sha256"))
                        .and_then(|s| s.as_str())
                        .and_then(etag_sha256);
                    Some((name, Expected { size, sha256 }))
                })
                .collect()
        });
        write_atomically(&self.ref_path(), commit.as_bytes())?;
        Ok(Snapshot {
            dir: self.snapshot_dir(&commit),
            commit,
            files,
            offline: false,
        })
    }

    /// `file` of the snapshot, downloaded unless already cached; `Ok(None)` when the
    /// commit has no such file.
    pub fn fetch(&self, snapshot: &Snapshot, file: &str) -> Result<Option<PathBuf>, HubError> {
        let url = self.url(&snapshot.commit, file);
        if !is_plain_name(file) {
            return Err(HubError::Http {
                url: Self::shown(&url),
                reason: format!("'{file}' is not a plain file name"),
            });
        }
        let expected = match &snapshot.files {
            Some(files) => match files.get(file) {
                Some(expected) => expected.clone(),
                None => return Ok(None),
            },
            None => Expected::default(),
        };
        let path = snapshot.dir.join(file);
        if let Ok(meta) = std::fs::metadata(&path) {
            // Files are renamed into place only once checked; the size is checked again
            // (cheap) in case the cache was touched since.
            match expected.size {
                Some(size) if meta.len() != size => {
                    eprintln!(
                        "warning: {} has {} bytes, the hub says {size}: downloading it again",
                        path.display(),
                        meta.len()
                    );
                }
                _ if meta.is_file() => return Ok(Some(path)),
                _ => {}
            }
        }
        if snapshot.offline {
            return Ok(None);
        }
        let write = |path: &Path| {
            let error = FileError::write(path);
            move |source| HubError::File(error(source))
        };
        std::fs::create_dir_all(&snapshot.dir).map_err(write(&snapshot.dir))?;
        // What a killed download of this file left goes first (it may be most of a
        // large checkpoint).
        crate::fs::remove_stale_temporaries(&snapshot.dir, Some(file));
        let partial = crate::fs::temporary_path(&path);
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(write(&partial))?;
        let limit = expected.size.unwrap_or(self.limits.unlisted_bytes);
        let mut sink = Checked::new(std::io::BufWriter::new(out), Some(limit));
        let result = match get(&url, self.token.as_deref(), &mut sink, self.limits.deadline) {
            Err(_) if sink.overflow => Err(match expected.size {
                Some(size) => HubError::Mismatch {
                    url: Self::shown(&url),
                    what: format!("more than the {size} bytes listed"),
                },
                None => HubError::TooLarge {
                    url: Self::shown(&url),
                    cap: limit,
                },
            }),
            Err(err) => Err(err),
            Ok(claims) => self.check(&url, &expected, &claims, &sink).and_then(|()| {
                // On disk, then under its name: never a partial file under the name.
                let out = sink.inner.into_inner().map_err(|e| e.into_error());
                out.and_then(|out| out.sync_all())
                    .and_then(|()| crate::fs::rename_durably(&partial, &path))
                    .map_err(write(&path))
            }),
        };
        match result {
            Ok(()) => Ok(Some(path)),
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                match err {
                    HubError::NotFound { .. } if snapshot.files.is_none() => Ok(None),
                    other => Err(other),
                }
            }
        }
    }

    /// The bytes written against every size and sha256 the API and the hub gave.
    fn check<W: Write>(
        &self,
        url: &str,
        expected: &Expected,
        claims: &Claims,
        sink: &Checked<W>,
    ) -> Result<(), HubError> {
        let mismatch = |what: String| HubError::Mismatch {
            url: Self::shown(url),
            what,
        };
        let sizes = expected.size.map(|s| ("the API's size", s));
        for (source, size) in sizes.into_iter().chain(claims.sizes.iter().copied()) {
            if size != sink.written {
                return Err(mismatch(format!(
                    "{} bytes received, {source} says {size}",
                    sink.written
                )));
            }
        }
        let hashes = expected.sha256.clone().map(|s| ("the API's LFS sha256", s));
        let actual = sink.sha256();
        for (source, sha) in hashes.into_iter().chain(claims.sha256.iter().cloned()) {
            if sha != actual {
                return Err(mismatch(format!("sha256 {actual}, {source} says {sha}")));
            }
        }
        Ok(())
    }

    /// Resolves the revision, downloads config.json and the safetensors weights (an
    /// index and its shards, or model.safetensors) and returns the snapshot, whose folder
    /// is ready for `extract`.
    pub fn fetch_model(&self) -> Result<Snapshot, HubError> {
        let snapshot = self.resolve()?;
        let index_name = "model.safetensors.index.json";
        self.fetch(&snapshot, "config.json")?;
        if let Some(index) = self.fetch(&snapshot, index_name)? {
            let url = Self::shown(&self.url(&snapshot.commit, index_name));
            let text = std::fs::read_to_string(&index).map_err(FileError::read(&index))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| HubError::Http {
                    url: url.clone(),
                    reason: format!("not valid JSON: {e}"),
                })?;
            let mut shards: Vec<String> = json
                .get("weight_map")
                .and_then(|m| m.as_object())
                .map(|m| {
                    m.values()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            shards.sort();
            shards.dedup();
            for shard in shards {
                if !is_plain_name(&shard) {
                    return Err(HubError::Http {
                        url,
                        reason: format!("shard name '{shard}' is not a plain file name"),
                    });
                }
                self.fetch(&snapshot, &shard)?
                    .ok_or_else(|| self.missing(&snapshot, &shard, "the index names it but"))?;
            }
        } else if self.fetch(&snapshot, "model.safetensors")?.is_none() {
            return Err(self.missing(
                &snapshot,
                "model.safetensors",
                "extract reads safetensors only, and",
            ));
        }
        Ok(snapshot)
    }

    fn missing(&self, snapshot: &Snapshot, file: &str, why: &str) -> HubError {
        HubError::Http {
            url: Self::shown(&self.url(&snapshot.commit, file)),
            reason: if snapshot.offline {
                format!("{why} it is not cached, and the hub cannot be reached")
            } else if file == "model.safetensors" {
                "this revision has no model.safetensors nor model.safetensors.index.json \
                 (extract reads safetensors only)"
                    .into()
            } else {
                format!("{why} the commit has no such file")
            },
        }
    }
}
