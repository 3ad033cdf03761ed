//! Runs every tidy rule on the real workspace: a failure names each file and
//! dependency that breaks an invariant of ARCHITECTURE.md.

#[test]
fn workspace_keeps_the_architecture_invariants() {
    let problems = tidy::workspace::check(&tidy::workspace::root()).unwrap();
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
