//! The tamper-evident ledger's mechanics: appending each event's leaf in the
//! transaction that records the event, signing checkpoints (each proved
//! consistent with the previous one before it is stored), proving against the
//! stored nodes, and the formats served (entries, evidence bundles, the audit
//! report). Serving them to auditors, security officers and admins, the audit
//! and redaction are the `audit` crate's use-cases.
//!
//! The Merkle arithmetic is the `ledger` crate's. It runs against hashes
//! fetched from the store: first against a recording store that answers a
//! placeholder and notes which `(level, index)` nodes it asked for (the
//! algorithms' reads depend only on sizes and indices), then, once those nodes
//! are fetched, against them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use ::ledger::{Checkpoint, EventLeaf, Hash, HashStore, LedgerError, Signer, leaf_hash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use model::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{LeafRow, Tx};

use crate::{App, AppError, ErrorCode};

/// The key name (and so the checkpoint origin) of a signer created on first use.
pub const DEFAULT_LEDGER_NAME: &str = "custody.local/ledger";
/// The signer key file in the key directory: the signed-note signer key text.
pub const SIGNER_KEY_FILE: &str = "ledger-signer.key";
/// Most entries one call returns (and one evidence bundle holds).
pub const MAX_ENTRIES: u64 = 10_000;
/// The `format` of an evidence bundle; do not change (a new layout gets a new name).
pub const BUNDLE_FORMAT: &str = "custody-evidence-bundle/1";
/// The detail of a redacted event; do not change.
pub const REDACTED_DETAIL: &str = r#"{"redacted":true}"#;
/// The default period of the background checkpointer.
pub const DEFAULT_CHECKPOINT_SECONDS: u64 = 60;
/// Most faults an audit lists.
pub const MAX_FAULTS: usize = 1000;
/// Leaves read per query by the audit.
pub const AUDIT_PAGE: u64 = 1000;

/// One ledger entry as the API and evidence bundles carry it: the leaf's exact
/// bytes (standard padded base64), its leaf hash (lowercase hex), the decoded
/// event, and — in a bundle — the inclusion proof of the leaf against the
/// bundle's checkpoint (standard base64 hashes, bottom up).
///
/// A `redacted` entry's bytes had personal data removed after it was logged:
/// `leaf_hash` is then the hash of the original bytes, which the bytes no
/// longer reproduce, and the proof starts from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    pub index: u64,
    pub leaf: String,
    pub leaf_hash: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    pub event: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Vec<String>>,
}

impl BundleEntry {
    /// The entry of a stored leaf, without a proof.
    pub fn of_row(row: &LeafRow) -> Result<BundleEntry, AppError> {
        let index = row.index;
        let event = EventLeaf::decode(&row.leaf)
            .and_then(|leaf| leaf.to_json())
            .map_err(|e| internal(format!("entry {index}: {e}")))?;
        Ok(BundleEntry {
            index,
            leaf: STANDARD.encode(&row.leaf),
            leaf_hash: ::ledger::leaf::hex(&row.leaf_hash),
            redacted: row.redacted,
            event,
            proof: None,
        })
    }

    /// The exact leaf bytes carried.
    pub fn leaf_bytes(&self) -> Result<Vec<u8>, LedgerError> {
        STANDARD
            .decode(&self.leaf)
            .map_err(|_| LedgerError::BadLeaf("leaf is not valid base64"))
    }
}

/// An evidence bundle: selected entries, each with its inclusion proof against
/// one signed checkpoint, the checkpoint, and the key that verifies it. It
/// verifies on its own (`custody ledger verify --bundle`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The verifier key, `name+id+key`.
    pub verifier_key: String,
    /// The signed checkpoint (a C2SP signed note).
    pub checkpoint: String,
    pub entries: Vec<BundleEntry>,
}

/// Whether `leaf` is the redaction of an event: no source address, no user
/// agent, and the detail [`REDACTED_DETAIL`].
pub fn is_redaction(leaf: &EventLeaf) -> bool {
    leaf.source_addr.is_none() && leaf.user_agent.is_none() && leaf.detail_json == REDACTED_DETAIL
}

/// The event with its personal data removed: the source address, the user
/// agent and the free-text detail. The actor's ids, the action, target,
/// outcome, reason, request id and mark stay, so the entry keeps its meaning.
pub fn redacted(event: &Event) -> Event {
    Event {
        source_addr: None,
        user_agent: None,
        detail: serde_json::json!({"redacted": true}),
        ..event.clone()
    }
}

