//! Decoding bytes to text: UTF-8 (with or without BOM), UTF-16 LE/BE with a
//! BOM or recognised by its zero bytes, Latin-1 as the fallback; binary
//! content is reduced to its printable runs, as `strings` does.

use std::borrow::Cow;

/// The shortest printable run kept from binary content.
const MIN_RUN: usize = 6;

/// Decodes `bytes` to text, guessing the encoding.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s.contains('\0')
    {
        return s.to_owned();
    }
    match utf16_guess(bytes) {
        Some(true) => return utf16(bytes, u16::from_le_bytes),
        Some(false) => return utf16(bytes, u16::from_be_bytes),
        None => {}
    }
    let head = bytes.get(..8192).unwrap_or(bytes);
    if memchr::memchr(0, head).is_some() {
        return runs(FILE_RUNS, bytes);
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Invalid UTF-8 bytes per thousand above which a piece of a stream is binary.
const BINARY_PER_MILLE: usize = 10;
/// The shortest printable run kept from a binary piece of a stream.
const STREAM_MIN_RUN: usize = 8;

/// The text the detectors read in one piece of a stream (an upload as it
/// arrives): the piece itself when it is (nearly) valid UTF-8; else, like
/// `strings`, its runs of at least 8 printable ASCII bytes (line breaks
/// included), one per line. Binary content, where the detectors can only find
/// embedded ASCII anyway, then costs a skipping search for runs (see [`runs`])
/// instead of a scan of the replacement characters its lossy decoding would give.
pub fn stream_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) if mostly_utf8(bytes) => String::from_utf8_lossy(bytes),
        Err(_) => Cow::Owned(runs(STREAM_RUNS, bytes)),
    }
}

/// Whether at most [`BINARY_PER_MILLE`] of `bytes` are invalid UTF-8; stops
/// counting as soon as the answer is known.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let allowed = bytes.len() * BINARY_PER_MILLE / 1000;
    let (mut invalid, mut rest) = (0usize, bytes);
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => return true,
            Err(e) => {
                let valid = e.valid_up_to();
                let bad = e.error_len().unwrap_or(rest.len() - valid);
                invalid += bad;
                if invalid > allowed {
                    return false;
                }
                rest = rest.get(valid + bad..).unwrap_or_default();
            }
        }
    }
}

/// Which bytes a run keeps, by byte value: printable ASCII and tab in a file,
/// line breaks as well in a piece of a stream.
type Printable = [bool; 256];

const fn printable(line_breaks: bool) -> Printable {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'\t' | 0x20..=0x7e)
            || (line_breaks && matches!(b as u8, b'\n' | b'\r'));
        b += 1;
    }
    table
}

/// Runs of at least [`MIN_RUN`] printable ASCII bytes (tab included) in a file.
const FILE_RUNS: (&Printable, usize) = (&printable(false), MIN_RUN);
/// Runs of at least [`STREAM_MIN_RUN`] printable ASCII bytes (tab and line
/// breaks included) in a piece of a stream.
const STREAM_RUNS: (&Printable, usize) = (&printable(true), STREAM_MIN_RUN);

/// The maximal runs of at least `min` kept bytes in `bytes`, one per line.
///
/// Binary content is mostly bytes that are not kept, so the search looks at
/// each `min`-byte window from its end: at the last byte not kept, no run of
/// `min` can start before it, and the search moves past it — about one look
/// per `min` bytes instead of one per byte.
fn runs((class, min): (&Printable, usize), bytes: &[u8]) -> String {
    let kept = |b: &u8| class[usize::from(*b)];
    let mut out = String::new();
    // Always at the start of `bytes` or just after a byte that is not kept.
    let mut start = 0;
    while let Some(window) = bytes.get(start..start + min) {
        if let Some(gap) = window.iter().rposition(|b| !kept(b)) {
            start += gap + 1;
            continue;
        }
        let rest = bytes.get(start + min..).unwrap_or_default();
        let end = start + min + rest.iter().position(|b| !kept(b)).unwrap_or(rest.len());
        if let Some(Ok(text)) = bytes.get(start..end).map(std::str::from_utf8) {
            out.push_str(text);
            out.push('\n');
        }
        start = end + 1;
    }
    out
}

