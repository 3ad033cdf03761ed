//! Rules on the text of every `.rs` file: it opens with a `//!` paragraph saying
//! what it is for, and no test is switched off or passes by panicking; in the
//! domain crates, every public use-case takes the authorization seam's proof
//! (`Authorized<…>`) and no service type carries more than [`MAX_USE_CASES`].

use std::collections::BTreeMap;

/// Most public use-cases one service type may carry.
pub const MAX_USE_CASES: usize = 30;

/// Public async functions of the domain crates that take no proof, and why:
/// they run before anyone is signed in, or on no one's behalf.
/// Values that, like `Authorized<…>`, only their crate can make once it has
/// decided: a use-case taking one is decided on it.
pub const CAPABILITIES: &[&str] = &[
    // A live SCIM token of one party (identity's `Scim::authenticate`): every
    // SCIM use-case reaches that party's users and groups only.
    "&ScimCaller",
];

pub const NO_PROOF: &[(&str, &str)] = &[
    ("login", "signs in: there is no caller yet"),
    (
        "authenticate",
        "turns a token into a caller: there is no caller yet",
    ),
    ("logout", "ends the caller's own session, which it presents"),
    (
        "accept_invitation",
        "the invitation's secret is the permission",
    ),
    (
        "invitation",
        "shows an invitation to whoever holds its secret, which is the permission",
    ),
    (
        "login_with",
        "signs in (with a recovery code, too): there is no caller yet",
    ),
    (
        "bootstrap",
        "creates the first administrator of an empty store",
    ),
    ("remove_orphans", "start-up maintenance, on no one's behalf"),
    (
        "mapping_principal",
        "reads the admin who made a SCIM group mapping, on whose behalf the seam then decides its grants",
    ),
    (
        "note_grant",
        "notes the grant the content crate's grant code just made under the seam's proof for a SCIM mapping",
    ),
    (
        "take_grant",
        "reads back the grant a SCIM mapping made, which the seam then decides to revoke",
    ),
    (
        "role_refused",
        "records that the seam or the grant code refused a SCIM mapping's room role",
    ),
    (
        "resume_destructions",
        "start-up: finishes destructions decided and started before a crash, on no one's behalf",
    ),
    (
        "retention_sweep",
        "the retention sweep, on behalf of whoever set each room's retention period",
    ),
    (
        "purge_sweep",
        "the purge sweep, on behalf of the admin who set the grace period or whoever set each file's retention",
    ),
    ("sweep_expiries", "the expiry sweep, on no one's behalf"),
    (
        "sweep",
        "the access-review sweep (open, remind, apply), on no one's behalf",
    ),
    ("drain_outbox", "the mail worker, on no one's behalf"),
    (
        "sweep_attestations",
        "the attestation sweep (remind, escalate), on no one's behalf",
    ),
    (
        "signed_attestations",
        "reads in the transaction of a caller whose own use-case holds the proof",
    ),
    (
        "attestation_page",
        "an attestation page's secret is the permission to ask",
    ),
    (
        "attestation_send_code",
        "an attestation page's secret is the permission to ask for a code to its officer",
    ),
    (
        "attestation_verify_code",
        "an attestation page's secret and the browser's session are the permission to try a code",
    ),
    (
        "attestation_sign",
        "an attestation page's secret and the verified officer's session are the permission to sign",
    ),
    (
        "mail_notifications",
        "the mail worker queueing notifications, on no one's behalf",
    ),
    (
        "link_page",
        "a share link's secret is the permission to ask; access is decided as its creator",
    ),
    (
        "link_send_code",
        "a share link's secret is the permission to ask for a code to a bound address",
    ),
    (
        "link_verify_code",
        "a share link's secret and the browser's session are the permission to try a code",
    ),
    (
        "link_download",
        "a share link's secret is the permission to ask; the download is decided as its creator",
    ),
    (
        "link_sign",
        "a share link's secret and the verified recipient's session are the permission to sign",
    ),
    (
        "link_open_view",
        "a share link's secret is the permission to ask; the view is decided as its creator",
    ),
    (
        "link_view_page",
        "a share link's secret and its view's id are the permission to ask; decided as its creator",
    ),
    (
        "request_page",
        "an upload request's secret is the permission to ask; uploads are decided as its creator",
    ),
    (
        "request_send_code",
        "an upload request's secret is the permission to ask for a code to a named address",
    ),
    (
        "request_verify_code",
        "an upload request's secret and the browser's session are the permission to try a code",
    ),
    (
        "open_batch",
        "an upload request's secret and a verified session are the permission to send files",
    ),
    (
        "drop_file",
        "a batch opened by a verified recipient; each file is decided as the request's creator",
    ),
    (
        "finish_batch",
        "the digest of a batch opened by a verified recipient, to the request's creator",
    ),
    (
        "step",
        "the SIEM forwarder and the watcher, on no one's behalf",
    ),
    (
        "resume",
        "the watcher rebuilt from the recorded events, on no one's behalf",
    ),
    ("run", "the SIEM forwarder, on no one's behalf"),
    (
        "wait",
        "the watcher waiting for the recorder's next batch, on no one's behalf",
    ),
    (
        "audit_ledger",
        "`custody ledger check`: the operator's offline check of the data directory",
    ),
    (
        "trace_copy",
        "takes a `TracePermit`, which carries the seam's proof",
    ),
];

