//! The check rules that turn a pattern match into a finding: Luhn and card
//! issuer ranges, IBAN lengths and mod-97, the national identifiers' check
//! characters, JWT headers, charset-aware Shannon entropy, and the refusal of
//! placeholders and published documentation examples.

use base64::Engine;

/// Credentials published in vendors' documentation: public, never valid,
/// and so never reported (any value containing one of these is skipped).
const KNOWN_EXAMPLES: [&str; 4] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
];

/// Words that mark a value as a placeholder rather than a secret.
const PLACEHOLDER_WORDS: [&str; 19] = [
    "example",
    "sample",
    "dummy",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "changeme",
    "redacted",
    "replace",
    "insert",
    "xxxx",
    "****",
    "<",
    "\u{2026}",
    "...",
    "your",
    "fixme",
    "todo",
];

/// Whether a matched secret value is a documentation example or a placeholder.
pub(crate) fn is_placeholder(value: &str) -> bool {
    if KNOWN_EXAMPLES.iter().any(|e| value.contains(e)) {
        return true;
    }
    if ["${", "$(", "{{", "%(", "<"]
        .iter()
        .any(|p| value.starts_with(p))
    {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    let mut chars = value.chars();
    let first = chars.next();
    first.is_some_and(|f| value.chars().all(|c| c == f))
        || is_sequence(value)
        || ascending_run(
            value
                .bytes()
                .filter(u8::is_ascii_alphabetic)
                .map(|b| b.to_ascii_lowercase()),
        ) >= 8
        || ascending_run(value.bytes().filter(u8::is_ascii_digit)) >= 8
}

/// The longest run of bytes each one more than the one before: the
/// alphabet or the digits typed in order (`AIzaSyabcdefghijklmnop…`, a
/// published SDK test key; `AbC123dEf456…`, a documentation example).
fn ascending_run(bytes: impl Iterator<Item = u8>) -> usize {
    let (mut best, mut run, mut last) = (0, 0, None::<u8>);
    for b in bytes {
        run = if last.is_some_and(|l| l.wrapping_add(1) == b) {
            run + 1
        } else {
            1
        };
        best = best.max(run);
        last = Some(b);
    }
    best
}

/// `0123456789abcdef…` and `abcdefgh…`: keyboard runs used as fillers.
fn is_sequence(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 8
        && bytes
            .windows(2)
            .all(|w| matches!(w, [a, b] if b.wrapping_sub(*a) == 1 || (*a == b'9' && *b == b'a')))
}

/// Shannon entropy of `value` in bits per character.
pub(crate) fn shannon(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut total = 0u32;
    for b in value.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let n = f64::from(total);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether `value` looks random for its charset: its entropy reaches a share
/// of the most its length and alphabet allow (hex 16, base64 64, printable 94),
/// and it mixes character classes.
pub(crate) fn looks_random(value: &str) -> bool {
    let len = value.len();
    if !(8..=200).contains(&len) {
        return false;
    }
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    let b64 = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
    let alphabet: f64 = if hex {
        16.0
    } else if b64 {
        64.0
    } else {
        94.0
    };
    let len_f = f64::from(u32::try_from(len).unwrap_or(200));
    let most = len_f.min(alphabet).log2();
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
        value.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&c| c)
    .count();
    let entropy = shannon(value);
    if hex {
        len >= 16
            && entropy >= 0.8 * most
            && value.bytes().any(|b| b.is_ascii_digit())
            && value.bytes().any(|b| b.is_ascii_alphabetic())
    } else if len < 16 {
        classes >= 3 && entropy >= 0.85 * most
    } else {
        classes >= 2 && entropy >= 0.8 * most
    }
}

/// Values of an assignment that name something else instead of holding a
/// secret: constants, dotted paths, template and environment references,
/// password hashes, words joined by separators.
pub(crate) fn is_reference(value: &str) -> bool {
    names_something(value) || value.starts_with(['$', '%'])
}

/// Values that name something: constants, dotted paths, words joined by
/// separators, identifiers, environment lookups, URLs and file paths.
fn names_something(value: &str) -> bool {
    let ident = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    let dotted = value.contains('.') && value.split('.').all(ident);
    let constant = value
        .bytes()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    let words = value
        .split(['_', '-', '.'])
        .all(|w| !w.is_empty() && w.bytes().all(|c| c.is_ascii_lowercase()))
        && value.contains(['_', '-', '.']);
    let camel_words =
        ident(value) && !value.bytes().any(|c| c.is_ascii_digit()) && value.len() < 24;
    dotted
        || constant
        || words
        || camel_words
        || value.starts_with("env.")
        || value.contains("ENV[")
        || value.contains("://")
        || value.starts_with('/')
        || value.starts_with("./")
        || value.starts_with("~/")
}

/// The Luhn check over the digits of `digits`.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The decimal digits of `s`, as values 0–9.
pub(crate) fn digits_of(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

fn prefix_num(d: &[u8], n: usize) -> u32 {
    d.iter()
        .take(n)
        .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
}

/// A payment card number: Luhn, and a length valid for its issuer range
/// (Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay, Maestro).
pub(crate) fn card(s: &str) -> bool {
    let d = digits_of(s);
    let len = d.len();
    let (p1, p2, p3, p4, p6) = (
        prefix_num(&d, 1),
        prefix_num(&d, 2),
        prefix_num(&d, 3),
        prefix_num(&d, 4),
        prefix_num(&d, 6),
    );
    let brand_ok = match p1 {
        4 => matches!(len, 13 | 16 | 19),
        5 => {
            (51..=55).contains(&p2) && len == 16
                || matches!(p2, 50 | 56..=59) && (12..=19).contains(&len)
        }
        2 => (2221..=2720).contains(&p4) && len == 16,
        3 => {
            (matches!(p2, 34 | 37) && len == 15)
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
                || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39)
                    && (14..=19).contains(&len))
        }
        6 => {
            (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
                && (16..=19).contains(&len)
                || p2 == 62 && (16..=19).contains(&len)
                || matches!(p2, 60 | 63 | 67 | 68 | 69) && (12..=19).contains(&len)
        }
        _ => false,
    };
    brand_ok && luhn(&d) && !d.iter().all(|&x| x == d.first().copied().unwrap_or(0))
}

/// IBAN lengths by country: every country of the SWIFT IBAN registry
/// (ISO 13616), release 102 (June 2026). The test corpus checks this table
/// against the registry's own example IBANs
/// (`tests/corpus/iban-registry-examples.txt`).
const IBAN_LENGTHS: [(&str, usize); 89] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The country codes whose IBANs are recognised: the SWIFT IBAN registry's.
pub fn iban_countries() -> impl Iterator<Item = &'static str> {
    IBAN_LENGTHS.iter().map(|&(country, _)| country)
}