/// A stored signed checkpoint, as listed.
pub use store::StoredCheckpoint;

/// A redaction done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactionDone {
    /// The redacted event and its leaf.
    pub seq: i64,
    pub index: u64,
    /// The event that records the redaction.
    pub redaction_seq: i64,
}

/// One fault the audit found. `index` is the leaf it concerns, when it
/// concerns one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditFault {
    /// The leaf, or the first leaf under the node, the fault is about.
    pub index: Option<u64>,
    pub message: String,
    /// Sorting key: the last leaf the fault may concern (a node covers several).
    #[serde(skip)]
    pub last: u64,
}

/// What an audit of the stored ledger found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The ledger size (`ledger_state`).
    pub size: u64,
    pub leaves: u64,
    pub nodes: u64,
    pub checkpoints: u64,
    pub redacted: u64,
    /// The faults, those about leaves first, by the last leaf they may concern
    /// (so a leaf's own fault precedes that of a node above it), at most
    /// [`MAX_FAULTS`].
    pub faults: Vec<AuditFault>,
}

impl AuditReport {
    pub fn fault(&mut self, index: Option<u64>, message: String) {
        self.fault_over(index, index.unwrap_or(u64::MAX), message);
    }

    /// A fault about leaves `index..=last`.
    pub fn fault_over(&mut self, index: Option<u64>, last: u64, message: String) {
        if self.faults.len() < MAX_FAULTS {
            self.faults.push(AuditFault {
                index,
                message,
                last,
            });
        }
    }

    /// The first fault (the lowest leaf index), if any.
    pub fn first(&self) -> Option<&AuditFault> {
        self.faults.first()
    }
}

/// An inclusion proof of leaf `index` in the tree of `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub root: Hash,
    pub hashes: Vec<Hash>,
}

/// A consistency proof from the tree of `old` leaves to that of `new` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    pub hashes: Vec<Hash>,
}

/// The leaf of a recorded event (what its ledger entry's bytes encode).
pub fn leaf_of(event: &Event) -> Result<EventLeaf, AppError> {
    Ok(EventLeaf {
        time_ms: event.time_ms,
        actor_user: event.actor_user.map(|id| id.to_string()),
        actor_party: event.actor_party.map(|id| id.to_string()),
        action: event.action.clone(),
        target: event.target.clone(),
        outcome: event.outcome.as_str().to_owned(),
        reason: event.reason.clone(),
        source_addr: event.source_addr.clone(),
        user_agent: event.user_agent.clone(),
        request_id: event.request_id.clone(),
        mark_id: event.mark_id.clone(),
        detail_json: ::ledger::leaf::canonical_json(&event.detail).map_err(internal)?,
    })
}

/// Appends the leaf of `event` (recorded as `seq`) inside `tx`; returns its index.
pub(crate) async fn append(tx: &mut Tx, seq: i64, event: &Event) -> Result<u64, AppError> {
    let bytes = leaf_of(event)?.encode().map_err(internal)?;
    let hash = leaf_hash(&bytes);
    let index = tx.ledger_reserve().await?;
    let nodes = with_nodes(tx, |s| ::ledger::append(s, index, hash)).await?;
    tx.ledger_insert(index, seq, &bytes, &hash, &nodes).await?;
    Ok(index)
}

/// The leaf bytes of `event` and their RFC 6962 leaf hash.
pub fn encode_leaf(event: &Event) -> Result<(Vec<u8>, Hash), AppError> {
    let bytes = leaf_of(event)?.encode().map_err(internal)?;
    let hash = leaf_hash(&bytes);
    Ok((bytes, hash))
}

