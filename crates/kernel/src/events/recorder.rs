//! Group recording of events that are a transaction of their own.
//!
//! Most events change nothing but the log: a download, a view, a refusal, an
//! export. Each used to be one write transaction (event row, sequencer, leaf,
//! nodes), and SQLite runs write transactions one at a time, so their
//! statements, not the disk, bounded the rate. The recorder is one task per
//! [`crate::App`] that takes every such event waiting when it starts a batch,
//! writes them all in one transaction ([`store::Store::append_batch`]: on
//! SQLite a connection and thread of its own that runs prepared statements
//! row by row) and answers each caller once that transaction is durable. Callers wait as before: nothing
//! is handed out before its event is in the log.
//!
//! Order still comes from the database: the batch takes the same sequencer
//! lock as every other appender, so batches and ordinary event-recording
//! transactions (those that also change state) interleave in one total order.
//! A batch fails as a whole (a full disk, a lost database): every caller in it
//! gets the error and none of its events is in the log. Leaves are encoded
//! before an event joins a batch, so one bad event cannot fail the others.
//!
//! A reader of the log in the same process (the watcher's scorer) can tap the
//! committed batches ([`crate::App::tap_recorded`]) instead of reading them
//! back from the events table: each committed batch, with its `seq`s, is
//! offered to the tap without waiting. A tap that is full or gone misses the
//! batch, which stays in the table for its reader to find there.

use std::sync::{Arc, Mutex, OnceLock};

use ::ledger::Hash;
use model::Event;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::AppError;

/// Most events in one batch.
const MAX_BATCH: usize = 1024;

/// Batches written or waiting for their sync at once: one can write while
/// the other waits for its sync (more would only split the waiting events
/// into smaller batches).
const IN_FLIGHT: usize = 2;

/// Events waiting for a batch, at most (callers wait for room beyond it).
const QUEUE: usize = 8192;

/// Where committed batches are offered, if anyone listens.
type Tap = mpsc::Sender<Arc<Vec<Event>>>;

/// One event waiting to be recorded, and where its `seq` goes.
struct Pending {
    event: Event,
    leaf: Vec<u8>,
    hash: Hash,
    /// The seq, or why the batch failed (and whether the disk was full).
    reply: oneshot::Sender<Result<i64, (bool, String)>>,
}

/// The handle to the recording task, started on first use.
#[derive(Default)]
pub(crate) struct Recorder {
    queue: OnceLock<mpsc::Sender<Pending>>,
    /// The tap committed batches are offered to, set by [`Recorder::tap`].
    tap: Arc<Mutex<Option<Tap>>>,
}

impl Recorder {
    /// A new tap holding up to `batches` committed batches; it replaces the
    /// one before (whose receiver then sees the end of its stream).
    pub(crate) fn tap(&self, batches: usize) -> mpsc::Receiver<Arc<Vec<Event>>> {
        let (sender, receiver) = mpsc::channel(batches.max(1));
        *self.tap.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
        receiver
    }

    /// Records `event` in its own (shared) transaction; returns its `seq` once
    /// it is durable.
    pub(crate) async fn record(&self, store: &store::Store, event: Event) -> Result<i64, AppError> {
        let (leaf, hash) = crate::ledger::encode_leaf(&event)?;
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(run(store.clone(), receiver, self.tap.clone()));
            sender
        });
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            event,
            leaf,
            hash,
            reply,
        };
        if let Err(mpsc::error::SendError(pending)) = queue.send(pending).await {
            // The task is gone (its runtime shut down): record directly.
            return record_alone(store, pending.event, pending.leaf, pending.hash).await;
        }
        match answer.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err((true, _))) => Err(AppError::StorageFull),
            Ok(Err((false, e))) => Err(AppError::internal(format!("recording the event: {e}"))),
            Err(_) => Err(AppError::internal(
                "recording the event: the recorder stopped before answering",
            )),
        }
    }
}

/// One event in a transaction of its own (when the task is gone).
async fn record_alone(
    store: &store::Store,
    event: Event,
    leaf: Vec<u8>,
    hash: Hash,
) -> Result<i64, AppError> {
    let mut tx = store.begin().await?;
    let seq = tx.append_event(&event).await?;
    crate::ledger::append_many(&mut tx, vec![(seq, leaf, hash)]).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Takes what is waiting and writes it as one transaction, until every sender
/// is gone. Up to [`IN_FLIGHT`] batches run at once: while one waits for its
/// WAL sync the next can already write (the store's write lock keeps their
/// commits in order), and events keep queueing meanwhile.
async fn run(
    store: store::Store,
    mut receiver: mpsc::Receiver<Pending>,
    tap: Arc<Mutex<Option<Tap>>>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let store = store.clone();
        let tap = tap
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|t| !t.is_closed())
            .cloned();
        tokio::spawn(async move {
            write_and_answer(&store, batch, tap).await;
            drop(slot);
        });
    }
}

/// Writes one batch, answers every caller in it, and offers the committed
/// events to `tap`.
async fn write_and_answer(store: &store::Store, batch: Vec<Pending>, tap: Option<Tap>) {
    let mut replies = Vec::with_capacity(batch.len());
    let mut items = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(batch.len());
    for p in batch {
        replies.push(p.reply);
        items.push((p.leaf, p.hash));
        events.push(p.event);
    }
    let count = events.len();
    match write(store, events, items).await {
        Ok(committed) => {
            let seqs: Vec<i64> = committed.iter().map(|e| e.seq).collect();
            if let Some(tap) = tap {
                // Full or gone: its reader finds the batch in the table.
                let _ = tap.try_send(Arc::new(committed));
            }
            for (reply, seq) in replies.into_iter().zip(seqs) {
                // A caller that gave up no longer needs its answer.
                let _ = reply.send(Ok(seq));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, events = count, "recording a batch of events failed");
            let failure = (matches!(e, AppError::StorageFull), e.to_string());
            for reply in replies {
                let _ = reply.send(Err(failure.clone()));
            }
        }
    }
}

/// The batch's transaction (`store::Store::append_batch`): every event row,
/// then every leaf; gives the events back with their `seq`s, in batch order.
async fn write(
    store: &store::Store,
    events: Vec<Event>,
    items: Vec<(Vec<u8>, Hash)>,
) -> Result<Vec<Event>, AppError> {
    let build: store::BuildLeaves = Box::new(move |seqs, first, frontier| {
        crate::ledger::batch_leaves(seqs, first, frontier, items).map_err(|e| e.to_string())
    });
    Ok(store.append_batch(events, build).await?)
}
