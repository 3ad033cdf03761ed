//! The audit log explorer's reading of the record (`event.read`): a page of
//! events newest first, each with its ledger index and what it names put for
//! people (the actor's e-mail; the room's name and the file's path for a
//! target), and the parties and rooms to filter by. The actor is given by
//! e-mail, as people know them.

use std::collections::HashMap;

use kernel::AppError;
use kernel::authz::{Authorized, System, act};
use kernel::events::{EventFilter, check_filter};
use model::{ErrorCode, Event, FileId, GrantId, PartyId, RoomId, UserId, VersionId};
use store::{LabelIds, Labels};

use crate::Audit;

/// Most events one page of the explorer shows.
pub const MAX_PAGE: i64 = 200;

/// What the explorer asks for: the filters (paged by `before`, newest first)
/// and the actor by e-mail.
#[derive(Clone, Debug, Default)]
pub struct ExploreQuery {
    pub filter: EventFilter,
    /// The acting user's e-mail; replaces `filter.actor` when given.
    pub actor_email: Option<String>,
}

/// One page of the explorer.
#[derive(Clone, Debug, Default)]
pub struct Explored {
    /// Newest first.
    pub items: Vec<ExploredEvent>,
    /// The `before` of the next, older page, when there may be one.
    pub older: Option<i64>,
    /// The filter as it ran (the actor resolved), for an export of the same.
    pub filter: EventFilter,
    /// Every party, by name: the choices of the party filter.
    pub parties: Vec<(PartyId, String)>,
    /// Every room not deleted, by name: the choices of the room filter.
    pub rooms: Vec<(RoomId, String)>,
}

/// An event with its ledger index and its names for people.
#[derive(Clone, Debug)]
pub struct ExploredEvent {
    pub event: Event,
    /// Its leaf in the ledger (`None` for an event older than the ledger).
    pub index: Option<u64>,
    /// The actor's e-mail, when the event has a user actor.
    pub actor_email: Option<String>,
    /// The target for people: `plans/a.pdf in room Turbine`; the raw target
    /// when it names nothing known.
    pub target_label: String,
}

impl Audit<'_> {
    /// A page of the events `query` keeps, newest first (at most
    /// [`MAX_PAGE`]), with ledger indices and names, and the choices of the
    /// filters. An e-mail that names no user is `bad_filter`.
    pub async fn explore_events(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        query: ExploreQuery,
    ) -> Result<Explored, AppError> {
        let mut filter = query.filter;
        filter.newest_first = true;
        filter.limit = filter.limit.clamp(1, MAX_PAGE);
        check_filter(&filter)?;
        let mut tx = self.store().read().await?;
        if let Some(email) = query.actor_email.as_deref().map(str::trim) {
            let user = tx.get_user_by_email(email).await?.ok_or_else(|| {
                AppError::invalid(
                    ErrorCode::BadFilter,
                    format!("no user has the e-mail `{email}`"),
                )
            })?;
            filter.actor = Some(user.id);
        }
        let events = tx.search_events(&filter).await?;
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let indices: HashMap<i64, u64> = tx
            .ledger_leaves_of_events(&seqs)
            .await?
            .iter()
            .map(|row| (row.event_seq, row.index))
            .collect();
        let labels = tx.labels(&ids_of(&events)).await?;
        let parties = tx.list_parties().await?;
        let rooms = tx.list_rooms().await?;
        drop(tx);
        let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= filter.limit;
        let older = full.then(|| events.last().map(|e| e.seq)).flatten();
        let items = events
            .into_iter()
            .map(|event| ExploredEvent {
                index: indices.get(&event.seq).copied(),
                actor_email: event.actor_user.and_then(|u| labels.users.get(&u).cloned()),
                target_label: target_label(&event.target, &labels),
                event,
            })
            .collect();
        let mut parties: Vec<(PartyId, String)> =
            parties.into_iter().map(|p| (p.id, p.name)).collect();
        parties.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(Explored {
            items,
            older,
            filter,
            parties,
            rooms: rooms.into_iter().map(|r| (r.id, r.name)).collect(),
        })
    }
}