/// Appends many encoded leaves (`(event seq, leaf bytes, leaf hash)`, in `seq`
/// order) inside `tx` with a few statements: one reservation of the indices,
/// one read of the tree's right frontier, multi-row inserts of the leaves and
/// nodes. Returns the index of the first leaf; the others follow in order.
/// The recorder's path; public so that the audit's tests can check the tree
/// it stores for batches of every size at every tree shape.
pub async fn append_many(tx: &mut Tx, items: Vec<(i64, Vec<u8>, Hash)>) -> Result<u64, AppError> {
    let n = u64::try_from(items.len()).map_err(internal)?;
    if n == 0 {
        return Err(internal("append_many: empty batch"));
    }
    let first = tx.ledger_reserve_many(n).await?;
    let frontier = tx.ledger_nodes(&store::ledger_frontier(first)).await?;
    let (seqs, leaves): (Vec<i64>, Vec<(Vec<u8>, Hash)>) = items
        .into_iter()
        .map(|(seq, bytes, hash)| (seq, (bytes, hash)))
        .unzip();
    let (leaves, nodes) = batch_leaves(&seqs, first, &frontier, leaves)?;
    tx.ledger_insert_many(&leaves, &nodes).await?;
    Ok(first)
}

/// The rows of a batch of leaves (`(leaf bytes, leaf hash)` of the events
/// `seqs`, in order) appended from index `first`, and the nodes their appends
/// compute, given the stored hashes of [`store::ledger_frontier`]`(first)`:
/// the perfect subtrees on the right edge of the tree of `first` leaves, all
/// that these appends read and do not compute themselves.
pub(crate) fn batch_leaves(
    seqs: &[i64],
    first: u64,
    frontier: &[store::LedgerNode],
    items: Vec<(Vec<u8>, Hash)>,
) -> Result<(Vec<store::NewLeaf>, Vec<store::LedgerNode>), AppError> {
    if seqs.len() != items.len() {
        return Err(internal(format!(
            "{} leaves for {} events",
            items.len(),
            seqs.len()
        )));
    }
    let mut known: HashMap<(u8, u64), Hash> =
        frontier.iter().map(|&(l, i, h)| ((l, i), h)).collect();
    let mut leaves = Vec::with_capacity(items.len());
    let mut nodes = Vec::with_capacity(items.len() * 2);
    for ((index, &seq), (bytes, hash)) in (first..).zip(seqs).zip(items) {
        let made = ::ledger::append(&Overlay(&known), index, hash).map_err(from_ledger)?;
        known.extend(made.iter().map(|&(l, i, h)| ((l, i), h)));
        nodes.extend_from_slice(&made);
        leaves.push(store::NewLeaf {
            index,
            event_seq: seq,
            leaf: bytes,
            leaf_hash: hash,
        });
    }
    Ok((leaves, nodes))
}

/// Answers a placeholder and records what was asked.
#[derive(Default)]
struct Recording(RefCell<Vec<(u8, u64)>>);

impl HashStore for Recording {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        self.0.borrow_mut().push((level, index));
        Ok(Some([0; 32]))
    }
}

/// Nodes fetched from the store.
struct Fetched(HashMap<(u8, u64), Hash>);

impl HashStore for Fetched {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self.0.get(&(level, index)).copied())
    }
}

/// Nodes read before a batch plus those the batch computed so far.
struct Overlay<'a>(&'a HashMap<(u8, u64), Hash>);

impl HashStore for Overlay<'_> {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self.0.get(&(level, index)).copied())
    }
}

/// Runs `f` against the stored nodes it needs, fetched in one pass.
async fn with_nodes<T>(
    tx: &mut Tx,
    f: impl Fn(&dyn HashStore) -> Result<T, LedgerError>,
) -> Result<T, AppError> {
    let recording = Recording::default();
    f(&recording).map_err(from_ledger)?;
    let mut wanted = recording.0.into_inner();
    wanted.sort_unstable();
    wanted.dedup();
    let nodes = tx.ledger_nodes(&wanted).await?;
    let fetched = Fetched(nodes.into_iter().map(|(l, i, h)| ((l, i), h)).collect());
    f(&fetched).map_err(from_ledger)
}

/// [`with_nodes`] on a [`store::LedgerView`] (the SQLite read path): the
/// store's errors fail the read, the ledger's are the answer.
fn view_nodes<T>(
    view: &mut dyn store::LedgerView,
    f: impl Fn(&dyn HashStore) -> Result<T, LedgerError>,
) -> Result<Result<T, AppError>, store::StoreError> {
    let recording = Recording::default();
    if let Err(e) = f(&recording) {
        return Ok(Err(from_ledger(e)));
    }
    let mut wanted = recording.0.into_inner();
    wanted.sort_unstable();
    wanted.dedup();
    let nodes = view.nodes(&wanted)?;
    let fetched = Fetched(nodes.into_iter().map(|(l, i, h)| ((l, i), h)).collect());
    Ok(f(&fetched).map_err(from_ledger))
}

