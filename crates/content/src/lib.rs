//! The content use-cases: rooms and who may enter them, the files inside and
//! how copies leave. Three services over the kernel's [`App`]: [`Rooms`] (rooms,
//! grants, a room's delivery and data-loss policies, the quarantine review,
//! the custom data-loss rules), [`Files`] (uploads, listings, versions,
//! deletion, downloads, the viewer's pages, orphaned blobs), [`Links`]
//! (share links, `links`), [`UploadRequests`] (file drops,
//! `upload_requests`) and [`Jewels`] (the crown-jewel registry, `jewels`).
//! Every use-case
//! that reads or changes protected state takes the seam's proof
//! (`kernel::Authorized`) for its action; content streams through the vault
//! in constant memory and is scanned by the data-loss inspector (`inspect`)
//! on its way in and out.

pub mod antivirus;
pub mod delivery;
pub mod destruction;
pub mod dlp_policy;
mod files;
mod guesses;
mod inspect;
pub mod jewels;
pub mod links;
mod orphans;
pub mod purge;
mod rooms;
pub mod upload_requests;
pub mod viewer;

use kernel::App;

pub use files::{Download, FileInfo, MAX_PAGE, Uploaded, VersionInfo};
pub use jewels::Jewels;
pub use links::{CreatedLink, LinkAgreement, LinkFile, LinkPage, LinkStep, NewLink};
pub use purge::Purges;
pub use rooms::{NewGrant, PartyGrant, RoomPatch};
pub use store::Destruction;
pub use upload_requests::{
    CreatedUploadRequest, DropBatch, DropPage, DropStep, Dropped, NewUploadRequest,
    RequestWithFiles,
};

/// Rooms and access to them: rooms, grants, a room's delivery and data-loss
/// policies, the quarantine review and the custom data-loss rules.
#[derive(Clone, Copy)]
pub struct Rooms<'a>(pub &'a App);

impl std::ops::Deref for Rooms<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// The files of the rooms: uploads, listings, versions, deletion, downloads
/// and the viewer's pages; at start, the removal of blobs no version names.
#[derive(Clone, Copy)]
pub struct Files<'a>(pub &'a App);

impl std::ops::Deref for Files<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// Share links: made, listed and revoked by the room's people under the
/// seam's proofs; opened by whoever holds one, each access decided as its
/// creator.
#[derive(Clone, Copy)]
pub struct Links<'a>(pub &'a App);

impl std::ops::Deref for Links<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// Upload requests (file drops): made, listed and revoked by the room's
/// people under the seam's proofs; used by their verified recipients, each
/// file decided as the request's creator.
#[derive(Clone, Copy)]
pub struct UploadRequests<'a>(pub &'a App);

impl std::ops::Deref for UploadRequests<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}
