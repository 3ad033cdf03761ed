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
    /// A key file, the manifest or the `current` file has the wrong shape.
    #[error("bad key file `{}`: {reason}", path.display())]
    BadKeyFile { path: PathBuf, reason: String },
    /// A key file would be created where a file exists (key files are never replaced).
    #[error("`{}` already exists; a key file is never replaced", path.display())]
    KeyFileExists { path: PathBuf },
    /// A key file the manifest lists is missing.
    #[error(
        "`{}` is listed in the key manifest but missing: restore it from backup; \
         without it, what it protects cannot be read",
        path.display()
    )]
    KeyMissing { path: PathBuf },
    /// A key file's bytes do not give its check value in the manifest.
    #[error(
        "`{}` does not match its check value in the key manifest (damaged or replaced): \
         restore the original from backup",
        path.display()
    )]
    KeyMismatch { path: PathBuf },
    /// A key file the manifest does not list.
    #[error(
        "`{}` is not listed in the key manifest; it may be left by an interrupted rotation: \
         unless `current` names it, nothing was encrypted under it and it can be moved out \
         of the key directory",
        path.display()
    )]
    KeyUnlisted { path: PathBuf },
    /// A name the key directory may not hold.
    #[error("unexpected `{}` in the key directory: move it elsewhere", path.display())]
    UnexpectedKeyFile { path: PathBuf },
    /// No `current` in a key directory that holds key files.
    #[error(
        "`{}` is missing but the key directory holds {holds}: write the id of the newest \
         key-encryption key ({newest}) and a newline into it (mode 0600), or restore the \
         key directory from backup",
        path.display()
    )]
    CurrentMissing {
        path: PathBuf,
        holds: String,
        newest: String,
    },
    /// No manifest in a key directory loaded while running.
    #[error(
        "`{}` is missing: restart the server, which checks the key directory and writes it",
        path.display()
    )]
    ManifestMissing { path: PathBuf },

    // ---- blobs and i/o
    /// No committed blob with this id.
    #[error("blob not found")]
    NotFound,
    /// A committed blob with this id already exists (blobs are written once).
    #[error("blob already exists")]
    BlobExists,
    /// A byte range that is inverted or reaches past the end of the blob.
    #[error("byte range {start}..{end} is not within the blob's {len} bytes")]
    BlobRange { start: u64, end: u64, len: u64 },
    /// A write to a blob sink after an earlier write to it failed or was cancelled:
    /// what the sink holds is unknown, so it can only be dropped.
    #[error("the blob write cannot continue after an earlier write failed or was cancelled")]
    SinkBroken,
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
            VaultError::KeyFileExists { .. } => "vault_key_file_exists",
            VaultError::KeyMissing { .. } => "vault_key_missing",
            VaultError::KeyMismatch { .. } => "vault_key_mismatch",
            VaultError::KeyUnlisted { .. } => "vault_key_unlisted",
            VaultError::UnexpectedKeyFile { .. } => "vault_unexpected_key_file",
            VaultError::CurrentMissing { .. } => "vault_current_missing",
            VaultError::ManifestMissing { .. } => "vault_manifest_missing",
            VaultError::NotFound => "vault_not_found",
            VaultError::BlobExists => "vault_blob_exists",
            VaultError::BlobRange { .. } => "vault_blob_range",
            VaultError::SinkBroken => "vault_sink_broken",
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
        check(
            VaultError::BlobExists,
            "vault_blob_exists",
            "blob already exists",
        );
        check(
            VaultError::BlobRange {
                start: 5,
                end: 12,
                len: 10,
            },
            "vault_blob_range",
            "byte range 5..12 is not within the blob's 10 bytes",
        );
        check(
            VaultError::SinkBroken,
            "vault_sink_broken",
            "the blob write cannot continue after an earlier write failed or was cancelled",
        );
        check(
            VaultError::KeyMissing {
                path: "/k/kek-a.key".into(),
            },
            "vault_key_missing",
            "`/k/kek-a.key` is listed in the key manifest but missing: restore it from backup; \
             without it, what it protects cannot be read",
        );
        check(
            VaultError::CurrentMissing {
                path: "/k/current".into(),
                holds: "`kek-a.key`".into(),
                newest: "`a`".into(),
            },
            "vault_current_missing",
            "`/k/current` is missing but the key directory holds `kek-a.key`: write the id of \
             the newest key-encryption key (`a`) and a newline into it (mode 0600), or restore \
             the key directory from backup",
        );
    }
}