/// A proof asked of the stored tree beyond its entries, or between sizes in
/// the wrong order, is a bad request; every other failure of proving against
/// our own nodes (a missing node, a proof or key of our own that does not
/// check) is internal.
fn from_ledger(e: LedgerError) -> AppError {
    let code = match &e {
        LedgerError::IndexOutOfRange { .. } => ErrorCode::LedgerIndexOutOfRange,
        LedgerError::SizeOrder { .. } => ErrorCode::LedgerSizeOrder,
        LedgerError::ProofLength { .. }
        | LedgerError::RootMismatch
        | LedgerError::BadCheckpoint(_)
        | LedgerError::BadNote(_)
        | LedgerError::BadSignature
        | LedgerError::UnknownKey(_)
        | LedgerError::BadKey(_)
        | LedgerError::BadLeaf(_)
        | LedgerError::MissingNode { .. }
        | LedgerError::TreeFull
        | LedgerError::Store(_) => return internal(e),
    };
    AppError::invalid(code, e.to_string())
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("ledger: {e}"))
}

fn out_of_range(what: &str, size: u64, current: u64) -> AppError {
    AppError::invalid(
        ErrorCode::LedgerIndexOutOfRange,
        format!("{what} {size} is beyond the ledger's {current} entries"),
    )
}

/// The bytes of a new signer key file: the signer key text of a random seed
/// with key name `name`, and a newline.
pub fn new_signer_file(name: &str) -> Result<Vec<u8>, AppError> {
    let signer = Signer::from_seed(name, crate::secrets::random()?).map_err(internal)?;
    Ok(format!("{}\n", signer.to_key_text()).into_bytes())
}

/// The signer of a signer key file's bytes.
pub fn signer_from_file(bytes: &[u8]) -> Result<Signer, AppError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| internal(format!("`{SIGNER_KEY_FILE}` is not utf-8")))?;
    Signer::parse(text.trim_end()).map_err(internal)
}

/// Loads the signer key text in `<key_dir>/ledger-signer.key`, creating it
/// (mode 0600, a random seed, key name `name`) when missing. Refuses a file
/// that group or others may read. For an `App` whose embedding loaded no key
/// directory; `custody serve` creates the file with the first key-encryption key
/// and refuses to start without it.
pub fn load_or_create_signer(key_dir: &Path, name: &str) -> Result<Signer, AppError> {
    let path = key_dir.join(SIGNER_KEY_FILE);
    let text = crate::secrets::load_or_create_private_file(&path, || {
        let file = new_signer_file(name)?;
        let text = String::from_utf8(file).map_err(internal)?;
        Ok(text.trim_end().to_owned())
    })?;
    signer_from_file(text.as_bytes())
}

impl App {
    /// Sets the ledger's signing key (name = checkpoint origin, Ed25519 seed).
    /// Without it (or `with_key_files`), the key in
    /// `<key dir>/ledger-signer.key` is used, created on first use.
    pub fn with_ledger_signer(self, name: &str, seed: [u8; 32]) -> Result<App, AppError> {
        let signer = Signer::from_seed(name, seed).map_err(internal)?;
        self.inner
            .ledger_signer
            .set(signer)
            .map_err(|_| AppError::internal("the ledger signer is already set"))?;
        Ok(self)
    }

    /// The ledger's checkpoint signer (loaded from the key directory on first use).
    pub fn ledger_signer(&self) -> Result<&Signer, AppError> {
        if let Some(signer) = self.inner.ledger_signer.get() {
            return Ok(signer);
        }
        let loaded = load_or_create_signer(&self.inner.key_dir, DEFAULT_LEDGER_NAME)?;
        // A concurrent first use loaded the same file; either value will do.
        let _ = self.inner.ledger_signer.set(loaded);
        self.inner
            .ledger_signer
            .get()
            .ok_or_else(|| AppError::internal("ledger signer unset"))
    }

