//! The C2SP `signed-note` format with Ed25519: signing a text with a named
//! key, verifying a note against one trusted verifier key, and the textual
//! signer and verifier key encodings shared with Go's `sumdb/note`.
//!
//! Key ID = first 4 bytes (big-endian) of
//! `SHA-256(name || 0x0A || 0x01 || public key)`; a signature line is
//! `— <name> <base64(key ID || 64-byte signature)>`; the text is separated
//! from the signature lines by its last blank line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::LedgerError;

/// Signature type identifier of Ed25519 in signed notes; do not change.
pub const ALG_ED25519: u8 = 0x01;
/// Prefix of a signature line: em dash (U+2014) and a space; do not change.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Prefix of a signer (private) key text; do not change.
pub const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Most signature lines a note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The key ID of an Ed25519 key named `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Signs note texts with one Ed25519 key.
pub struct Signer {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer named `name` from a 32-byte Ed25519 seed (RFC 8032 secret key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, LedgerError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<id hex>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(LedgerError::BadKey("signer key lacks its prefix"))?;
        let (name, id, seed) = split_key(rest)?;
        let signer = Self::from_seed(name, seed)?;
        if signer.id != id {
            return Err(LedgerError::BadKey("key id does not match the key"));
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signer key text; a secret, to be stored like one.
    pub fn to_key_text(&self) -> String {
        let seed = self.key.to_bytes();
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key(&seed)
        )
    }

    /// The verifier of this signer's signatures.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The signed note: `text`, a blank line, one signature line.
    ///
    /// The text must end in a newline and hold no control character other
    /// than newline.
    pub fn sign(&self, text: &str) -> Result<String, LedgerError> {
        check_chars(text)?;
        if !text.ends_with('\n') {
            return Err(LedgerError::BadNote("text does not end in a newline"));
        }
        let signature = self.key.sign(text.as_bytes()).to_bytes();
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&signature);
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// Verifies notes against one trusted Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl Verifier {
    /// Parses `<name>+<id hex>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let (name, id, public) = split_key(text)?;
        check_name(name)?;
        if key_id(name, &public) != id {
            return Err(LedgerError::BadKey("key id does not match the key"));
        }
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| LedgerError::BadKey("not an ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier key text.
    pub fn to_key_text(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key(self.key.as_bytes())
        )
    }

    /// Verifies `note` and returns its text.
    ///
    /// Signatures by other keys, even of the same name, are ignored; a
    /// signature by this key that does not verify rejects the note; so does a
    /// note with no signature by this key.
    pub fn verify(&self, note: &str) -> Result<String, LedgerError> {
        check_chars(note)?;
        let (text, lines) = split_note(note)?;
        let mut verified = false;
        for line in lines {
            let (name, id, signature) = parse_signature_line(line)?;
            if name != self.name || id != self.id {
                continue;
            }
            if verified {
                return Err(LedgerError::BadNote("duplicate signature by one key"));
            }
            self.check_signature(text, &signature)?;
            verified = true;
        }
        if verified {
            Ok(text.to_owned())
        } else {
            Err(LedgerError::UnknownKey(self.name.clone()))
        }
    }

    fn check_signature(&self, text: &str, signature: &[u8]) -> Result<(), LedgerError> {
        let signature = Signature::from_slice(signature).map_err(|_| LedgerError::BadSignature)?;
        self.key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| LedgerError::BadSignature)
    }
}

/// Key names are non-empty, without Unicode spaces and without `+`.
fn check_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(LedgerError::BadKey(
            "key name is empty or holds a space or plus",
        ));
    }
    Ok(())
}

/// Notes hold no ASCII control character other than newline.
fn check_chars(text: &str) -> Result<(), LedgerError> {
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(LedgerError::BadNote("control character in note"));
    }
    Ok(())
}

/// `base64(0x01 || key)`.
fn encode_key(key: &[u8; 32]) -> String {
    let mut bytes = vec![ALG_ED25519];
    bytes.extend_from_slice(key);
    STANDARD.encode(bytes)
}

