//! Data-loss prevention on the upload path: the plaintext is scanned as it
//! streams, in batches that keep the previous batch's last 16 KiB as overlap so
//! a secret split across pieces is still seen. A critical finding (private
//! keys, cloud credentials) aborts the upload with [`AppError::Blocked`]; the
//! error carries only the detector id, the line and dlp's own message.

use std::sync::Arc;

use dlp::{Finding, Scanner, Severity};

use crate::AppError;

/// Bytes of the previous batch scanned again with the next one.
const OVERLAP: usize = 16 << 10;
/// Bytes gathered before one scan (the overlap included).
const SCAN_BATCH: usize = 1 << 20;

/// Scans one upload's plaintext as it arrives.
pub(crate) struct Inspector {
    scanner: Arc<Scanner>,
    /// The overlap kept from the last scan followed by bytes not yet scanned.
    buf: Vec<u8>,
    /// How many bytes at the start of `buf` were already scanned.
    scanned: usize,
    /// Line breaks in the bytes before `buf`.
    lines_before: u64,
}

impl Inspector {
    pub(crate) fn new(scanner: Arc<Scanner>) -> Self {
        Inspector {
            scanner,
            buf: Vec::new(),
            scanned: 0,
            lines_before: 0,
        }
    }

    /// Takes the next piece; scans once a batch is full.
    pub(crate) fn push(&mut self, piece: &[u8]) -> Result<(), AppError> {
        self.buf.extend_from_slice(piece);
        if self.buf.len() >= SCAN_BATCH {
            self.scan()?;
        }
        Ok(())
    }

    /// Scans what is left at the end of the body.
    pub(crate) fn finish(&mut self) -> Result<(), AppError> {
        if self.buf.len() > self.scanned {
            self.scan()?;
        }
        Ok(())
    }

    fn scan(&mut self) -> Result<(), AppError> {
        let text = String::from_utf8_lossy(&self.buf);
        let findings = self.scanner.scan_text("upload", &text);
        if let Some(f) = findings.iter().find(|f| f.severity == Severity::Critical) {
            return Err(blocked(f, self.lines_before));
        }
        let drop = self.buf.len().saturating_sub(OVERLAP);
        let dropped = self.buf.get(..drop).unwrap_or_default();
        self.lines_before += dropped.iter().filter(|&&b| b == b'\n').count() as u64;
        self.buf.drain(..drop);
        self.scanned = self.buf.len();
        Ok(())
    }
}

/// The error for a critical finding `f` in a window after `lines_before` lines.
fn blocked(f: &Finding, lines_before: u64) -> AppError {
    let line = lines_before + u64::from(f.location.line);
    AppError::Blocked {
        detector: f.detector.clone(),
        line,
        message: format!(
            "the upload was blocked: it contains a secret ({what}, `{id}`, line {line}); \
             remove it before sharing with an external party",
            what = f.message,
            id = f.detector,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> String {
        let body: String = (0..20)
            .map(|i| {
                format!(
                    "{}\n",
                    "QUJDRA==".repeat(8).replace('Q', &(i % 10).to_string())
                )
            })
            .collect();
        format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
    }

    /// The detector and line that blocked an upload, if one did.
    type Outcome = Option<(String, u64)>;

    /// Feeds `pieces` and returns the blocking detector and line, if any.
    fn run(pieces: &[Vec<u8>]) -> Outcome {
        let scanner = Arc::new(Scanner::new(dlp::ScanConfig::default()).unwrap());
        let mut ins = Inspector::new(scanner);
        let result = pieces
            .iter()
            .try_for_each(|p| ins.push(p))
            .and_then(|()| ins.finish());
        match result {
            Ok(()) => None,
            Err(AppError::Blocked { detector, line, .. }) => Some((detector, line)),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn critical_findings_block_even_when_split() {
        let filler = "lorem ipsum dolor sit amet\n".repeat(50_000); // 1.35 MB, 50 000 lines
        let key = pem();
        let whole = format!("{filler}{key}");
        let bytes = whole.as_bytes();
        let split_at = filler.len() + 40; // inside the key
        let cases: Vec<(&str, Vec<Vec<u8>>, Outcome)> = vec![
            ("clean", vec![filler.clone().into_bytes()], None),
            (
                "key in one piece",
                vec![bytes.to_vec()],
                Some(("pem.rsa_private_key".into(), 50_001)),
            ),
            (
                "key split across pieces",
                vec![bytes[..split_at].to_vec(), bytes[split_at..].to_vec()],
                Some(("pem.rsa_private_key".into(), 50_001)),
            ),
            (
                "small pieces",
                bytes.chunks(7_000).map(<[u8]>::to_vec).collect(),
                Some(("pem.rsa_private_key".into(), 50_001)),
            ),
        ];
        for (name, pieces, want) in cases {
            assert_eq!(run(&pieces), want, "{name}");
        }
    }
}
