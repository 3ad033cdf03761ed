//! The ledger use-cases against a real store: every event is a leaf and the
//! checkpoints, proofs and entries served prove it; bad requests and callers
//! are refused (and the refusals recorded); batches of any size, and events
//! recorded concurrently, store a tree the audit finds sound.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ::ledger::{
    Checkpoint, MemoryStore, Verifier, leaf_hash, verify_consistency, verify_inclusion,
};
use kernel::authz::{Action, Principal, act};
use kernel::events::{Fact, RequestMeta, record};
use kernel::ledger::{BundleEntry, append_many, encode_leaf, leaf_of};
use kernel::{App, AppError, ConsistencyProof, InclusionProof};
use model::*;

use crate::Audit;

/// A fixed clock.
struct At(i64);

impl kernel::Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

const SEED: [u8; 32] = [7; 32];

async fn app(dir: &Path) -> App {
    let url = format!("sqlite://{}", dir.join("meta.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), kernel::blocking_pool())
        .await
        .unwrap();
    App::new(
        store,
        ring,
        key_dir,
        Arc::new(blobs),
        Arc::new(At(1_700_000_000_000)),
        kernel::Settings::default(),
    )
    .with_ledger_signer("test.example/ledger", SEED)
    .unwrap()
}

fn principal(role: SystemRole, kind: PartyKind) -> Principal {
    Principal {
        user_id: UserId::from_random([1; 16]),
        email: "a@example.com".into(),
        party_id: PartyId::from_random([2; 16]),
        party_kind: kind,
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

fn auditor() -> Principal {
    principal(SystemRole::Auditor, PartyKind::Owner)
}

async fn record_events(app: &App, n: usize) {
    let actor = auditor();
    for i in 0..n {
        let mut tx = app.store().begin().await.unwrap();
        let meta = RequestMeta {
            source_addr: Some("192.0.2.1".into()),
            user_agent: None,
            request_id: Some(format!("r{i}")),
            via: None,
            upload_via: None,
        };
        let fact = Fact::allowed(Some(&actor), Action::FileView, format!("thing:{i}"))
            .with(serde_json::json!({"z": i, "a": [i, "x"]}));
        record(&mut tx, &meta, 1_000 + i as i64, fact)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

fn verify_note(app_key: &str, note: &str) -> Checkpoint {
    let verifier = Verifier::parse(app_key).unwrap();
    Checkpoint::parse(&verifier.verify(note).unwrap()).unwrap()
}

/// The event of `fact` with no request facts, at time 5.
fn event_of(fact: Fact<'_>) -> Event {
    Event {
        seq: 0,
        time_ms: 5,
        actor_user: fact.actor.map(|p| p.user_id),
        actor_party: fact.actor.map(|p| p.party_id),
        action: fact.action.as_str().to_owned(),
        target: fact.target,
        outcome: fact.outcome,
        reason: fact.reason.map(str::to_owned),
        source_addr: None,
        user_agent: None,
        request_id: None,
        mark_id: fact.mark_id,
        detail: fact.detail,
    }
}

// Each call as a handler makes it: the seam decides `event.read` (and records
// a refusal), then the use-case runs.

async fn verifier_key(app: &App, meta: &RequestMeta, who: &Principal) -> Result<String, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).ledger_verifier_key(auth).await
}

async fn checkpoint(app: &App, meta: &RequestMeta, who: &Principal) -> Result<String, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).ledger_checkpoint(auth).await
}

async fn entries(
    app: &App,
    meta: &RequestMeta,
    who: &Principal,
    from: u64,
    to: u64,
) -> Result<Vec<BundleEntry>, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).ledger_entries(auth, from, to).await
}

async fn list(
    app: &App,
    meta: &RequestMeta,
    who: &Principal,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).list_events(auth, after, limit).await
}

async fn inclusion(
    app: &App,
    meta: &RequestMeta,
    who: &Principal,
    index: u64,
    size: u64,
) -> Result<InclusionProof, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).ledger_inclusion_proof(auth, index, size).await
}

async fn consistency(
    app: &App,
    meta: &RequestMeta,
    who: &Principal,
    old: u64,
    new: u64,
) -> Result<ConsistencyProof, AppError> {
    let auth = app.system(meta, who, act::EventRead).await?;
    Audit(app).ledger_consistency_proof(auth, old, new).await
}

