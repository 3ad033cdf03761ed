//! Search over what the user may see: rooms by name, and files by path in the
//! rooms whose files the policy in force lets them list. A room whose files are
//! closed to the user (an agreement to sign, a network zone) is searched by
//! name only; no refusal is recorded for looking.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use app::App;
use app::authz::Action;

use super::layout;
use super::rooms::badge;
use super::{Viewer, WebError};
use crate::auth::Meta;

/// The most files a search shows.
const MAX_FILES: usize = 200;
/// The longest query, in characters.
const MAX_QUERY: usize = 200;

/// What to look for.
#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Whether `text` contains every word of `words` (lowercase), in any case.
fn matches(text: &str, words: &[String]) -> bool {
    let text = text.to_lowercase();
    words.iter().all(|w| text.contains(w.as_str()))
}

/// `GET /search?q=…`.
pub async fn search(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> Result<Markup, WebError> {
    let q: String = query.q.trim().chars().take(MAX_QUERY).collect();
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let p = &viewer.authed.principal;
    let mut rooms = Vec::new();
    let mut files = Vec::new();
    let mut more = false;
    if !words.is_empty() {
        let auth = app.system(&meta, p, app::act::RoomList).await?;
        let visible = app::Rooms(&app).list_rooms(auth).await?;
        for info in &visible {
            if matches(&info.room.name, &words) {
                rooms.push(info.clone());
            }
            let may_list = app
                .permits_in_room(&meta, p, info.room.id, &[Action::FileList])
                .await?;
            if !may_list.first().copied().unwrap_or(false) {
                continue;
            }
            let auth = app.room(&meta, p, info.room.id, app::act::FileList).await?;
            let left = MAX_FILES - files.len();
            let (found, beyond) = app::Files(&app).search_files(auth, &words, left).await?;
            more |= beyond;
            files.extend(found.into_iter().map(|f| (info.room.name.clone(), f)));
        }
    }
    let body = html! {
        h1 { "Search" }
        form.search #search-form method="get" action="/search" role="search" {
            label {
                "Rooms and files"
                input #search-q type="search" name="q" value=(q) maxlength=(MAX_QUERY) autofocus;
            }
            button.primary #search-go type="submit" { "Search" }
        }
        @if !words.is_empty() {
            h2 { "Rooms" }
            @if rooms.is_empty() {
                p.empty { "No room you can see has that in its name." }
            } @else {
                ul #room-results {
                    @for r in &rooms {
                        li { a href=(format!("/rooms/{}", r.room.id)) { (r.room.name) } " " (badge(r.room.classification)) }
                    }
                }
            }
            h2 { "Files" }
            @if files.is_empty() {
                p.empty { "No file you can list has that in its path." }
            } @else {
                table.listing #file-results {
                    thead { tr { th { "File" } th { "Room" } th.num { "Size" } th { "Updated" } } }
                    tbody {
                        @for (room, f) in &files {
                            tr {
                                td { a href=(format!("/files/{}/versions", f.id)) { (f.path) } }
                                td { a href=(format!("/rooms/{}", f.room_id)) { (room) } }
                                td.num { (layout::size(f.size)) }
                                td.muted { (layout::time(f.updated_ms)) }
                            }
                        }
                    }
                }
                @if more {
                    p.muted { "Only the first " (MAX_FILES) " files are shown: add words to narrow the search." }
                }
            }
        }
    };
    Ok(layout::page("Search", Some(viewer.header()), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_in_any_case() {
        for (text, query, want) in [
            ("specs/Gearbox-Rev-B.step", "gearbox", true),
            ("specs/Gearbox-Rev-B.step", "GEARBOX rev", true),
            ("specs/Gearbox-Rev-B.step", "gearbox rev-c", false),
            ("Supplier share", "share supplier", true),
            ("anything", "", true),
        ] {
            let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
            assert_eq!(matches(text, &words), want, "{text} / {query}");
        }
    }
}