    /// The signed checkpoint of the current size: the stored one when the log
    /// has not grown, else a new one, stored after proving the log consistent
    /// with the latest stored checkpoint. An inconsistency (a rewritten log)
    /// is an internal error, logged with the sizes involved.
    pub async fn sign_checkpoint(&self) -> Result<String, AppError> {
        let signer = self.ledger_signer()?;
        let mut tx = self.store().read().await?;
        let size = tx.ledger_size().await?;
        let latest = tx.latest_checkpoint().await?;
        if let Some(stored) = &latest
            && stored.size == size
        {
            return Ok(stored.note.clone());
        }
        let root = with_nodes(&mut tx, |s| ::ledger::root(s, size)).await?;
        if let Some(stored) = latest {
            let body = signer.verifier().verify(&stored.note).map_err(|e| {
                internal(format!(
                    "stored checkpoint {} does not verify: {e}",
                    stored.size
                ))
            })?;
            let old = Checkpoint::parse(&body).map_err(internal)?;
            let proof = with_nodes(&mut tx, |s| ::ledger::consistency_proof(s, old.size, size))
                .await
                .map_err(|e| internal(format!("checkpoint {}: {e}", old.size)))?;
            ::ledger::verify_consistency(old.size, size, &old.root, &root, &proof).map_err(
                |e| {
                    internal(format!(
                        "the log of size {size} is not consistent with checkpoint {}: {e}",
                        old.size
                    ))
                },
            )?;
        }
        drop(tx);
        let body = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
        .to_note_body()
        .map_err(internal)?;
        let note = signer.sign(&body).map_err(internal)?;
        let mut tx = self.store().begin().await?;
        tx.insert_checkpoint(size, &note, self.now()).await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Runs `proof` against the stored nodes it needs, on one snapshot of a
    /// log of at least `size` entries (else `ledger_index_out_of_range`): on
    /// SQLite through the store's ledger reader, elsewhere in a read
    /// transaction.
    pub async fn prove<T: Send + 'static>(
        &self,
        size: u64,
        proof: impl Fn(&dyn HashStore) -> Result<T, LedgerError> + Clone + Send + 'static,
    ) -> Result<T, AppError> {
        let on_reader = proof.clone();
        let read = self
            .store()
            .read_ledger(move |view| {
                let current = view.size()?;
                if size > current {
                    return Ok(Err(out_of_range("tree size", size, current)));
                }
                view_nodes(view, on_reader)
            })
            .await?;
        if let Some(done) = read {
            return done;
        }
        let mut tx = self.store().read().await?;
        let current = tx.ledger_size().await?;
        if size > current {
            return Err(out_of_range("tree size", size, current));
        }
        with_nodes(&mut tx, proof).await
    }

