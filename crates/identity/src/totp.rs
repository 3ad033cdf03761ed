//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30 s steps),
//! with a ±1 step window and replay protection by the caller's last used step.

use aws_lc_rs::hmac;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;

/// The code for `secret` at time step `step` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .map(|w| u32::from_be_bytes([w[0] & 0x7f, w[1], w[2], w[3]]))
        .unwrap_or(0);
    word % 10u32.pow(digits)
}

/// The time step containing `now_ms`.
pub fn step_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECONDS)
}

/// Checks `code` against steps around `now_ms` newer than `last_step`; returns
/// the matching step, which the caller stores so the code cannot be reused.
pub fn verify(secret: &[u8], code: &str, now_ms: i64, last_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = step_of(now_ms);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        // Evaluate every candidate so timing does not reveal which step matched.
        if code_at(secret, step, DIGITS) == wanted && step > last_step {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(time_s: i64, want: u32) {
        // RFC 6238 appendix B, SHA-1 seed, 8 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, time_s / 30, 8), want, "t={time_s}");
    }

    #[test]
    fn rfc6238_vectors() {
        for (t, want) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            check(t, want);
        }
    }

    #[test]
    fn verify_window_and_replay() {
        let secret = b"12345678901234567890";
        let now_ms = 1_111_111_111_000;
        let step = step_of(now_ms);
        let code = format!("{:06}", code_at(secret, step, 6));
        assert_eq!(verify(secret, &code, now_ms, 0), Some(step));
        assert_eq!(
            verify(secret, &code, now_ms, step),
            None,
            "replayed code accepted"
        );
        assert_eq!(
            verify(secret, &code, now_ms + 31_000, 0),
            Some(step),
            "previous step refused"
        );
        assert_eq!(
            verify(secret, &code, now_ms + 95_000, 0),
            None,
            "stale code accepted"
        );
        assert_eq!(verify(secret, "12345", now_ms, 0), None);
        assert_eq!(verify(secret, "abcdef", now_ms, 0), None);
    }
}
