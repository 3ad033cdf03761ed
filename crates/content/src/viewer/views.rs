//! The open views of the viewer, and the memory their pages are kept in.
//!
//! Opening a file in the viewer is one decision (the seam, the room's
//! outbound data-loss policy), one mark id and one `file.view` event; the
//! view it makes is then named by its [`ViewId`] in every page request. A
//! view lives in the process only, bound to its user and file, and ends after
//! [`VIEW_IDLE_MS`] without a page asked or [`VIEW_MAX_AGE_MS`] in all (at
//! most [`MAX_VIEWS`] are kept, the least recently used dropped first).
//!
//! Each page of a view is drawn, marked and encoded once: kept, as sent, in
//! one cache for the process with the content of the file it comes from,
//! within `Settings::viewer.cache_bytes` (256 MiB by default); the least
//! recently used page or content goes first when it is full. A page dropped
//! from the cache is drawn again, under the same mark id, when it is asked
//! again; a second request for a page being drawn waits for it instead of
//! drawing it twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use model::{File, UserId, Version, ViewId};

/// A view ends after this long without a page asked (one hour).
pub const VIEW_IDLE_MS: i64 = 60 * 60 * 1000;
/// A view ends this long after it was opened, used or not (twelve hours, a
/// browser session's life).
pub const VIEW_MAX_AGE_MS: i64 = 12 * 60 * 60 * 1000;
/// Most views kept at once (a few hundred bytes each, their pages apart).
pub const MAX_VIEWS: usize = 10_000;

/// One file opened in the viewer by one user.
pub(crate) struct View {
    pub id: ViewId,
    pub user: UserId,
    pub file: File,
    /// The version opened: its pages are the ones shown for the whole view.
    pub version: Version,
    pub issue: mark::Issue,
    pub pages: u32,
    pub opened_ms: i64,
    /// Serialises drawing each page (0: reading the content).
    turns: Mutex<HashMap<u32, Arc<tokio::sync::Mutex<()>>>>,
}

impl View {
    pub fn new(
        id: ViewId,
        user: UserId,
        (file, version): (File, Version),
        issue: mark::Issue,
        pages: u32,
        opened_ms: i64,
    ) -> View {
        View {
            id,
            user,
            file,
            version,
            issue,
            pages,
            opened_ms,
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// The lock of page `page` (0: the content) of this view.
    pub fn turn(&self, page: u32) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.turns).entry(page).or_default().clone()
    }

    /// The file's name, for messages and the footer of text pages.
    pub fn name(&self) -> String {
        self.file
            .path
            .rsplit('/')
            .next()
            .unwrap_or("file")
            .to_owned()
    }
}

/// What the cache holds for a view: its content (page 0) or a page as sent.
#[derive(Clone)]
pub(crate) struct Cached {
    pub bytes: Bytes,
    /// The media type (empty for the content).
    pub mime: &'static str,
}

struct Entry {
    cached: Cached,
    used: u64,
}

#[derive(Default)]
struct Inner {
    views: HashMap<ViewId, (Arc<View>, i64)>,
    entries: HashMap<(ViewId, u32), Entry>,
    /// The entries by last use, oldest first.
    order: BTreeMap<u64, (ViewId, u32)>,
    tick: u64,
    bytes: u64,
}

/// The open views and their cache: one per `App` (a kernel slot).
#[derive(Default)]
pub(crate) struct Views {
    inner: Mutex<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change below leaves the maps consistent before it can panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn forget(&mut self, view: ViewId, pages: u32) {
        for page in 0..=pages {
            self.drop_entry((view, page));
        }
        self.views.remove(&view);
    }

    fn drop_entry(&mut self, key: (ViewId, u32)) {
        if let Some(e) = self.entries.remove(&key) {
            self.order.remove(&e.used);
            self.bytes = self.bytes.saturating_sub(e.cached.bytes.len() as u64);
        }
    }

    fn ended(&self, view: &View, used_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(used_ms) > VIEW_IDLE_MS
            || now_ms.saturating_sub(view.opened_ms) > VIEW_MAX_AGE_MS
    }
}

impl Views {
    /// Keeps `view`, after dropping the views that have ended (and the
    /// least recently used ones beyond [`MAX_VIEWS`]).
    pub fn open(&self, view: Arc<View>, now_ms: i64) {
        let mut inner = lock(&self.inner);
        let ended: Vec<(ViewId, u32)> = inner
            .views
            .values()
            .filter(|(v, used)| inner.ended(v, *used, now_ms))
            .map(|(v, _)| (v.id, v.pages))
            .collect();
        for (id, pages) in ended {
            inner.forget(id, pages);
        }
        while inner.views.len() >= MAX_VIEWS {
            let oldest = inner
                .views
                .values()
                .min_by_key(|(_, used)| *used)
                .map(|(v, _)| (v.id, v.pages));
            let Some((id, pages)) = oldest else { break };
            inner.forget(id, pages);
        }
        inner.views.insert(view.id, (view, now_ms));
    }

    /// The view `id` if it is open, marking it used now.
    pub fn get(&self, id: ViewId, now_ms: i64) -> Option<Arc<View>> {
        let mut inner = lock(&self.inner);
        let (view, used) = inner.views.get(&id)?.clone();
        if inner.ended(&view, used, now_ms) {
            inner.forget(id, view.pages);
            return None;
        }
        inner.views.insert(id, (view.clone(), now_ms));
        Some(view)
    }

