//! `docs/ui.md` maps every operation of the REST API to the page of the web UI
//! that performs it, or gives the reason it is API-only. This test reads both
//! tables and the OpenAPI document the server serves: an operation in neither
//! table, in both, twice, or in a table but not in the document fails it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::*;

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Which table of `docs/ui.md` a row is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Page,
    ApiOnly,
}

/// Every row of the two tables: `"METHOD /path"` → (table, the rest of the row).
fn ui_map(text: &str) -> Result<BTreeMap<String, (Table, String)>, String> {
    let mut rows = BTreeMap::new();
    let mut table = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            table = match line.trim() {
                "## Operations with a page" => Some(Table::Page),
                "## API-only operations" => Some(Table::ApiOnly),
                _ => None,
            };
            continue;
        }
        let Some(table) = table else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, op, rest @ ..] = cells.as_slice() else {
            continue;
        };
        let Some((method, path)) = op.split_once(' ') else {
            continue;
        };
        if !METHODS.contains(&method.to_lowercase().as_str()) {
            continue;
        }
        let detail: Vec<&str> = rest.iter().copied().filter(|c| !c.is_empty()).collect();
        if detail.is_empty() {
            return Err(format!("line {}: `{op}` names no page or reason", n + 1));
        }
        let key = format!("{method} {path}");
        if rows
            .insert(key.clone(), (table, detail.join(" | ")))
            .is_some()
        {
            return Err(format!("line {}: `{key}` is listed twice", n + 1));
        }
    }
    Ok(rows)
}

#[test]
fn the_map_parser_reads_both_tables_and_refuses_what_is_wrong() {
    let text = "## Operations with a page\n| operation | page | who |\n|---|---|---|\n\
        | GET /rooms | / | everyone |\n## API-only operations\n| operation | why |\n|---|---|\n\
        | POST /auth/login | the CLI signs in |\n";
    let rows = ui_map(text).unwrap();
    assert_eq!(rows["GET /rooms"].0, Table::Page);
    assert_eq!(rows["POST /auth/login"].0, Table::ApiOnly);
    assert_eq!(rows.len(), 2);
    let twice = format!("{text}| GET /rooms | again |\n");
    assert!(ui_map(&twice).unwrap_err().contains("twice"));
    let empty = format!("{text}| GET /files |  |\n");
    assert!(ui_map(&empty).unwrap_err().contains("names no page"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_operation_has_a_page_or_a_reason() {
    let ctx = Ctx::new().await;
    let r = check(
        &ctx,
        Case {
            label: "anonymous".into(),
            method: "GET",
            path: format!("{V1}/openapi.json"),
            want_status: 200,
            ..Case::default()
        },
    )
    .await;
    let doc: Value = serde_json::from_slice(&r.body).expect("OpenAPI is JSON");
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if item.get(*m).is_some() {
                documented.push(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui.md");
    let text = std::fs::read_to_string(&file).expect("docs/ui.md");
    let rows = ui_map(&text).unwrap_or_else(|e| panic!("docs/ui.md: {e}"));
    let unmapped: Vec<&String> = documented
        .iter()
        .filter(|op| !rows.contains_key(*op))
        .collect();
    let unknown: Vec<&String> = rows.keys().filter(|op| !documented.contains(op)).collect();
    assert!(
        unmapped.is_empty(),
        "operations with neither a page nor a reason in docs/ui.md: {unmapped:#?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/ui.md names operations the API does not have: {unknown:#?}"
    );
    let pages = rows.values().filter(|(t, _)| *t == Table::Page).count();
    assert!(
        pages * 2 > rows.len(),
        "most operations should have a page: {pages} of {}",
        rows.len()
    );
}
