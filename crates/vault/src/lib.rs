//! Envelope encryption for Custody: per-blob data keys wrapped by rotating
//! key-encryption keys, a chunked streaming AEAD blob format with random access by
//! chunk, and blob backends. A pure library: keys and nonces come from the caller, and
//! it reads no clock. The byte formats are specified in `docs/vault-format.md`.

pub mod blobs;
mod durable;
pub mod error;
pub mod format;
pub mod keydir;
pub mod keys;
pub mod stream;

pub use blobs::{
    BlobReader, BlobStore, BlobWriter, DiskBlobStore, read_chunk, read_chunk_in_place, read_header,
};
pub use error::VaultError;
pub use format::{DEFAULT_CHUNK_SIZE, FORMAT_VERSION, HEADER_LEN, Header, Layout, MAGIC, TAG_LEN};
pub use keydir::KeyDir;
pub use keys::{DataKey, Keyring};
pub use stream::{ChunkCipher, StreamSealer};