    /// An evidence bundle of the events `seqs` (each must be in the ledger):
    /// each entry with its inclusion proof against a checkpoint signed now.
    pub async fn evidence_of(&self, seqs: &[i64]) -> Result<Bundle, AppError> {
        let rows = self
            .store()
            .read()
            .await?
            .ledger_leaves_of_events(seqs)
            .await?;
        // Signed after the read: every selected leaf is below its size.
        let note = self.sign_checkpoint().await?;
        let verifier = self.ledger_signer()?.verifier();
        let checkpoint =
            Checkpoint::parse(&verifier.verify(&note).map_err(internal)?).map_err(internal)?;
        let size = checkpoint.size;
        let indices: Vec<u64> = rows.iter().map(|row| row.index).collect();
        let proofs = self
            .prove(size, move |s: &dyn HashStore| {
                indices
                    .iter()
                    .map(|&index| ::ledger::inclusion_proof(s, index, size))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for (row, proof) in rows.iter().zip(proofs) {
            ::ledger::verify_inclusion(&row.leaf_hash, row.index, size, &proof, &checkpoint.root)
                .map_err(|e| internal(format!("entry {}: {e}", row.index)))?;
            let mut entry = BundleEntry::of_row(row)?;
            entry.proof = Some(proof.iter().map(|h| STANDARD.encode(h)).collect());
            entries.push(entry);
        }
        Ok(Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            verifier_key: verifier.to_key_text(),
            checkpoint: note,
            entries,
        })
    }

    /// Signs and stores a checkpoint when the log grew since the latest stored
    /// one (see [`App::sign_checkpoint`]); returns the new size, if any.
    pub async fn checkpoint_if_grown(&self) -> Result<Option<u64>, AppError> {
        let (size, latest) = {
            let mut tx = self.store().read().await?;
            (tx.ledger_size().await?, tx.latest_checkpoint().await?)
        };
        let grown = match latest {
            Some(stored) => size > stored.size,
            None => size > 0,
        };
        if !grown {
            return Ok(None);
        }
        let note = self.sign_checkpoint().await?;
        let body = self
            .ledger_signer()?
            .verifier()
            .verify(&note)
            .map_err(internal)?;
        Ok(Some(Checkpoint::parse(&body).map_err(internal)?.size))
    }
}

/// Starts the background checkpointer: every `every`, a checkpoint is signed
/// and stored when the log grew (each proved consistent with the previous one
/// first). Failures are logged and retried at the next tick. The binary spawns
/// it once; dropping the handle does not stop it (abort it to stop).
pub fn spawn_checkpointer(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let signed = app.checkpoint_if_grown().await;
            crate::jobs::ran("ledger_checkpoint", &signed);
            match signed {
                Ok(Some(size)) => tracing::debug!(size, "signed a ledger checkpoint"),
                Ok(None) => {}
                Err(AppError::Internal(detail)) => {
                    tracing::error!(%detail, "cannot sign a ledger checkpoint");
                }
                Err(e) => tracing::error!(error = %e, "cannot sign a ledger checkpoint"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use model::*;

    use super::*;
    use crate::authz::{Action, Principal};
    use crate::events::{Fact, RequestMeta, record};

    /// A fixed clock.
    struct At(i64);

    impl crate::Clock for At {
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
        let blobs = vault::DiskBlobs::open(&dir.join("blobs"), crate::blocking_pool())
            .await
            .unwrap();
        App::new(
            store,
            ring,
            key_dir,
            Arc::new(blobs),
            Arc::new(At(1_700_000_000_000)),
            crate::Settings::default(),
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

    #[tokio::test]
    async fn a_rewritten_log_is_refused_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        record_events(&app, 3).await;
        // A checkpoint of size 3 over a different history, by the same key.
        let signer = Signer::from_seed("test.example/ledger", SEED).unwrap();
        let forged = Checkpoint {
            origin: signer.name().into(),
            size: 3,
            root: [9; 32],
            extensions: vec![],
        };
        let note = signer.sign(&forged.to_note_body().unwrap()).unwrap();
        let mut tx = app.store().begin().await.unwrap();
        tx.insert_checkpoint(3, &note, 1).await.unwrap();
        tx.commit().await.unwrap();
        record_events(&app, 1).await;
        let got = app.sign_checkpoint().await.map_err(|e| e.to_string());
        let detail = match app.sign_checkpoint().await {
            Err(AppError::Internal(detail)) => detail,
            other => panic!("expected an internal error, got {other:?}"),
        };
        assert!(
            got.as_ref().is_err_and(|m| m.starts_with("internal error")),
            "{got:?}"
        );
        assert!(
            detail.contains("not consistent with checkpoint 3"),
            "{detail}"
        );
    }

    #[test]
    fn proofs_beyond_the_ledger_keep_the_ledger_codes() {
        let index = LedgerError::IndexOutOfRange { index: 1, size: 1 };
        let order = LedgerError::SizeOrder { old: 2, new: 1 };
        for e in [index, order] {
            let want = e.code();
            assert_eq!(from_ledger(e).code().as_str(), want);
        }
        let full = from_ledger(LedgerError::TreeFull).code();
        assert_eq!(full, ErrorCode::Internal);
    }

    #[test]
    fn append_reads_the_left_siblings_of_the_new_leaf() {
        // The nodes an append reads: (l, (n >> l) - 1) while (n >> l) is odd.
        for n in 0..600u64 {
            let recording = Recording::default();
            ::ledger::append(&recording, n, [0; 32]).unwrap();
            let want: Vec<(u8, u64)> = (0..64u8)
                .take_while(|&l| (n >> l) & 1 == 1)
                .map(|l| (l, (n >> l) - 1))
                .collect();
            assert_eq!(recording.0.into_inner(), want, "size {n}");
        }
    }

    #[test]
    fn signer_key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let created = load_or_create_signer(dir.path(), "a.example/log").unwrap();
        let path = dir.path().join(SIGNER_KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = load_or_create_signer(dir.path(), "ignored").unwrap();
        assert_eq!(loaded.to_key_text(), created.to_key_text());
        assert_eq!(loaded.name(), "a.example/log");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_or_create_signer(dir.path(), "x").map_err(|e| e.to_string());
        let refused = refused.err().unwrap_or_default();
        assert!(
            refused.starts_with("internal error") && refused.contains("chmod 600"),
            "{refused}"
        );
    }
}
