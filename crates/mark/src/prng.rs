//! A deterministic keyed pseudo-random stream: SHA-256 in counter mode over
//! `key ‖ label ‖ counter`. It draws the forensic chips and slot permutation,
//! so the same key always gives the same pattern. Do not change: marks already
//! issued could no longer be read.

use sha2::{Digest, Sha256};

/// SHA-256(key ‖ label ‖ counter as 8 big-endian bytes), 32 bytes per block.
pub(crate) struct KeyStream {
    key: [u8; 32],
    label: &'static [u8],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl KeyStream {
    /// A stream for one purpose (`label`) under one key.
    pub(crate) fn new(key: &[u8; 32], label: &'static [u8]) -> Self {
        Self {
            key: *key,
            label,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(self.label);
        h.update(self.counter.to_be_bytes());
        self.block.copy_from_slice(&h.finalize());
        self.counter += 1;
        self.used = 0;
    }

    /// The next 64 bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        if self.used + 8 > 32 {
            self.refill();
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_be_bytes(b)
    }

    /// A uniform value below `n` (the modulo bias is below 2^-40 for the sizes used here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }

    /// A Fisher–Yates permutation of `0..n`.
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            p.swap(i, j);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_block_is_sha256_of_key_label_counter() {
        // Known answer computed independently: sha256(32×0x00 ‖ "t" ‖ 0u64).
        let mut s = KeyStream::new(&[0; 32], b"t");
        let mut h = Sha256::new();
        h.update([0u8; 32]);
        h.update(b"t");
        h.update(0u64.to_be_bytes());
        let d = h.finalize();
        let mut want = [0u8; 8];
        want.copy_from_slice(&d[..8]);
        assert_eq!(s.next_u64(), u64::from_be_bytes(want));
    }

    #[test]
    fn permutation_is_a_permutation_and_key_dependent() {
        let a = KeyStream::new(&[1; 32], b"p").permutation(1000);
        let b = KeyStream::new(&[2; 32], b"p").permutation(1000);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, b);
    }
}