/// An IBAN: the country's length and the ISO 7064 mod-97 check.
/// Written compact, in groups of four separated by spaces or dashes; a match
/// that ran on past the IBAN into a following word is cut where the IBAN's
/// length ends at a separator.
pub(crate) fn iban(s: &str) -> bool {
    let is_sep = |b: &u8| b.is_ascii_whitespace() || *b == b'-';
    let country = s.get(..2).unwrap_or("");
    let Some(&(_, want)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    let mut compact: Vec<u8> = Vec::with_capacity(want);
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if is_sep(b) {
            continue;
        }
        compact.push(*b);
        if compact.len() == want {
            if bytes.get(i + 1).is_some_and(|n| !is_sep(n)) {
                return false;
            }
            break;
        }
    }
    if compact.len() != want {
        return false;
    }
    let rearranged = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut rem: u32 = 0;
    for &b in rearranged {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US social security number `AAA-GG-SSSS`: not area 000, 666 or 9xx, not
/// group 00, not serial 0000, not one of the numbers burnt by publication.
pub(crate) fn us_ssn(s: &str) -> bool {
    let d = digits_of(s);
    if d.len() != 9 {
        return false;
    }
    let area = prefix_num(&d, 3);
    let group = prefix_num(d.get(3..).unwrap_or_default(), 2);
    let serial = prefix_num(d.get(5..).unwrap_or_default(), 4);
    let burnt = [(78, 5, 1120), (219, 9, 9999), (123, 45, 6789)];
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !burnt.contains(&(area, group, serial))
}

/// A UK National Insurance number: the prefix letters' rules (no D, F, I, Q,
/// U, V; no O second; not BG, GB, KN, NK, NT, TN, ZZ) and suffix A–D.
pub(crate) fn uk_nino(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let [a, b, rest @ ..] = compact.as_slice() else {
        return false;
    };
    let bad_any = b"DFIQUV";
    let pair = [*a, *b];
    let banned: [&[u8; 2]; 7] = [b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];
    rest.len() == 7
        && !bad_any.contains(a)
        && !bad_any.contains(b)
        && *b != b'O'
        && !banned.iter().any(|p| **p == pair)
        && rest.iter().take(6).all(u8::is_ascii_digit)
        && rest.get(6).is_some_and(|c| b"ABCD".contains(c))
}

/// A French NIR (numéro de sécurité sociale): 13 characters and a key equal
/// to 97 − (number mod 97), Corsican departments 2A and 2B counted as 19 and 18.
pub(crate) fn fr_nir(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if compact.len() != 15 {
        return false;
    }
    let (body, key) = compact.split_at(13);
    let body = body.replacen("2A", "19", 1).replacen("2B", "18", 1);
    let (Ok(n), Ok(k)) = (body.parse::<u64>(), key.parse::<u64>()) else {
        return false;
    };
    let month = body
        .get(3..5)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    matches!(month, 1..=12 | 20..=42 | 50..=99) && 97 - n % 97 == k
}

/// A German tax identification number (Steuer-ID): 11 digits, no leading 0,
/// in the first ten one digit twice or three times and the others at most
/// once, and the ISO 7064 MOD 11,10 check digit.
pub(crate) fn de_steuer_id(s: &str) -> bool {
    let d = digits_of(s);
    if d.len() != 11 || d.first() == Some(&0) {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in d.iter().take(10) {
        if let Some(c) = counts.get_mut(usize::from(x)) {
            *c += 1;
        }
    }
    let repeated = counts.iter().filter(|&&c| c > 1).count();
    let max = counts.iter().copied().max().unwrap_or(0);
    if repeated != 1 || max > 3 {
        return false;
    }
    let mut product = 10u32;
    for &x in d.iter().take(10) {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    d.get(10).map(|&c| u32::from(c)) == Some(check)
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A Spanish DNI (8 digits and a letter) or NIE (X/Y/Z, 7 digits, a letter):
/// the letter is the number mod 23 in `TRWAGMYFPDXBNJZSQVHLCKE`.
pub(crate) fn es_dni(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(u8::is_ascii_alphanumeric).collect();
    let Some((&letter, body)) = compact.split_last() else {
        return false;
    };
    let mut n: u32 = 0;
    for (i, &b) in body.iter().enumerate() {
        let v = match (i, b) {
            (0, b'X') => 0,
            (0, b'Y') => 1,
            (0, b'Z') => 2,
            (_, b'0'..=b'9') => u32::from(b - b'0'),
            _ => return false,
        };
        n = n * 10 + v;
    }
    body.len() == 8
        && usize::try_from(n % 23)
            .ok()
            .and_then(|i| DNI_LETTERS.get(i))
            == Some(&letter)
}

/// A JWT: its header is base64url JSON naming an algorithm.
pub(crate) fn jwt(s: &str) -> bool {
    let header = s.split('.').next().unwrap_or("");
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("alg").map(serde_json::Value::is_string))
        .unwrap_or(false)
}

/// An e-mail address whose domain is a real one: not a documentation domain
/// (RFC 2606) nor an image name like `logo@2x.png`.
pub(crate) fn email(s: &str) -> bool {
    let domain = s.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let tld = domain.rsplit('.').next().unwrap_or("");
    let reserved = ["example.com", "example.org", "example.net"];
    let reserved_tlds = [
        "example",
        "test",
        "invalid",
        "localhost",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
    ];
    !reserved
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
        && !reserved_tlds.contains(&tld)
}

/// A phone number by the numbering plans: international (`+` or `00`, a
/// country code, 8 to 15 digits, the length of the plan for the commonest
/// countries), national with a trunk `0` (10 to 12 digits: UK, DE, FR, TR,
/// PH, IN and most of Europe and Asia), or North American (area and
/// exchange codes not starting with 0 or 1); never all one digit.
pub(crate) fn phone(s: &str) -> bool {
    let d = digits_of(s);
    if d.iter().all(|&x| Some(x) == d.get(1).copied()) {
        return false;
    }
    // A date (and a time after it) is not a number to call.
    let groups: Vec<usize> = s
        .split([' ', '.', '-', '/'])
        .map(|g| g.bytes().filter(u8::is_ascii_digit).count())
        .collect();
    let t = s.trim_start();
    let plus = t.starts_with('+');
    if !plus && matches!(groups.as_slice(), [2, 2, 4, ..] | [4, 2, 2, ..]) {
        return false;
    }
    // Groups of four, three or more: a card or account number.
    if groups.len() >= 3 && groups.iter().all(|&g| g == 4) {
        return false;
    }
    if let Some(rest) = t.strip_prefix('+') {
        international(&digits_of(rest))
    } else if d.starts_with(&[0, 0]) {
        international(d.get(2..).unwrap_or_default())
    } else if d.first() == Some(&0) {
        // A trunk prefix: the rest does not start with 0 again.
        (10..=12).contains(&d.len()) && d.get(1).is_some_and(|&x| x != 0)
    } else {
        nanp(&d) || indian_mobile(s, &d)
    }
}

/// NANP: 10 digits (or 11 with the country code 1), area and exchange
/// codes starting with 2 to 9.
fn nanp(d: &[u8]) -> bool {
    let d = match d.len() {
        11 if d.first() == Some(&1) => d.get(1..).unwrap_or_default(),
        10 => d,
        _ => return false,
    };
    d.first().is_some_and(|&a| a >= 2) && d.get(3).is_some_and(|&e| e >= 2)
}

/// An Indian mobile number written 5-5: 10 digits starting 6 to 9.
fn indian_mobile(s: &str, d: &[u8]) -> bool {
    d.len() == 10
        && d.first().is_some_and(|&x| x >= 6)
        && s.trim().split([' ', '-']).map(str::len).eq([5usize, 5])
}

/// Digits after `+` or `00`: a country code and a subscriber number of the
/// country's length where known, 8 to 15 digits in all otherwise.
fn international(d: &[u8]) -> bool {
    let len = d.len();
    if !(8..=15).contains(&len) || d.first() == Some(&0) {
        return false;
    }
    match (d.first(), prefix_num(d, 2)) {
        (Some(1), _) => nanp(d),
        (Some(7), _) => len == 11,
        (_, 44) => (11..=12).contains(&len),
        (_, 33) => len == 11,
        (_, 90) => len == 12,
        (_, 63) => (11..=12).contains(&len),
        (_, 91) => len == 12,
        _ => true,
    }
}

/// Whether the number at `start..end` of `text` is part of an IBAN: on its
/// line, an IBAN-like start (two capitals, two digits) precedes it with
/// only capitals, digits, spaces and dashes between.
pub(crate) fn inside_iban(text: &[u8], start: usize, end: usize) -> bool {
    let from = start.saturating_sub(34);
    let before = text.get(from..start).unwrap_or_default();
    let mut i = before.len();
    while i > 0 {
        let b = before.get(i - 1).copied().unwrap_or(b'\n');
        if !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-') {
            break;
        }
        i -= 1;
    }
    let stretch = before.get(i..).unwrap_or_default();
    let starts_iban = |w: &[u8]| {
        matches!(w, [a, b, c, d, ..] if a.is_ascii_uppercase() && b.is_ascii_uppercase()
            && c.is_ascii_digit() && d.is_ascii_digit())
    };
    let own = text.get(start..end).unwrap_or_default();
    starts_iban(own)
        || (0..stretch.len()).any(|k| {
            let boundary = k == 0
                || stretch
                    .get(k - 1)
                    .is_some_and(|b| !b.is_ascii_alphanumeric());
            boundary && starts_iban(stretch.get(k..).unwrap_or_default())
        })
}

/// Values that are bare words when written unquoted: identifiers, dotted
/// paths, keywords (`password = get_password`, `pwd: string`).
pub(crate) fn is_bare_word(value: &[u8]) -> bool {
    value
        .iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-' | b':'))
}

/// Values that code and configuration assign to password fields and that
/// are not passwords.
const NOT_PASSWORDS: [&str; 16] = [
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "string",
    "password",
    "passwd",
    "secret",
    "required",
    "optional",
    "hidden",
    "empty",
    "unknown",
    "default",
];

/// A password literal: no whitespace, not a keyword, reference, path, URL or
/// template, and of some variety (two character classes, or long and
/// varied).
pub(crate) fn password(v: &str) -> bool {
    let len = v.chars().count();
    if !(6..=200).contains(&len) || v.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    // A variable or a call: `$DB_PASS`, `%PASSWORD%`, `getpass(`, `os.getenv(`.
    let ident = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
    };
    // A password hash in crypt format (`$2b$12$…`, `$argon2id$…`) is not one.
    let hash = v.strip_prefix('$').is_some_and(|r| r.contains('$'));
    let variable = hash
        || v.strip_prefix('$').is_some_and(ident)
        || v.strip_prefix('%')
            .and_then(|r| r.strip_suffix('%'))
            .is_some_and(ident)
        || v.split_once('(').is_some_and(|(f, _)| ident(f));
    if NOT_PASSWORDS.contains(&lower.as_str())
        || variable
        || [
            "${", "$(", "{", "#{", "%(", "%{", "@", "/", "./", "~/", "http:", "https:", "*", "&",
        ]
        .iter()
        .any(|p| v.starts_with(p))
        || v.contains("::")
        || v.strip_prefix('!')
            .is_some_and(|tag| tag.bytes().all(|b| b.is_ascii_alphabetic()))
        || names_something(v)
    {
        return false;
    }
    let classes = [
        v.bytes().any(|b| b.is_ascii_lowercase()),
        v.bytes().any(|b| b.is_ascii_uppercase()),
        v.bytes().any(|b| b.is_ascii_digit()),
        v.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&c| c)
    .count();
    classes >= 2 || (len >= 12 && shannon(v) >= 3.0)
}

/// A private-key body: at least 40 base64 characters of key material (lines
/// of headers such as `Proc-Type:` aside), not one repeated character.
pub(crate) fn pem_body(v: &str) -> bool {
    let material: String = v
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| {
            l.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
                .collect::<Vec<_>>()
        })
        .collect();
    material.len() >= 40 && shannon(&material) >= 2.5
}

/// Base64 whose decoding starts with a JWT (its header naming an algorithm).
pub(crate) fn base64_jwt(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    let cut = body.len() / 4 * 4;
    let Ok(decoded) =
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(body.get(..cut).unwrap_or(""))
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    text.starts_with("eyJ") && text.contains('.') && jwt(&text)
}

/// HTTP Basic credentials: base64 of printable `user:password`, both parts
/// present and neither a placeholder.
pub(crate) fn basic_auth(v: &str) -> bool {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(v) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&decoded) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, pass)) => {
            !user.is_empty()
                && pass.chars().count() >= 3
                && text.chars().all(|c| !c.is_control())
                && !is_placeholder(pass)
                && !is_placeholder(user)
        }
        None => false,
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// `n` in base 62 (`0-9A-Za-z`), left-padded with `0` to `width` digits.
pub(crate) fn base62(mut n: u32, width: usize) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS.get((n % 62) as usize).copied().unwrap_or(b'0'));
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) or npm (`npm_`) token
/// whose last six characters are the base-62 CRC-32 of the 30 before them,
/// as the issuers document their format.
pub(crate) fn token_checksum(token: &str) -> bool {
    let Some((_, rest)) = token.split_once('_') else {
        return false;
    };
    if rest.len() != 36 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = rest.split_at(30);
    base62(crc32(random.as_bytes()), 6) == check
}

