//! The dependency lists of the workspace's crates, read from a `Cargo.toml` or from
//! `cargo metadata --format-version 1 --no-deps`, as plain data for the rules.

use serde::Deserialize;

/// Which table a dependency is declared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `[dependencies]`: part of what the crate is.
    Normal,
    /// `[dev-dependencies]`: only its tests, examples and benches.
    Dev,
    /// `[build-dependencies]`: its build script.
    Build,
}

impl Kind {
    /// The manifest table's name.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Normal => "dependencies",
            Kind::Dev => "dev-dependencies",
            Kind::Build => "build-dependencies",
        }
    }
}

/// One declared dependency, by the depended-on package's real name (a `package =`
/// rename is undone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    /// The package depended on.
    pub name: String,
    /// The table it is declared in.
    pub kind: Kind,
}

/// A crate and what it declares it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The package's name.
    pub name: String,
    /// Its dependencies of every kind, for every target.
    pub deps: Vec<Dep>,
}

impl Package {
    /// The names of its dependencies of `kind`.
    pub fn deps_of(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.deps
            .iter()
            .filter(move |d| d.kind == kind)
            .map(|d| d.name.as_str())
    }
}

/// Reads a `Cargo.toml`: `[dependencies]`, `[dev-dependencies]` and
/// `[build-dependencies]`, at the top and under every `[target.*]`.
pub fn parse_manifest(text: &str) -> Result<Package, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let name = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or("no `package.name`")?
        .to_owned();
    let mut deps = Vec::new();
    let targets = doc.get("target").and_then(toml::Value::as_table);
    let scopes = std::iter::once(&doc).chain(
        targets
            .into_iter()
            .flat_map(|t| t.values().filter_map(toml::Value::as_table)),
    );
    for scope in scopes {
        for kind in [Kind::Normal, Kind::Dev, Kind::Build] {
            deps.extend(table_deps(scope, kind));
        }
    }
    Ok(Package { name, deps })
}

/// The dependencies declared in `scope`'s table of `kind`.
fn table_deps(scope: &toml::Table, kind: Kind) -> Vec<Dep> {
    let Some(table) = scope.get(kind.table()).and_then(toml::Value::as_table) else {
        return Vec::new();
    };
    table
        .iter()
        .map(|(key, spec)| {
            let real = spec.get("package").and_then(toml::Value::as_str);
            Dep {
                name: real.unwrap_or(key).to_owned(),
                kind,
            }
        })
        .collect()
}

/// The part of `cargo metadata`'s output read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    dependencies: Vec<MetaDep>,
}

#[derive(Deserialize)]
struct MetaDep {
    name: String,
    kind: Option<String>,
}

/// Reads the output of `cargo metadata --format-version 1 --no-deps`: the
/// workspace's packages and what each declares.
pub fn parse_metadata(json: &str) -> Result<Vec<Package>, String> {
    let meta: Metadata = serde_json::from_str(json).map_err(|e| e.to_string())?;
    meta.packages
        .into_iter()
        .map(|p| {
            let deps = p
                .dependencies
                .into_iter()
                .map(|d| {
                    let kind = match d.kind.as_deref() {
                        None => Kind::Normal,
                        Some("dev") => Kind::Dev,
                        Some("build") => Kind::Build,
                        Some(other) => return Err(format!("unknown dependency kind `{other}`")),
                    };
                    Ok(Dep { name: d.name, kind })
                })
                .collect::<Result<_, String>>()?;
            Ok(Package { name: p.name, deps })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(manifest: &str, expected: &[(&str, Kind)]) {
        let package = parse_manifest(manifest).unwrap();
        let got: Vec<(&str, Kind)> = package
            .deps
            .iter()
            .map(|d| (d.name.as_str(), d.kind))
            .collect();
        assert_eq!(got, expected, "{manifest}");
    }

    #[test]
    fn manifests_list_every_table_and_undo_renames() {
        check("[package]\nname = \"a\"\n", &[]);
        check(
            "[package]\nname = \"a\"\n[dependencies]\nb.workspace = true\n\
             [dev-dependencies]\nc = \"1\"\n[build-dependencies]\nd = { version = \"1\" }\n",
            &[("b", Kind::Normal), ("c", Kind::Dev), ("d", Kind::Build)],
        );
        check(
            "[package]\nname = \"a\"\n[dependencies]\nweb = { package = \"axum\", version = \"0.8\" }\n\
             [target.'cfg(unix)'.dev-dependencies]\nsqlx = \"0.9\"\n",
            &[("axum", Kind::Normal), ("sqlx", Kind::Dev)],
        );
    }

    #[test]
    fn metadata_gives_kinds() {
        let json = r#"{"packages":[{"name":"a","dependencies":[
            {"name":"b","kind":null},{"name":"c","kind":"dev"},{"name":"d","kind":"build"}]}]}"#;
        let packages = parse_metadata(json).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].deps_of(Kind::Normal).collect::<Vec<_>>(), ["b"]);
        assert_eq!(packages[0].deps_of(Kind::Dev).collect::<Vec<_>>(), ["c"]);
        assert_eq!(packages[0].deps_of(Kind::Build).collect::<Vec<_>>(), ["d"]);
    }
}