#[tokio::test]
async fn every_event_is_a_leaf_and_checkpoints_prove_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let (meta, who) = (RequestMeta::default(), auditor());
    record_events(&app, 6).await;
    let key = verifier_key(&app, &meta, &who).await.unwrap();
    assert!(key.starts_with("test.example/ledger+"), "{key}");

    let first = checkpoint(&app, &meta, &who).await.unwrap();
    let cp1 = verify_note(&key, &first);
    assert_eq!((cp1.origin.as_str(), cp1.size), ("test.example/ledger", 6));
    let again = checkpoint(&app, &meta, &who).await.unwrap();
    assert_eq!(again, first, "an unchanged log reuses its checkpoint");

    record_events(&app, 11).await;
    let cp2 = verify_note(&key, &checkpoint(&app, &meta, &who).await.unwrap());
    assert_eq!(cp2.size, 17);

    // The entries are the events, in order, and rebuild the signed root.
    let entries = entries(&app, &meta, &who, 0, 100).await.unwrap();
    let events = list(&app, &meta, &who, 0, 100).await.unwrap();
    assert_eq!((entries.len(), events.len()), (17, 17));
    let mut tree = MemoryStore::new();
    for (i, (entry, event)) in entries.iter().zip(&events).enumerate() {
        let bytes = entry.leaf_bytes().unwrap();
        assert_eq!(entry.index, i as u64);
        assert_eq!(bytes, leaf_of(event).unwrap().encode().unwrap());
        assert_eq!(entry.event["detail"], event.detail);
        tree.push(leaf_hash(&bytes)).unwrap();
    }
    assert_eq!(::ledger::root(&tree, 17).unwrap(), cp2.root);
    assert_eq!(::ledger::root(&tree, 6).unwrap(), cp1.root);

    for index in 0..17 {
        let p = inclusion(&app, &meta, &who, index, 17).await.unwrap();
        let leaf = leaf_hash(&entries[index as usize].leaf_bytes().unwrap());
        verify_inclusion(&leaf, index, 17, &p.hashes, &cp2.root).unwrap();
        assert_eq!(p.root, cp2.root);
    }
    let c = consistency(&app, &meta, &who, 6, 17).await.unwrap();
    verify_consistency(6, 17, &cp1.root, &cp2.root, &c.hashes).unwrap();
}

#[tokio::test]
async fn bad_requests_and_callers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    record_events(&app, 5).await;
    let meta = RequestMeta::default();
    let check = |got: Result<(), AppError>, want: &str| {
        assert_eq!(got.map_err(|e| e.code().as_str()), Err(want));
    };
    let who = auditor();
    check(
        inclusion(&app, &meta, &who, 5, 5).await.map(|_| ()),
        "ledger_index_out_of_range",
    );
    check(
        inclusion(&app, &meta, &who, 0, 6).await.map(|_| ()),
        "ledger_index_out_of_range",
    );
    check(
        inclusion(&app, &meta, &who, 0, 0).await.map(|_| ()),
        "ledger_index_out_of_range",
    );
    check(
        consistency(&app, &meta, &who, 3, 2).await.map(|_| ()),
        "ledger_size_order",
    );
    check(
        consistency(&app, &meta, &who, 1, 6).await.map(|_| ()),
        "ledger_index_out_of_range",
    );
    check(
        entries(&app, &meta, &who, 3, 2).await.map(|_| ()),
        "ledger_size_order",
    );
    check(
        entries(&app, &meta, &who, 0, 10_001).await.map(|_| ()),
        "ledger_range_too_large",
    );
    let member = principal(SystemRole::Member, PartyKind::Owner);
    check(
        checkpoint(&app, &meta, &member).await.map(|_| ()),
        "forbidden",
    );
    check(
        verifier_key(&app, &meta, &member).await.map(|_| ()),
        "forbidden",
    );
    check(
        entries(&app, &meta, &member, 0, 1).await.map(|_| ()),
        "forbidden",
    );
    let outsider = principal(SystemRole::Admin, PartyKind::External);
    check(
        entries(&app, &meta, &outsider, 0, 1).await.map(|_| ()),
        "forbidden",
    );
    // Each refusal was itself recorded, and so became a leaf.
    let tail = entries(&app, &meta, &who, 4, 100).await.unwrap();
    let outcomes: Vec<_> = tail.iter().map(|e| e.event["outcome"].clone()).collect();
    assert_eq!(
        outcomes,
        ["allowed", "denied", "denied", "denied", "denied"]
    );
}

