//! The one error type of the ledger crate: every way a proof, a checkpoint, a
//! signed note, a key or the underlying hash store can be wrong, each with a
//! stable machine-readable code.

use thiserror::Error;

/// Everything that can go wrong in the ledger.
///
/// Variants up to [`LedgerError::BadLeaf`] are caused by the input (a proof, a
/// note, a key text supplied by someone); the rest are internal faults of the
/// node store (see [`LedgerError::is_internal`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// A proof has the wrong number of hashes for the sizes it claims.
    #[error("proof has {actual} hashes, expected {expected}")]
    ProofLength {
        /// The number of hashes the sizes call for.
        expected: usize,
        /// The number of hashes supplied.
        actual: usize,
    },
    /// The root recomputed from a proof is not the root given.
    #[error("recomputed root does not match the expected root")]
    RootMismatch,
    /// A leaf index is not inside the tree.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The size of the tree.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The old tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// A checkpoint body does not follow the tlog-checkpoint format.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
    /// A signed note does not follow the signed-note format.
    #[error("malformed signed note: {0}")]
    BadNote(&'static str),
    /// A signature line names the verifier's key but does not verify.
    #[error("signature by the trusted key does not verify")]
    BadSignature,
    /// No signature line of the note is by the verifier's key.
    #[error("note carries no signature by key `{0}`")]
    UnknownKey(String),
    /// A signer or verifier key text is malformed.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// Leaf bytes or an export line do not follow the leaf encoding.
    #[error("malformed leaf: {0}")]
    BadLeaf(&'static str),
    /// The node store lacks a node that the tree size says must exist.
    #[error("node store lacks node at level {level} index {index}")]
    MissingNode {
        /// Level of the missing node (0 = leaves).
        level: u8,
        /// Index of the missing node within its level.
        index: u64,
    },
    /// The tree cannot grow any more.
    #[error("tree is full")]
    TreeFull,
    /// The node store failed to read.
    #[error("node store failed: {0}")]
    Store(String),
}

impl LedgerError {
    /// A stable code naming the kind of error; do not change.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ProofLength { .. } => "ledger_bad_proof",
            Self::RootMismatch => "ledger_root_mismatch",
            Self::IndexOutOfRange { .. } => "ledger_index_out_of_range",
            Self::SizeOrder { .. } => "ledger_size_order",
            Self::BadCheckpoint(_) => "ledger_bad_checkpoint",
            Self::BadNote(_) => "ledger_bad_note",
            Self::BadSignature => "ledger_bad_signature",
            Self::UnknownKey(_) => "ledger_unknown_key",
            Self::BadKey(_) => "ledger_bad_key",
            Self::BadLeaf(_) => "ledger_bad_leaf",
            Self::MissingNode { .. } => "ledger_missing_node",
            Self::TreeFull => "ledger_tree_full",
            Self::Store(_) => "ledger_store",
        }
    }

    /// Whether the error is a fault of the node store rather than of the input.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::MissingNode { .. } | Self::TreeFull | Self::Store(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_prefixed_and_messages_lowercase() {
        let all = [
            LedgerError::ProofLength {
                expected: 1,
                actual: 2,
            },
            LedgerError::RootMismatch,
            LedgerError::IndexOutOfRange { index: 3, size: 2 },
            LedgerError::SizeOrder { old: 3, new: 2 },
            LedgerError::BadCheckpoint("x"),
            LedgerError::BadNote("x"),
            LedgerError::BadSignature,
            LedgerError::UnknownKey("k".into()),
            LedgerError::BadKey("x"),
            LedgerError::BadLeaf("x"),
            LedgerError::MissingNode { level: 0, index: 0 },
            LedgerError::TreeFull,
            LedgerError::Store("x".into()),
        ];
        for e in &all {
            let msg = e.to_string();
            assert!(e.code().starts_with("ledger_"), "{}", e.code());
            assert!(!msg.ends_with('.'), "{msg}");
            assert_eq!(msg.chars().next().map(char::is_lowercase), Some(true));
        }
    }
}