/// Guesses UTF-16 without a BOM from where the zero bytes of ASCII text fall:
/// `Some(true)` little-endian, `Some(false)` big-endian.
fn utf16_guess(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if let [a, b] = pair {
            even += usize::from(*a == 0);
            odd += usize::from(*b == 0);
        }
    }
    if odd * 10 > pairs * 4 && even * 20 < pairs {
        Some(true)
    } else if even * 10 > pairs * 4 && odd * 20 < pairs {
        Some(false)
    } else {
        None
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).filter_map(|p| match p {
        [a, b] => Some(unit([*a, *b])),
        _ => None,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn encodings_are_detected() {
        let check = |bytes: Vec<u8>, expected: &str| assert_eq!(decode_text(&bytes), expected);
        check(b"plain ascii".to_vec(), "plain ascii");
        check("café ☕".as_bytes().to_vec(), "café ☕");
        check([b"\xef\xbb\xbf".to_vec(), b"bom".to_vec()].concat(), "bom");
        check([vec![0xff, 0xfe], le("wide ünï")].concat(), "wide ünï");
        check([vec![0xfe, 0xff], be("wide ünï")].concat(), "wide ünï");
        check(le("no bom little endian"), "no bom little endian");
        check(be("no bom big endian"), "no bom big endian");
        check(b"caf\xe9 cr\xe8me".to_vec(), "café crème");
        check(
            b"\x00\x01\x02secret_in_binary\x00\xff\x00ab\x00".to_vec(),
            "secret_in_binary\n",
        );
    }

    #[test]
    fn stream_pieces_are_text_or_printable_runs() {
        let check = |bytes: &[u8], expected: &str| {
            assert_eq!(
                stream_text(bytes),
                expected,
                "{:?}",
                &bytes[..bytes.len().min(40)]
            );
        };
        let mut noisy = "key = value\n".repeat(100).into_bytes();
        noisy.extend([0xff; 5]);
        let mut binary = vec![0xff; 600];
        binary.splice(
            100..100,
            b"short\x00embedded secret\r\nline two\x01".iter().copied(),
        );
        check(b"", "");
        check("héllo wörld".as_bytes(), "héllo wörld");
        check(&[0xff; 4096], "");
        // A few invalid bytes in text are replaced, not a reason to drop it.
        check(
            &noisy,
            &format!("{}{}", "key = value\n".repeat(100), "\u{fffd}".repeat(5)),
        );
        // A character cut at the end of a piece is not binary either.
        let cut = [b"plain words ".repeat(20), vec![0xc3]].concat();
        check(&cut, &format!("{}\u{fffd}", "plain words ".repeat(20)));
        check(&binary, "embedded secret\r\nline two\n");
    }

    /// The runs as a plain scan finds them: every maximal run of kept bytes
    /// at least `min` long.
    fn plain_runs((class, min): (&Printable, usize), bytes: &[u8]) -> String {
        let mut out = String::new();
        for run in bytes.split(|&b| !class[usize::from(b)]) {
            if run.len() >= min {
                out.push_str(std::str::from_utf8(run).unwrap());
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn skipping_search_finds_the_runs_a_plain_scan_finds() {
        let check = |bytes: &[u8]| {
            for class in [FILE_RUNS, STREAM_RUNS] {
                assert_eq!(runs(class, bytes), plain_runs(class, bytes), "{bytes:?}");
            }
        };
        // Edges: empty, exactly the minimum, one short, at both ends, line breaks.
        for case in [
            &b""[..],
            b"abcdef",
            b"abcdefgh",
            b"abcdefg",
            b"\x00abcdefgh",
            b"abcdefgh\x00",
            b"\x00abcdefgh\x00abcdefghij\xff",
            b"ab\ncd\r\nefgh\x01ijklmnop",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            b"1234567\x002345678\x00345678901",
        ] {
            check(case);
        }
        // Random bytes, with printable stretches of every length spliced in.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let mut bytes: Vec<u8> = (0..(round * 7 % 900)).map(|_| next() as u8).collect();
            for _ in 0..(round % 9) {
                let at = (next() as usize) % (bytes.len() + 1);
                let len = (next() as usize) % 20;
                let text: Vec<u8> = (0..len).map(|_| b'a' + (next() % 26) as u8).collect();
                bytes.splice(at..at, text);
            }
            check(&bytes);
        }
    }
}
