//! Which crate may depend on what: only `store` knows SQL, only the edges know
//! HTTP, the pure libraries stay free of the runtime and of the layers above
//! them, and the domain crates of the use-cases stand apart (each on the kernel,
//! never on one another). Each exception names the crate, the dependency, the
//! table and the reason.

use crate::manifest::{Kind, Package};

/// A dependency a rule lets one crate have, and why.
pub struct Allowed {
    /// The crate.
    pub krate: &'static str,
    /// The dependency, or `"*"` for any the rule covers.
    pub dep: &'static str,
    /// The tables it may appear in.
    pub kinds: &'static [Kind],
    /// Why the exception holds.
    pub reason: &'static str,
}

const ALL: &[Kind] = &[Kind::Normal, Kind::Dev, Kind::Build];
const DEV: &[Kind] = &[Kind::Dev];

/// Crates that speak SQL or open a database.
pub const SQL: &[&str] = &[
    "sqlx",
    "sqlx-core",
    "sqlx-postgres",
    "sqlx-sqlite",
    "rusqlite",
    "libsqlite3-sys",
    "postgres",
    "tokio-postgres",
    "diesel",
    "sea-orm",
];

/// Who may depend on [`SQL`] crates.
pub const SQL_ALLOWED: &[Allowed] = &[
    Allowed {
        krate: "store",
        dep: "*",
        kinds: ALL,
        reason: "the store is the one crate that knows SQL",
    },
    Allowed {
        krate: "server",
        dep: "sqlx",
        kinds: DEV,
        reason: "its PostgreSQL tests create a fresh schema per test \
                 (tests/it/util.rs, `postgres`); no SQL reaches the server itself",
    },
];

/// Crates that serve, route, describe or send HTTP.
pub const HTTP: &[&str] = &[
    "axum",
    "axum-core",
    "axum-extra",
    "axum-server",
    "hyper",
    "hyper-util",
    "http",
    "http-body",
    "http-body-util",
    "tower",
    "tower-http",
    "utoipa",
    "utoipa-axum",
    "maud",
    "reqwest",
];

/// Who may depend on [`HTTP`] crates: the edges.
pub const HTTP_ALLOWED: &[Allowed] = &[
    Allowed {
        krate: "server",
        dep: "*",
        kinds: ALL,
        reason: "the server is the HTTP edge",
    },
    Allowed {
        krate: "client",
        dep: "reqwest",
        kinds: &[Kind::Normal],
        reason: "the client is the CLI's HTTPS edge",
    },
    Allowed {
        krate: "custody",
        dep: "reqwest",
        kinds: DEV,
        reason: "the binary's tests talk to the running server over real HTTPS",
    },
];

/// The pure libraries: no I/O runtime, no layer above them.
pub const PURE: &[&str] = &[
    "model", "vault", "ledger", "policy", "dlp", "mark", "pdfload", "watch",
];

/// What a pure library must not depend on (its tests may: dev-dependencies are
/// not checked by this rule).
pub const IMPURE: &[&str] = &[
    "tokio",
    "tokio-util",
    "tokio-rustls",
    "store",
    "app",
    "server",
    "client",
    "custody",
    "siem",
    "render",
    "kernel",
    "identity",
    "content",
    "governance",
    "audit",
    "notify",
];

/// The domain crates of the use-cases: each depends on the kernel and on the
/// libraries below it, never on another domain nor on anything above.
pub const DOMAINS: &[&str] = &["identity", "content", "governance", "audit", "notify"];

/// What a domain crate (and the kernel) must not depend on: the other domains
/// and every layer above them.
pub const ABOVE_DOMAINS: &[&str] = &[
    "identity",
    "content",
    "governance",
    "audit",
    "notify",
    "app",
    "server",
    "client",
    "custody",
];

/// Only `store` (and the listed test-only exceptions) depends on SQL crates.
pub fn only_store_knows_sql(packages: &[Package]) -> Vec<String> {
    forbidden(
        packages,
        |_| true,
        SQL,
        ALL,
        SQL_ALLOWED,
        "only `store` knows SQL",
    )
}

/// Only the edges depend on HTTP crates.
pub fn only_edges_know_http(packages: &[Package]) -> Vec<String> {
    forbidden(
        packages,
        |_| true,
        HTTP,
        ALL,
        HTTP_ALLOWED,
        "only the edges know HTTP",
    )
}

/// The pure libraries depend on no runtime and no upper layer.
pub fn pure_libraries_stay_pure(packages: &[Package]) -> Vec<String> {
    forbidden(
        packages,
        |name| PURE.contains(&name),
        IMPURE,
        &[Kind::Normal, Kind::Build],
        &[],
        "pure libraries stay pure",
    )
}

