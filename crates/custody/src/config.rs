//! The server configuration: one TOML file (`deny_unknown_fields`), a default
//! for every field, environment overrides with the `CUSTODY_` prefix, then
//! command-line flags. `Config::load` is the raw input; `Config::validate`
//! turns it into the checked settings the server runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The configuration file, as written by an operator. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// Directory holding the database, blobs, keys and TLS files. Default `data`. Env `CUSTODY_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// Address to listen on for HTTPS. Default `127.0.0.1:8443`. Env `CUSTODY_LISTEN`.
    pub listen: Option<String>,
    /// Metadata database: `sqlite://PATH` or `postgres://…`. Default SQLite in the data dir. Env `CUSTODY_DATABASE_URL`.
    pub database_url: Option<String>,
    /// PEM certificate chain; with `tls_key`, replaces the generated self-signed certificate. Env `CUSTODY_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (mode 0600). Env `CUSTODY_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// Name of the owner organization created on first start. Default `Owner`. Env `CUSTODY_OWNER_NAME`.
    pub owner_name: Option<String>,
    /// Largest accepted upload in bytes. Default 68719476736 (64 GiB). Env `CUSTODY_MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<u64>,
    /// Lifetime of a browser session in minutes. Default 720. Env `CUSTODY_SESSION_MINUTES`.
    pub session_minutes: Option<i64>,
    /// Lifetime of an API token in days. Default 30. Env `CUSTODY_TOKEN_DAYS`.
    pub token_days: Option<i64>,
    /// Failed sign-ins before an account locks. Default 5. Env `CUSTODY_MAX_FAILED_LOGINS`.
    pub max_failed_logins: Option<i64>,
    /// Minutes a locked account stays locked. Default 15. Env `CUSTODY_LOCKOUT_MINUTES`.
    pub lockout_minutes: Option<i64>,
    /// Days an invitation link stays valid. Default 7. Env `CUSTODY_INVITATION_DAYS`.
    pub invitation_days: Option<i64>,
    /// Whether users of external parties must use TOTP. Default true. Env `CUSTODY_EXTERNAL_MFA_REQUIRED`.
    pub external_mfa_required: Option<bool>,
    /// Plaintext bytes per encrypted chunk (power of two, 4096..=16777216). Default 1048576. Env `CUSTODY_CHUNK_SIZE`.
    pub chunk_size: Option<u32>,
}

/// Checked settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub database_url: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub owner_name: String,
    pub settings: app::Settings,
}

macro_rules! env_override {
    ($file:ident, $field:ident, $var:literal) => {
        if let Ok(raw) = std::env::var($var) {
            $file.$field = Some(
                raw.parse()
                    .with_context(|| format!("environment variable `{}` has a bad value", $var))?,
            );
        }
    };
}

