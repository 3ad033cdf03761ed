//! Which syslog collectors a TLS sink trusts (RFC 5425 §5): the roots in a CA
//! file (chain and host name checked), or one leaf certificate pinned by the
//! SHA-256 of its DER (any issuer, name or dates; the handshake signature is
//! still verified, so the collector must hold the key). rustls with the
//! aws-lc-rs provider, TLS 1.2 and 1.3.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::SiemError;

/// What a TLS sink trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Validate the chain and the host name against the roots in this PEM file.
    CaFile(PathBuf),
    /// Accept exactly the leaf certificate whose DER has this SHA-256 digest.
    Fingerprint([u8; 32]),
}

/// Parses a SHA-256 fingerprint: 64 hex digits, any case, colons allowed, an
/// optional `sha256:` prefix.
pub fn parse_fingerprint(input: &str) -> Result<[u8; 32], SiemError> {
    let trimmed = input.trim();
    let trimmed = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed);
    let digits: String = trimmed.chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(&digits, &mut out).map_err(|_| SiemError::InvalidFingerprint {
        input: input.to_owned(),
    })?;
    Ok(out)
}

/// The rustls client configuration for `trust`.
pub(crate) fn client_config(trust: &Trust) -> Result<ClientConfig, SiemError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SiemError::Tls {
            target: "-".into(),
            detail: e.to_string(),
        })?;
    Ok(match trust {
        Trust::CaFile(path) => builder
            .with_root_certificates(roots(path)?)
            .with_no_client_auth(),
        Trust::Fingerprint(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                pin: *pin,
                algorithms,
            }))
            .with_no_client_auth(),
    })
}

fn roots(path: &Path) -> Result<RootCertStore, SiemError> {
    let fail = |reason: String| SiemError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(fail("no usable certificate in the file".into()));
    }
    Ok(roots)
}

/// Accepts the one pinned leaf certificate.
#[derive(Debug)]
struct Pinned {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, end_entity);
        match aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_ref(), &self.pin) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(_) => Err(rustls::Error::General(format!(
                "certificate fingerprint {} is not the pinned one",
                hex::encode(actual.as_ref())
            ))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints() {
        fn check(input: &str, want: Option<&str>) {
            let got = parse_fingerprint(input).ok().map(hex::encode);
            assert_eq!(got.as_deref(), want, "`{input}`");
        }
        let lower = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let colons = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
        let table = [
            (lower.to_owned(), Some(lower)),
            (lower.to_uppercase(), Some(lower)),
            (colons.to_owned(), Some(lower)),
            (format!("sha256:{colons}"), Some(lower)),
            (String::new(), None),
            ("0011".to_owned(), None),
            (format!("{lower}00"), None),
            (lower.replace('a', "g"), None),
        ];
        for (input, want) in &table {
            check(input, *want);
        }
    }

    #[test]
    fn ca_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let missing = dir.path().join("missing.pem");
        for path in [empty, missing] {
            let err = client_config(&Trust::CaFile(path.clone())).unwrap_err();
            assert_eq!(err.code(), "siem_ca_file", "{err}");
            assert!(err.to_string().contains(&path.display().to_string()));
        }
    }
}
