//! The Custody ledger: an append-only Merkle log of audited events whose
//! signed checkpoints a third party can verify offline.
//!
//! Hashing follows RFC 6962 / RFC 9162 ([`merkle`]); the tree is stored as its
//! perfect subtrees so appends and proofs cost O(log n) reads ([`tree`]);
//! proofs are verified as RFC 9162 specifies ([`proof`]); tree heads are C2SP
//! `tlog-checkpoint` bodies ([`checkpoint`]) signed as C2SP `signed-note`s with
//! Ed25519 ([`note`]); events are encoded as leaves by [`leaf`]. The crate reads no clock and draws no randomness: keys
//! are passed in.

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")
)]

pub mod checkpoint;
pub mod error;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
#[cfg(test)]
mod testdata;
pub mod tree;

pub use checkpoint::Checkpoint;
pub use error::LedgerError;
pub use leaf::{EventLeaf, ExportEntry, LeafView};
pub use merkle::{Hash, empty_root, leaf_hash, node_hash};
pub use note::{Signer, Verifier};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::{
    HashStore, MemoryStore, RootBuilder, StoredNode, append, consistency_proof, inclusion_proof,
    root,
};
