//! Group commit on SQLite: many concurrent transactions made durable by one
//! `fdatasync` of the write-ahead log.
//!
//! The database runs in WAL mode with `synchronous = NORMAL`: a `COMMIT`
//! appends its frames to the `-wal` file without syncing it. SQLite's own
//! syncs under NORMAL (<https://sqlite.org/pragma.html#pragma_synchronous>):
//! the WAL is synced before each checkpoint copies frames into the database
//! file, the database file after each completed checkpoint, and the WAL header
//! when the WAL starts to be reused after a checkpoint. So a checkpoint never
//! moves or discards frames that are not on disk, and the WAL is never reset
//! before the database file holds what it held; WAL mode stays consistent
//! after a power loss, but a transaction committed without a sync may roll
//! back. The SQLite developers give flushing the WAL file as the way to make
//! every previously committed transaction durable
//! (<https://sqlite.org/forum/forumpost/d1a6bc7c4cd2baca>).
//!
//! [`Durability`] adds that flush after `COMMIT` and before
//! [`crate::Tx::commit`] returns. A sync round syncs the `-wal` file (any file
//! descriptor of the file will do: Linux flushes the inode's dirty pages); a
//! round serves every commit that returned before the round started, and a
//! commit that returns while a round is running waits for the next one. So
//! concurrent committers share one sync, and a commit is acknowledged only
//! after a sync that started after its frames were written.
//!
//! Readers wait too: [`crate::Store::read`] waits until every commit its
//! snapshot can see is durable, so nothing handed out (a signed checkpoint, an
//! inclusion proof) can vanish in a power loss and be replaced by other
//! entries at the same indices.
//!
//! A failed sync poisons the store: the kernel may have dropped the dirty
//! pages and a later sync could succeed without them (PostgreSQL's
//! "fsyncgate"), so every later commit and read fails until a restart, which
//! recovers from whatever the disk holds.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::StoreError;

/// Counters of the group commit, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DurabilityStats {
    /// Write transactions committed through [`crate::Tx::commit`].
    pub commits: u64,
    /// `fdatasync` calls made on the WAL.
    pub syncs: u64,
}

/// The group-commit coordinator of one SQLite database.
#[derive(Debug)]
pub(crate) struct Durability {
    /// The `-wal` file; `None` for an in-memory database (nothing to sync).
    wal: Option<PathBuf>,
    state: Mutex<State>,
    /// Bumped whenever a round ends or a commit returns; waiters watch it.
    changed: watch::Sender<u64>,
    syncs: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out so far (ticket `n` is the `n`-th commit).
    issued: u64,
    /// Tickets whose `COMMIT` has not returned yet.
    in_flight: BTreeSet<u64>,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A sync round is running.
    running: bool,
    /// Why the store is poisoned, if it is.
    failed: Option<String>,
    /// Waiters asleep until a commit in flight returns (readers, mostly): only
    /// then does a returning commit wake everyone.
    awaiting_return: usize,
}

impl State {
    /// Every ticket up to this one has returned from `COMMIT`.
    fn returned(&self) -> u64 {
        self.in_flight
            .first()
            .map_or(self.issued, |first| first.saturating_sub(1))
    }
}

/// A commit in progress: its ticket, marked returned when dropped (after
/// `COMMIT` returned, failed or was cancelled; a later round covers it).
pub(crate) struct Ticket {
    durability: Arc<Durability>,
    number: u64,
}

impl Ticket {
    pub(crate) fn number(&self) -> u64 {
        self.number
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.durability.lock();
        state.in_flight.remove(&self.number);
        if state.awaiting_return > 0 {
            state.awaiting_return = 0;
            drop(state);
            self.durability.bump();
        }
    }
}

impl Durability {
    pub(crate) fn new(wal: Option<PathBuf>) -> Arc<Durability> {
        Arc::new(Durability {
            wal,
            state: Mutex::new(State::default()),
            changed: watch::Sender::new(0),
            syncs: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every unlock: a panic elsewhere cannot
        // leave it half-updated, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> DurabilityStats {
        DurabilityStats {
            commits: self.lock().issued,
            syncs: self.syncs.load(Ordering::Relaxed),
        }
    }

    /// Fails when a sync failed earlier.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match &self.lock().failed {
            Some(why) => Err(StoreError::Durability(why.clone())),
            None => Ok(()),
        }
    }