/// Splits `<name>+<8 hex>+<base64(0x01 || 32 bytes)>` into its parts. The
/// base64 part may itself contain `+`, so only the first two split.
fn split_key(text: &str) -> Result<(&str, u32, [u8; 32]), LedgerError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(LedgerError::BadKey("key text lacks a part"));
    };
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LedgerError::BadKey("key id is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| LedgerError::BadKey("bad key id"))?;
    let bytes = STANDARD
        .decode(key)
        .map_err(|_| LedgerError::BadKey("key is not valid base64"))?;
    match bytes.split_first() {
        Some((&ALG_ED25519, rest)) => rest
            .try_into()
            .map(|key| (name, id, key))
            .map_err(|_| LedgerError::BadKey("key is not 32 bytes")),
        _ => Err(LedgerError::BadKey("key is not of the ed25519 type")),
    }
}

/// Splits a note at its last blank line into the text (with its final
/// newline) and the signature lines (without theirs).
fn split_note(note: &str) -> Result<(&str, std::str::Split<'_, char>), LedgerError> {
    let at = note
        .rfind("\n\n")
        .ok_or(LedgerError::BadNote("no blank line before signatures"))?;
    let text = note.get(..=at).ok_or(LedgerError::BadNote("no text"))?;
    let block = note
        .get(at + 2..)
        .and_then(|b| b.strip_suffix('\n'))
        .ok_or(LedgerError::BadNote("signatures do not end in a newline"))?;
    if block.is_empty() {
        return Err(LedgerError::BadNote("no signature lines"));
    }
    if block.matches('\n').count() >= MAX_SIGNATURES {
        return Err(LedgerError::BadNote("too many signatures"));
    }
    Ok((text, block.split('\n')))
}