impl ConfigFile {
    /// Reads `path` (when given) and applies the `CUSTODY_*` environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
        let mut file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file `{}`", p.display())
                })?;
                toml::from_str(&text)
                    .with_context(|| format!("bad configuration file `{}`", p.display()))?
            }
            None => ConfigFile::default(),
        };
        env_override!(file, data_dir, "CUSTODY_DATA_DIR");
        env_override!(file, listen, "CUSTODY_LISTEN");
        env_override!(file, database_url, "CUSTODY_DATABASE_URL");
        env_override!(file, tls_cert, "CUSTODY_TLS_CERT");
        env_override!(file, tls_key, "CUSTODY_TLS_KEY");
        env_override!(file, owner_name, "CUSTODY_OWNER_NAME");
        env_override!(file, max_upload_bytes, "CUSTODY_MAX_UPLOAD_BYTES");
        env_override!(file, session_minutes, "CUSTODY_SESSION_MINUTES");
        env_override!(file, token_days, "CUSTODY_TOKEN_DAYS");
        env_override!(file, max_failed_logins, "CUSTODY_MAX_FAILED_LOGINS");
        env_override!(file, lockout_minutes, "CUSTODY_LOCKOUT_MINUTES");
        env_override!(file, invitation_days, "CUSTODY_INVITATION_DAYS");
        env_override!(file, external_mfa_required, "CUSTODY_EXTERNAL_MFA_REQUIRED");
        env_override!(file, chunk_size, "CUSTODY_CHUNK_SIZE");
        Ok(file)
    }

    /// Checks every value and fills the defaults.
    pub fn validate(self) -> anyhow::Result<Config> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let listen = self.listen.as_deref().unwrap_or("127.0.0.1:8443");
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("`listen` must be an address like `127.0.0.1:8443`, not `{listen}`")
        })?;
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("custody.db").display()));
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("`tls_cert` and `tls_key` go together: set both or neither"),
        };
        let defaults = app::Settings::default();
        let minutes = |m: Option<i64>, default_ms: i64, field: &str| -> anyhow::Result<i64> {
            match m {
                None => Ok(default_ms),
                Some(v) if v > 0 && v < 10_000_000 => Ok(v * 60_000),
                Some(v) => bail!("`{field}` must be a positive number, not `{v}`"),
            }
        };
        let chunk_size = self.chunk_size.unwrap_or(defaults.chunk_size);
        if !chunk_size.is_power_of_two() || !(4096..=16 << 20).contains(&chunk_size) {
            bail!("`chunk_size` must be a power of two from 4096 to 16777216, not `{chunk_size}`");
        }
        let settings = app::Settings {
            browser_session_ttl_ms: minutes(
                self.session_minutes,
                defaults.browser_session_ttl_ms,
                "session_minutes",
            )?,
            api_token_ttl_ms: minutes(
                self.token_days.map(|d| d * 24 * 60),
                defaults.api_token_ttl_ms,
                "token_days",
            )?,
            max_failed_logins: self
                .max_failed_logins
                .unwrap_or(defaults.max_failed_logins)
                .max(1),
            lockout_ms: minutes(self.lockout_minutes, defaults.lockout_ms, "lockout_minutes")?,
            invitation_ttl_ms: minutes(
                self.invitation_days.map(|d| d * 24 * 60),
                defaults.invitation_ttl_ms,
                "invitation_days",
            )?,
            external_mfa_required: self
                .external_mfa_required
                .unwrap_or(defaults.external_mfa_required),
            max_upload_bytes: self.max_upload_bytes.unwrap_or(defaults.max_upload_bytes),
            chunk_size,
        };
        let owner_name = self.owner_name.unwrap_or_else(|| "Owner".into());
        Ok(Config {
            data_dir,
            listen,
            database_url,
            tls,
            owner_name,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, want: Result<&str, &str>) {
        let parsed: Result<ConfigFile, _> = toml::from_str(toml_text);
        let got = parsed
            .map_err(|e| e.to_string())
            .and_then(|f| f.validate().map_err(|e| format!("{e:#}")));
        match (got, want) {
            (Ok(c), Ok(listen)) => assert_eq!(c.listen.to_string(), listen, "{toml_text}"),
            (Err(e), Err(needle)) => assert!(e.contains(needle), "{toml_text}: {e}"),
            (got, want) => panic!("{toml_text}: got {got:?}, want {want:?}"),
        }
    }

    /// Every key of the file is documented in docs/configuration.md. The exhaustive
    /// destructuring stops the build when a field is added without updating the list.
    #[test]
    fn every_setting_is_documented() {
        let ConfigFile {
            data_dir: _,
            listen: _,
            database_url: _,
            tls_cert: _,
            tls_key: _,
            owner_name: _,
            max_upload_bytes: _,
            session_minutes: _,
            token_days: _,
            max_failed_logins: _,
            lockout_minutes: _,
            invitation_days: _,
            external_mfa_required: _,
            chunk_size: _,
        } = ConfigFile::default();
        let keys = [
            "data_dir",
            "listen",
            "database_url",
            "tls_cert",
            "tls_key",
            "owner_name",
            "max_upload_bytes",
            "session_minutes",
            "token_days",
            "max_failed_logins",
            "lockout_minutes",
            "invitation_days",
            "external_mfa_required",
            "chunk_size",
        ];
        let docs = include_str!("../../../docs/configuration.md");
        for key in keys {
            assert!(
                docs.contains(&format!("`{key}`")),
                "docs/configuration.md lacks `{key}`"
            );
            let env = format!("CUSTODY_{}", key.to_uppercase());
            assert!(docs.contains(&env), "docs/configuration.md lacks {env}");
        }
    }

    #[test]
    fn config_files() {
        let table = [
            ("", Ok("127.0.0.1:8443")),
            ("listen = \"0.0.0.0:9443\"", Ok("0.0.0.0:9443")),
            ("listen = \"nowhere\"", Err("`listen` must be an address")),
            ("lisen = \"0.0.0.0:1\"", Err("unknown field")),
            ("tls_cert = \"a.pem\"", Err("go together")),
            ("chunk_size = 1000", Err("power of two")),
            ("session_minutes = -5", Err("positive")),
        ];
        for (text, want) in table {
            check(text, want);
        }
    }
}
