//! The recorded events as auditors, security officers and admins read them
//! (`event.read`): paged by sequence number, or searched by actor, party,
//! room, file, action, outcome, time and mark.

use kernel::AppError;
use kernel::authz::{Authorized, System, act};
use kernel::events::{EventFilter, MAX_SEARCH, check_filter};
use model::Event;

use crate::Audit;

impl Audit<'_> {
    /// Events after `after`, oldest first (auditors, security officers, admins).
    pub async fn list_events(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>, AppError> {
        Ok(self
            .store()
            .read()
            .await?
            .list_events(after, limit.clamp(1, 1000))
            .await?)
    }

    /// The events `filter` keeps, oldest first, at most [`MAX_SEARCH`] per call
    /// (auditors, security officers, admins).
    pub async fn search_events(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        mut filter: EventFilter,
    ) -> Result<Vec<Event>, AppError> {
        check_filter(&filter)?;
        filter.limit = filter.limit.clamp(1, MAX_SEARCH);
        Ok(self.store().read().await?.search_events(&filter).await?)
    }
}
