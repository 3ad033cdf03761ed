//! Blocking work away from the async threads, without depending on a runtime: the
//! caller hands the disk backend an [`Offload`] (in the server, tokio's blocking pool)
//! and [`run`] awaits a job's result through a one-shot slot.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::VaultError;

/// Runs jobs on threads where blocking is allowed. With tokio:
/// `Arc::new(|job| { tokio::task::spawn_blocking(job); })`.
pub trait Offload: Send + Sync {
    /// Starts `job` on such a thread before returning, or drops it unrun if it cannot
    /// (the operation waiting for it then fails with an i/o error).
    fn spawn(&self, job: Box<dyn FnOnce() + Send>);
}

impl<F> Offload for F
where
    F: Fn(Box<dyn FnOnce() + Send>) + Send + Sync,
{
    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        self(job);
    }
}

/// Runs `work` through `pool` and waits for its result. Dropping the future does not
/// stop the work; its result is then dropped on the pool's thread.
pub(crate) async fn run<T, W>(pool: &dyn Offload, work: W) -> Result<T, VaultError>
where
    T: Send + 'static,
    W: FnOnce() -> Result<T, VaultError> + Send + 'static,
{
    let slot = Arc::new(Slot::default());
    let sender = Sender(Arc::clone(&slot));
    pool.spawn(Box::new(move || sender.send(work())));
    Receiver(slot).await.unwrap_or_else(|| {
        Err(VaultError::Io(io::Error::other(
            "a blob i/o job did not run to completion",
        )))
    })
}

/// Hands `value` to the pool to drop, so that its destructor's blocking work (such
/// as removing a file) does not run on an async thread.
pub(crate) fn drop_on(pool: &dyn Offload, value: impl Send + 'static) {
    pool.spawn(Box::new(move || drop(value)));
}

/// A one-shot channel: the job's result, or `closed` once the job is gone.
struct Slot<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    closed: bool,
    waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            state: Mutex::new(State {
                value: None,
                closed: false,
                waker: None,
            }),
        }
    }
}

struct Sender<T>(Arc<Slot<T>>);

impl<T> Sender<T> {
    fn send(self, value: T) {
        if let Ok(mut state) = self.0.state.lock() {
            state.value = Some(value);
        }
        // Drop closes the slot and wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = match self.0.state.lock() {
            Ok(mut state) => {
                state.closed = true;
                state.waker.take()
            }
            Err(_) => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Resolves to the sent value, or `None` if the job was dropped, panicked or did not
/// send.
struct Receiver<T>(Arc<Slot<T>>);

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Ok(mut state) = self.0.state.lock() else {
            return Poll::Ready(None);
        };
        if let Some(value) = state.value.take() {
            return Poll::Ready(Some(value));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads() -> Arc<dyn Offload> {
        Arc::new(|job: Box<dyn FnOnce() + Send>| {
            std::thread::spawn(job);
        })
    }

    #[tokio::test]
    async fn results_come_back() {
        let pool = threads();
        let value = run(&*pool, || Ok(41 + 1)).await.unwrap();
        assert_eq!(value, 42);
        let err = run(&*pool, || Err::<(), _>(VaultError::NotFound))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "vault_not_found");
    }

    #[tokio::test]
    async fn a_job_dropped_unrun_or_panicking_is_an_io_error() {
        let refuses: Arc<dyn Offload> = Arc::new(|job: Box<dyn FnOnce() + Send>| drop(job));
        let err = run(&*refuses, || Ok(())).await.unwrap_err();
        assert_eq!(err.code(), "vault_io");
        let pool = threads();
        let err = run(&*pool, || -> Result<(), VaultError> { panic!("job fails") })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "vault_io");
    }
}
