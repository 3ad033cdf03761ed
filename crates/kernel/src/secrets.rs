//! Random tokens, digests, constant-time comparison and base32: the small
//! cryptographic helpers every use-case shares.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::AppError;

/// Fills an array from the operating system's CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N], AppError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| AppError::internal("random generator failed"))?;
    Ok(out)
}

/// A new opaque bearer secret (256 bits, URL-safe base64) and its SHA-256.
pub fn new_token() -> Result<(String, Vec<u8>), AppError> {
    let raw = random::<32>()?;
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = sha256(token.as_bytes());
    Ok((token, hash))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (as authenticator apps expect).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads a secret key file, creating it with `make()`'s text (mode 0600,
/// synced) when it does not exist; refuses one that group or others can read.
/// When another process creates it first, theirs is read.
pub fn load_or_create_private_file(
    path: &Path,
    make: impl FnOnce() -> Result<String, AppError>,
) -> Result<String, AppError> {
    let io = |what: &str, e: std::io::Error| {
        AppError::internal(format!("cannot {what} `{}`: {e}", path.display()))
    };
    if !path.exists() {
        let text = make()?;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(mut file) => {
                file.write_all(format!("{text}\n").as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io("write", e))?;
                tracing::info!(path = %path.display(), "created a key file");
                return Ok(text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create", e)),
        }
    }
    let meta = std::fs::metadata(path).map_err(|e| io("read", e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(AppError::internal(format!(
            "`{}` is readable by group or others; run `chmod 600` on it",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| io("read", e))?;
    Ok(text.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], want: &str) {
        assert_eq!(base32(input), want, "{input:?}");
    }

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 section 10, padding removed.
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            check(input.as_bytes(), want);
        }
    }

    #[test]
    fn tokens_differ_and_hash_matches() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(ha, sha256(a.as_bytes()));
        assert!(ct_eq(&ha, &sha256(a.as_bytes())));
        assert!(!ct_eq(&ha, &sha256(b.as_bytes())));
    }
}
