//! Where the blob store's blocking work runs. The disk backend (`vault::DiskBlobs`)
//! hands its file work to an [`Offload`]: [`blocking_pool`], tokio's blocking pool.
//! A use-case that moves a blob chunk by chunk (an upload being sealed, a download
//! being opened) runs as a [`BlobWorker`] on a blocking thread of its own, waits for
//! the store's futures there, and has the file work done on that very thread: no trip
//! to another thread per chunk, and no pool thread ever waiting for the pool (which a
//! full pool could never serve).

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use vault::Offload;

use crate::AppError;

thread_local! {
    /// Set while a blob worker runs on this thread.
    static BLOB_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Tokio's blocking pool as the [`Offload`] of a disk blob store: each job on the
/// pool of the runtime this is called in (outside one, on a thread of its own), or
/// right away when it is asked from a [`BlobWorker`]'s thread.
pub fn blocking_pool() -> Arc<dyn Offload> {
    let runtime = Handle::try_current().ok();
    Arc::new(move |job: Box<dyn FnOnce() + Send>| {
        if BLOB_WORKER.get() {
            job();
        } else if let Some(runtime) = &runtime {
            runtime.spawn_blocking(job);
        } else {
            // A thread that cannot start drops the job; its caller gets an i/o error.
            let _ = std::thread::Builder::new().spawn(job);
        }
    })
}

/// A blocking thread that reads or writes blobs chunk by chunk: it waits for the blob
/// store's futures with [`BlobWorker::wait`], and the disk store's file work runs on
/// it directly.
pub struct BlobWorker {
    runtime: Handle,
}

impl BlobWorker {
    /// Drives `future` to completion on this thread.
    pub fn wait<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Runs `work` as a [`BlobWorker`] on tokio's blocking pool.
pub fn spawn_blob_worker<T, W>(work: W) -> Result<JoinHandle<T>, AppError>
where
    T: Send + 'static,
    W: FnOnce(&BlobWorker) -> T + Send + 'static,
{
    let runtime = Handle::try_current().map_err(AppError::internal)?;
    let worker = BlobWorker {
        runtime: runtime.clone(),
    };
    Ok(runtime.spawn_blocking(move || {
        let _flag = WorkerFlag::set();
        work(&worker)
    }))
}

/// Marks the current thread a blob worker until dropped (pool threads are reused).
struct WorkerFlag;

impl WorkerFlag {
    fn set() -> WorkerFlag {
        BLOB_WORKER.set(true);
        WorkerFlag
    }
}

impl Drop for WorkerFlag {
    fn drop(&mut self) {
        BLOB_WORKER.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    /// The thread `pool` runs a job on, asked from the current thread.
    fn job_thread(pool: &dyn Offload) -> ThreadId {
        let (tx, rx) = std::sync::mpsc::channel();
        pool.spawn(Box::new(move || {
            let _ = tx.send(std::thread::current().id());
        }));
        rx.recv().unwrap()
    }

    #[tokio::test]
    async fn file_work_runs_on_the_worker_and_elsewhere_on_the_pool() {
        let pool = blocking_pool();
        let here = std::thread::current().id();
        let elsewhere = job_thread(&*pool);
        assert_ne!(elsewhere, here, "a task's job goes to the pool");
        let inside = Arc::clone(&pool);
        let (worker, job) = spawn_blob_worker(move |worker| {
            let n = worker.wait(async { 41 + 1 });
            assert_eq!(n, 42);
            (std::thread::current().id(), job_thread(&*inside))
        })
        .unwrap()
        .await
        .unwrap();
        assert_eq!(job, worker, "a worker's job runs on the worker");
        // The flag does not outlive the worker on its reused thread.
        let after =
            tokio::task::spawn_blocking(move || (std::thread::current().id(), job_thread(&*pool)))
                .await
                .unwrap();
        assert_ne!(after.0, after.1);
    }
}
