//! The key manifest of a key directory, version 1: one line per key file with
//! its key check value, in the order the keys were added. Text format and check
//! value: docs/vault-format.md §6.

use std::fmt::Write as _;

use super::{CURRENT_FILE, MANIFEST_FILE};
use crate::keys;

/// The first line of a version-1 manifest. Do not change.
pub const MANIFEST_HEADER: &str = "custody-key-manifest v1";
/// Label of key check values: `kcv = SHA-256(KCV_LABEL || file bytes)[..KCV_LEN]`.
/// Do not change.
pub const KCV_LABEL: &[u8] = b"custody/vault/kcv/v1\0";
/// Bytes of a key check value (written as lowercase hex). Do not change.
pub const KCV_LEN: usize = 16;
/// A key check value.
type Kcv = [u8; KCV_LEN];

/// One manifest line: a KEK by id, or another key file by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    Kek { id: String, kcv: Kcv },
    File { name: String, kcv: Kcv },
}

impl Entry {
    pub(super) fn file_name(&self) -> String {
        match self {
            Entry::Kek { id, .. } => keys::kek_file_name(id),
            Entry::File { name, .. } => name.clone(),
        }
    }

    pub(super) fn kcv(&self) -> &Kcv {
        match self {
            Entry::Kek { kcv, .. } | Entry::File { kcv, .. } => kcv,
        }
    }
}

/// The manifest: every key file of the directory, in the order they were added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Manifest {
    pub(super) entries: Vec<Entry>,
}

impl Manifest {
    pub(super) fn parse(text: &str) -> Result<Manifest, String> {
        let body = text
            .strip_suffix('\n')
            .ok_or("expected a newline at the end")?;
        let mut lines = body.split('\n');
        if lines.next() != Some(MANIFEST_HEADER) {
            return Err(format!("expected `{MANIFEST_HEADER}` on the first line"));
        }
        let mut manifest = Manifest::default();
        for (n, line) in lines.enumerate() {
            let entry = parse_entry(line).map_err(|e| format!("line {}: {e}", n + 2))?;
            if manifest.find(&entry.file_name()).is_some() {
                return Err(format!(
                    "line {}: `{}` is listed twice",
                    n + 2,
                    entry.file_name()
                ));
            }
            manifest.entries.push(entry);
        }
        Ok(manifest)
    }

    pub(super) fn to_text(&self) -> String {
        let mut text = format!("{MANIFEST_HEADER}\n");
        for entry in &self.entries {
            let (kind, name) = match entry {
                Entry::Kek { id, .. } => ("kek", id),
                Entry::File { name, .. } => ("key", name),
            };
            let _infallible = writeln!(text, "{kind} {name} {}", to_hex(entry.kcv()));
        }
        text
    }

    pub(super) fn find(&self, file_name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.file_name() == file_name)
    }

    pub(super) fn lists_kek(&self, id: &str) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, Entry::Kek { id: listed, .. } if listed == id))
    }

    pub(super) fn newest_kek(&self) -> Option<&str> {
        self.entries.iter().rev().find_map(|e| match e {
            Entry::Kek { id, .. } => Some(id.as_str()),
            Entry::File { .. } => None,
        })
    }
}

fn parse_entry(line: &str) -> Result<Entry, String> {
    let mut words = line.split(' ');
    let (Some(kind), Some(name), Some(kcv), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err("expected `kek <id> <check value>` or `key <file> <check value>`".into());
    };
    let kcv = from_hex(kcv).ok_or("the check value is not 32 lowercase hex digits")?;
    match kind {
        "kek" => {
            keys::check_id(name).map_err(|e| e.to_string())?;
            Ok(Entry::Kek {
                id: name.to_owned(),
                kcv,
            })
        }
        "key" if is_file_name(name) => Ok(Entry::File {
            name: name.to_owned(),
            kcv,
        }),
        "key" => Err(format!("`{name}` cannot name a key file")),
        _ => Err(format!("unknown entry kind `{kind}`")),
    }
}

/// Names another key file may have: `[a-z0-9][a-z0-9.-]*`, at most 64 bytes, not a
/// KEK file and not one of the directory's own files.
pub(super) fn is_file_name(name: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    name.len() <= 64
        && name.bytes().all(allowed)
        && name.bytes().next().is_some_and(|b| b != b'.' && b != b'-')
        && !name.starts_with("kek-")
        && name != CURRENT_FILE
        && name != MANIFEST_FILE
}

/// The key check value of a key file's exact bytes.
pub fn check_value(bytes: &[u8]) -> [u8; KCV_LEN] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(KCV_LABEL);
    ctx.update(bytes);
    let digest = ctx.finish();
    let mut kcv = [0; KCV_LEN];
    for (out, byte) in kcv.iter_mut().zip(digest.as_ref()) {
        *out = *byte;
    }
    kcv
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _infallible = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(text: &str) -> Option<Kcv> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if text.len() != 2 * KCV_LEN {
        return None;
    }
    let mut out = [0; KCV_LEN];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let [hi, lo] = pair else { return None };
        *byte = (digit(*hi)? << 4) | digit(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_refusals() {
        let text = format!(
            "custody-key-manifest v1\nkek k1 {0}\nkey mark.key {0}\n",
            "00".repeat(16)
        );
        assert_eq!(Manifest::parse(&text).unwrap().to_text(), text);
        for bad in [
            "",
            "custody-key-manifest v1",
            "custody-key-manifest v2\n",
            "custody-key-manifest v1\n\n",
            "custody-key-manifest v1\nkek K1 00000000000000000000000000000000\n",
            "custody-key-manifest v1\nkek k1 0000000000000000000000000000000\n",
            "custody-key-manifest v1\nkek k1 0000000000000000000000000000000A\n",
            "custody-key-manifest v1\nkey current 00000000000000000000000000000000\n",
            "custody-key-manifest v1\nkey kek-k1.key 00000000000000000000000000000000\n",
            "custody-key-manifest v1\nkey ../x 00000000000000000000000000000000\n",
            "custody-key-manifest v1\nfoo k1 00000000000000000000000000000000\n",
            "custody-key-manifest v1\nkek k1 00000000000000000000000000000000 x\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn check_value_known_answer() {
        // SHA-256("custody/vault/kcv/v1" 00 || 32 bytes of 01), first 16 bytes (Python hashlib).
        assert_eq!(
            to_hex(&check_value(&[1; 32])),
            "6469dd37f82ef4dfe023bf7ce5195967"
        );
    }
}
