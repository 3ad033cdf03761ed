//! Ledger reads on one snapshot from synchronous code: the Merkle arithmetic
//! of a proof runs between its reads ([`Store::read_ledger`]).
//!
//! On SQLite the reads run on a read-only connection of their own, owned by
//! one thread with its statements prepared once, so a proof is one hand-off
//! to that thread instead of one per statement through sqlx's worker (each
//! hop a thread wake-up, which cost more than SQLite's reads). Like
//! [`Store::read`], nothing read is handed back before every commit the
//! snapshot sees is durable: the group-commit ticket to wait for is noted
//! right after the snapshot's first read, and waited for before returning.
//!
//! On PostgreSQL (and an in-memory SQLite database) there is no such path:
//! [`Store::read_ledger`] answers `None` and the caller reads through a
//! [`crate::Tx`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

use crate::conn_thread::ConnThread;
use crate::durability::Durability;
use crate::{LedgerNode, Store, StoreError};

/// The ledger tables on one snapshot.
pub trait LedgerView {
    /// The number of leaves.
    fn size(&mut self) -> Result<u64, StoreError>;
    /// The stored hashes of the nodes asked for, in the order asked; nodes
    /// not stored are left out.
    fn nodes(&mut self, wanted: &[(u8, u64)]) -> Result<Vec<LedgerNode>, StoreError>;
}

/// Stored nodes of level [`CACHED_LEVEL`] and above, kept by the reader
/// thread between proofs. A stored node never changes (a perfect subtree's
/// hash is final, and a redaction keeps the leaf hash), so a cached one is
/// always right; only nodes read from a snapshot, hence committed, enter.
/// Emptied when it reaches [`CACHE_NODES`].
#[derive(Default)]
pub(crate) struct NodeCache(HashMap<(u8, u64), [u8; 32]>);

/// The lowest level cached: a proof in a tree of `n` leaves needs about
/// log2(n) nodes, all but the lowest few of them shared with other proofs.
const CACHED_LEVEL: u8 = 6;

/// Most nodes cached (about 64 bytes each): 1/64 of the nodes of a tree of
/// 64 million leaves.
const CACHE_NODES: usize = 1 << 20;

/// The SQLite ledger reader: a thread with its own read-only connection
/// and its node cache.
pub(crate) type Reader = ConnThread<NodeCache>;

/// The ledger reader of a new store.
pub(crate) fn reader() -> Reader {
    ConnThread::new("ledger reader", open)
}

/// SQLite's page cache of the reader connection, in KiB: the upper levels of
/// the node table's B-tree stay in it.
const CACHE_KIB: i64 = 64 * 1024;

/// The reader's connection: read-only, `query_only`, a larger page cache.
fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(crate::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The view of one read transaction on the reader's connection.
struct SqliteView<'a, 'c> {
    tx: &'a rusqlite::Transaction<'c>,
    durability: &'a Arc<Durability>,
    cache: &'a mut NodeCache,
    /// The latest group-commit ticket when the snapshot was taken.
    latest: Option<u64>,
}

impl SqliteView<'_, '_> {
    /// Notes the ticket to wait for after the snapshot's first read.
    fn taken(&mut self) {
        if self.latest.is_none() {
            self.latest = Some(self.durability.latest());
        }
    }
}

impl LedgerView for SqliteView<'_, '_> {
    fn size(&mut self) -> Result<u64, StoreError> {
        let size: i64 = self
            .tx
            .prepare_cached("SELECT size FROM ledger_state WHERE id = 1")?
            .query_row([], |row| row.get(0))?;
        self.taken();
        u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("ledger size {size}")))
    }

    fn nodes(&mut self, wanted: &[(u8, u64)]) -> Result<Vec<LedgerNode>, StoreError> {
        let mut found = Vec::with_capacity(wanted.len());
        let mut query = self
            .tx
            .prepare_cached("SELECT hash FROM ledger_nodes WHERE level = ?1 AND idx = ?2")?;
        for &(level, index) in wanted {
            if let Some(&hash) = self.cache.0.get(&(level, index)) {
                found.push((level, index, hash));
                continue;
            }
            let index_db = i64::try_from(index)
                .map_err(|_| StoreError::Corrupt(format!("ledger index {index} out of range")))?;
            let stored: Option<Vec<u8>> = query
                .query_row(params![level, index_db], |row| row.get(0))
                .optional()?;
            if let Some(bytes) = stored {
                let hash = <[u8; 32]>::try_from(bytes)
                    .map_err(|_| StoreError::Corrupt("column `hash`: not 32 bytes".into()))?;
                if level >= CACHED_LEVEL {
                    if self.cache.0.len() >= CACHE_NODES {
                        self.cache.0.clear();
                    }
                    self.cache.0.insert((level, index), hash);
                }
                found.push((level, index, hash));
            }
        }
        drop(query);
        self.taken();
        Ok(found)
    }
}

impl Store {
    /// Runs `f` over the ledger tables on one snapshot, from synchronous
    /// code, and returns what it returns once every commit the snapshot saw
    /// is durable. `None` where the backend has no such path (PostgreSQL, an
    /// in-memory SQLite database): read through [`Store::read`] then.
    pub async fn read_ledger<T, F>(&self, f: F) -> Result<Option<T>, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn LedgerView) -> Result<T, StoreError> + Send + 'static,
    {
        let (Some(group), Some(path)) = (&self.sqlite, self.sqlite_path.as_deref()) else {
            return Ok(None);
        };
        group.durability.check()?;
        let durability = group.durability.clone();
        let (value, latest) = self
            .reader
            .run(path, move |conn, cache| {
                let tx = conn.transaction()?;
                let mut view = SqliteView {
                    tx: &tx,
                    durability: &durability,
                    cache,
                    latest: None,
                };
                let value = f(&mut view)?;
                let latest = view.latest.unwrap_or_else(|| durability.latest());
                tx.rollback()?;
                Ok::<_, StoreError>((value, latest))
            })
            .await??;
        group.durability.wait(latest).await?;
        Ok(Some(value))
    }
}
