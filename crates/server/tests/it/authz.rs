//! The authorization matrix: every endpoint of `api.rs` × every kind of caller
//! → the status and error code it must answer. Account-state denials (suspended
//! party, TOTP not enrolled) are 403 with their reason in the message; a room or
//! record the caller may not see is 404, never 403. Runs on SQLite, and on
//! PostgreSQL when one is reachable.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::util::*;

/// The kinds of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Admin,
    SecurityOfficer,
    Auditor,
    /// Owner-party member without any grant in the room.
    Member,
    Viewer,
    Downloader,
    Contributor,
    Manager,
    /// External member whose party holds a downloader grant.
    PartyGrant,
    NoGrant,
    /// External member whose manager grant has expired.
    Expired,
    /// External member (manager grant) of a suspended party.
    Suspended,
    /// Owner member (manager grant) disabled after signing in.
    Disabled,
    /// External member (manager grant) who has not enrolled TOTP.
    PreTotp,
}

use Who::*;

/// The column order of [`TABLE`].
const WHO: [Who; 14] = [
    Admin,
    SecurityOfficer,
    Auditor,
    Member,
    Viewer,
    Downloader,
    Contributor,
    Manager,
    PartyGrant,
    NoGrant,
    Expired,
    Suspended,
    Disabled,
    PreTotp,
];

/// Status, error code, and a piece of the message.
#[derive(Clone, Copy, Debug)]
struct Want(u16, Option<&'static str>, Option<&'static str>);

const OK: Want = Want(200, None, None);
const NEW: Want = Want(201, None, None);
const GONE: Want = Want(204, None, None);
const NF: Want = Want(404, Some("not_found"), None);
/// The system role does not allow the action.
const ROLE: Want = Want(403, Some("forbidden"), Some("does not allow"));
/// The room role is too low.
const LOW: Want = Want(403, Some("forbidden"), Some("your role in this room"));
/// Owner staff who see the room but hold no role in it.
const NOROLE: Want = Want(403, Some("forbidden"), Some("no role in this room"));
const OFF: Want = Want(403, Some("forbidden"), Some("suspended"));
const MFA: Want = Want(403, Some("forbidden"), Some("enrol"));
const OUT: Want = Want(401, Some("unauthenticated"), None);
const TOTP_ON: Want = Want(400, Some("totp_already_enabled"), None);

/// Every endpoint (and target) of the matrix.
#[derive(Clone, Copy, Debug)]
enum Ep {
    Me,
    TotpBegin,
    ListParties,
    CreateParty,
    /// A party the caller does not belong to.
    GetParty,
    GetOwnParty,
    PatchParty,
    ListUsers,
    CreateUser,
    /// A user of another party.
    GetUser,
    GetSelf,
    PatchUser,
    RevokeSessions,
    CreateInvitation,
    ListRooms,
    CreateRoom,
    GetRoom,
    PatchRoom,
    DeleteRoom,
    ListGrants,
    CreateGrant,
    RevokeGrant,
    ListFiles,
    PutFile,
    GetFile,
    ListVersions,
    GetContent,
    DeleteFile,
    Events,
}

