//! Reads the real workspace (the manifests under `crates/`, `cargo metadata`,
//! ARCHITECTURE.md, every `.rs` file under `crates/`) and runs every rule on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::manifest::{Package, parse_manifest, parse_metadata};
use crate::{TidyError, deps, graph, source};

/// The workspace's root: two levels above this crate.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> Result<String, TidyError> {
    std::fs::read_to_string(path).map_err(|source| TidyError::Read {
        path: path.to_owned(),
        source,
    })
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, TidyError> {
    let failed = |source| TidyError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = std::fs::read_dir(dir)
        .map_err(failed)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    paths.sort();
    Ok(paths)
}

/// Every `crates/*/Cargo.toml`, read.
pub fn manifests(root: &Path) -> Result<Vec<Package>, TidyError> {
    let mut packages = Vec::new();
    for dir in entries(&root.join("crates"))? {
        let path = dir.join("Cargo.toml");
        if !path.is_file() {
            continue;
        }
        let package =
            parse_manifest(&read(&path)?).map_err(|reason| TidyError::Manifest { path, reason })?;
        packages.push(package);
    }
    Ok(packages)
}

/// The workspace's packages as `cargo metadata --format-version 1 --no-deps`
/// reports them.
pub fn metadata(root: &Path) -> Result<Vec<Package>, TidyError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| TidyError::Metadata(e.to_string()))?;
    if !out.status.success() {
        return Err(TidyError::Metadata(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    parse_metadata(&String::from_utf8_lossy(&out.stdout)).map_err(TidyError::Metadata)
}

/// Every `.rs` file under `dir`, skipping `target` directories, as paths
/// relative to `root` with their text.
pub fn rust_files(root: &Path, dir: &Path) -> Result<Vec<(String, String)>, TidyError> {
    let mut files = Vec::new();
    for path in entries(dir)? {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                files.extend(rust_files(root, &path)?);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let shown = path.strip_prefix(root).unwrap_or(&path);
            files.push((shown.display().to_string(), read(&path)?));
        }
    }
    Ok(files)
}

/// Every rule on the workspace at `root`: one message per violation.
pub fn check(root: &Path) -> Result<Vec<String>, TidyError> {
    let manifests = manifests(root)?;
    let mut problems = deps::only_store_knows_sql(&manifests);
    problems.extend(deps::only_edges_know_http(&manifests));
    problems.extend(deps::pure_libraries_stay_pure(&manifests));
    problems.extend(deps::domains_stand_apart(&manifests));
    let architecture = read(&root.join("ARCHITECTURE.md"))?;
    problems.extend(graph::check_architecture(&architecture, &metadata(root)?));
    for (path, text) in rust_files(root, &root.join("crates"))? {
        problems.extend(source::check_file(&path, &text));
    }
    for domain in deps::DOMAINS {
        let files = rust_files(root, &root.join("crates").join(domain).join("src"))?;
        for (path, text) in &files {
            problems.extend(source::use_cases_take_the_proof(
                path,
                text,
                source::NO_PROOF,
            ));
        }
        problems.extend(source::services_stay_small(&files, source::MAX_USE_CASES));
    }
    Ok(problems)
}
