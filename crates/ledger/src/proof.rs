//! Offline verification of inclusion and consistency proofs as RFC 9162
//! §2.1.3.2 and §2.1.4.2 specify. Needs nothing but the hashes: this is what a
//! third party runs against a checkpoint.

use crate::error::LedgerError;
use crate::merkle::{Hash, empty_root, node_hash};

/// On which side of the running hash a proof hash goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The proof hash is the left child: `HASH(0x01 || p || r)`.
    Left,
    /// The proof hash is the right child: `HASH(0x01 || r || p)`.
    Right,
}

/// The walk of RFC 9162 §2.1.3.2 step 4 (and §2.1.4.2 step 6) from `fnode`
/// and `snode` until `snode` reaches 0: one side per proof hash. Its length is
/// the length a valid proof must have.
fn walk(mut fnode: u64, mut snode: u64) -> Vec<Side> {
    let mut sides = Vec::new();
    while snode != 0 {
        if fnode & 1 == 1 || fnode == snode {
            sides.push(Side::Left);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sides.push(Side::Right);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    sides
}

fn check_length(expected: usize, proof: &[Hash]) -> Result<(), LedgerError> {
    if proof.len() == expected {
        Ok(())
    } else {
        Err(LedgerError::ProofLength {
            expected,
            actual: proof.len(),
        })
    }
}

fn check_root(computed: &Hash, expected: &Hash) -> Result<(), LedgerError> {
    if computed == expected {
        Ok(())
    } else {
        Err(LedgerError::RootMismatch)
    }
}

/// Checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let sides = walk(index, size - 1);
    check_length(sides.len(), proof)?;
    let computed = proof
        .iter()
        .zip(sides)
        .fold(*leaf, |r, (p, side)| match side {
            Side::Left => node_hash(p, &r),
            Side::Right => node_hash(&r, p),
        });
    check_root(&computed, root)
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the
/// tree of `old_size` leaves with root `old_root`.
///
/// Beyond RFC 9162 (which covers `0 < old_size < new_size`): equal sizes need
/// an empty proof and equal roots; an old size of 0 needs an empty proof and
/// the empty-tree root as `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::SizeOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        check_length(0, proof)?;
        return check_root(old_root, new_root);
    }
    if old_size == 0 {
        check_length(0, proof)?;
        return check_root(old_root, &empty_root());
    }
    verify_proper_consistency(old_size, new_size, old_root, new_root, proof)
}