    /// A ticket for a commit about to be issued.
    pub(crate) fn issue(self: &Arc<Self>) -> Ticket {
        let mut state = self.lock();
        state.issued += 1;
        let number = state.issued;
        state.in_flight.insert(number);
        Ticket {
            durability: self.clone(),
            number,
        }
    }

    /// The latest ticket handed out: a reader whose snapshot is taken waits
    /// for it (every commit the snapshot sees was issued before).
    pub(crate) fn latest(&self) -> u64 {
        self.lock().issued
    }

    /// Waits until ticket `need` is durable, leading a sync round when none is
    /// running and the commits it must cover have returned.
    pub(crate) async fn wait(self: &Arc<Self>, need: u64) -> Result<(), StoreError> {
        loop {
            let mut changed = {
                let mut state = self.lock();
                if let Some(why) = &state.failed {
                    return Err(StoreError::Durability(why.clone()));
                }
                if state.durable >= need {
                    return Ok(());
                }
                if state.returned() < need {
                    state.awaiting_return += 1;
                } else if !state.running {
                    state.running = true;
                    let covers = state.returned();
                    let this = self.clone();
                    // The round runs to its end even if this waiter is
                    // cancelled: it updates the state itself.
                    tokio::task::spawn_blocking(move || this.round(covers));
                }
                // Subscribed under the lock: a change after this point wakes us.
                self.changed.subscribe()
            };
            if changed.changed().await.is_err() {
                return Err(StoreError::Durability("group commit stopped".into()));
            }
        }
    }

    /// One sync round covering every ticket up to `covers`.
    fn round(&self, covers: u64) {
        let outcome = self.sync();
        let mut state = self.lock();
        state.running = false;
        match outcome {
            Ok(()) => state.durable = state.durable.max(covers),
            Err(why) => {
                tracing::error!(%why, "cannot sync the write-ahead log; refusing further writes");
                state.failed = Some(why);
            }
        }
        drop(state);
        self.bump();
    }

    /// `fdatasync` of the WAL. A missing WAL means the last connection closed
    /// and checkpointed it into the database file, which SQLite synced.
    pub(crate) fn sync(&self) -> Result<(), String> {
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        self.syncs.fetch_add(1, Ordering::Relaxed);
        match std::fs::File::open(wal) {
            Ok(file) => file
                .sync_data()
                .map_err(|e| format!("fdatasync `{}`: {e}", wal.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("open `{}`: {e}", wal.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests may unwrap")]

    use super::*;

    /// Issues tickets, returns some, and checks which tickets one round covers.
    fn check(issued: u64, returned: &[u64], want_returned: u64) {
        let d = Durability::new(None);
        let tickets: Vec<Ticket> = (0..issued).map(|_| d.issue()).collect();
        for t in tickets {
            if !returned.contains(&t.number()) {
                std::mem::forget(t);
            }
        }
        assert_eq!(d.lock().returned(), want_returned, "{returned:?}");
    }

    #[test]
    fn a_round_covers_only_commits_that_returned_before_it() {
        check(0, &[], 0);
        check(3, &[1, 2, 3], 3);
        check(3, &[1, 3], 1);
        check(3, &[2, 3], 0);
        check(4, &[1, 2], 2);
    }

    #[tokio::test]
    async fn waiters_of_one_round_share_it() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("x-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let d = Durability::new(Some(wal));
        let tickets: Vec<Ticket> = (0..8).map(|_| d.issue()).collect();
        let numbers: Vec<u64> = tickets.iter().map(Ticket::number).collect();
        drop(tickets);
        let waits = numbers.into_iter().map(|n| {
            let d = d.clone();
            tokio::spawn(async move { d.wait(n).await })
        });
        for w in waits.collect::<Vec<_>>() {
            w.await.unwrap().unwrap();
        }
        assert_eq!(
            d.stats(),
            DurabilityStats {
                commits: 8,
                syncs: 1
            }
        );
        // Nothing new committed: waiting again syncs nothing.
        d.wait(d.latest()).await.unwrap();
        assert_eq!(d.stats().syncs, 1);
    }

    #[tokio::test]
    async fn a_failed_sync_poisons_the_store() {
        let dir = tempfile::tempdir().unwrap();
        // A WAL path under a regular file: opening it fails (not a directory).
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let d = Durability::new(Some(file.join("db-wal")));
        let ticket = d.issue();
        let n = ticket.number();
        drop(ticket);
        let got = d.wait(n).await.map_err(|e| e.code());
        assert_eq!(got, Err("store_durability"));
        assert_eq!(d.check().map_err(|e| e.code()), Err("store_durability"));
    }
}
