//! `custody watch replay` as a user runs it: an export in, the alerts out with
//! their explanations, malformed lines counted, bad arguments refused.

use std::fs;

use crate::util::command;

/// A download by `u1` of party `p1` at 2026-01-05 12:00 UTC plus `i` seconds.
fn download(i: i64) -> String {
    let t = 1_767_614_400_000 + i * 1000;
    format!(
        r#"{{"time_ms":{t},"action":"file.download","outcome":"allowed","actor":"u1","party":"p1","target":"file:f{i}","detail":{{}}}}"#
    )
}

#[test]
fn watch_replay_prints_explained_alerts_and_counts_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("events.jsonl");
    let mut lines: Vec<String> = (0..40).map(download).collect();
    lines.push("not json".into());
    fs::write(&export, lines.join("\n")).unwrap();
    let path = export.to_string_lossy().into_owned();

    let run = |args: &[&str]| {
        let out = command()
            .arg("watch")
            .arg("replay")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (args, code, stdout_has, stderr_has) in [
        (
            vec!["--immediate", path.as_str()],
            Some(0),
            vec!["2026-01-05 now user u1", "download"],
            vec!["replayed 40 events", "1 not_object", "peak memory"],
        ),
        (
            vec![path.as_str()],
            Some(0),
            vec!["2026-01-05 day"],
            vec!["replayed 40 events"],
        ),
        (
            vec!["--alert-rate", "0", path.as_str()],
            Some(1),
            vec![],
            vec!["`--alert-rate` must be above 0"],
        ),
        (
            vec!["/nonexistent/events.jsonl"],
            Some(1),
            vec![],
            vec!["cannot open `/nonexistent/events.jsonl`"],
        ),
    ] {
        let (got, stdout, stderr) = run(&args);
        assert_eq!(got, code, "{args:?}: {stdout} {stderr}");
        for want in stdout_has {
            assert!(stdout.contains(want), "{args:?}: `{want}` not in {stdout}");
        }
        for want in stderr_has {
            assert!(stderr.contains(want), "{args:?}: `{want}` not in {stderr}");
        }
    }
}
