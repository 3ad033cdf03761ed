//! Password hashing with argon2id (PHC strings), run off the async threads,
//! and the password rules: for accounts (`identity`) and share links (`content`).
//!
//! Each hash needs its parameters' memory (19 MiB at the defaults). Hashes run
//! at most [`hashers`] at a time — half the cores, at least one and at most
//! two, so that a flood of sign-ins leaves the other half of the machine to
//! everything else —, so a flood of sign-ins queues instead of
//! allocating 19 MiB per request. The working memory is requested with a
//! capacity above glibc's largest dynamic mmap threshold (32 MiB; only the
//! pages argon2 uses are ever touched): freeing a smaller mapped block would
//! raise the threshold to its size for the rest of the process, after which
//! every buffer up to 19 MiB (upload pipelines included) would come from the
//! heap and stay resident once freed.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::LazyLock;

use tokio::sync::Semaphore;

use crate::secrets::random;
use crate::{AppError, ErrorCode};

/// Hashes computed at once.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(hashers()));

/// Hashes computed at once: half the cores, at least one, at most two.
fn hashers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get() / 2)
        .clamp(1, 2)
}
/// Sign-ins that may wait for a hasher at once (per `App`); a sign-in beyond
/// them is shed with `server_busy` at once rather than queued without end.
pub const LOGIN_QUEUE: usize = 32;

/// The admission of sign-ins to the hashers (one per `App`): [`hashers`] +
/// [`LOGIN_QUEUE`] at once.
#[derive(Debug)]
pub struct LoginAdmission(Semaphore);

impl Default for LoginAdmission {
    fn default() -> Self {
        LoginAdmission(Semaphore::new(hashers() + LOGIN_QUEUE))
    }
}
/// Blocks (1 KiB each) reserved for a hash's working memory: 33 MiB.
const RESERVED_BLOCKS: usize = 33 << 10;
/// Most working memory a stored hash may ask for (1 GiB).
const MAX_BLOCKS: usize = 1 << 20;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (bounds hashing work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the rules.
pub fn check_rules(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            ErrorCode::PasswordTooShort,
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid(
            ErrorCode::PasswordTooLong,
            format!("a password may have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Hashes `password` with argon2id and a random salt.
pub async fn hash(password: String) -> Result<String, AppError> {
    let salt = random::<16>()?;
    off_thread(move || {
        let params = Params::default();
        let mut out = vec![0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        compute(&argon, password.as_bytes(), &salt, &mut out).map_err(AppError::internal)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(AppError::internal)?,
            salt: Some(Salt::new(&salt).map_err(AppError::internal)?),
            hash: Some(Output::new(&out).map_err(AppError::internal)?),
        };
        Ok(phc.to_string())
    })
    .await
}

/// Whether `password` matches the PHC string. With `None` it still does the
/// work of one verification so that unknown accounts take as long as known ones.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AppError> {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$JtfCm3uq4Rt7N3bfygG0xZwL7qQHMWZcU2vYjVcPzE4";
    off_thread(move || {
        let target = phc.as_deref().unwrap_or(DUMMY);
        Ok(matches(password.as_bytes(), target) && phc.is_some())
    })
    .await
}

/// [`verify`] for a sign-in: shed with [`AppError::Busy`] when [`LOGIN_QUEUE`]
/// sign-ins already wait for a hasher.
pub async fn verify_login(
    admission: &LoginAdmission,
    password: String,
    phc: Option<String>,
) -> Result<bool, AppError> {
    let _admitted = admission.0.try_acquire().map_err(|_| AppError::Busy)?;
    verify(password, phc).await
}

/// Runs `f` on a blocking thread once one of the [`hashers`] is free.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _turn = HASHING.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)?
}

/// Whether `password` hashes to the PHC string `phc` (compared in constant time).
fn matches(password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str());
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed))
    else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if compute(&argon, password, salt.as_ref(), &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// Hashes into `out` with working memory reserved as the module says.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let blocks = argon.params().block_count();
    if blocks > MAX_BLOCKS {
        return Err(argon2::Error::MemoryTooMuch);
    }
    let mut memory: Vec<Block> = Vec::with_capacity(blocks.max(RESERVED_BLOCKS));
    memory.resize(blocks, Block::default());
    argon.hash_password_into_with_memory(password, salt, out, &mut memory)
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

    /// Hashes stored by earlier versions (the argon2 crate's own hasher) still
    /// verify, ours verify with it, and malformed ones never do.
    #[tokio::test]
    async fn stored_hashes_verify_both_ways_and_malformed_ones_never() {
        use argon2::{PasswordHasher, PasswordVerifier};
        const PW: &str = "correct horse battery";
        let ours = hash(PW.into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(PW.as_bytes(), &parsed)
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password_with_salt(PW.as_bytes(), &[7; 16])
            .unwrap()
            .to_string();
        let small = "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$";
        let cases = [
            ("ours", ours.clone(), true),
            ("the argon2 crate's", theirs.clone(), true),
            (
                "wrong salt",
                theirs.replace("$BwcHBwcHBwcHBwcHBwcHBw$", "$CAgICAgICAgICAgICAgICA$"),
                false,
            ),
            (
                "argon2i, small",
                format!("{small}{}", phc_of(PW, "$argon2i$v=19$m=64,t=1,p=1$")),
                true,
            ),
            (
                "argon2i, wrong password",
                format!("{small}{}", phc_of("nope", "$argon2i$v=19$m=64,t=1,p=1$")),
                false,
            ),
            ("empty", String::new(), false),
            (
                "no hash",
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA".into(),
                false,
            ),
            (
                "bcrypt",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into(),
                false,
            ),
            ("unknown version", ours.replace("v=19", "v=7"), false),
            (
                "memory beyond the cap",
                ours.replace("m=19456", "m=268435455"),
                false,
            ),
            ("garbage", "$argon2id$v=19$m=x$$".into(), false),
        ];
        for (label, phc, want) in cases {
            assert_eq!(verify(PW.into(), Some(phc)).await.unwrap(), want, "{label}");
        }
    }

    /// The base64 hash part of argon2 with `head`'s parameters and the test salt.
    fn phc_of(password: &str, head: &str) -> String {
        let parsed = PasswordHash::new(&format!(
            "{head}c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ))
        .unwrap();
        let params = Params::try_from(&parsed).unwrap();
        let argon = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(password.as_bytes(), b"somesaltsomesalt", &mut out)
            .unwrap();
        Output::new(&out).unwrap().to_string()
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
