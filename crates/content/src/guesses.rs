//! Back-off for wrong guesses at a share link's secrets (its password, the
//! codes mailed to its recipients) and at an upload request's codes (keyed
//! by the request as a link is), in the kernel's database-kept counts
//! (`kernel::guesses`). Three counts, each over an hour:
//!
//! | scope | key | wrong guesses before the first wait | then |
//! |---|---|---|---|
//! | `link_address` | the link and the guesser's address | 5 | 1 s, doubling with each failure, up to 5 min |
//! | `link` | the link, from every address | 50 | the same |
//! | `address` | the address, at every link | 100 | the same |
//!
//! A guess that must wait is refused before it is evaluated (`link_throttled`,
//! with the seconds left), so a guesser behind one address gets a handful of
//! tries an hour, while someone else with the right password, from another
//! address, gets in at once — until many addresses together have failed on
//! the same link (the per-link count, much higher than the per-address one,
//! so one guesser cannot lock everyone out). A verified recipient's browser
//! is held to its own (link, address) count only. A right guess clears the
//! (link, address) count. An IPv6 address counts by its /64.

use kernel::guesses::Count;
use kernel::{App, AppError, ErrorCode};
use std::fmt::Display;

pub(crate) use kernel::guesses::address_key;

/// The counts a guess at `link` from `address` is made in.
fn counts(link: impl Display, address: &str, verified: bool) -> Vec<Count> {
    let mut out = vec![Count {
        scope: "link_address",
        key: format!("{link}/{address}"),
        free: 5,
    }];
    if !verified {
        out.push(Count {
            scope: "link",
            key: link.to_string(),
            free: 50,
        });
        out.push(Count {
            scope: "address",
            key: address.to_owned(),
            free: 100,
        });
    }
    out
}

/// Refuses a guess that must still wait.
pub(crate) async fn check(
    app: &App,
    link: impl Display,
    address: &str,
    verified: bool,
) -> Result<(), AppError> {
    let wait = kernel::guesses::wait_ms(app, &counts(link, address, verified)).await?;
    if wait > 0 {
        let seconds = (wait + 999) / 1000;
        return Err(AppError::invalid(
            ErrorCode::LinkThrottled,
            format!(
                "too many wrong tries at this link from your address: wait {seconds} s before the next"
            ),
        ));
    }
    Ok(())
}

/// Counts a wrong guess; the waits it sets apply from the next guess.
pub(crate) async fn fail(
    app: &App,
    link: impl Display,
    address: &str,
    verified: bool,
) -> Result<(), AppError> {
    kernel::guesses::fail(app, &counts(link, address, verified)).await
}

/// A right guess: the (link, address) count starts again.
pub(crate) async fn succeed(app: &App, link: impl Display, address: &str) -> Result<(), AppError> {
    kernel::guesses::clear(app, "link_address", &format!("{link}/{address}")).await
}
