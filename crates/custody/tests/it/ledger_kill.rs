//! The ledger survives crashes: concurrent clients create rooms (each an
//! audited event and a ledger leaf), the server is SIGKILLed at a random
//! moment, restarted, and every room whose creation was acknowledged must have
//! its event in `GET /api/v1/events` and its leaf in the ledger; the ledger's
//! indices run 0..size without a gap, every entry's bytes give its hash, the
//! entries rebuild the signed checkpoint's root, and inclusion proofs from the
//! server verify against it. Other clients download a file meanwhile: each
//! download's event is a transaction of its own, written by the recorder's
//! batches (`store::Store::append_batch`); every download answered (its
//! `x-request-id` known) must have its event and leaf too. 10 rounds with
//! `CUSTODY_SLOW_TESTS=1`, else 3.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use client::Client;
use ledger::{Checkpoint, ExportEntry, MemoryStore, Verifier, leaf_hash};

use crate::util::*;

/// Concurrent clients creating rooms.
const WRITERS: usize = 12;

/// Concurrent clients downloading a file.
const READERS: usize = 12;

#[tokio::test]
async fn acknowledged_events_survive_sigkill_in_the_ledger() {
    let rounds = if std::env::var("CUSTODY_SLOW_TESTS").as_deref() == Ok("1") {
        10
    } else {
        3
    };
    let scratch = Scratch::new();
    let mut server = scratch.serve_with(&quiet());
    let acknowledged = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let downloads = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let mut kills = Vec::new();
    let sample = scratch.path("sample.bin");
    std::fs::write(&sample, b"downloaded while the server is killed").unwrap();
    for round in 0..rounds {
        let admin = server.admin().await;
        let room = admin
            .create_room(&format!("downloads {round}"), "internal")
            .await
            .unwrap();
        let file = admin
            .put_file(&room.id, "sample.bin", &sample, client::Progress::Hidden)
            .await
            .unwrap();
        let at_start = acknowledged.lock().unwrap().len();
        let downloads_at_start = downloads.lock().unwrap().len();
        let mut writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(create_rooms(admin.clone(), round, w, acknowledged.clone())))
            .collect();
        let url = format!("{}/api/v1/files/{}/content", server.url, file.id);
        let token = admin.token().unwrap().to_owned();
        writers.extend(
            (0..READERS)
                .map(|_| tokio::spawn(download(url.clone(), token.clone(), downloads.clone()))),
        );
        // A random moment between 300 ms and 1.3 s into the load.
        let bytes = random_bytes(2);
        let wait = 300 + u64::from(u16::from_le_bytes([bytes[0], bytes[1]])) % 1000;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill();
        for w in writers {
            w.abort();
        }
        let acked = acknowledged.lock().unwrap().clone();
        let downloaded = downloads.lock().unwrap().clone();
        kills.push((
            wait,
            acked.len() - at_start,
            downloaded.len() - downloads_at_start,
        ));

        server = scratch.serve_with(&quiet());
        let admin = server.admin().await;
        check_ledger(&server, &admin, &acked, &downloaded, round).await;
    }
    let total = acknowledged.lock().unwrap().len();
    let total_downloads = downloads.lock().unwrap().len();
    eprintln!(
        "{rounds} SIGKILL rounds (kill after ms, rooms created, downloads answered in the round): {kills:?}; {total} rooms and {total_downloads} downloads acknowledged in all, every one in the ledger"
    );
    assert!(total > rounds, "the load acknowledged too little: {total}");
    assert!(
        total_downloads > rounds,
        "the load downloaded too little: {total_downloads}"
    );
}

/// Downloads `url` until aborted; records the request id of each download
/// answered (its event is durable before the answer starts).
async fn download(url: String, token: String, acked: Arc<Mutex<BTreeSet<String>>>) {
    let http = raw_http();
    loop {
        let Ok(response) = http.get(&url).bearer_auth(&token).send().await else {
            continue;
        };
        if response.status() != reqwest::StatusCode::OK {
            continue;
        }
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(id) = id {
            acked.lock().unwrap().insert(id);
        }
    }
}

/// Creates rooms until aborted; records the id of each acknowledged one.
async fn create_rooms(
    admin: Client,
    round: usize,
    writer: usize,
    acked: Arc<Mutex<BTreeSet<String>>>,
) {
    for n in 0.. {
        let name = format!("kill {round}.{writer}.{n}");
        if let Ok(room) = admin.create_room(&name, "internal").await {
            acked.lock().unwrap().insert(room.id.to_string());
        }
    }
}