/// Attributes that make a test not run, or pass by panicking: a test that cannot
/// run fails under `CI=true` instead, and a panic is asserted on its message.
/// (Spelled in two halves so that this file does not match itself.)
pub const FORBIDDEN_ATTRIBUTES: &[&str] = &[concat!("#[", "ignore"), concat!("#[", "should_panic")];

/// A message when `text` does not open with a `//!` line that says something.
pub fn missing_module_doc(path: &str, text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("");
    let said = first
        .strip_prefix("//!")
        .is_some_and(|rest| !rest.trim().is_empty());
    (!said).then(|| format!("{path}: does not start with a `//!` paragraph"))
}

/// One message per forbidden attribute outside a comment.
pub fn forbidden_attributes(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for attribute in FORBIDDEN_ATTRIBUTES {
            let found = code.match_indices(attribute).any(|(at, _)| {
                let next = code[at + attribute.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if found {
                problems.push(format!("{path}:{}: `{attribute}]` is not allowed", n + 1));
            }
        }
    }
    problems
}

/// Every rule of this module on one file.
pub fn check_file(path: &str, text: &str) -> Vec<String> {
    let mut problems: Vec<String> = missing_module_doc(path, text).into_iter().collect();
    problems.extend(forbidden_attributes(path, text));
    problems
}

/// The text before the file's first `#[cfg(test)]` item at the start of a line
/// (test modules sit at the end of a file).
fn non_test(text: &str) -> &str {
    text.find("\n#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// One message per `pub async fn` of `text` whose signature (up to its body's
/// `{`) names no `Authorized<` proof, unless its name is in `exempt`.
pub fn use_cases_take_the_proof(path: &str, text: &str, exempt: &[(&str, &str)]) -> Vec<String> {
    let code = non_test(text);
    let mut problems = Vec::new();
    for (at, _) in code.match_indices("pub async fn ") {
        let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
        if code[line_start..at].trim_start().starts_with("//") {
            continue;
        }
        let rest = &code[at + "pub async fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let signature = rest.find('{').map_or(rest, |end| &rest[..end]);
        let proven = signature.contains("Authorized<")
            || CAPABILITIES.iter().any(|cap| signature.contains(cap));
        if proven || exempt.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        problems.push(format!(
            "{path}:{line}: public use-case `{name}` takes no `Authorized<…>` proof"
        ));
    }
    problems
}

/// The public functions of each `impl` block's type in `files` (one crate),
/// summed over the files: one message per type with more than `max`.
pub fn services_stay_small(files: &[(String, String)], max: usize) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, text) in files {
        let mut current: Option<String> = None;
        for line in non_test(text).lines() {
            if let Some(head) = line.strip_prefix("impl") {
                current = impl_type(head);
            } else if line.starts_with('}') {
                current = None;
            } else if let Some(ty) = &current
                && (line.starts_with("    pub fn ") || line.starts_with("    pub async fn "))
            {
                *counts.entry(ty.clone()).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > max)
        .map(|(ty, n)| format!("`{ty}` has {n} public functions (at most {max})"))
        .collect()
}

/// The type an `impl` line (after `impl`) is for: the last path segment
/// before `{`, without generics; `None` for a trait impl (`… for …`).
fn impl_type(head: &str) -> Option<String> {
    let head = head.split('{').next()?.trim();
    if head.contains(" for ") {
        return None;
    }
    let head = head.strip_prefix('<').map_or(head, |rest| {
        rest.split_once('>').map_or(rest, |(_, after)| after)
    });
    let name: String = head
        .trim()
        .rsplit("::")
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(check_file("f.rs", text), expected, "{text}");
    }

    #[test]
    fn file_with_a_module_doc_passes() {
        check("//! What this is for.\n\nfn f() {}\n", &[]);
        check("//! What this is for.\n#![no_std]\n", &[]);
        let comment = format!(
            "//! Mentions it.\n// {} in a comment\n",
            concat!("#[", "ignore]")
        );
        check(&comment, &[]);
        check("//! Ok.\n#[ignored_by_nothing]\nfn f() {}\n", &[]);
    }

    #[test]
    fn file_without_a_module_doc_fails() {
        let missing = "f.rs: does not start with a `//!` paragraph";
        check("fn f() {}\n", &[missing]);
        check("", &[missing]);
        check("//!\n//! Late.\n", &[missing]);
        check("/// Outer doc.\nfn f() {}\n", &[missing]);
        check("#![no_std]\n//! After the attribute.\n", &[missing]);
        check("\n//! After a blank line.\n", &[missing]);
    }

    #[test]
    fn a_use_case_without_the_proof_fails() {
        let file = "//! Rooms.\n\nimpl Rooms<'_> {\n    pub async fn get_room(\n        &self,\n        auth: Authorized<'_, act::RoomView, RoomInfo>,\n    ) -> Result<RoomInfo, AppError> {\n        todo()\n    }\n\n    pub async fn delete_room(&self, meta: &RequestMeta, p: &Principal, id: RoomId) -> Result<(), AppError> {\n        todo()\n    }\n\n    pub async fn login(&self, email: &str) -> Result<(), AppError> {\n        todo()\n    }\n    // pub async fn in_a_comment(&self) {}\n}\n\n#[cfg(test)]\nmod tests {\n    pub async fn helper() {}\n}\n";
        assert_eq!(
            use_cases_take_the_proof("f.rs", file, &[("login", "no caller yet")]),
            ["f.rs:11: public use-case `delete_room` takes no `Authorized<…>` proof"]
        );
        assert_eq!(use_cases_take_the_proof("f.rs", file, NO_PROOF).len(), 1);
    }

    #[test]
    fn a_service_with_too_many_use_cases_fails() {
        let methods = |n: usize| {
            (0..n)
                .map(|i| {
                    format!("    pub async fn f{i}(&self) {{}}\n    fn private{i}(&self) {{}}\n")
                })
                .collect::<String>()
        };
        let a = format!(
            "//! A.\nimpl Files<'_> {{\n{}}}\nimpl<'a> Rooms<'a> {{\n{}}}\n",
            methods(2),
            methods(1)
        );
        let b = format!(
            "//! B.\nimpl Files<'_> {{\n{}}}\nimpl Default for Files<'_> {{\n{}}}\n",
            methods(2),
            methods(9)
        );
        let files = vec![("a.rs".to_owned(), a), ("b.rs".to_owned(), b)];
        assert_eq!(services_stay_small(&files, 4), Vec::<String>::new());
        assert_eq!(
            services_stay_small(&files, 3),
            ["`Files` has 4 public functions (at most 3)"]
        );
    }

    #[test]
    fn switched_off_test_fails() {
        let ignore = concat!("#[", "ignore]");
        let ignore_reason = concat!("#[", "ignore = \"slow\"]");
        let should_panic = concat!("#[", "should_panic(expected = \"boom\")]");
        let file = |attribute: &str| format!("//! Tests.\n\n#[test]\n{attribute}\nfn t() {{}}\n");
        let ignored = format!("f.rs:4: `{}` is not allowed", ignore);
        let panics = format!(
            "f.rs:4: `{}]` is not allowed",
            concat!("#[", "should_panic")
        );
        check(&file(ignore), &[&ignored]);
        check(&file(ignore_reason), &[&ignored]);
        check(&file(&format!("    {should_panic}")), &[&panics]);
    }
}
