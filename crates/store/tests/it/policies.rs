//! Versions of the custom policy set on both backends: round trip, newest
//! first, and a stale change refused as a conflict that leaves the
//! transaction usable.

use crate::util::*;

/// Summary of a version: (number, custom, disabled, comment, created_ms).
type Row = (i64, String, Vec<String>, String, i64);

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn policy_versions_round_trip_and_refuse_a_stale_number() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.latest_policy_version().await.unwrap(), None);
        assert_eq!(tx.list_policy_versions().await.unwrap(), vec![]);
        // (number, custom, disabled, comment)
        let table: &[(i64, &str, &[&str], &str)] = &[
            (
                1,
                "@id(\"a\") forbid(principal, action, resource);",
                &[],
                "first",
            ),
            (
                2,
                "",
                &["room.admin_manages", "account.mfa_required"],
                "défaut ôté",
            ),
            (3, "// only a comment\n", &[], ""),
        ];
        for &(number, custom, disabled, comment) in table {
            tx.insert_policy_version(
                number,
                custom,
                &strings(disabled),
                w.user.id,
                1_000 * number,
                comment,
            )
            .await
            .unwrap();
        }
        let want: Vec<Row> = table
            .iter()
            .rev()
            .map(|&(n, c, d, m)| (n, c.to_owned(), strings(d), m.to_owned(), 1_000 * n))
            .collect();
        let got: Vec<Row> = tx
            .list_policy_versions()
            .await
            .unwrap()
            .into_iter()
            .map(|v| {
                assert_eq!(v.author, w.user.id);
                (v.number, v.custom, v.disabled, v.comment, v.created_ms)
            })
            .collect();
        assert_eq!(got, want, "newest first");
        let latest = tx.latest_policy_version().await.unwrap().unwrap();
        assert_eq!(latest.number, 3);
        let second = tx.policy_version(2).await.unwrap().unwrap();
        assert_eq!(
            second.disabled,
            strings(&["room.admin_manages", "account.mfa_required"])
        );
        assert_eq!(second.comment, "défaut ôté");
        assert_eq!(tx.policy_version(9).await.unwrap(), None);

        let stale = tx
            .insert_policy_version(3, "", &[], w.user.id, 9_000, "stale")
            .await;
        assert_conflict(stale, "policy version");
        // The transaction stays usable after the conflict.
        tx.insert_policy_version(4, "", &[], w.user.id, 9_000, "next")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.latest_policy_version().await.unwrap().unwrap().number, 4);
    })
    .await;
}