/// A hexadecimal key (dashes and a `key-` prefix aside): 16 digits or more,
/// digits and letters mixed.
pub(crate) fn mixed_hex(v: &str) -> bool {
    let hex: String = v
        .strip_prefix("key-")
        .unwrap_or(v)
        .chars()
        .filter(|&c| c != '-')
        .collect();
    hex.len() >= 16
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && hex.bytes().any(|b| b.is_ascii_digit())
        && hex.bytes().any(|b| b.is_ascii_alphabetic())
        && shannon(&hex) >= 2.5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, f: fn(&str) -> bool, cases: &[(&str, bool)]) {
        for (input, expected) in cases {
            assert_eq!(f(input), *expected, "{name}({input})");
        }
    }

    #[test]
    fn validators_accept_valid_and_refuse_invalid() {
        check(
            "card",
            card,
            &[
                ("4111 1111 1111 1111", true),
                ("4111 1111 1111 1112", false),
                ("5555555555554444", true),
                ("378282246310005", true),
                ("6011111111111117", true),
                ("3530111333300000", true),
                ("1234567812345670", false),
                ("0000000000000000", false),
            ],
        );
        check(
            "iban",
            iban,
            &[
                ("GB82 WEST 1234 5698 7654 32", true),
                ("GB82 WEST 1234 5698 7654 33", false),
                ("DE89370400440532013000", true),
                ("DE8937040044053201300", false),
                ("FR1420041010050500013M02606", true),
                ("XX82WEST12345698765432", false),
            ],
        );
        check(
            "us_ssn",
            us_ssn,
            &[
                ("536-22-1234", true),
                ("000-12-3456", false),
                ("666-12-3456", false),
                ("912-12-3456", false),
                ("536-00-1234", false),
                ("536-22-0000", false),
                ("078-05-1120", false),
            ],
        );
        check(
            "uk_nino",
            uk_nino,
            &[
                ("AB 12 34 56 C", true),
                ("AB123456C", true),
                ("QQ123456C", false),
                ("GB123456A", false),
                ("AO123456A", false),
                ("AB123456E", false),
            ],
        );
        check(
            "fr_nir",
            fr_nir,
            &[
                ("1 84 12 76 451 089 46", true),
                ("1 84 12 76 451 089 47", false),
                ("2 69 05 2A 123 456 01", false),
            ],
        );
        check(
            "de_steuer_id",
            de_steuer_id,
            &[
                ("86095742719", true),
                ("86095742718", false),
                ("12345678901", false),
                ("06095742719", false),
            ],
        );
        check(
            "es_dni",
            es_dni,
            &[
                ("12345678Z", true),
                ("12345678A", false),
                ("X1234567L", true),
                ("X1234567A", false),
            ],
        );
        check(
            "jwt",
            jwt,
            &[
                ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true),
                ("eyJub3QiOiJqd3QifQ.eyJzdWIiOiJ4In0.c2ln", false),
                ("eyJ!!!.eyJ.x", false),
            ],
        );
        check(
            "placeholder",
            is_placeholder,
            &[
                ("AKIAIOSFODNN7EXAMPLE", true),
                ("your_api_key_here", true),
                ("aaaaaaaaaaaaaaaa", true),
                ("0123456789abcdef", true),
                ("q8Zr4kLw2VbN7xPd", false),
            ],
        );
        check(
            "looks_random",
            looks_random,
            &[
                ("q8Zr4kLw2VbN7xPdT3mY6sHc", true),
                ("9f86d081884c7d659a2feaa0c55ad015", true),
                ("password", false),
                ("correcthorsebatterystaple", false),
                ("S3cure!Pw#9", true),
            ],
        );
        check(
            "is_reference",
            is_reference,
            &[
                ("process.env.API_TOKEN", true),
                ("DB_PASSWORD", true),
                ("my-secret-key", true),
                ("$ARGON2", true),
                ("q8Zr4kLw2VbN7xPd", false),
            ],
        );
        check(
            "email",
            email,
            &[
                ("jane.doe@acme-corp.de", true),
                ("user@example.com", false),
                ("logo@2x.png", false),
            ],
        );
    }

    #[test]
    fn new_validators_accept_valid_and_refuse_invalid() {
        check(
            "password",
            password,
            &[
                ("hunter2xyz", true),
                ("Tr0ub4dor&3", true),
                ("m{{h}o)p$xyz]nob(ale}", true),
                ("correcthorsebatterystaple", true),
                ("$2b$12$Qk8s0Zp1mW3xY7vN2rT5uO", false),
                ("${DB_PASS}", false),
                ("$DB_PASSWORD", false),
                ("%PASSWORD%", false),
                ("getpass()", false),
                ("os.getenv(\"PW\")", false),
                ("!vault", false),
                ("password", false),
                ("https://vault.acme.io/pw", false),
                ("/run/secrets/db", false),
                ("prod-db-password", false),
                ("with space1", false),
                ("a1b2", false),
            ],
        );
        check(
            "phone",
            phone,
            &[
                ("0532 123 45 67", true),
                ("+90 532 123 45 67", true),
                ("+63 917 123 4567", true),
                ("030 12345678", true),
                ("(212) 555-0100", true),
                ("98765 43210", true),
                ("+1 055 555 0100", false),
                ("01/02/2024 12", false),
                ("0000 000 0000", false),
                ("123 456 7890", false),
                ("0412 3456 7890 1234", false),
                ("(02) 8123 4567", true),
                ("+44 20 7946 0958", true),
            ],
        );
        check(
            "iban",
            iban,
            &[
                ("LC55HEMM000100010012001200023015", true),
                ("DE89-3704-0044-0532-0130-00", true),
                ("DE89370400440532013000 BIC", true),
                ("DE89370400440532013000X", false),
            ],
        );
        check(
            "basic_auth",
            basic_auth,
            &[
                ("dXNlcjpodW50ZXIyeHl6", true),
                ("dXNlcjo=", false),
                ("bm8gY29sb24gaGVyZQ==", false),
                ("!!!", false),
            ],
        );
        check(
            "placeholder (typed in order)",
            is_placeholder,
            &[
                ("AIzaSyabcdefghijklmnopqrstuvwxyz1234567", true),
                ("AbC123dEf456GhI789jKl", true),
                ("q8Zr4kLw2VbN7xPdT3mY6sHc", false),
            ],
        );
    }

    #[test]
    fn token_checksums_are_crc32_in_base62() {
        // The CRC-32 check value of the standard, and base 62 at its edges.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 2), "0z");
        assert_eq!(base62(62, 2), "10");
        assert_eq!(base62(u32::MAX, 6), "4gfFC3");
        let random = "q8Zr4kLw2VbN7xPdT3mY6sHc1JfGaR";
        let good = format!("ghp_{random}{}", base62(crc32(random.as_bytes()), 6));
        assert!(token_checksum(&good));
        assert!(token_checksum(&good.replace("ghp_", "npm_")));
        let mut bad = good.clone();
        bad.replace_range(4..5, "Q");
        assert!(!token_checksum(&bad));
        assert!(!token_checksum("ghp_short"));
    }

    #[test]
    fn numbers_inside_an_iban_are_not_phones_or_cards() {
        let text = b"IBAN: DE00 3704 0044 0532 0130 00, tel 0532 123 45 67";
        let at = |s: &[u8]| {
            let i = text.windows(s.len()).position(|w| w == s).unwrap();
            (i, i + s.len())
        };
        let (s, e) = at(b"0044 0532 0130");
        assert!(inside_iban(text, s, e));
        let (s, e) = at(b"0532 123 45 67");
        assert!(!inside_iban(text, s, e));
    }

    #[test]
    fn entropy_of_known_strings() {
        let cases = [("aaaa", 0.0), ("abab", 1.0), ("abcd", 2.0), ("", 0.0)];
        for (s, e) in cases {
            assert!((shannon(s) - e).abs() < 1e-9, "{s}");
        }
    }
}