/// Parses `— <name> <base64(key ID || signature)>`.
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), LedgerError> {
    let bad = LedgerError::BadNote("malformed signature line");
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(bad.clone())?;
    let (name, blob) = rest.split_once(' ').ok_or(bad.clone())?;
    check_name(name).map_err(|_| bad.clone())?;
    let bytes = STANDARD.decode(blob).map_err(|_| bad.clone())?;
    match bytes.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => {
            Ok((name, u32::from_be_bytes(*id), signature.to_vec()))
        }
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published example of golang.org/x/mod/sumdb/note (package doc).
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn go_note() -> String {
        format!("{GO_TEXT}\n{GO_SIG}")
    }

    fn go_verifier() -> Verifier {
        Verifier::parse(GO_VKEY).unwrap()
    }

    #[test]
    fn go_example_signs_byte_for_byte() {
        let signer = Signer::parse(GO_SKEY).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.to_key_text(), GO_SKEY);
        assert_eq!(signer.verifier().to_key_text(), GO_VKEY);
        assert_eq!(signer.sign(GO_TEXT).unwrap(), go_note());
    }

    #[test]
    fn go_example_verifies() {
        assert_eq!(go_verifier().verify(&go_note()).unwrap(), GO_TEXT);
        assert_eq!(go_verifier().to_key_text(), GO_VKEY);
    }

    #[test]
    fn from_seed_matches_key_text() {
        // Decode the seed by hand from the published signer key.
        let b64 = GO_SKEY.rsplit_once("+c74f20a3+").unwrap().1;
        let bytes = STANDARD.decode(b64).unwrap();
        assert_eq!(bytes[0], 0x01);
        let seed: [u8; 32] = bytes[1..].try_into().unwrap();
        let signer = Signer::from_seed("PeterNeumann", seed).unwrap();
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.verifier(), go_verifier());
    }

    #[test]
    fn own_notes_round_trip_with_blank_lines_in_text() {
        let signer = Signer::from_seed("custody.example/ledger", [7; 32]).unwrap();
        let verifier = Verifier::parse(&signer.verifier().to_key_text()).unwrap();
        for text in ["a\n", "a\n\nb\n", "a\n\n", "\n", "é — ü\n"] {
            let note = signer.sign(text).unwrap();
            assert_eq!(verifier.verify(&note).unwrap(), text, "{text:?}");
        }
        for text in ["", "no newline", "tab\there\n", "cr\r\n"] {
            assert_eq!(
                signer.sign(text).map_err(|e| e.code()),
                Err("ledger_bad_note"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn tampered_notes_are_rejected() {
        let other = Signer::from_seed("PeterNeumann", [9; 32]).unwrap();
        let stranger = Signer::from_seed("someone.else", [3; 32]).unwrap();
        let other_sig = other.sign(GO_TEXT).unwrap().replace(GO_TEXT, "");
        let stranger_sig = stranger.sign(GO_TEXT).unwrap().replace(GO_TEXT, "");
        let note = go_note();
        let (good_line, _) = GO_SIG.split_once('\n').unwrap();
        let check = |note: &str, want: Result<&str, &str>| {
            let got = go_verifier().verify(note);
            assert_eq!(got.as_deref().map_err(LedgerError::code), want, "{note:?}");
        };
        // Accepted: extra signatures by unknown keys are ignored.
        check(&format!("{note}{}", &stranger_sig[1..]), Ok(GO_TEXT));
        check(&format!("{GO_TEXT}{stranger_sig}{GO_SIG}"), Ok(GO_TEXT));
        // Rejected.
        check(
            &note.replace("cryptography", "cryptographY"),
            Err("ledger_bad_signature"),
        );
        check(
            &note.replace("problem is.", "problem is!"),
            Err("ledger_bad_signature"),
        );
        check(&format!("X{note}"), Err("ledger_bad_signature"));
        check(GO_TEXT, Err("ledger_bad_note"));
        check(&format!("{GO_TEXT}\n"), Err("ledger_bad_note"));
        check(&format!("{GO_TEXT}{other_sig}"), Err("ledger_unknown_key"));
        check(
            &format!("{GO_TEXT}{stranger_sig}"),
            Err("ledger_unknown_key"),
        );
        check(
            &note.replace("x08go/", "x08go+"),
            Err("ledger_bad_signature"),
        );
        check(&note.replace("x08go", "x08gp"), Err("ledger_unknown_key"));
        check(&note.replace("AM=\n", "AM=="), Err("ledger_bad_note"));
        check(note.trim_end_matches('\n'), Err("ledger_bad_note"));
        check(&note.replace('—', "-"), Err("ledger_bad_note"));
        check(&note.replace("— ", "—"), Err("ledger_bad_note"));
        check(&note.replace("— ", "—  "), Err("ledger_bad_note"));
        check(
            &note.replace("Neumann x08", "Neumann  x08"),
            Err("ledger_bad_note"),
        );
        check(&note.replace("AM=", "AM"), Err("ledger_bad_note"));
        // An extra blank line moves into the text, which then fails to verify.
        check(
            &note.replace("\n\n—", "\n\n\n—"),
            Err("ledger_bad_signature"),
        );
        check(
            &note.replace("problem,\n", "problem,\r\n"),
            Err("ledger_bad_note"),
        );
        check(&format!("{note}{good_line}\n"), Err("ledger_bad_note"));
        check(&format!("{note}\n"), Err("ledger_bad_note"));
        check(
            &format!("{GO_TEXT}\n— PeterNeumann x08go/Y=\n"),
            Err("ledger_bad_signature"),
        );
        check(
            &format!("{GO_TEXT}\n— PeterNeumann x08g\n"),
            Err("ledger_bad_note"),
        );
        // 16 signatures must be accepted; more than MAX_SIGNATURES are not.
        let lines = |n| stranger_sig[1..].repeat(n);
        check(&format!("{GO_TEXT}\n{}{GO_SIG}", lines(15)), Ok(GO_TEXT));
        check(&format!("{GO_TEXT}\n{}{GO_SIG}", lines(99)), Ok(GO_TEXT));
        check(
            &format!("{GO_TEXT}\n{}{GO_SIG}", lines(100)),
            Err("ledger_bad_note"),
        );
    }

    #[test]
    fn docs_worked_example_verifies() {
        // The signed checkpoint of docs/ledger.md §6; its root must be the
        // published RFC 6962 root of the five test-vector leaves.
        let vkey = "custody.example/ledger+107a167a+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
        let note = "custody.example/ledger\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n\n\
                    — custody.example/ledger EHoWejYCWRhYJSUgPwoNZ5bFfREWhXQQ495qr3VjX+uQ6SlxIGB45wsXQVTLp2X5COGmZVm5U54OOcJF4c14irzNEwI=\n";
        let text = Verifier::parse(vkey).unwrap().verify(note).unwrap();
        let cp = crate::Checkpoint::parse(&text).unwrap();
        assert_eq!(cp.size, 5);
        assert_eq!(
            cp.root,
            crate::testdata::h(crate::testdata::VECTOR_ROOTS[4])
        );
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        let signer = Signer::from_seed("custody.example/ledger", seed).unwrap();
        assert_eq!(signer.verifier().to_key_text(), vkey);
    }

    #[test]
    fn mangled_verifier_keys_are_rejected() {
        // As in Go's note tests: no proper substring and no single-byte
        // change of a valid key parses.
        let key = GO_VKEY.as_bytes();
        for i in 0..=key.len() {
            for j in i + 1..=key.len() {
                if (i, j) != (0, key.len()) {
                    let sub = std::str::from_utf8(&key[i..j]).unwrap();
                    assert!(Verifier::parse(sub).is_err(), "{sub}");
                }
            }
        }
        for i in 0..key.len() {
            let mut changed = key.to_vec();
            changed[i] += 1;
            let changed = String::from_utf8(changed).unwrap();
            assert!(Verifier::parse(&changed).is_err(), "{changed}");
        }
        let check = |text: &str, want: &str| {
            let got = Verifier::parse(text).map_err(|e| e.to_string());
            assert_eq!(got, Err(format!("malformed key: {want}")), "{text}");
        };
        let b64 = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        check("PeterNeumann+c74f20a3", "key text lacks a part");
        check(
            &format!("PeterNeumann+c74f20a+{b64}"),
            "key id is not 8 hex digits",
        );
        check(
            &format!("PeterNeumann+c74f20g3+{b64}"),
            "key id is not 8 hex digits",
        );
        check(
            &format!("Peter Neumann+c74f20a3+{b64}"),
            "key name is empty or holds a space or plus",
        );
        check(
            &format!("+c74f20a3+{b64}"),
            "key name is empty or holds a space or plus",
        );
        check(
            &format!("PeterNeumann+c74f20a4+{b64}"),
            "key id does not match the key",
        );
        check(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
            "key is not valid base64",
        );
        check(
            "PeterNeumann+c74f20a3+AhpcAA==",
            "key is not of the ed25519 type",
        );
        check("PeterNeumann+c74f20a3+ARpc", "key is not 32 bytes");
        assert!(Verifier::parse(&GO_VKEY.replace("c74f20a3", "C74F20A3")).is_ok());
    }

    #[test]
    fn mangled_signer_keys_are_rejected() {
        let check = |text: &str| {
            assert_eq!(
                Signer::parse(text).map_err(|e| e.code()).err(),
                Some("ledger_bad_key"),
                "{text}"
            );
        };
        check(&GO_SKEY.replace("PRIVATE+KEY+", ""));
        check(&GO_SKEY.replace("c74f20a3", "c74f20a4"));
        check(&GO_SKEY.replace("+AYEK", "+AoEK"));
        check(&GO_SKEY.replace("PeterNeumann", "Peter"));
        check(GO_VKEY);
        assert!(format!("{:?}", Signer::parse(GO_SKEY).unwrap()).contains("c74f20a3"));
        assert!(!format!("{:?}", Signer::parse(GO_SKEY).unwrap()).contains("AYEK"));
    }
}
