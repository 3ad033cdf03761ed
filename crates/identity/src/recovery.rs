//! Recovery codes: ten single-use codes made at enrolment of a second factor
//! (and again on the user's request), shown once, each good for one sign-in in
//! place of a one-time code.
//!
//! A code is 80 random bits, written as 16 base32 letters and digits in four
//! groups (`ABCD-EFGH-IJKL-MNOP`). Only a hash is stored: SHA-256 of the user's
//! id and the code. A fast hash is enough here, where it would not be for a
//! password: a password is chosen by a person and can be guessed from a list,
//! so its hash must be slow (argon2id); a recovery code is drawn at random from
//! 2^80, so even a stolen table of hashes leaves 2^80 SHA-256 computations per
//! code to try — out of reach whatever the speed of one — while argon2id would
//! cost 19 MiB and tens of milliseconds for each of the ten codes a sign-in
//! compares, on the hashers that sign-ins already queue for. The user's id in
//! the hash keeps one user's hash from matching another's code. Codes are
//! compared as hashes, in constant time, every stored one each time (no early
//! exit that would tell how many were tried).

use model::{RecoveryCode, RecoveryCodeId, UserId};
use serde_json::json;

use kernel::authz::Principal;
use kernel::events::{Fact, RequestMeta, record};
use kernel::secrets::{base32, ct_eq, random, sha256};
use kernel::{AppError, EventName};

/// How many codes one user holds.
pub const RECOVERY_CODES: usize = 10;

/// Letters and digits of a code (groups aside).
const CODE_CHARS: usize = 16;

/// The hash of `code` for `user`; `None` when `code` cannot be a code (after
/// dropping spaces and dashes and upper-casing, 16 base32 letters and digits).
pub(crate) fn hash(user: UserId, code: &str) -> Option<Vec<u8>> {
    let plain: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = plain.len() == CODE_CHARS
        && plain
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    valid.then(|| sha256(format!("recovery:{user}:{plain}").as_bytes()))
}

/// `plain` in four groups of four, as shown.
fn grouped(plain: &str) -> String {
    let chars: Vec<char> = plain.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Ten new codes for `user`: the texts to show once, and the rows to store.
pub(crate) fn make(
    user: UserId,
    now_ms: i64,
) -> Result<(Vec<String>, Vec<RecoveryCode>), AppError> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut rows = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = grouped(&base32(&random::<10>()?));
        let code_hash =
            hash(user, &code).ok_or_else(|| AppError::internal("a made code does not parse"))?;
        rows.push(RecoveryCode {
            id: RecoveryCodeId::from_random(random()?),
            user_id: user,
            code_hash,
            created_ms: now_ms,
            used_ms: None,
        });
        shown.push(code);
    }
    Ok((shown, rows))
}

/// Makes ten new codes for `p`, replacing every earlier one (used or not),
/// and records it in `tx`; returns the codes, to show once.
pub(crate) async fn renew(
    tx: &mut store::Tx,
    meta: &RequestMeta,
    p: &Principal,
    now_ms: i64,
) -> Result<Vec<String>, AppError> {
    let (shown, rows) = make(p.user_id, now_ms)?;
    tx.replace_recovery_codes(p.user_id, &rows).await?;
    let fact = Fact::allowed(
        Some(p),
        EventName::AuthRecoveryCodes,
        format!("user:{}", p.user_id),
    )
    .with(json!({"count": shown.len()}));
    record(tx, meta, now_ms, fact).await?;
    Ok(shown)
}

/// The unused code `presented` matches, comparing it with every one.
pub(crate) fn find(
    user: UserId,
    presented: &str,
    unused: &[RecoveryCode],
) -> Option<RecoveryCodeId> {
    let wanted = hash(user, presented)?;
    let mut found = None;
    for code in unused {
        if ct_eq(&code.code_hash, &wanted) {
            found = Some(code.id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(byte: u8) -> UserId {
        UserId::from_random([byte; 16])
    }

    #[test]
    fn made_codes_read_well_differ_and_match_only_their_user() {
        let (shown, rows) = make(user(1), 5).unwrap();
        assert_eq!((shown.len(), rows.len()), (RECOVERY_CODES, RECOVERY_CODES));
        for code in &shown {
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4, "{code}");
            assert!(groups.iter().all(|g| g.len() == 4), "{code}");
        }
        let distinct: std::collections::HashSet<_> = shown.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for (code, row) in shown.iter().zip(&rows) {
            assert_eq!(find(user(1), code, &rows), Some(row.id));
            assert_eq!(find(user(2), code, &rows), None, "another user's code");
        }
    }

    #[test]
    fn a_code_is_read_as_a_person_types_it() {
        let (shown, rows) = make(user(3), 5).unwrap();
        let code = &shown[0];
        let plain = code.replace('-', "");
        let typed = [
            code.clone(),
            code.to_lowercase(),
            plain.clone(),
            format!("  {} ", code.replace('-', " ")),
        ];
        for text in typed {
            assert_eq!(find(user(3), &text, &rows), Some(rows[0].id), "{text:?}");
        }
        for wrong in [
            "",
            "123456",
            &plain[1..],
            &format!("{plain}A"),
            "ABCD-EFGH-IJKL-MN01",
        ] {
            assert_eq!(find(user(3), wrong, &rows), None, "{wrong:?}");
        }
    }
}
