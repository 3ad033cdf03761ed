//! Storage scheme of the Merkle tree and the computation of roots and proofs
//! from it.
//!
//! The tree is stored as the hashes of its complete (perfect) subtrees only,
//! keyed by `(level, index)`: the node at level `l` and index `i` is the root
//! of the perfect subtree over leaves `[i * 2^l, (i + 1) * 2^l)`; level 0 holds
//! the leaf hashes. Such a node never changes once written, so the store is
//! append-only. Appending a leaf writes at most 64 nodes and reads at most 63;
//! the hash of any non-perfect subtree (the right edge of a tree whose size is
//! not a power of two) is folded from at most 64 stored perfect subtrees, so a
//! root or a proof costs O(log n) reads.

use crate::error::LedgerError;
use crate::merkle::{Hash, empty_root, node_hash};

/// Read access to the stored perfect-subtree hashes.
pub trait HashStore {
    /// The hash of the perfect subtree at `level` and `index`, if stored.
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError>;
}

/// One node to persist: `(level, index, hash)`.
pub type StoredNode = (u8, u64, Hash);

/// The nodes to persist when appending `leaf` to a tree of `size` leaves:
/// the leaf itself at level 0 and every perfect subtree it completes.
pub fn append<S: HashStore + ?Sized>(
    store: &S,
    size: u64,
    leaf: Hash,
) -> Result<Vec<StoredNode>, LedgerError> {
    size.checked_add(1).ok_or(LedgerError::TreeFull)?;
    let mut nodes = vec![(0, size, leaf)];
    let (mut level, mut index, mut hash) = (0u8, size, leaf);
    while index & 1 == 1 {
        let left = stored(store, level, index - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        nodes.push((level, index, hash));
    }
    Ok(nodes)
}

/// The root hash of the tree of the first `size` leaves.
pub fn root<S: HashStore + ?Sized>(store: &S, size: u64) -> Result<Hash, LedgerError> {
    subtree(store, 0, size)
}

/// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of
/// `size` leaves, ordered from the leaf's sibling up to the root's child.
pub fn inclusion_proof<S: HashStore + ?Sized>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut path = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            path.push(subtree(store, mid, hi)?);
            hi = mid;
        } else {
            path.push(subtree(store, lo, mid)?);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// The RFC 9162 §2.1.4.1 consistency proof from the tree of `old` leaves to
/// the tree of `new` leaves; empty when `old` is 0 or equals `new`.
pub fn consistency_proof<S: HashStore + ?Sized>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if old > new {
        return Err(LedgerError::SizeOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let (mut lo, mut hi, mut whole) = (0, new, true);
    let mut proof = Vec::new();
    // Invariant: lo < old <= hi, and [lo, hi) is a subtree of the new tree.
    while old != hi {
        let mid = lo + split(hi - lo);
        if old <= mid {
            proof.push(subtree(store, mid, hi)?);
            hi = mid;
        } else {
            proof.push(subtree(store, lo, mid)?);
            lo = mid;
            whole = false;
        }
    }
    if !whole {
        proof.push(subtree(store, lo, hi)?);
    }
    proof.reverse();
    Ok(proof)
}

/// The largest power of two strictly below `n`, for `n >= 2`.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A stored perfect-subtree hash, or an error naming the missing node.
fn stored<S: HashStore + ?Sized>(store: &S, level: u8, index: u64) -> Result<Hash, LedgerError> {
    store
        .get(level, index)?
        .ok_or(LedgerError::MissingNode { level, index })
}

/// The hash of the subtree over leaves `[start, end)`, where `start` is a
/// multiple of the smallest power of two not below `end - start` (true of
/// every subtree the RFC recursion visits). Folded right to left from the
/// perfect subtrees the length decomposes into, largest first.
fn subtree<S: HashStore + ?Sized>(store: &S, start: u64, end: u64) -> Result<Hash, LedgerError> {
    let len = end - start;
    let mut parts = Vec::new();
    let mut pos = start;
    for level in (0..64u8).rev() {
        if (len >> level) & 1 == 1 {
            parts.push(stored(store, level, pos >> level)?);
            pos += 1 << level;
        }
    }
    let folded = parts
        .into_iter()
        .rev()
        .reduce(|right, left| node_hash(&left, &right));
    Ok(folded.unwrap_or_else(empty_root))
}

/// The root of a tree fed its leaf hashes in order, kept as the stack of its
/// perfect subtrees (largest first): O(log n) memory, one node hash per
/// completed subtree, for verifying an export without storing its leaves.
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    stack: Vec<Hash>,
    size: u64,
}

impl RootBuilder {
    /// The builder of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash, merging the perfect subtrees it completes.
    pub fn push(&mut self, leaf: Hash) -> Result<(), LedgerError> {
        let next = self.size.checked_add(1).ok_or(LedgerError::TreeFull)?;
        let mut hash = leaf;
        let mut completed = self.size;
        while completed & 1 == 1 {
            let left = self
                .stack
                .pop()
                .ok_or_else(|| LedgerError::Store("subtree stack out of step".into()))?;
            hash = node_hash(&left, &hash);
            completed >>= 1;
        }
        self.stack.push(hash);
        self.size = next;
        Ok(())
    }

    /// The root of the tree of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut parts = self.stack.iter().rev().copied();
        let Some(last) = parts.next() else {
            return empty_root();
        };
        parts.fold(last, |right, left| node_hash(&left, &right))
    }
}