    /// Page `page` (0: the content) of view `id`, if it is kept.
    pub fn cached(&self, id: ViewId, page: u32) -> Option<Cached> {
        let mut inner = lock(&self.inner);
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(&(id, page))?;
        let (old, cached) = (entry.used, entry.cached.clone());
        entry.used = tick;
        inner.order.remove(&old);
        inner.order.insert(tick, (id, page));
        Some(cached)
    }

    /// Keeps page `page` (0: the content) of view `id`, then drops the least
    /// recently used entries until the cache holds at most `cap` bytes. A view
    /// that is no longer open keeps nothing.
    pub fn keep(&self, id: ViewId, page: u32, cached: Cached, cap: u64) {
        let mut inner = lock(&self.inner);
        if !inner.views.contains_key(&id) || cached.bytes.len() as u64 > cap {
            return;
        }
        inner.drop_entry((id, page));
        inner.tick += 1;
        let used = inner.tick;
        inner.bytes += cached.bytes.len() as u64;
        inner.entries.insert((id, page), Entry { cached, used });
        inner.order.insert(used, (id, page));
        while inner.bytes > cap {
            let Some((_, key)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&key) {
                inner.bytes = inner.bytes.saturating_sub(e.cached.bytes.len() as u64);
            }
        }
    }

    /// Bytes kept, and how many views are open.
    #[cfg(test)]
    fn usage(&self) -> (u64, usize) {
        let inner = lock(&self.inner);
        (inner.bytes, inner.views.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(n: u8, opened_ms: i64) -> Arc<View> {
        let file = File {
            id: model::FileId::from_random([n; 16]),
            room_id: model::RoomId::from_random([1; 16]),
            path: "drawings/bracket.pdf".into(),
            created_ms: 0,
            current: None,
        };
        let version = Version {
            id: model::VersionId::from_random([n; 16]),
            file_id: file.id,
            number: 1,
            blob_id: model::BlobId::from_random([n; 16]),
            size: 1,
            sha256: vec![],
            wrapped_key: vec![],
            kek_id: "k1".into(),
            uploaded_by: UserId::from_random([2; 16]),
            created_ms: 0,
        };
        let issue = mark::Issue {
            recipient: mark::Recipient {
                name: "Rita".into(),
                email: "rita@example.com".into(),
                party: "Owner".into(),
            },
            issued_at: mark::OffsetDateTime::UNIX_EPOCH,
            mark_id: mark::MarkId(u64::from(n)),
        };
        Arc::new(View::new(
            ViewId::from_random([n; 16]),
            UserId::from_random([3; 16]),
            (file, version),
            issue,
            3,
            opened_ms,
        ))
    }

    fn page(len: usize) -> Cached {
        Cached {
            bytes: Bytes::from(vec![0u8; len]),
            mime: "image/jpeg",
        }
    }

    #[test]
    fn the_cache_keeps_to_its_cap_dropping_the_least_recently_used() {
        let views = Views::default();
        let (a, b) = (view(1, 0), view(2, 0));
        views.open(a.clone(), 0);
        views.open(b.clone(), 0);
        views.keep(a.id, 1, page(40), 100);
        views.keep(b.id, 1, page(40), 100);
        assert!(
            views.cached(a.id, 1).is_some(),
            "a's page 1 is now the newest"
        );
        views.keep(b.id, 2, page(40), 100);
        // b's page 1 was the least recently used.
        assert!(views.cached(b.id, 1).is_none());
        assert!(views.cached(a.id, 1).is_some());
        assert!(views.cached(b.id, 2).is_some());
        assert_eq!(views.usage(), (80, 2));
        // Keeping a page again replaces it rather than counting it twice.
        views.keep(b.id, 2, page(10), 100);
        assert_eq!(views.usage(), (50, 2));
        // An entry larger than the cap is not kept.
        views.keep(a.id, 3, page(101), 100);
        assert!(views.cached(a.id, 3).is_none());
        assert_eq!(views.usage(), (50, 2), "nothing was dropped for it");
    }

    #[test]
    fn views_end_when_idle_or_old_and_their_pages_go_with_them() {
        let views = Views::default();
        let a = view(1, 0);
        views.open(a.clone(), 0);
        views.keep(a.id, 1, page(10), 100);
        assert!(views.get(a.id, VIEW_IDLE_MS).is_some(), "used just in time");
        assert!(views.get(a.id, 2 * VIEW_IDLE_MS).is_some());
        assert!(
            views.get(a.id, 3 * VIEW_IDLE_MS + 1).is_none(),
            "idle too long"
        );
        assert_eq!(views.usage(), (0, 0));
        // A view used all along still ends at its maximum age.
        let b = view(2, 0);
        views.open(b.clone(), 0);
        let mut now = 0;
        while now < VIEW_MAX_AGE_MS {
            now += VIEW_IDLE_MS / 2;
            assert!(views.get(b.id, now).is_some(), "at {now}");
        }
        assert!(views.get(b.id, now + 1).is_none());
        // A view that ended keeps nothing more.
        views.keep(b.id, 1, page(10), 100);
        assert_eq!(views.usage(), (0, 0));
        assert!(views.get(ViewId::from_random([9; 16]), 0).is_none());
    }
}
