//! The error-correcting code of the forensic image payload: the 80 payload
//! bits (id + CRC-16) plus 6 zero tail bits through the rate-1/3, constraint
//! length 7 convolutional code with generators 171, 133, 165 (octal), decoded
//! by a soft-decision Viterbi decoder. The CRC-16 then checks the decoded
//! payload. Do not change: issued marks depend on it.

const K: usize = 7;
const STATES: usize = 1 << (K - 1);
const GENERATORS: [u32; 3] = [0o171, 0o133, 0o165];
/// Coded bits for `n` information bits.
pub(crate) const fn coded_len(n: usize) -> usize {
    (n + K - 1) * GENERATORS.len()
}

/// The coded bits for a register holding the newest bit in its least significant
/// bit (the generators are written newest-bit-first, so they are mirrored here).
fn outputs(reg: u32) -> [bool; 3] {
    GENERATORS.map(|g| (reg & mirror(g)).count_ones() % 2 == 1)
}

const fn mirror(g: u32) -> u32 {
    let mut out = 0;
    let mut i = 0;
    while i < K {
        out |= ((g >> i) & 1) << (K - 1 - i);
        i += 1;
    }
    out
}

/// Encodes `bits` and the zero tail.
pub(crate) fn encode(bits: &[bool]) -> Vec<bool> {
    let mut state = 0u32;
    let mut out = Vec::with_capacity(coded_len(bits.len()));
    for &b in bits.iter().chain(std::iter::repeat_n(&false, K - 1)) {
        let reg = (state << 1) | u32::from(b);
        out.extend(outputs(reg));
        state = reg & (STATES as u32 - 1);
    }
    out
}

/// The most likely `n` information bits given soft values (positive means 1),
/// `coded_len(n)` of them, for a trellis that starts and ends in state 0.
pub(crate) fn decode(soft: &[f32], n: usize) -> Vec<bool> {
    let steps = n + K - 1;
    let mut metric = vec![f32::NEG_INFINITY; STATES];
    if let Some(m) = metric.first_mut() {
        *m = 0.0;
    }
    let mut decisions = vec![0u64; steps];
    for (t, d) in decisions.iter_mut().enumerate() {
        let s3 = soft.get(t * 3..t * 3 + 3).unwrap_or(&[0.0; 3]);
        let mut next = vec![f32::NEG_INFINITY; STATES];
        for (ns, slot) in next.iter_mut().enumerate() {
            let b = (ns & 1) as u32;
            for h in 0..2usize {
                let prev = (ns >> 1) | (h << (K - 2));
                let pm = metric.get(prev).copied().unwrap_or(f32::NEG_INFINITY);
                if pm == f32::NEG_INFINITY {
                    continue;
                }
                let reg = ((prev as u32) << 1) | b;
                let bm: f32 = outputs(reg)
                    .iter()
                    .zip(s3)
                    .map(|(&c, &s)| if c { s } else { -s })
                    .sum();
                if pm + bm > *slot {
                    *slot = pm + bm;
                    if h == 1 {
                        *d |= 1 << ns;
                    } else {
                        *d &= !(1 << ns);
                    }
                }
            }
        }
        metric = next;
    }
    let mut state = 0usize;
    let mut bits = vec![false; steps];
    for t in (0..steps).rev() {
        if let Some(b) = bits.get_mut(t) {
            *b = state & 1 == 1;
        }
        let h = (decisions.get(t).copied().unwrap_or(0) >> state) & 1;
        state = (state >> 1) | ((h as usize) << (K - 2));
    }
    bits.truncate(n);
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_impulse_response() {
        // A single 1 followed by zeros emits the generator taps, newest bit first:
        // 171 = 1111001, 133 = 1011011, 165 = 1110101 (read from the MSB).
        let out = encode(&[true]);
        let g = |i: usize| {
            out.iter()
                .skip(i)
                .step_by(3)
                .take(7)
                .map(|&b| u8::from(b))
                .collect::<Vec<_>>()
        };
        assert_eq!(g(0), [1, 1, 1, 1, 0, 0, 1]);
        assert_eq!(g(1), [1, 0, 1, 1, 0, 1, 1]);
        assert_eq!(g(2), [1, 1, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn corrects_scattered_errors_and_weak_symbols() {
        // (information bits, coded positions flipped) → decoded back exactly.
        fn check(seed: u64, flips: &[usize]) {
            let bits: Vec<bool> = (0..80)
                .map(|i| (seed >> (i % 64)) & 1 == 1 || i % 7 == 0)
                .collect();
            let coded = encode(&bits);
            assert_eq!(coded.len(), coded_len(80));
            let mut soft: Vec<f32> = coded.iter().map(|&c| if c { 1.0 } else { -1.0 }).collect();
            for &f in flips {
                soft[f] = -soft[f];
            }
            assert_eq!(decode(&soft, 80), bits, "{seed:x} {flips:?}");
        }
        check(0x0123_4567_89ab_cdef, &[]);
        check(0xdead_beef_0000_ffff, &[3, 40, 90, 150, 200, 250]);
        check(u64::MAX, &[0, 1, 60, 61, 120, 180, 240]);
    }
}