/// No domain crate depends on another domain crate (or on a layer above the
/// domains), and the kernel on none of them: domains meet only in the kernel.
pub fn domains_stand_apart(packages: &[Package]) -> Vec<String> {
    forbidden(
        packages,
        |name| DOMAINS.contains(&name) || name == "kernel",
        ABOVE_DOMAINS,
        &[Kind::Normal, Kind::Build],
        &[],
        "domains stand apart",
    )
}

/// One message per dependency of a crate picked by `applies` on one of `deps`,
/// declared in one of `kinds`, and not `allowed`.
fn forbidden(
    packages: &[Package],
    applies: impl Fn(&str) -> bool,
    deps: &[&str],
    kinds: &[Kind],
    allowed: &[Allowed],
    rule: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for package in packages.iter().filter(|p| applies(&p.name)) {
        for dep in &package.deps {
            let covered = deps.contains(&dep.name.as_str()) && kinds.contains(&dep.kind);
            let excused = allowed.iter().any(|a| {
                a.krate == package.name
                    && (a.dep == "*" || a.dep == dep.name)
                    && a.kinds.contains(&dep.kind)
            });
            if covered && !excused {
                problems.push(format!(
                    "{rule}: `{}` has `{}` in [{}]",
                    package.name,
                    dep.name,
                    dep.kind.table()
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_manifest;

    /// Runs `rule` on one crate made from `manifest` and compares the messages.
    fn check(rule: fn(&[Package]) -> Vec<String>, manifest: &str, expected: &[&str]) {
        let package = parse_manifest(manifest).unwrap();
        assert_eq!(rule(&[package]), expected, "{manifest}");
    }

    #[test]
    fn a_domain_on_another_domain_fails() {
        let rule = domains_stand_apart;
        check(
            rule,
            "[package]\nname = \"content\"\n[dependencies]\nkernel.workspace = true\ngovernance.workspace = true\n",
            &["domains stand apart: `content` has `governance` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"kernel\"\n[dependencies]\nidentity.workspace = true\n",
            &["domains stand apart: `kernel` has `identity` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"audit\"\n[dependencies]\nserver.workspace = true\n",
            &["domains stand apart: `audit` has `server` in [dependencies]"],
        );
        // On the kernel, or another domain only for its tests: allowed.
        check(
            rule,
            "[package]\nname = \"audit\"\n[dependencies]\nkernel.workspace = true\n[dev-dependencies]\ncontent.workspace = true\n",
            &[],
        );
        check(
            rule,
            "[package]\nname = \"server\"\n[dependencies]\ncontent.workspace = true\n",
            &[],
        );
    }

    #[test]
    fn sql_outside_store_fails() {
        let rule = only_store_knows_sql;
        check(
            rule,
            "[package]\nname = \"app\"\n[dependencies]\nsqlx.workspace = true\n",
            &["only `store` knows SQL: `app` has `sqlx` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"app\"\n[dev-dependencies]\nrusqlite = \"0.39\"\n",
            &["only `store` knows SQL: `app` has `rusqlite` in [dev-dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"server\"\n[dependencies]\nsqlx.workspace = true\n",
            &["only `store` knows SQL: `server` has `sqlx` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"server\"\n[dev-dependencies]\nsqlx.workspace = true\n",
            &[],
        );
        check(
            rule,
            "[package]\nname = \"store\"\n[dependencies]\nsqlx.workspace = true\nrusqlite = \"0.39\"\n",
            &[],
        );
    }

    #[test]
    fn http_outside_the_edges_fails() {
        let rule = only_edges_know_http;
        check(
            rule,
            "[package]\nname = \"app\"\n[dependencies]\naxum.workspace = true\n",
            &["only the edges know HTTP: `app` has `axum` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"app\"\n[dependencies]\nweb = { package = \"hyper\", version = \"1\" }\n",
            &["only the edges know HTTP: `app` has `hyper` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"custody\"\n[dependencies]\nreqwest.workspace = true\n",
            &["only the edges know HTTP: `custody` has `reqwest` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"client\"\n[dependencies]\naxum.workspace = true\n",
            &["only the edges know HTTP: `client` has `axum` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"server\"\n[dependencies]\naxum.workspace = true\nhyper = \"1\"\n",
            &[],
        );
    }

    #[test]
    fn impure_pure_library_fails() {
        let rule = pure_libraries_stay_pure;
        check(
            rule,
            "[package]\nname = \"ledger\"\n[dependencies]\ntokio.workspace = true\n",
            &["pure libraries stay pure: `ledger` has `tokio` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"model\"\n[dependencies]\nstore.workspace = true\n",
            &["pure libraries stay pure: `model` has `store` in [dependencies]"],
        );
        check(
            rule,
            "[package]\nname = \"mark\"\n[dev-dependencies]\ntokio.workspace = true\n",
            &[],
        );
        check(
            rule,
            "[package]\nname = \"render\"\n[dependencies]\ntokio.workspace = true\n",
            &[],
        );
    }
}