/// An in-memory [`HashStore`], one vector of hashes per level.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
    size: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash: computes the nodes with [`append`] and writes them.
    pub fn push(&mut self, leaf: Hash) -> Result<(), LedgerError> {
        let nodes = append(self, self.size, leaf)?;
        self.put(&nodes)?;
        self.size += 1;
        Ok(())
    }

    /// Writes nodes; each must extend its level or overwrite an existing node.
    pub fn put(&mut self, nodes: &[StoredNode]) -> Result<(), LedgerError> {
        for &(level, index, hash) in nodes {
            let level = usize::from(level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            let row = self
                .levels
                .get_mut(level)
                .ok_or_else(|| LedgerError::Store("level not allocated".into()))?;
            let slot = usize::try_from(index)
                .map_err(|_| LedgerError::Store("index too large for memory".into()))?;
            match slot.cmp(&row.len()) {
                std::cmp::Ordering::Less => {
                    if let Some(old) = row.get_mut(slot) {
                        *old = hash;
                    }
                }
                std::cmp::Ordering::Equal => row.push(hash),
                std::cmp::Ordering::Greater => {
                    return Err(LedgerError::Store("write would leave a gap".into()));
                }
            }
        }
        Ok(())
    }
}

impl HashStore for MemoryStore {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        let row = self.levels.get(usize::from(level));
        let slot = usize::try_from(index).ok();
        Ok(row.zip(slot).and_then(|(r, i)| r.get(i)).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use crate::testdata::{
        VECTOR_ROOTS, h, numbered_leaves, store_of, vector_consistencies, vector_inclusions,
        vector_leaves,
    };
    use std::cell::Cell;

    /// Naive RFC 6962 §2.1 MTH over leaf hashes, written from the RFC text.
    fn ref_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = ref_split(n);
                node_hash(&ref_root(&leaves[..k]), &ref_root(&leaves[k..]))
            }
        }
    }

    fn ref_split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// Naive RFC 6962 §2.1.1 PATH(m, D[n]).
    fn ref_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = ref_split(n);
        if m < k {
            let mut p = ref_path(m, &leaves[..k]);
            p.push(ref_root(&leaves[k..]));
            p
        } else {
            let mut p = ref_path(m - k, &leaves[k..]);
            p.push(ref_root(&leaves[..k]));
            p
        }
    }

    /// Naive RFC 6962 §2.1.2 SUBPROOF(m, D[n], b).
    fn ref_subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole {
                Vec::new()
            } else {
                vec![ref_root(leaves)]
            };
        }
        let k = ref_split(n);
        if m <= k {
            let mut p = ref_subproof(m, &leaves[..k], whole);
            p.push(ref_root(&leaves[k..]));
            p
        } else {
            let mut p = ref_subproof(m - k, &leaves[k..], false);
            p.push(ref_root(&leaves[..k]));
            p
        }
    }

    fn ref_consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if m == 0 || m == leaves.len() {
            Vec::new()
        } else {
            ref_subproof(m, leaves, true)
        }
    }

    #[test]
    fn roots_match_published_vectors() {
        let store = store_of(&vector_leaves());
        for (i, want) in VECTOR_ROOTS.iter().enumerate() {
            assert_eq!(
                root(&store, i as u64 + 1).unwrap(),
                h(want),
                "size {}",
                i + 1
            );
        }
        assert_eq!(root(&store, 0).unwrap(), empty_root());
    }

    #[test]
    fn proofs_match_published_vectors() {
        let store = store_of(&vector_leaves());
        for (index, size, want) in vector_inclusions() {
            assert_eq!(inclusion_proof(&store, index, size).unwrap(), want);
        }
        for (old, new, want) in vector_consistencies() {
            assert_eq!(consistency_proof(&store, old, new).unwrap(), want);
        }
    }

    #[test]
    fn reference_matches_published_vectors() {
        // The test oracle itself is checked against the published answers.
        let leaves = vector_leaves();
        for (i, want) in VECTOR_ROOTS.iter().enumerate() {
            assert_eq!(ref_root(&leaves[..=i]), h(want));
        }
        for (old, new, want) in vector_consistencies() {
            assert_eq!(ref_consistency(old as usize, &leaves[..new as usize]), want);
        }
    }

    #[test]
    fn stored_tree_matches_naive_reference_up_to_70() {
        let leaves = numbered_leaves(70);
        let store = store_of(&leaves);
        for n in 0..=70usize {
            let size = n as u64;
            assert_eq!(
                root(&store, size).unwrap(),
                ref_root(&leaves[..n]),
                "root {n}"
            );
            for m in 0..n {
                let got = inclusion_proof(&store, m as u64, size).unwrap();
                assert_eq!(got, ref_path(m, &leaves[..n]), "path {m} of {n}");
            }
            for m in 0..=n {
                let got = consistency_proof(&store, m as u64, size).unwrap();
                assert_eq!(got, ref_consistency(m, &leaves[..n]), "proof {m} to {n}");
            }
        }
    }

    #[test]
    fn root_builder_matches_naive_reference_up_to_70() {
        let leaves = numbered_leaves(70);
        let mut builder = RootBuilder::new();
        assert_eq!(builder.root(), empty_root());
        for (n, leaf) in leaves.iter().enumerate() {
            builder.push(*leaf).unwrap();
            assert_eq!(builder.size(), n as u64 + 1);
            assert_eq!(builder.root(), ref_root(&leaves[..=n]), "root {}", n + 1);
            assert!(
                builder.stack.len() <= 7,
                "size {}: stack {}",
                n + 1,
                builder.stack.len()
            );
        }
        let mut vectors = RootBuilder::new();
        for (leaf, want) in vector_leaves().into_iter().zip(VECTOR_ROOTS) {
            vectors.push(leaf).unwrap();
            assert_eq!(vectors.root(), h(want));
        }
    }

    #[test]
    fn append_writes_leaf_and_completed_subtrees() {
        let leaves = numbered_leaves(8);
        let store = store_of(&leaves[..7]);
        let nodes = append(&store, 7, leaves[7]).unwrap();
        let levels: Vec<(u8, u64)> = nodes.iter().map(|&(l, i, _)| (l, i)).collect();
        assert_eq!(levels, vec![(0, 7), (1, 3), (2, 1), (3, 0)]);
        assert_eq!(nodes.last().map(|n| n.2), Some(ref_root(&leaves)));
    }

    #[test]
    fn errors_name_the_problem() {
        let store = store_of(&numbered_leaves(5));
        let check = |got: Result<Vec<Hash>, LedgerError>, code: &str| {
            assert_eq!(got.map_err(|e| e.code()), Err(code));
        };
        check(inclusion_proof(&store, 5, 5), "ledger_index_out_of_range");
        check(inclusion_proof(&store, 0, 0), "ledger_index_out_of_range");
        check(consistency_proof(&store, 4, 3), "ledger_size_order");
        check(inclusion_proof(&store, 0, 6), "ledger_missing_node");
        check(consistency_proof(&store, 3, 9), "ledger_missing_node");
        assert_eq!(
            root(&store, 6).map_err(|e| e.code()),
            Err("ledger_missing_node")
        );
        assert_eq!(
            append(&store, u64::MAX, [0; 32]).map_err(|e| e.code()),
            Err("ledger_tree_full")
        );
    }

    /// A store that counts its reads.
    struct Counting<'a> {
        inner: &'a MemoryStore,
        reads: Cell<usize>,
    }

    impl HashStore for Counting<'_> {
        fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
            self.reads.set(self.reads.get() + 1);
            self.inner.get(level, index)
        }
    }

    impl Counting<'_> {
        fn take(&self) -> usize {
            self.reads.replace(0)
        }
    }

    #[test]
    fn reads_are_logarithmic_at_a_million_leaves() {
        // 2^20 - 1 leaves: appending the next one completes 20 subtrees (the
        // worst case for an append at this size).
        const SIZE: u64 = (1 << 20) - 1;
        const BOUND: usize = 2 * 64;
        let mut store = MemoryStore::new();
        for i in 0..SIZE {
            store.push(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        let counting = Counting {
            inner: &store,
            reads: Cell::new(0),
        };
        let nodes = append(&counting, SIZE, leaf_hash(b"last")).unwrap();
        assert_eq!((nodes.len(), counting.take()), (21, 20));
        root(&counting, SIZE).unwrap();
        assert_eq!(counting.take(), 20, "root reads popcount(size)");
        for index in [0, 1, 77_777, 524_288, SIZE - 2, SIZE - 1] {
            let proof = inclusion_proof(&counting, index, SIZE).unwrap();
            let reads = counting.take();
            assert!(reads <= BOUND, "inclusion {index}: {reads} reads");
            assert!(proof.len() <= 20);
        }
        for (old, new) in [(1, SIZE), (1000, SIZE), (524_289, SIZE), (SIZE - 1, SIZE)] {
            consistency_proof(&counting, old, new).unwrap();
            let reads = counting.take();
            assert!(reads <= BOUND, "consistency {old}->{new}: {reads} reads");
        }
        // A ragged size near a million: proofs stay cheap and still verify.
        const RAGGED: u64 = 1_000_003;
        let ragged_root = root(&counting, RAGGED).unwrap();
        for index in [0, 999_999, RAGGED - 1] {
            let proof = inclusion_proof(&counting, index, RAGGED).unwrap();
            assert!(counting.take() <= BOUND);
            let leaf = leaf_hash(&index.to_be_bytes());
            crate::proof::verify_inclusion(&leaf, index, RAGGED, &proof, &ragged_root).unwrap();
        }
        for old in [1, 12_345, 999_999] {
            let proof = consistency_proof(&counting, old, RAGGED).unwrap();
            assert!(counting.take() <= BOUND);
            let old_root = root(&store, old).unwrap();
            crate::proof::verify_consistency(old, RAGGED, &old_root, &ragged_root, &proof).unwrap();
        }
    }
}