/// Checks the restarted server's events and ledger against what was acknowledged.
async fn check_ledger(
    server: &Server,
    admin: &Client,
    acked: &BTreeSet<String>,
    downloaded: &BTreeSet<String>,
    round: usize,
) {
    let http = raw_http();
    let token = admin.token().unwrap().to_owned();
    let get = |path: String| {
        let (http, token, url) = (http.clone(), token.clone(), server.url.clone());
        async move {
            http.get(format!("{url}/api/v1{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    // The checkpoint first: every entry below its size is then in the log.
    let note = get("/ledger/checkpoint".into()).await;
    let key = get("/ledger/verifier-key".into()).await;
    let verifier = Verifier::parse(key.trim_end()).unwrap();
    let checkpoint = Checkpoint::parse(&verifier.verify(&note).unwrap()).unwrap();
    let size = checkpoint.size;

    let mut created = BTreeSet::new();
    let mut after = 0i64;
    let mut events = 0u64;
    loop {
        let page: serde_json::Value =
            serde_json::from_str(&get(format!("/events?after={after}&limit=1000")).await).unwrap();
        let items = page["items"].as_array().unwrap();
        let Some(last) = items.last() else { break };
        after = last["seq"].as_i64().unwrap();
        events += items.len() as u64;
        for e in items {
            if e["action"] == "room.create" && e["outcome"] == "allowed" {
                created.insert(e["target"].as_str().unwrap().to_owned());
            }
        }
    }

    let mut tree = MemoryStore::new();
    let mut in_ledger = BTreeMap::new();
    let mut downloads_in_ledger = BTreeSet::new();
    let mut from = 0;
    while from < size {
        let to = (from + 10_000).min(size);
        let text = get(format!("/ledger/entries?from={from}&to={to}")).await;
        for line in text.lines() {
            let entry = ExportEntry::parse_line(line).unwrap();
            assert_eq!(
                entry.index,
                tree.size(),
                "round {round}: a gap in the ledger indices"
            );
            let bytes = entry.leaf_bytes().unwrap();
            let hash = leaf_hash(&bytes);
            assert_eq!(
                entry.claimed_hash().unwrap(),
                hash,
                "round {round}: entry {}",
                entry.index
            );
            tree.push(hash).unwrap();
            if entry.event["action"] == "room.create" {
                let target = entry.event["target"].as_str().unwrap().to_owned();
                in_ledger.insert(target, (entry.index, hash));
            }
            if entry.event["action"] == "file.download"
                && let Some(id) = entry.event["request_id"].as_str()
            {
                downloads_in_ledger.insert(id.to_owned());
            }
        }
        from = to;
    }
    assert_eq!(
        tree.size(),
        size,
        "round {round}: entries missing below the checkpoint"
    );
    assert_eq!(
        ledger::root(&tree, size).unwrap(),
        checkpoint.root,
        "round {round}"
    );
    // Requests in flight at the kill may have committed unacknowledged; the
    // checkpoint was signed after this round's load, so it covers every event.
    assert_eq!(events, size, "round {round}: every event is one leaf");

    for id in acked {
        let target = format!("room:{id}");
        assert!(
            created.contains(&target),
            "round {round}: acknowledged {target} has no event"
        );
        assert!(
            in_ledger.contains_key(&target),
            "round {round}: acknowledged {target} has no leaf"
        );
    }
    let lost: Vec<_> = downloaded.difference(&downloads_in_ledger).collect();
    assert!(
        lost.is_empty(),
        "round {round}: answered downloads without a leaf: {lost:?}"
    );
    // Inclusion proofs from the server of some acknowledged rooms' leaves.
    for id in acked.iter().rev().take(5) {
        let (index, hash) = in_ledger[&format!("room:{id}")];
        let proof: serde_json::Value = serde_json::from_str(
            &get(format!("/ledger/proof/inclusion?index={index}&size={size}")).await,
        )
        .unwrap();
        let hashes: Vec<ledger::Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(h.as_str().unwrap())
                    .unwrap();
                raw.try_into().unwrap()
            })
            .collect();
        ledger::verify_inclusion(&hash, index, size, &hashes, &checkpoint.root).unwrap();
    }
}

/// The server's settings here: the watcher off. It records `watch.alert`
/// events of its own a moment after the load that raised them, possibly after
/// the checkpoint this test compares the events with (regression: a watcher
/// alert recorded after the checkpoint made 297 events against 296 leaves).
fn quiet() -> Vec<(&'static str, String)> {
    vec![("CUSTODY_WATCH", "false".to_owned())]
}
