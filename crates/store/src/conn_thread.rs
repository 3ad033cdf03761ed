//! A thread that owns one SQLite connection (rusqlite) and runs the jobs
//! sent to it one after the other: the batch writer (`batch.rs`) and the
//! ledger reader (`reader.rs`). Each job is one hand-off from the async side
//! and back, whatever the number of statements it runs.

use std::path::Path;
use std::sync::{Mutex, PoisonError, mpsc};

use tokio::sync::oneshot;

use crate::StoreError;

/// A job, given the connection and the thread's own state.
type Job<S> = Box<dyn FnOnce(&mut rusqlite::Connection, &mut S) + Send>;

/// Opens the thread's connection.
pub(crate) type Open = fn(&Path) -> Result<rusqlite::Connection, StoreError>;

/// The thread, started (its connection opened) on first use; forgotten when
/// it stops, so that the next use starts another.
pub(crate) struct ConnThread<S> {
    name: &'static str,
    open: Open,
    jobs: Mutex<Option<mpsc::Sender<Job<S>>>>,
}

impl<S> std::fmt::Debug for ConnThread<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl<S: Default + 'static> ConnThread<S> {
    pub(crate) fn new(name: &'static str, open: Open) -> Self {
        ConnThread {
            name,
            open,
            jobs: Mutex::new(None),
        }
    }

    /// Runs `job` on the thread (on the database at `path`) and returns what
    /// it returns.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        path: &Path,
        job: impl FnOnce(&mut rusqlite::Connection, &mut S) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job: Job<S> = Box::new(move |conn, state| {
            // A caller that gave up no longer needs the answer.
            let _ = reply.send(job(conn, state));
        });
        if self.queue(path)?.send(job).is_err() {
            self.reset();
            return Err(StoreError::Native(format!("the {} stopped", self.name)));
        }
        answer.await.map_err(|_| {
            self.reset();
            StoreError::Native(format!("the {} stopped before answering", self.name))
        })
    }

    fn queue(&self, path: &Path) -> Result<mpsc::Sender<Job<S>>, StoreError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = jobs.as_ref() {
            return Ok(sender.clone());
        }
        let mut conn = (self.open)(path)?;
        let (sender, receiver) = mpsc::channel::<Job<S>>();
        let (name, open, path) = (self.name, self.open, path.to_owned());
        std::thread::Builder::new()
            .name(format!("store {}", self.name))
            .spawn(move || {
                let mut state = S::default();
                while let Ok(job) = receiver.recv() {
                    job(&mut conn, &mut state);
                    if !outside_transaction(&conn) {
                        match open(&path) {
                            Ok(fresh) => conn = fresh,
                            Err(e) => {
                                // The next use starts another thread.
                                tracing::error!(error = %e, "cannot reopen the {name}'s connection");
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Native(format!("starting the {}: {e}", self.name)))?;
        *jobs = Some(sender.clone());
        Ok(sender)
    }

    /// Forgets the thread (it ends once its queue is dropped).
    fn reset(&self) {
        *self.jobs.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Whether `conn` is outside any transaction after a job, rolling back one
/// the job left open. A job's transaction rolls back when dropped, but SQLite
/// may have ended it already (a failed `COMMIT` on a full disk) or refuse
/// the rollback: a connection still inside a transaction is replaced, so
/// the next job never starts inside the last one's.
fn outside_transaction(conn: &rusqlite::Connection) -> bool {
    if conn.is_autocommit() {
        return true;
    }
    if let Err(e) = conn.execute_batch("ROLLBACK") {
        tracing::warn!(error = %e, "cannot roll back a transaction left open");
    }
    conn.is_autocommit()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests may unwrap")]

    use super::*;

    fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
        Ok(rusqlite::Connection::open(path)?)
    }

    /// Runs `job` on a thread, then reports whether the next job starts
    /// outside a transaction.
    async fn check(job: fn(&mut rusqlite::Connection), what: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let thread = ConnThread::<()>::new("test thread", open);
        thread.run(&path, move |conn, ()| job(conn)).await.unwrap();
        let next = thread.run(&path, |conn, ()| conn.is_autocommit());
        assert!(next.await.unwrap(), "{what}");
    }

    #[tokio::test]
    async fn a_job_never_leaves_its_transaction_to_the_next() {
        check(|_| {}, "no transaction").await;
        check(
            |conn| conn.execute_batch("BEGIN; CREATE TABLE t (x)").unwrap(),
            "a transaction left open",
        )
        .await;
        check(
            |conn| {
                let tx = conn.transaction().unwrap();
                std::mem::forget(tx);
            },
            "a transaction forgotten",
        )
        .await;
    }
}
