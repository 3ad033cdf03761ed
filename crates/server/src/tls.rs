//! HTTPS configuration: a supplied certificate and key, or a self-signed one
//! generated on first start (key file mode 0600). TLS 1.2 and 1.3 only, with
//! rustls' AEAD-only, forward-secret suites on the aws-lc-rs provider.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS set-up failure.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` holds no usable PEM certificate or key")]
    Pem(PathBuf),
    #[error("the private key file `{0}` is readable by group or others; run `chmod 600` on it")]
    KeyPermissions(PathBuf),
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    #[error("the certificate and key do not fit: {0}")]
    Config(String),
}

impl TlsError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            TlsError::Io { .. } => "tls_io",
            TlsError::Pem(_) => "tls_bad_pem",
            TlsError::KeyPermissions(_) => "tls_key_permissions",
            TlsError::Generate(_) => "tls_generate",
            TlsError::Config(_) => "tls_config",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `cert` and `key` (self-signed for `names`) unless both exist.
pub fn ensure_self_signed(cert: &Path, key: &Path, names: Vec<String>) -> Result<bool, TlsError> {
    if cert.exists() && key.exists() {
        return Ok(false);
    }
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_private(key, generated.signing_key.serialize_pem().as_bytes())?;
    fs::write(cert, generated.cert.pem()).map_err(io(cert))?;
    Ok(true)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}

/// Loads the certificate chain and key into a server configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mode = fs::metadata(key).map_err(io(key))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(TlsError::KeyPermissions(key.to_owned()));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| TlsError::Pem(cert.to_owned()))?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(cert.to_owned()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(cert.to_owned()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::Pem(key.to_owned()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// SHA-256 fingerprint (hex) of the first certificate in `cert`, for clients to pin.
pub fn fingerprint(cert: &Path) -> Result<String, TlsError> {
    let first = CertificateDer::pem_file_iter(cert)
        .map_err(|_| TlsError::Pem(cert.to_owned()))?
        .next()
        .ok_or_else(|| TlsError::Pem(cert.to_owned()))?
        .map_err(|_| TlsError::Pem(cert.to_owned()))?;
    Ok(hex::encode(app::secrets::sha256(first.as_ref())))
}
