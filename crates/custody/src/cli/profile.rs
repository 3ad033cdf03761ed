//! The client profile file (`client.toml`): the server URL, the API token and how
//! the server is trusted, saved by `custody login` (mode 0600, written atomically)
//! and read by every other client command after the `CUSTODY_*` environment.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Name of the profile file inside the configuration directory.
const FILE_NAME: &str = "client.toml";

/// What `custody login` remembers about one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Base URL of the server, e.g. `https://127.0.0.1:8443`.
    pub url: String,
    /// API token; absent after `custody logout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Pinned SHA-256 fingerprint of the server certificate (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// PEM file of the CA roots that validate the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// Where the profile lives: `CUSTODY_CLIENT_CONFIG`, else
/// `$XDG_CONFIG_HOME/custody/client.toml`, else `~/.config/custody/client.toml`.
pub fn path() -> anyhow::Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("CUSTODY_CLIENT_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    if let Some(dir) = var("XDG_CONFIG_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir.join("custody").join(FILE_NAME));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home)
            .join(".config")
            .join("custody")
            .join(FILE_NAME)),
        None => bail!("cannot locate the client profile: set `CUSTODY_CLIENT_CONFIG` or `HOME`"),
    }
}

impl Profile {
    /// Reads the profile at `path`; `None` when there is none. Refuses a file that
    /// group or others can read, since it holds a token.
    pub fn load(path: &Path) -> anyhow::Result<Option<Profile>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read the client profile `{}`", path.display())
                });
            }
        };
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the client profile `{}` is readable by group or others (mode {:o}); run `chmod 600` on it",
                path.display(),
                mode & 0o777
            );
        }
        let profile = toml::from_str(&text)
            .with_context(|| format!("bad client profile `{}`", path.display()))?;
        Ok(Some(profile))
    }

    /// Writes the profile to `path` atomically (temporary file, fsync, rename), mode
    /// 0600, creating its directory with mode 0700.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
        let text = toml::to_string(self).context("cannot encode the client profile")?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| FILE_NAME.to_owned());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = write_private(&tmp, text.as_bytes()).and_then(|()| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot replace `{}`", path.display()))
        });
        if written.is_err() {
            let _already_gone = std::fs::remove_file(&tmp);
        }
        written?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync the directory `{}`", dir.display()))
    }
}

/// Creates `path` afresh with mode 0600 and writes and fsyncs `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove `{}`", path.display()));
        }
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/custody/client.toml");
        let profile = Profile {
            url: "https://127.0.0.1:8443".into(),
            token: Some("t0ken".into()),
            fingerprint: Some("ab".repeat(32)),
            ca_file: None,
        };
        profile.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Profile::load(&path).unwrap(), Some(profile.clone()));

        let logged_out = Profile {
            token: None,
            ..profile
        };
        logged_out.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), Some(logged_out));
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "only the profile remains");
    }

    #[test]
    fn a_profile_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(&path, "url = \"https://h\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = format!("{:#}", Profile::load(&path).unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
        assert_eq!(Profile::load(&dir.path().join("none.toml")).unwrap(), None);
    }
}
