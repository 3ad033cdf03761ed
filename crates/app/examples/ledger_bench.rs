//! The ledger benchmark's measuring program (`bench/ledger.sh` runs it in
//! release). Each subcommand prints `name value` lines:
//!
//! - `appends DIR SECONDS WRITERS [direct|refused]`: fsync-durable audited
//!   events per second, `WRITERS` tasks recording events through the app's
//!   recorder (each event a transaction of its own, batched with the others
//!   waiting: event row, ledger leaf and nodes), on SQLite in `DIR`. `direct`
//!   (the default) records a download-like event through the events seam
//!   (`App::record_alone`); `refused` makes a request the policy refuses (a
//!   member asking for the ledger's verifier key), so each event also costs a
//!   Cedar decision; `watched` is `direct` with the server's watcher
//!   (`app::alerts::Scorer`) scoring the events as they are recorded, as
//!   `custody serve` runs it, and prints how many it scored;
//! - `proofs DIR SIZE COUNT`: bulk-loads the stored nodes of a tree of `SIZE`
//!   synthetic leaves (computed with the `ledger` crate's own append), then
//!   times `COUNT` inclusion proofs of random leaves through the app, first
//!   with the database file as the load left it (`cold_*`), then after
//!   reading it once into the kernel's page cache;
//! - `export DIR SIZE`: writes `entries.jsonl`, `checkpoint.txt` and
//!   `verifier.key` of a `SIZE`-entry export, as the API serves them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: any failure aborts the run"
)]

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::authz::Principal;
use app::events::Fact;
use app::{Action, App, AppError, Audit, InclusionProof, RequestMeta, Settings, SystemClock, act};
use ledger::{Checkpoint, EventLeaf, ExportEntry, Hash, HashStore, LedgerError, MemoryStore};
use model::{PartyId, PartyKind, PartyStatus, SystemRole, UserId};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let num = |i: usize| arg(i).parse::<u64>().expect("a number argument");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match arg(0) {
        "appends" => {
            let (refused, watched) = match arg(4) {
                "" | "direct" => (false, false),
                "refused" => (true, false),
                "watched" => (false, true),
                other => panic!("unknown appends mode `{other}`"),
            };
            runtime.block_on(appends(Path::new(arg(1)), num(2), num(3), refused, watched));
        }
        "proofs" => runtime.block_on(proofs(Path::new(arg(1)), num(2), num(3))),
        "export" => export(Path::new(arg(1)), num(2)),
        _ => {
            eprintln!(
                "usage: ledger_bench appends DIR SECONDS WRITERS [direct|refused|watched] | proofs DIR SIZE COUNT | export DIR SIZE"
            );
            std::process::exit(2);
        }
    }
}

