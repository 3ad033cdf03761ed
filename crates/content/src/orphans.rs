//! Every start: clean what an interrupted upload left behind in the content
//! store (moved here from identity's first-start code: blobs are content's).

use std::collections::HashSet;

use kernel::AppError;

use crate::Files;

impl Files<'_> {
    /// Deletes partial blobs of interrupted uploads and committed blobs that no
    /// version references (an upload killed between its fsync and its commit).
    /// Run at start, before serving. Returns how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, AppError> {
        let referenced: HashSet<[u8; 16]> = self
            .store()
            .read()
            .await?
            .blob_ids()
            .await?
            .into_iter()
            .map(|b| *b.0.as_bytes())
            .collect();
        let blobs = self.blobs();
        tokio::task::spawn_blocking(move || {
            let mut removed = blobs.clean_partial()?;
            for id in blobs.list()? {
                if !referenced.contains(&id) {
                    blobs.remove(id)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(AppError::internal)?
    }
}
