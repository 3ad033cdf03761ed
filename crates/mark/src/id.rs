//! What a mark carries: the 64-bit mark id, protected by a CRC-16 so a reading
//! can be checked, the key that makes forensic image marks secret, and the
//! recipient details printed in visible stamps. The payload layout and the
//! token format are stable: do not change them, issued marks depend on them.

use std::fmt;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

/// Bits in a forensic payload: the 64-bit id then its CRC-16. Do not change.
pub(crate) const PAYLOAD_BITS: usize = 80;

/// The id of one issued mark (one recipient, one file version, one time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarkId(pub u64);

impl fmt::Display for MarkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl MarkId {
    /// The CRC-16/CCITT-FALSE of the id's 8 big-endian bytes.
    pub fn check(self) -> u16 {
        crc16(&self.0.to_be_bytes())
    }

    /// The printable token used in visible stamps, PDF metadata and text
    /// banners: `mark 0123456789abcdef-1a2b` (id, then its CRC-16). Do not change.
    pub fn token(self) -> String {
        format!("mark {self}-{:04x}", self.check())
    }

    /// Finds the first valid token (correct CRC) in `text`.
    pub fn find_token(text: &[u8]) -> Option<MarkId> {
        let pat = b"mark ";
        let mut from = 0;
        while let Some(pos) = find(text.get(from..)?, pat) {
            let start = from + pos + pat.len();
            if let Some(id) = text.get(start..start + 21).and_then(parse_token_body) {
                return Some(id);
            }
            from = start;
        }
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_token_body(b: &[u8]) -> Option<MarkId> {
    let s = std::str::from_utf8(b).ok()?;
    let (id, crc) = s.split_once('-')?;
    if id.len() != 16 || crc.len() != 4 {
        return None;
    }
    let id = MarkId(u64::from_str_radix(id, 16).ok()?);
    let crc = u16::from_str_radix(crc, 16).ok()?;
    (id.check() == crc).then_some(id)
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).
pub(crate) fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The 80 payload bits of an id, most significant first: id then CRC-16.
pub(crate) fn payload_bits(id: MarkId) -> [bool; PAYLOAD_BITS] {
    let word = (u128::from(id.0) << 16) | u128::from(id.check());
    let mut bits = [false; PAYLOAD_BITS];
    for (i, b) in bits.iter_mut().enumerate() {
        *b = (word >> (PAYLOAD_BITS - 1 - i)) & 1 == 1;
    }
    bits
}

/// The id in 80 decoded bits, if their CRC-16 checks.
pub(crate) fn decode_payload(bits: &[bool]) -> Option<MarkId> {
    if bits.len() != PAYLOAD_BITS {
        return None;
    }
    let word = bits.iter().fold(0u128, |w, &b| (w << 1) | u128::from(b));
    let id = MarkId((word >> 16) as u64);
    (id.check() == (word & 0xFFFF) as u16).then_some(id)
}

/// The secret that keys forensic image marks (chips and slot layout).
#[derive(Clone)]
pub struct MarkKey([u8; 32]);

impl fmt::Debug for MarkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MarkKey(…)")
    }
}

impl MarkKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key derived from arbitrary secret material (a key file's content):
    /// SHA-256("custody-mark-key-v1" ‖ material).
    pub fn derive(material: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"custody-mark-key-v1");
        h.update(material);
        let mut k = [0u8; 32];
        k.copy_from_slice(&h.finalize());
        Self(k)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Who receives a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// The party (organization) the recipient belongs to.
    pub party: String,
}

/// One issued mark: who, when, and the mark id that names the issue in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The recipient.
    pub recipient: Recipient,
    /// When the copy was issued (passed in: this crate reads no clock).
    pub issued_at: OffsetDateTime,
    /// The mark id.
    pub mark_id: MarkId,
}

impl Issue {
    /// The lines of a visible stamp; the last one is the mark token.
    pub fn lines(&self) -> [String; 3] {
        let fmt = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        let utc = self.issued_at.to_offset(time::UtcOffset::UTC);
        let when = utc
            .format(fmt)
            .unwrap_or_else(|_| utc.unix_timestamp().to_string());
        let r = &self.recipient;
        [
            format!("Confidential: issued to {} <{}>", r.name, r.email),
            format!("{} · {}", r.party, when),
            self.mark_id.token(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_known_answer() {
        // The standard check value of CRC-16/CCITT-FALSE over "123456789".
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn payload_round_trip_and_single_bit_errors_are_caught() {
        for id in [0u64, 1, 0x0123_4567_89ab_cdef, u64::MAX] {
            let bits = payload_bits(MarkId(id));
            assert_eq!(decode_payload(&bits), Some(MarkId(id)));
            for i in 0..PAYLOAD_BITS {
                let mut bad = bits;
                bad[i] = !bad[i];
                assert_eq!(decode_payload(&bad), None, "bit {i} of {id:x}");
            }
        }
    }

    #[test]
    fn tokens_are_found_only_with_a_valid_check() {
        fn check(text: &str, want: Option<u64>) {
            assert_eq!(
                MarkId::find_token(text.as_bytes()),
                want.map(MarkId),
                "{text}"
            );
        }
        let id = MarkId(0x0123_4567_89ab_cdef);
        let tok = id.token();
        assert_eq!(tok, format!("mark 0123456789abcdef-{:04x}", id.check()));
        check(&format!("x {tok} y"), Some(id.0));
        check(&format!("mark mark {tok}"), Some(id.0));
        check("mark 0123456789abcdef-0000", None);
        check("mark 0123", None);
        check("", None);
    }
}