/// RFC 9162 §2.1.4.2 for `0 < old_size < new_size`.
fn verify_proper_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let sides = walk(fnode, snode);
    // Step 2: a power-of-two old tree is itself a node of the new tree, so its
    // root is not repeated in the proof.
    let (seed, rest) = if old_size.is_power_of_two() {
        check_length(sides.len(), proof)?;
        (old_root, proof)
    } else {
        check_length(sides.len() + 1, proof)?;
        proof.split_first().ok_or(LedgerError::ProofLength {
            expected: sides.len() + 1,
            actual: 0,
        })?
    };
    let (mut fr, mut sr) = (*seed, *seed);
    for (c, side) in rest.iter().zip(sides) {
        match side {
            Side::Left => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Side::Right => sr = node_hash(&sr, c),
        }
    }
    check_root(&fr, old_root)?;
    check_root(&sr, new_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use crate::testdata::{
        VECTOR_ROOTS, h, numbered_leaves, store_of, vector_consistencies, vector_inclusions,
        vector_leaves,
    };
    use crate::tree::{consistency_proof, inclusion_proof, root};

    const SOME: Hash = [0xab; 32];

    /// (what, index, size, proof, root).
    type InclusionProbe = (&'static str, u64, u64, Vec<Hash>, Hash);
    /// (what, old size, new size, proof, old root, new root).
    type ConsistencyProbe = (&'static str, u64, u64, Vec<Hash>, Hash, Hash);

    /// Expected inclusion proof length, computed independently of [`walk`]:
    /// the depth of leaf `m` in the RFC recursion over `n` leaves.
    fn depth(m: u64, n: u64) -> usize {
        if n <= 1 {
            return 0;
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        1 + if m < k {
            depth(m, k)
        } else {
            depth(m - k, n - k)
        }
    }

    /// Corrupted variants of a valid inclusion proof (after the probes of
    /// transparency-dev/merkle): each must be rejected with the given code.
    fn bad_inclusions(index: u64, size: u64, proof: &[Hash], root: Hash) -> Vec<InclusionProbe> {
        let p = proof.to_vec();
        let mut out = vec![
            ("index + 1", index + 1, size, p.clone(), root),
            ("index ^ 2", index ^ 2, size, p.clone(), root),
            ("size * 2", index, size * 2, p.clone(), root),
            ("size / 2", index, size / 2, p.clone(), root),
            ("empty root", index, size, p.clone(), empty_root()),
            ("other root", index, size, p.clone(), SOME),
            (
                "trailing",
                index,
                size,
                [p.clone(), vec![root]].concat(),
                root,
            ),
            (
                "preceding",
                index,
                size,
                [vec![root], p.clone()].concat(),
                root,
            ),
        ];
        if index > 0 {
            out.push(("index - 1", index - 1, size, p.clone(), root));
        }
        if !p.is_empty() {
            out.push(("truncated", index, size, p[..p.len() - 1].to_vec(), root));
        }
        for i in 0..p.len() {
            let mut flipped = p.clone();
            flipped[i][0] ^= 8;
            out.push(("flipped bit", index, size, flipped, root));
        }
        out
    }

    fn check_inclusion(leaf: Hash, index: u64, size: u64, proof: &[Hash], root: Hash) {
        verify_inclusion(&leaf, index, size, proof, &root).unwrap();
        verify_inclusion(&SOME, index, size, proof, &root).unwrap_err();
        for (what, i, s, p, r) in bad_inclusions(index, size, proof, root) {
            let got = verify_inclusion(&leaf, i, s, &p, &r);
            // A changed index may land on a sibling with an identical path shape
            // only if the leaf hash collides; every probe must fail.
            assert!(got.is_err(), "{what}: index {index} size {size} accepted");
        }
    }

    /// Corrupted variants of a valid consistency proof.
    fn bad_consistencies(
        old: u64,
        new: u64,
        proof: &[Hash],
        r1: Hash,
        r2: Hash,
    ) -> Vec<ConsistencyProbe> {
        let p = proof.to_vec();
        let mut out = vec![
            ("old + 1", old + 1, new, p.clone(), r1, r2),
            ("old ^ 2", old ^ 2, new, p.clone(), r1, r2),
            ("new * 2", old, new * 2, p.clone(), r1, r2),
            ("new / 2", old, new / 2, p.clone(), r1, r2),
            ("wrong old root", old, new, p.clone(), SOME, r2),
            ("wrong new root", old, new, p.clone(), r1, SOME),
            ("swapped roots", old, new, p.clone(), r2, r1),
            ("empty proof", old, new, vec![], r1, r2),
            ("trailing", old, new, [p.clone(), vec![r2]].concat(), r1, r2),
            (
                "preceding",
                old,
                new,
                [vec![r1], p.clone()].concat(),
                r1,
                r2,
            ),
            ("truncated", old, new, p[..p.len() - 1].to_vec(), r1, r2),
        ];
        if old > 1 {
            out.push(("old - 1", old - 1, new, p.clone(), r1, r2));
        }
        for i in 0..p.len() {
            let mut flipped = p.clone();
            flipped[i][0] ^= 16;
            out.push(("flipped bit", old, new, flipped, r1, r2));
        }
        out
    }

    fn check_consistency(old: u64, new: u64, proof: &[Hash], r1: Hash, r2: Hash) {
        verify_consistency(old, new, &r1, &r2, proof).unwrap();
        if proof.is_empty() {
            return;
        }
        for (what, o, n, p, a, b) in bad_consistencies(old, new, proof, r1, r2) {
            let got = verify_consistency(o, n, &a, &b, &p);
            assert!(got.is_err(), "{what}: {old} -> {new} accepted");
        }
    }

    #[test]
    fn published_inclusion_proofs_verify_and_corruptions_fail() {
        let leaves = vector_leaves();
        for (index, size, proof) in vector_inclusions() {
            let root = h(VECTOR_ROOTS[size as usize - 1]);
            check_inclusion(leaves[index as usize], index, size, &proof, root);
        }
    }

    #[test]
    fn published_consistency_proofs_verify_and_corruptions_fail() {
        for (old, new, proof) in vector_consistencies() {
            let r1 = h(VECTOR_ROOTS[old as usize - 1]);
            let r2 = h(VECTOR_ROOTS[new as usize - 1]);
            check_consistency(old, new, &proof, r1, r2);
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_70_verifies() {
        let leaves = numbered_leaves(70);
        let store = store_of(&leaves);
        for size in 1..=70u64 {
            let r = root(&store, size).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(&store, index, size).unwrap();
                assert_eq!(proof.len(), depth(index, size), "{index} of {size}");
                if size.is_power_of_two() {
                    assert_eq!(proof.len() as u32, size.trailing_zeros());
                }
                check_inclusion(leaves[index as usize], index, size, &proof, r);
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_70_verifies() {
        let store = store_of(&numbered_leaves(70));
        let roots: Vec<Hash> = (0..=70).map(|n| root(&store, n).unwrap()).collect();
        for new in 0..=70u64 {
            for old in 0..=new {
                let proof = consistency_proof(&store, old, new).unwrap();
                check_consistency(old, new, &proof, roots[old as usize], roots[new as usize]);
            }
        }
    }

    #[test]
    fn forked_tree_is_not_consistent() {
        // Two logs share their first 20 leaves, then differ at leaf 20.
        let honest = numbered_leaves(40);
        let mut forked = honest.clone();
        forked[20] = leaf_hash(b"rewritten history");
        let (a, b) = (store_of(&honest), store_of(&forked));
        for (old, new) in [(21, 40), (25, 40), (32, 33), (21, 22)] {
            let old_root = root(&a, old).unwrap();
            let new_root = root(&b, new).unwrap();
            for proof in [
                consistency_proof(&a, old, new).unwrap(),
                consistency_proof(&b, old, new).unwrap(),
            ] {
                let got = verify_consistency(old, new, &old_root, &new_root, &proof);
                assert_eq!(got, Err(LedgerError::RootMismatch), "{old} -> {new}");
            }
        }
        // Before the fork both trees agree.
        let proof = consistency_proof(&b, 20, 40).unwrap();
        verify_consistency(
            20,
            40,
            &root(&a, 20).unwrap(),
            &root(&b, 40).unwrap(),
            &proof,
        )
        .unwrap();
    }

    #[test]
    fn edge_cases_table() {
        let e = empty_root();
        let r1 = leaf_hash(b"x");
        type Case = (u64, u64, Hash, Hash, Vec<Hash>, Option<&'static str>);
        let cases: Vec<Case> = vec![
            (0, 0, e, e, vec![], None),
            (0, 0, e, r1, vec![], Some("ledger_root_mismatch")),
            (0, 5, e, SOME, vec![], None),
            (0, 5, SOME, SOME, vec![], Some("ledger_root_mismatch")),
            (0, 5, e, SOME, vec![e], Some("ledger_bad_proof")),
            (1, 1, r1, r1, vec![], None),
            (1, 1, r1, r1, vec![e], Some("ledger_bad_proof")),
            (1, 1, r1, SOME, vec![], Some("ledger_root_mismatch")),
            (2, 1, r1, r1, vec![], Some("ledger_size_order")),
            (1, 2, r1, SOME, vec![], Some("ledger_bad_proof")),
        ];
        for (old, new, a, b, proof, want) in cases {
            let got = verify_consistency(old, new, &a, &b, &proof).map_err(|e| e.code());
            assert_eq!(got.err(), want, "{old} -> {new}");
        }
        let check = |index, size, want: &str| {
            let got = verify_inclusion(&r1, index, size, &[], &r1).map_err(|e| e.code());
            assert_eq!(got, Err(want), "{index} of {size}");
        };
        check(0, 0, "ledger_index_out_of_range");
        check(1, 1, "ledger_index_out_of_range");
        check(0, 2, "ledger_bad_proof");
        verify_inclusion(&r1, 0, 1, &[], &r1).unwrap();
    }
}
