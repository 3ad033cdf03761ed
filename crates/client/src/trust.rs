//! How the client decides to trust a server: a pinned SHA-256 fingerprint of the
//! leaf certificate, a PEM file of CA roots, or the operating system's roots. Builds
//! the rustls configuration (aws-lc-rs provider, TLS 1.2 and 1.3 only) that the HTTP
//! client uses, and fetches a server's fingerprint for trust-on-first-use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::ClientError;

/// How long connecting plus the TLS handshake may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Which server certificates the client accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Accept exactly the leaf certificate whose DER has this SHA-256 digest.
    Fingerprint([u8; 32]),
    /// Validate the chain and host name against the roots in this PEM file.
    CaFile(PathBuf),
    /// Validate against the operating system's trust store.
    System,
}

/// Parse a SHA-256 fingerprint: 64 hex digits, any case, colons allowed between them.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], ClientError> {
    let invalid = || ClientError::InvalidFingerprint {
        input: s.to_owned(),
    };
    let trimmed = s.trim();
    let trimmed = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed);
    let digits: String = trimmed.chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(&digits, &mut out).map_err(|_| invalid())?;
    Ok(out)
}

/// Format a fingerprint the way browsers and `openssl x509 -fingerprint` show it.
pub fn format_fingerprint(fp: &[u8; 32]) -> String {
    let hex = hex::encode_upper(fp);
    let pairs: Vec<&str> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .collect();
    pairs.join(":")
}

/// SHA-256 of a certificate's DER encoding.
pub fn certificate_fingerprint(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
    out
}

/// Build the rustls client configuration for a trust choice.
pub(crate) fn client_config(trust: &Trust) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ClientError::from_rustls(&e))?;
    let config = match trust {
        Trust::Fingerprint(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(*pin, &provider)))
            .with_no_client_auth(),
        Trust::CaFile(path) => builder
            .with_root_certificates(load_roots(path)?)
            .with_no_client_auth(),
        Trust::System => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| ClientError::from_rustls(&e))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

fn load_roots(path: &PathBuf) -> Result<RootCertStore, ClientError> {
    let ca_error = |reason: String| ClientError::CaFile {
        path: path.clone(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| ca_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_error(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(ca_error("no usable certificate in the file".to_owned()));
    }
    Ok(roots)
}

/// Carried inside `rustls::Error` so the caller can report which certificate it saw.
#[derive(Debug, thiserror::Error)]
#[error("certificate fingerprint {actual} is not the pinned one")]
pub(crate) struct PinMismatch {
    pub(crate) actual: String,
}

/// Accepts exactly one leaf certificate, whatever its issuer, name or dates, and
/// still checks the handshake signatures so the peer must hold its private key.
#[derive(Debug)]
struct PinnedVerifier {
    /// `None` accepts any leaf: only for [`fetch_fingerprint`].
    pin: Option<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedVerifier {
    fn new(pin: [u8; 32], provider: &CryptoProvider) -> Self {
        Self {
            pin: Some(pin),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn accept_any(provider: &CryptoProvider) -> Self {
        Self {
            pin: None,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(pin) = &self.pin else {
            return Ok(ServerCertVerified::assertion());
        };
        let actual = certificate_fingerprint(end_entity);
        match aws_lc_rs::constant_time::verify_slices_are_equal(&actual, pin) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                    actual: format_fingerprint(&actual),
                }))),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Connect once to the server at `url`, accepting any certificate, and return the
/// SHA-256 fingerprint of its leaf. The caller must show it to the user and get an
/// explicit confirmation before pinning it (trust on first use).
pub async fn fetch_fingerprint(url: &str) -> Result<[u8; 32], ClientError> {
    let parsed = crate::client::parse_base_url(url)?;
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| invalid("no port"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| invalid("no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let server_name = ServerName::try_from(host.clone())
        .map_err(|_| invalid("host is not a valid server name"))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ClientError::from_rustls(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedVerifier::accept_any(&provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        connector.connect(server_name, tcp).await
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .map_err(|_| ClientError::Tls {
            detail: format!("no tls handshake with `{host}:{port}` within {CONNECT_TIMEOUT:?}"),
        })?
        .map_err(|e| match crate::error::find_rustls_error(&e) {
            Some(tls) => ClientError::from_rustls(tls),
            None => ClientError::Tls {
                detail: format!("cannot connect to `{host}:{port}`: {e}"),
            },
        })?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| ClientError::Tls {
            detail: "server presented no certificate".to_owned(),
        })?;
    Ok(certificate_fingerprint(leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let got = parse_fingerprint(input).ok().map(hex::encode);
        assert_eq!(got.as_deref(), expected, "input `{input}`");
    }

    #[test]
    fn parse_fingerprint_table() {
        let lower = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let colons = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
        let cases: &[(&str, Option<&str>)] = &[
            (lower, Some(lower)),
            (&lower.to_uppercase(), Some(lower)),
            (colons, Some(lower)),
            (&format!("  {lower}\n"), Some(lower)),
            (&format!("sha256:{colons}"), Some(lower)),
            ("", None),
            ("00112233", None),
            (&format!("{lower}00"), None),
            (&lower.replace('a', "g"), None),
            (&format!("{}é", &lower[..63]), None),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        let fp = certificate_fingerprint(b"not really a certificate");
        let shown = format_fingerprint(&fp);
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(parse_fingerprint(&shown).ok(), Some(fp));
    }
}
