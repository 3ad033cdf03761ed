//! Every start: clean what an interrupted upload left behind in the content
//! store (moved here from identity's first-start code: blobs are content's).

use std::collections::HashSet;

use kernel::AppError;

use crate::Files;

/// Blob ids listed at a time.
const ORPHAN_PAGE: usize = 1000;

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
        let mut removed = blobs.clean_partial().await?;
        let mut after = None;
        loop {
            let page = blobs.list_page(after, ORPHAN_PAGE).await?;
            for &id in &page {
                if !referenced.contains(&id) {
                    blobs.remove(id).await?;
                    removed += 1;
                }
            }
            match page.last() {
                Some(&last) if page.len() == ORPHAN_PAGE => after = Some(last),
                _ => return Ok(removed),
            }
        }
    }
}
