//! Envelope encryption for Custody: per-blob data keys wrapped by rotating
//! key-encryption keys, a chunked streaming AEAD blob format with random access by
//! chunk, and blob backends. A pure library: keys and nonces come from the caller, it
//! reads no clock, and it depends on no async runtime. The byte formats are specified
//! in `docs/vault-format.md`.
//!
//! Blob storage is [`Blobs`], async and object-safe, shaped for object stores as well
//! as disks: streamed write-once sinks, ranged streaming reads, paged listing; the
//! disk backend is [`DiskBlobs`], and the suite every backend passes is `conformance`
//! (cargo feature `conformance`). Sealed blobs are read through it by [`sealed`]: the
//! header, then windows of whole chunks opened in place.

#[cfg(feature = "conformance")]
pub mod conformance;
mod durable;
pub mod error;
pub mod format;
pub mod keydir;
pub mod keys;
pub mod objects;
pub mod roomkeys;
pub mod sealed;
pub mod stream;

pub use error::VaultError;
pub use format::{DEFAULT_CHUNK_SIZE, FORMAT_VERSION, HEADER_LEN, Header, Layout, MAGIC, TAG_LEN};
pub use keydir::KeyDir;
pub use keys::{DataKey, Keyring};
pub use objects::{BlobFuture, BlobSink, Blobs, ByteStream, DiskBlobs, Offload, check_range};
pub use roomkeys::RoomKey;
pub use stream::{ChunkCipher, StreamSealer};
