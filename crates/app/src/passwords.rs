//! Password hashing with argon2id (PHC strings), run off the async threads,
//! and the password rules.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::AppError;
use crate::secrets::random;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (bounds hashing work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the rules.
pub fn check_rules(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password_too_short",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid(
            "password_too_long",
            format!("a password may have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Hashes `password` with argon2id and a random salt.
pub async fn hash(password: String) -> Result<String, AppError> {
    let salt = random::<16>()?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Whether `password` matches the PHC string. With `None` it still does the
/// work of one verification so that unknown accounts take as long as known ones.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AppError> {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$JtfCm3uq4Rt7N3bfygG0xZwL7qQHMWZcU2vYjVcPzE4";
    tokio::task::spawn_blocking(move || {
        let target = phc.as_deref().unwrap_or(DUMMY);
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), target)
            .is_ok();
        ok && phc.is_some()
    })
    .await
    .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn rules() {
        for (pw, ok) in [
            ("short", false),
            ("twelve chars", true),
            (&"x".repeat(1025) as &str, false),
        ] {
            assert_eq!(check_rules(pw).is_ok(), ok, "{pw:?}");
        }
    }
}
