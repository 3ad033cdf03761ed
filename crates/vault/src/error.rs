//! The one error type of the vault crate, with a stable `code()` string per variant.
//!
//! Variants caused by bad or tampered input (integrity, headers, wrapped keys) are
//! listed apart from operational ones (files, permissions, i/o).

use std::path::PathBuf;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    // ---- tampered or malformed data
    /// A chunk failed authentication: tampered, reordered, truncated, extended,
    /// spliced from another blob, or opened with the wrong data key.
    #[error("chunk {chunk} failed authentication")]
    Integrity { chunk: u64 },
    /// The blob header is not one this version can read.
    #[error("bad blob header: {0}")]
    BadHeader(String),
    /// A wrapped key or sealed secret is not in a known format.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A wrapped key or sealed secret failed authentication (wrong key or tampered).
    #[error("key material failed authentication")]
    Crypto,
    /// A chunk index past the end of the blob.
    #[error("chunk {chunk} is out of range, the blob has {count} chunks")]
    ChunkIndex { chunk: u64, count: u64 },
    /// A chunk plaintext of the wrong length for its position (caller error).
    #[error("chunk {chunk} cannot hold {len} bytes of plaintext")]
    ChunkLength { chunk: u64, len: usize },

    // ---- keys
    /// No key-encryption key with this id is loaded.
    #[error("unknown key-encryption key `{0}`")]
    UnknownKek(String),
    /// A key id outside `[a-z0-9-]{1,64}`.
    #[error("invalid key id `{0}`")]
    InvalidKeyId(String),
    /// A key-encryption key with this id already exists.
    #[error("key-encryption key `{0}` already exists")]
    KekExists(String),
    /// `Keyring::init` on a directory that already holds a keyring.
    #[error("a keyring already exists in `{}`", path.display())]
    KeyringExists { path: PathBuf },
    /// A key file or the key directory grants access to group or other.
    #[error("`{}` is accessible to group or other, expected mode 0600 or 0700", path.display())]
    KeyFilePermissions { path: PathBuf },
    /// A key file or the `current` file has the wrong shape.
    #[error("bad key file `{}`: {reason}", path.display())]
    BadKeyFile { path: PathBuf, reason: String },

    // ---- blobs and i/o
    /// No committed blob with this id.
    #[error("blob not found")]
    NotFound,
    /// A committed blob with this id already exists.
    #[error("blob already exists")]
    BlobExists,
    /// An operating-system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl VaultError {
    /// A stable machine-readable code, e.g. `vault_integrity`.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::Integrity { .. } => "vault_integrity",
            VaultError::BadHeader(_) => "vault_bad_header",
            VaultError::Malformed(_) => "vault_malformed",
            VaultError::Crypto => "vault_crypto",
            VaultError::ChunkIndex { .. } => "vault_chunk_index",
            VaultError::ChunkLength { .. } => "vault_chunk_length",
            VaultError::UnknownKek(_) => "vault_unknown_kek",
            VaultError::InvalidKeyId(_) => "vault_invalid_key_id",
            VaultError::KekExists(_) => "vault_kek_exists",
            VaultError::KeyringExists { .. } => "vault_keyring_exists",
            VaultError::KeyFilePermissions { .. } => "vault_key_file_permissions",
            VaultError::BadKeyFile { .. } => "vault_bad_key_file",
            VaultError::NotFound => "vault_not_found",
            VaultError::BlobExists => "vault_blob_exists",
            VaultError::Io(_) => "vault_io",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: VaultError, code: &str, message: &str) {
        assert_eq!(err.code(), code);
        assert_eq!(err.to_string(), message);
    }

    #[test]
    fn codes_and_messages() {
        check(
            VaultError::Integrity { chunk: 3 },
            "vault_integrity",
            "chunk 3 failed authentication",
        );
        check(
            VaultError::UnknownKek("k1".into()),
            "vault_unknown_kek",
            "unknown key-encryption key `k1`",
        );
        check(
            VaultError::KeyFilePermissions {
                path: "/k/kek-a.key".into(),
            },
            "vault_key_file_permissions",
            "`/k/kek-a.key` is accessible to group or other, expected mode 0600 or 0700",
        );
        check(VaultError::NotFound, "vault_not_found", "blob not found");
    }
}
