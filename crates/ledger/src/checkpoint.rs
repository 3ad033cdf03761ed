//! The C2SP `tlog-checkpoint` note body: origin line, decimal tree size,
//! base64 root hash, then optional extension lines, each ending in a newline.
//! The body is what a [`crate::note::Signer`] signs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::LedgerError;
use crate::merkle::Hash;

/// A tree head: which log, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `custody.example.com/ledger`.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Opaque extension lines, without their newlines; each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note body: `origin\nsize\nbase64(root)\n` then one line per extension.
    ///
    /// Fails when the origin or an extension line is empty or holds a control
    /// character (a newline in a field would frame a different checkpoint).
    pub fn to_note_body(&self) -> Result<String, LedgerError> {
        check_line(&self.origin, "empty origin")?;
        for ext in &self.extensions {
            check_line(ext, "empty extension line")?;
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        Ok(body)
    }

    /// Parses a note body strictly: every line ends in a newline, the size is
    /// canonical decimal, the root is canonical padded base64 of 32 bytes.
    pub fn parse(body: &str) -> Result<Self, LedgerError> {
        let content = body
            .strip_suffix('\n')
            .ok_or(LedgerError::BadCheckpoint("missing final newline"))?;
        let mut lines = content.split('\n');
        let mut next = |missing| lines.next().ok_or(LedgerError::BadCheckpoint(missing));
        let origin = next("missing origin")?;
        let size = next("missing tree size")?;
        let root = next("missing root hash")?;
        check_line(origin, "empty origin")?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: Vec::new(),
        };
        let extensions = lines
            .map(|ext| check_line(ext, "empty extension line").map(|()| ext.to_owned()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            extensions,
            ..checkpoint
        })
    }
}

/// A line must be non-empty and free of control characters.
fn check_line(line: &str, empty: &'static str) -> Result<(), LedgerError> {
    if line.is_empty() {
        return Err(LedgerError::BadCheckpoint(empty));
    }
    if line.chars().any(char::is_control) {
        return Err(LedgerError::BadCheckpoint("control character in line"));
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zero unless the size is `0`.
fn parse_size(line: &str) -> Result<u64, LedgerError> {
    let bad = LedgerError::BadCheckpoint("tree size is not a canonical decimal number");
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(bad);
    }
    line.parse()
        .map_err(|_| LedgerError::BadCheckpoint("tree size does not fit 64 bits"))
}

/// Standard padded base64 of exactly 32 bytes.
fn parse_root(line: &str) -> Result<Hash, LedgerError> {
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| LedgerError::BadCheckpoint("root hash is not valid base64"))?;
    bytes
        .try_into()
        .map_err(|_| LedgerError::BadCheckpoint("root hash is not 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example body of the C2SP tlog-checkpoint specification.
    const SPEC_BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn spec_example_parses_and_round_trips() {
        let cp = Checkpoint::parse(SPEC_BODY).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.root[..3], [0x0a, 0xc5, 0x18]);
        assert!(cp.extensions.is_empty());
        assert_eq!(cp.to_note_body().unwrap(), SPEC_BODY);
    }

    #[test]
    fn extensions_and_extremes_round_trip() {
        for cp in [
            Checkpoint {
                origin: "custody.example/ledger".into(),
                size: 0,
                root: crate::merkle::empty_root(),
                extensions: vec![],
            },
            Checkpoint {
                origin: "o".into(),
                size: u64::MAX,
                root: [0xff; 32],
                extensions: vec!["ext one".into(), "— two".into()],
            },
        ] {
            let body = cp.to_note_body().unwrap();
            assert_eq!(Checkpoint::parse(&body).unwrap(), cp);
        }
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let check = |body: &str, want: &str| {
            let got = Checkpoint::parse(body).map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(format!("malformed checkpoint: {want}")),
                "{body:?}"
            );
        };
        let decimal = "tree size is not a canonical decimal number";
        check(&format!("o\n1\n{root}"), "missing final newline");
        check("", "missing final newline");
        check("o\n", "missing tree size");
        check("o\n1\n", "missing root hash");
        check(&format!("\n1\n{root}\n"), "empty origin");
        check(&format!("o\r\n1\n{root}\n"), "control character in line");
        check(&format!("o\n01\n{root}\n"), decimal);
        check(&format!("o\n+1\n{root}\n"), decimal);
        check(&format!("o\n-1\n{root}\n"), decimal);
        check(&format!("o\n 1\n{root}\n"), decimal);
        check(&format!("o\n1.0\n{root}\n"), decimal);
        check(&format!("o\n\n{root}\n"), decimal);
        check(&format!("o\n0x10\n{root}\n"), decimal);
        check(&format!("o\n١\n{root}\n"), decimal);
        check(
            &format!("o\n18446744073709551616\n{root}\n"),
            "tree size does not fit 64 bits",
        );
        let b64 = "root hash is not valid base64";
        check("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", b64);
        check("o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n", b64);
        check("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", b64);
        check(&format!("o\n1\n {root}\n"), b64);
        check("o\n1\nAAAA\n", "root hash is not 32 bytes");
        check("o\n1\n\n", "root hash is not 32 bytes");
        check(
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
            "root hash is not 32 bytes",
        );
        check(&format!("o\n1\n{root}\n\n"), "empty extension line");
        check(&format!("o\n1\n{root}\next\n\n"), "empty extension line");
        check(
            &format!("o\n1\n{root}\next\tx\n"),
            "control character in line",
        );
    }

    #[test]
    fn unframeable_fields_are_refused() {
        let base = Checkpoint {
            origin: "o".into(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        };
        let bad = [
            Checkpoint {
                origin: String::new(),
                ..base.clone()
            },
            Checkpoint {
                origin: "evil\n999".into(),
                ..base.clone()
            },
            Checkpoint {
                extensions: vec![String::new()],
                ..base.clone()
            },
            Checkpoint {
                extensions: vec!["a\nb".into()],
                ..base
            },
        ];
        for cp in bad {
            assert_eq!(
                cp.to_note_body().map_err(|e| e.code()),
                Err("ledger_bad_checkpoint"),
                "{cp:?}"
            );
        }
    }
}
