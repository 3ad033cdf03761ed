//! RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256: the hash of a leaf,
//! the hash of an interior node, and the root of the empty tree. These
//! prefixes and this hash are part of the ledger's public format.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1); do not change.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1); do not change.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || bytes)`: the hash of one leaf.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        // FIPS 180-4 / RFC 6962 §2.1: MTH({}) = SHA-256().
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_match_published_roots() {
        // transparency-dev/merkle proof/verify_test.go: roots of the trees of
        // sizes 1 and 2 over the leaves "" and 0x00.
        let a = leaf_hash(b"");
        let b = leaf_hash(&[0x00]);
        assert_eq!(
            hex(&a),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hex(&node_hash(&a, &b)),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }
}