/// The stored ledger and a tree rebuilt from its entries agree, and the
/// audit finds nothing.
async fn assert_sound(app: &App, size: u64) {
    let (meta, who) = (RequestMeta::default(), auditor());
    let report = Audit(app).audit_ledger().await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert_eq!(report.size, size);
    let entries = entries(app, &meta, &who, 0, size).await.unwrap();
    let mut tree = MemoryStore::new();
    for entry in &entries {
        tree.push(leaf_hash(&entry.leaf_bytes().unwrap())).unwrap();
    }
    let key = verifier_key(app, &meta, &who).await.unwrap();
    let cp = verify_note(&key, &checkpoint(app, &meta, &who).await.unwrap());
    assert_eq!(cp.size, size);
    assert_eq!(::ledger::root(&tree, size).unwrap(), cp.root);
}

#[tokio::test]
async fn batches_of_any_size_at_any_tree_shape_store_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let actor = auditor();
    // (single appends, then one batch of): covers batches starting at
    // sizes with every low bit pattern up to 5 bits and crossing powers of two.
    let steps: &[(usize, usize)] = &[
        (0, 1),
        (0, 2),
        (1, 1),
        (0, 3),
        (2, 7),
        (1, 16),
        (3, 33),
        (0, 64),
        (5, 2),
        (1, 127),
    ];
    let mut size = 0u64;
    for (step, &(singles, batch)) in steps.iter().enumerate() {
        record_events(&app, singles).await;
        let mut tx = app.store().begin().await.unwrap();
        let mut items = Vec::new();
        for i in 0..batch {
            let fact = Fact::allowed(Some(&actor), Action::FileView, format!("step:{step}:{i}"));
            let event = event_of(fact);
            let seq = tx.append_event(&event).await.unwrap();
            let (bytes, hash) = encode_leaf(&event).unwrap();
            items.push((seq, bytes, hash));
        }
        let first = append_many(&mut tx, items).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(first, size + singles as u64, "step {step}");
        size += (singles + batch) as u64;
        assert_sound(&app, size).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_events_alone_and_with_changes_share_one_sound_log() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..48 {
        let app = app.clone();
        tasks.spawn(async move {
            let actor = auditor();
            let mut seqs = Vec::new();
            for i in 0..6 {
                let meta = RequestMeta {
                    request_id: Some(format!("t{t}-{i}")),
                    ..RequestMeta::default()
                };
                let target = format!("thing:{t}:{i}");
                let seq = if t % 8 == 0 {
                    // An event in a transaction of its own making.
                    let mut tx = app.store().begin().await.unwrap();
                    let fact = Fact::allowed(Some(&actor), Action::FileView, target);
                    let seq = record(&mut tx, &meta, 5, fact).await.unwrap();
                    tx.commit().await.unwrap();
                    seq
                } else {
                    let fact = Fact::allowed(Some(&actor), Action::FileView, target);
                    app.record_alone(&meta, fact).await.unwrap()
                };
                seqs.push((seq, format!("t{t}-{i}")));
            }
            seqs
        });
    }
    let mut acknowledged = Vec::new();
    while let Some(done) = tasks.join_next().await {
        acknowledged.extend(done.unwrap());
    }
    assert_eq!(acknowledged.len(), 48 * 6);
    assert_sound(&app, 48 * 6).await;
    // Every acknowledged seq is the event its caller recorded.
    let (meta, who) = (RequestMeta::default(), auditor());
    let events = list(&app, &meta, &who, 0, 1000).await.unwrap();
    let by_seq: HashMap<i64, Option<String>> = events
        .iter()
        .map(|e| (e.seq, e.request_id.clone()))
        .collect();
    for (seq, request) in &acknowledged {
        assert_eq!(by_seq.get(seq), Some(&Some(request.clone())), "seq {seq}");
    }
}