#[rustfmt::skip]
const TABLE: &[(Ep, [Want; 14])] = &[
    //                   Admin   SecOff  Auditor Member  Viewer   Downl.   Contrib. Manager  PartyG.  NoGrant Expired Susp. Disabled PreTotp
    (Ep::Me,             [OK,    OK,     OK,     OK,     OK,      OK,      OK,      OK,      OK,      OK,     OK,     OK,   OUT, OK]),
    (Ep::TotpBegin,      [OK,    OK,     OK,     OK,     TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, OFF, OUT, OK]),
    (Ep::ListParties,    [OK,    OK,     OK,     ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::CreateParty,    [NEW,   ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::GetParty,       [OK,    OK,     OK,     NF,     NF,      NF,      NF,      NF,      NF,      NF,     NF,     NF,   OUT, NF]),
    (Ep::GetOwnParty,    [OK,    OK,     OK,     OK,     OK,      OK,      OK,      OK,      OK,      OK,     OK,     OK,   OUT, OK]),
    (Ep::PatchParty,     [OK,    ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::ListUsers,      [OK,    OK,     OK,     ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::CreateUser,     [NEW,   ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::GetUser,        [OK,    OK,     OK,     NF,     NF,      NF,      NF,      NF,      NF,      NF,     NF,     NF,   OUT, NF]),
    (Ep::GetSelf,        [OK,    OK,     OK,     OK,     OK,      OK,      OK,      OK,      OK,      OK,     OK,     OK,   OUT, OK]),
    (Ep::PatchUser,      [OK,    ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::RevokeSessions, [GONE,  ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::CreateInvitation, [NEW, ROLE,   ROLE,   ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::ListRooms,      [OK,    OK,     OK,     OK,     OK,      OK,      OK,      OK,      OK,      OK,     OK,     OFF,  OUT, MFA]),
    (Ep::CreateRoom,     [NEW,   ROLE,   ROLE,   NEW,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
    (Ep::GetRoom,        [OK,    OK,     OK,     NF,     OK,      OK,      OK,      OK,      OK,      NF,     NF,     OFF,  OUT, MFA]),
    (Ep::PatchRoom,      [OK,    NOROLE, NOROLE, NF,     LOW,     LOW,     LOW,     OK,      LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::DeleteRoom,     [GONE,  NOROLE, NOROLE, NF,     LOW,     LOW,     LOW,     GONE,    LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::ListGrants,     [OK,    OK,     OK,     NF,     LOW,     LOW,     LOW,     OK,      LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::CreateGrant,    [NEW,   NOROLE, NOROLE, NF,     LOW,     LOW,     LOW,     NEW,     LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::RevokeGrant,    [GONE,  NOROLE, NOROLE, NF,     LOW,     LOW,     LOW,     GONE,    LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::ListFiles,      [OK,    OK,     OK,     NF,     OK,      OK,      OK,      OK,      OK,      NF,     NF,     OFF,  OUT, MFA]),
    (Ep::PutFile,        [NOROLE, NOROLE, NOROLE, NF,    LOW,     LOW,     NEW,     NEW,     LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::GetFile,        [OK,    OK,     OK,     NF,     OK,      OK,      OK,      OK,      OK,      NF,     NF,     OFF,  OUT, MFA]),
    (Ep::ListVersions,   [OK,    OK,     OK,     NF,     OK,      OK,      OK,      OK,      OK,      NF,     NF,     OFF,  OUT, MFA]),
    (Ep::GetContent,     [NOROLE, NOROLE, NOROLE, NF,    LOW,     OK,      OK,      OK,      OK,      NF,     NF,     OFF,  OUT, MFA]),
    (Ep::DeleteFile,     [NOROLE, NOROLE, NOROLE, NF,    LOW,     LOW,     LOW,     GONE,    LOW,     NF,     NF,     OFF,  OUT, MFA]),
    (Ep::Events,         [OK,    OK,     OK,     ROLE,   ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,   ROLE,   OFF,  OUT, MFA]),
];

/// The fixtures the matrix runs against.
struct World {
    users: HashMap<Who, User>,
    /// Owner member who created the room (its manager); not a matrix column.
    curator: User,
    /// External member of a fourth party: the target of user look-ups and grants.
    bystander: User,
    partner: String,
    room: String,
    file: String,
}

impl World {
    async fn build(ctx: &Ctx) -> World {
        let admin_me = ctx
            .must(&ctx.admin, "GET", "/auth/me", Value::Null, 200)
            .await;
        let admin = User {
            id: admin_me["id"].as_str().unwrap_or_default().to_owned(),
            email: ADMIN_EMAIL.into(),
            party: ctx.owner_party.clone(),
            token: ctx.admin.clone(),
            totp: None,
        };
        let (acme, partner) = (ctx.party("Acme").await, ctx.party("Partner").await);
        let (susp, other) = (ctx.party("Suspended Co").await, ctx.party("Other").await);
        let mut users = HashMap::from([(Admin, admin)]);
        for (who, role) in [
            (SecurityOfficer, "security_officer"),
            (Auditor, "auditor"),
            (Member, "member"),
            (Disabled, "member"),
        ] {
            users.insert(who, ctx.staff(role).await);
        }
        for who in [Viewer, Downloader, Contributor, Manager, NoGrant, Expired] {
            users.insert(who, ctx.external(&acme).await);
        }
        users.insert(PreTotp, ctx.user_in(&acme, "member", false).await);
        users.insert(PartyGrant, ctx.external(&partner).await);
        users.insert(Suspended, ctx.external(&susp).await);
        let curator = ctx.staff("member").await;
        let bystander = ctx.external(&other).await;
        let mut w = World {
            users,
            curator,
            bystander,
            partner,
            room: String::new(),
            file: String::new(),
        };
        w.room = w.fresh_room(ctx).await;
        let file = ctx
            .upload(&w.curator.token, &w.room, "docs/spec.txt", b"the spec")
            .await;
        w.file = file["id"].as_str().unwrap_or_default().to_owned();
        let suspend = json!({"status": "suspended"});
        ctx.must(
            &ctx.admin,
            "PATCH",
            &format!("/parties/{susp}"),
            suspend,
            200,
        )
        .await;
        let disabled = &w.users[&Disabled].id;
        let off = json!({"disabled": true});
        ctx.must(&ctx.admin, "PATCH", &format!("/users/{disabled}"), off, 200)
            .await;
        w
    }

    /// A room made by the curator with every column's grant; the expiring
    /// grant has expired when this returns.
    async fn fresh_room(&self, ctx: &Ctx) -> String {
        let c = &self.curator.token;
        let room = ctx.room(c, &format!("Room {}", ctx.unique())).await;
        for (who, role) in [
            (Viewer, "viewer"),
            (Downloader, "downloader"),
            (Contributor, "contributor"),
            (Manager, "manager"),
            (Suspended, "manager"),
            (Disabled, "manager"),
            (PreTotp, "manager"),
        ] {
            let id = &self.users[&who].id;
            ctx.grant(c, &room, "user", id, role, None).await;
        }
        ctx.grant(c, &room, "party", &self.partner, "downloader", None)
            .await;
        let soon = Some(ctx.now() + 1000);
        let expired = &self.users[&Expired].id;
        ctx.grant(c, &room, "user", expired, "manager", soon).await;
        ctx.advance(2000);
        room
    }

    /// The request of `ep` as `who` (creating what a destructive call consumes).
    async fn request(&self, ctx: &Ctx, ep: Ep, who: Who) -> (&'static str, String, Value) {
        let me = &self.users[&who];
        let (room, file, by) = (&self.room, &self.file, &self.bystander);
        let n = ctx.unique();
        let none = Value::Null;
        match ep {
            Ep::Me => ("GET", "/auth/me".into(), none),
            Ep::TotpBegin => ("POST", "/auth/totp".into(), none),
            Ep::ListParties => ("GET", "/parties".into(), none),
            Ep::CreateParty => ("POST", "/parties".into(), json!({"name": format!("P{n}")})),
            Ep::GetParty => ("GET", format!("/parties/{}", by.party), none),
            Ep::GetOwnParty => ("GET", format!("/parties/{}", me.party), none),
            Ep::PatchParty => (
                "PATCH",
                format!("/parties/{}", by.party),
                json!({"name": "Other"}),
            ),
            Ep::ListUsers => ("GET", "/users".into(), none),
            Ep::CreateUser => (
                "POST",
                "/users".into(),
                json!({"email": format!("new{n}@owner.example"), "display_name": "New",
                    "party_id": ctx.owner_party, "system_role": "member"}),
            ),
            Ep::GetUser => ("GET", format!("/users/{}", by.id), none),
            Ep::GetSelf => ("GET", format!("/users/{}", me.id), none),
            Ep::PatchUser => (
                "PATCH",
                format!("/users/{}", by.id),
                json!({"display_name": "By Stander"}),
            ),
            Ep::RevokeSessions => ("POST", format!("/users/{}/revoke-sessions", by.id), none),
            Ep::CreateInvitation => (
                "POST",
                "/invitations".into(),
                json!({"email": format!("inv{n}@acme.example"), "display_name": "Invitee",
                    "party_id": by.party}),
            ),
            Ep::ListRooms => ("GET", "/rooms".into(), none),
            Ep::CreateRoom => (
                "POST",
                "/rooms".into(),
                json!({"name": format!("R{n}"), "classification": "internal"}),
            ),
            Ep::GetRoom => ("GET", format!("/rooms/{room}"), none),
            Ep::PatchRoom => ("PATCH", format!("/rooms/{room}"), json!({"name": "Room R"})),
            Ep::DeleteRoom => (
                "DELETE",
                format!("/rooms/{}", self.fresh_room(ctx).await),
                none,
            ),
            Ep::ListGrants => ("GET", format!("/rooms/{room}/grants"), none),
            Ep::CreateGrant => (
                "POST",
                format!("/rooms/{room}/grants"),
                json!({"subject_kind": "user", "subject_id": by.id, "role": "viewer",
                    "reason": "matrix"}),
            ),
            Ep::RevokeGrant => {
                let c = &self.curator.token;
                let g = ctx.grant(c, room, "user", &by.id, "viewer", None).await;
                ("DELETE", format!("/rooms/{room}/grants/{g}"), none)
            }
            Ep::ListFiles => ("GET", format!("/rooms/{room}/files"), none),
            Ep::PutFile => unreachable!("sent as raw bytes"),
            Ep::GetFile => ("GET", format!("/files/{file}"), none),
            Ep::ListVersions => ("GET", format!("/files/{file}/versions"), none),
            Ep::GetContent => ("GET", format!("/files/{file}/content"), none),
            Ep::DeleteFile => {
                let path = format!("tmp/{n}.txt");
                let f = ctx.upload(&self.curator.token, room, &path, b"x").await;
                let id = f["id"].as_str().unwrap_or_default();
                ("DELETE", format!("/files/{id}"), none)
            }
            Ep::Events => ("GET", "/events?limit=1".into(), none),
        }
    }
}

async fn run_matrix(ctx: &Ctx) {
    let w = World::build(ctx).await;
    let mut failures = Vec::new();
    let mut count = 0;
    for (ep, wants) in TABLE {
        for (who, want) in WHO.iter().zip(wants) {
            let token = w.users[who].token.clone();
            let case = if matches!(ep, Ep::PutFile) {
                Case {
                    method: "PUT",
                    path: format!("{V1}/rooms/{}/files/up/{who:?}.txt", w.room),
                    body: Payload::Raw(Some("application/octet-stream"), b"hello".to_vec()),
                    ..Case::default()
                }
            } else {
                let (method, path, body) = w.request(ctx, *ep, *who).await;
                let body = if body.is_null() {
                    Payload::None
                } else {
                    Payload::Json(body)
                };
                Case {
                    method,
                    path: format!("{V1}{path}"),
                    body,
                    ..Case::default()
                }
            };
            let case = Case {
                label: format!("{who:?} ({ep:?})"),
                who: Some(token),
                want_status: want.0,
                want_code: want.1,
                want_message: want.2,
                ..case
            };
            count += 1;
            if let Err(e) = try_check(ctx, &case).await {
                failures.push(e);
            }
        }
    }
    assert_eq!(count, TABLE.len() * WHO.len());
    assert!(
        failures.is_empty(),
        "{} of {count} matrix cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    rooms_listed(ctx, &w).await;
}

/// `GET /rooms` lists the room exactly for those who may see it, with their role.
async fn rooms_listed(ctx: &Ctx, w: &World) {
    let table = [
        (Admin, Some(None)),
        (Auditor, Some(None)),
        (Member, None),
        (Viewer, Some(Some("viewer"))),
        (Manager, Some(Some("manager"))),
        (PartyGrant, Some(Some("downloader"))),
        (NoGrant, None),
        (Expired, None),
    ];
    for (who, want) in table {
        let list = ctx
            .must(&w.users[&who].token, "GET", "/rooms", Value::Null, 200)
            .await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let found = items.iter().find(|r| r["id"] == json!(w.room));
        let got = found.map(|r| r["role"].as_str());
        assert_eq!(got, want, "{who:?} lists the room as {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sqlite() {
    run_matrix(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_postgres() {
    if let Some(url) = postgres().await {
        run_matrix(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}