/// What a target names: its kind and the id after `kind:`.
fn split(target: &str) -> Option<(&str, &str)> {
    target.split_once(':')
}

/// The ids the events' actors and targets name.
fn ids_of(events: &[Event]) -> LabelIds {
    let mut ids = LabelIds::default();
    for e in events {
        ids.users.extend(e.actor_user);
        let Some((kind, rest)) = split(&e.target) else {
            continue;
        };
        // `room:<id>/<path>`: an upload refused or held before its file existed.
        let id = rest.split_once('/').map_or(rest, |(id, _)| id);
        match kind {
            "room" => ids.rooms.extend(id.parse::<RoomId>().ok()),
            "file" => ids.files.extend(id.parse::<FileId>().ok()),
            "version" => ids.versions.extend(id.parse::<VersionId>().ok()),
            "grant" => ids.grants.extend(id.parse::<GrantId>().ok()),
            "user" => ids.users.extend(id.parse::<UserId>().ok()),
            "party" => ids.parties.extend(id.parse::<PartyId>().ok()),
            _ => {}
        }
    }
    ids
}

/// The target for people, or the raw target when it names nothing known.
fn target_label(target: &str, labels: &Labels) -> String {
    let room = |id: &RoomId| labels.rooms.get(id).map(|name| format!("room {name}"));
    let file = |id: &FileId| {
        labels.files.get(id).map(|(r, path)| match room(r) {
            Some(in_room) => format!("{path} in {in_room}"),
            None => path.clone(),
        })
    };
    let named = split(target).and_then(|(kind, rest)| match kind {
        "room" => match rest.split_once('/') {
            Some((id, path)) => {
                let in_room = room(&id.parse().ok()?)?;
                Some(format!("{path} in {in_room}"))
            }
            None => room(&rest.parse().ok()?),
        },
        "file" => file(&rest.parse().ok()?),
        "version" => {
            let (f, number) = labels.versions.get(&rest.parse().ok()?)?;
            Some(format!("version {number} of {}", file(f)?))
        }
        "grant" => {
            let in_room = room(labels.grants.get(&rest.parse().ok()?)?)?;
            Some(format!("a grant in {in_room}"))
        }
        "user" => labels
            .users
            .get(&rest.parse().ok()?)
            .map(|email| format!("user {email}")),
        "party" => labels
            .parties
            .get(&rest.parse().ok()?)
            .map(|name| format!("party {name}")),
        _ => None,
    });
    named.unwrap_or_else(|| target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_names() {
        let id = |n: u8| format!("00000000-0000-4000-8000-0000000000{n:02}");
        let room: RoomId = id(1).parse().unwrap();
        let file: FileId = id(2).parse().unwrap();
        let version: VersionId = id(3).parse().unwrap();
        let user: UserId = id(4).parse().unwrap();
        let mut labels = Labels::default();
        labels.rooms.insert(room, "Turbine".into());
        labels.files.insert(file, (room, "plans/a.pdf".into()));
        labels.versions.insert(version, (file, 2));
        labels.users.insert(user, "ann@example.com".into());
        for (target, want) in [
            (format!("room:{room}"), "room Turbine".to_owned()),
            (
                format!("room:{room}/x/y.txt"),
                "x/y.txt in room Turbine".into(),
            ),
            (format!("file:{file}"), "plans/a.pdf in room Turbine".into()),
            (
                format!("version:{version}"),
                "version 2 of plans/a.pdf in room Turbine".into(),
            ),
            (format!("user:{user}"), "user ann@example.com".into()),
            ("system".into(), "system".into()),
            ("file:not-an-id".into(), "file:not-an-id".into()),
            (format!("room:{file}"), format!("room:{file}")),
        ] {
            assert_eq!(target_label(&target, &labels), want, "{target}");
        }
    }
}