/// The app on a fresh SQLite data directory under `dir`.
async fn app(dir: &Path) -> App {
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("sqlite://{}", dir.join("meta.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), app::blocking_pool())
        .await
        .unwrap();
    App::new(
        store,
        ring,
        key_dir,
        Arc::new(blobs),
        Arc::new(SystemClock),
        Settings::default(),
    )
    .with_ledger_signer("bench.example/ledger", [3; 32])
    .unwrap()
}

fn principal(role: SystemRole, n: u8) -> Principal {
    Principal {
        user_id: UserId::from_random([n; 16]),
        email: format!("user{n}@example.test"),
        party_id: PartyId::from_random([0xaa; 16]),
        party_kind: PartyKind::Owner,
        party_status: PartyStatus::Active,
        system_role: role,
        disabled: false,
        mfa_required: false,
        mfa: true,
        training_until_ms: None,
        certified_until_ms: None,
        tier: None,
        tier_until_ms: None,
    }
}

/// Records one audited event: a member asking for the ledger's verifier key is
/// refused, and the refusal is recorded (and appended to the ledger) in its
/// own transaction, committed durably before the call returns.
async fn one_event(app: &App, member: &Principal, meta: &RequestMeta, refused: bool) {
    if !refused {
        let detail = serde_json::json!({"version": 3, "bytes": 1_048_576, "delivery": "marked"});
        let fact =
            Fact::allowed(Some(member), Action::FileDownload, "file:bench".into()).with(detail);
        app.record_alone(meta, fact).await.unwrap();
        return;
    }
    let asked = match app.system(meta, member, act::EventRead).await {
        Ok(auth) => Audit(app).ledger_verifier_key(auth).await,
        Err(e) => Err(e),
    };
    match asked {
        Err(AppError::Forbidden { .. }) => {}
        other => panic!("expected a recorded refusal, got {other:?}"),
    }
}

/// The server's watcher on `app`, counting the events it scored.
fn watcher(app: &App, scored: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        let options = app::alerts::WatchOptions::default();
        let period = options.period;
        let mut scorer = app::alerts::Scorer::resume(&app, options).await.unwrap();
        scorer.poll_every(period);
        loop {
            match scorer.step().await.unwrap() {
                0 => scorer.wait(period).await,
                n => {
                    scored.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
    })
}

async fn appends(dir: &Path, seconds: u64, writers: u64, refused: bool, watched: bool) {
    let app = app(dir).await;
    let scored = Arc::new(AtomicU64::new(0));
    let watching = watched.then(|| watcher(&app, scored.clone()));
    let done = Arc::new(AtomicU64::new(0));
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (app, done) = (app.clone(), done.clone());
            tokio::spawn(async move {
                let member = principal(SystemRole::Member, u8::try_from(w % 200).unwrap_or(0));
                let meta = RequestMeta {
                    source_addr: Some("127.0.0.1".into()),
                    user_agent: Some("ledger_bench".into()),
                    request_id: Some(format!("w{w}")),
                    via: None,
                    upload_via: None,
                };
                while start.elapsed() < warmup {
                    one_event(&app, &member, &meta, refused).await;
                }
                let end = warmup + Duration::from_secs(seconds);
                while start.elapsed() < end {
                    one_event(&app, &member, &meta, refused).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Counters at the start of the measured interval.
    tokio::time::sleep_until((start + warmup).into()).await;
    let at_start = app.store().durability_stats().unwrap_or_default();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed() - warmup;
    let stats = app.store().durability_stats().unwrap_or_default();
    let n = done.load(Ordering::Relaxed);
    let size = app
        .store()
        .read()
        .await
        .unwrap()
        .ledger_size()
        .await
        .unwrap();
    let (meta, auditor) = (RequestMeta::default(), principal(SystemRole::Auditor, 250));
    let auth = app.system(&meta, &auditor, act::EventRead).await.unwrap();
    let events = Audit(&app).list_events(auth, 0, 1).await.unwrap();
    assert!(!events.is_empty());
    println!("writers {writers}");
    let mode = match (refused, watched) {
        (true, _) => "refused",
        (_, true) => "watched",
        _ => "direct",
    };
    println!("mode {mode}");
    if let Some(task) = watching {
        println!("scored {}", scored.load(Ordering::Relaxed));
        task.abort();
    }
    println!("appends {n}");
    println!("seconds {:.3}", elapsed.as_secs_f64());
    println!("appends_per_sec {:.0}", n as f64 / elapsed.as_secs_f64());
    println!("commits {}", stats.commits - at_start.commits);
    println!("wal_syncs {}", stats.syncs - at_start.syncs);
    println!("ledger_size {size}");
}

/// The last stored node of each level: all `ledger::append` reads when the
/// leaves come in order.
#[derive(Default)]
struct Frontier(Vec<Option<(u64, Hash)>>);

impl HashStore for Frontier {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self
            .0
            .get(usize::from(level))
            .copied()
            .flatten()
            .filter(|&(i, _)| i == index)
            .map(|(_, h)| h))
    }
}

/// The synthetic leaf hash of leaf `i`.
fn synthetic_leaf(i: u64) -> Hash {
    ledger::leaf_hash(&i.to_be_bytes())
}

async fn proofs(dir: &Path, size: u64, count: u64) {
    let app = app(dir).await;
    let started = Instant::now();
    // A thread computes the nodes while this task inserts them.
    let (send, mut recv) = tokio::sync::mpsc::channel::<Vec<ledger::StoredNode>>(4);
    let producer = std::thread::spawn(move || {
        let mut frontier = Frontier::default();
        let mut batch = Vec::with_capacity(200_000);
        for i in 0..size {
            for node in ledger::append(&frontier, i, synthetic_leaf(i)).unwrap() {
                let level = usize::from(node.0);
                if frontier.0.len() <= level {
                    frontier.0.resize(level + 1, None);
                }
                frontier.0[level] = Some((node.1, node.2));
                batch.push(node);
            }
            if batch.len() >= 200_000 {
                send.blocking_send(std::mem::take(&mut batch)).unwrap();
            }
        }
        send.blocking_send(batch).unwrap();
    });
    let mut nodes = 0u64;
    while let Some(batch) = recv.recv().await {
        let mut tx = app.store().begin().await.unwrap();
        tx.ledger_import_nodes(&batch).await.unwrap();
        tx.commit().await.unwrap();
        nodes += batch.len() as u64;
    }
    producer.join().unwrap();
    let mut tx = app.store().begin().await.unwrap();
    tx.ledger_import_size(size).await.unwrap();
    tx.commit().await.unwrap();
    let build = started.elapsed();
    let db_bytes = std::fs::metadata(dir.join("meta.db")).map_or(0, |m| m.len());

    let (meta, auditor) = (RequestMeta::default(), principal(SystemRole::Auditor, 251));
    // The proofs verify against the root of the tree of synthetic leaves.
    let first = inclusion(&app, &meta, &auditor, 0, size).await;
    println!("size {size}");
    println!("nodes {nodes}");
    println!("build_seconds {:.1}", build.as_secs_f64());
    println!("db_bytes {db_bytes}");
    // Cold: the database file as the load left it, which on this machine is
    // mostly not in the kernel's page cache (its pages are read from disk).
    let cold = time_proofs(&app, &auditor, &meta, size, count, &first.root, 1).await;
    // Warm: the file read once first, as it stays in the page cache of a
    // server that has run for a while (it fits in memory).
    let mut file = std::fs::File::open(dir.join("meta.db")).unwrap();
    std::io::copy(&mut file, &mut std::io::sink()).unwrap();
    let warm = time_proofs(&app, &auditor, &meta, size, count, &first.root, 2).await;
    println!("proofs {}", warm.len());
    for (name, times) in [("cold_", &cold), ("", &warm)] {
        let pct = |p: f64| {
            let at = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
            times.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        println!("{name}p50_ms {:.3}", pct(0.50));
        println!("{name}p99_ms {:.3}", pct(0.99));
        println!("{name}max_ms {:.3}", pct(1.0));
    }
}

/// An inclusion proof as the API serves one: the seam decides, then the
/// use-case proves.
async fn inclusion(
    app: &App,
    meta: &RequestMeta,
    auditor: &Principal,
    index: u64,
    size: u64,
) -> InclusionProof {
    let auth = app.system(meta, auditor, act::EventRead).await.unwrap();
    Audit(app)
        .ledger_inclusion_proof(auth, index, size)
        .await
        .unwrap()
}

/// Times `count` inclusion proofs of random leaves (after 100 not counted),
/// each verified against `root`; sorted. `seed` picks the leaves.
async fn time_proofs(
    app: &App,
    auditor: &Principal,
    meta: &RequestMeta,
    size: u64,
    count: u64,
    root: &Hash,
    seed: u64,
) -> Vec<Duration> {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut times = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for k in 0..count + 100 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let index = rng % size;
        let t = Instant::now();
        let proof = inclusion(app, meta, auditor, index, size).await;
        let took = t.elapsed();
        ledger::verify_inclusion(&synthetic_leaf(index), index, size, &proof.hashes, root).unwrap();
        // The first 100 warm the caches.
        if k >= 100 {
            times.push(took);
        }
    }
    times.sort();
    times
}

/// The leaf bytes of synthetic event `i`, shaped like a real download event.
fn event_leaf(i: u64) -> Vec<u8> {
    EventLeaf {
        time_ms: 1_700_000_000_000 + i64::try_from(i).unwrap_or(0),
        actor_user: Some(format!("0f1e2d3c-4b5a-4978-8695-{:012x}", i)),
        actor_party: Some("6a0c3f5e-1d2b-4c8a-9e7f-0123456789ab".into()),
        action: "file.download".into(),
        target: format!("file:{:08x}-0000-4000-8000-000000000000", i),
        outcome: "allowed".into(),
        reason: None,
        source_addr: Some("192.0.2.7".into()),
        user_agent: Some("custody-cli/0.1".into()),
        request_id: Some(format!("req-{i}")),
        mark_id: None,
        detail_json: format!(r#"{{"bytes":{},"version":1}}"#, i * 7 + 1),
    }
    .encode()
    .unwrap()
}

fn export(dir: &Path, size: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.join("entries.jsonl")).unwrap());
    let mut tree = MemoryStore::new();
    for i in 0..size {
        let bytes = event_leaf(i);
        tree.push(ledger::leaf_hash(&bytes)).unwrap();
        let line = ExportEntry::new(i, &bytes).unwrap().to_line().unwrap();
        out.write_all(line.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    let signer = ledger::Signer::from_seed("bench.example/ledger", [5; 32]).unwrap();
    let body = Checkpoint {
        origin: signer.name().to_owned(),
        size,
        root: ledger::root(&tree, size).unwrap(),
        extensions: Vec::new(),
    }
    .to_note_body()
    .unwrap();
    std::fs::write(dir.join("checkpoint.txt"), signer.sign(&body).unwrap()).unwrap();
    let key = format!("{}\n", signer.verifier().to_key_text());
    std::fs::write(dir.join("verifier.key"), key).unwrap();
    let bytes = std::fs::metadata(dir.join("entries.jsonl")).map_or(0, |m| m.len());
    println!("entries {size}");
    println!("export_bytes {bytes}");
}
