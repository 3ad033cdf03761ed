//! Decision latency of the policy set, in process: 10,000 users in 100 parties,
//! 1,000 rooms (a quarter of them requiring an NDA), the default policies plus
//! 100 custom ones. Each decision builds its entity slice and evaluates the
//! cached policy sets, as `authz::authorize` does. Prints `key value` lines:
//! decisions, policies, load_ms, p50_us, p99_us, mean_us, max_us, allowed,
//! denied, hidden.
//!
//! Usage: policy_bench [DECISIONS [MIX]]: DECISIONS default 200000; MIX is the
//! kind of the 100 custom policies: `scoped` (each on one room, the usual
//! room-specific rule), `generic` (attribute conditions on any room, which the
//! pre-filter proves false from the request's own facts), `sets` (the same with
//! a set attribute tested for a literal), `opaque` (conditions on any room
//! whose leading comparison holds and whose next compares two attributes, which
//! Cedar must evaluate on every content request — the worst case), `mixed` (50 scoped, 50
//! generic, the default) or `none`. Requests are drawn by a fixed-seed
//! generator, so every run asks the same questions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::Instant;

use model::*;
use policy::{Context, Decision, Policies, Principal, Requirement, Resource};

const USERS: u64 = 10_000;
const PARTIES: u64 = 100;
const ROOMS: u64 = 1_000;

/// A fixed-seed xorshift generator (the bench needs no real randomness).
struct Draw(u64);

impl Draw {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn uuid(kind: u8, n: u64) -> [u8; 16] {
    let mut b = [kind; 16];
    b[8..].copy_from_slice(&n.to_be_bytes());
    b
}

fn room_id(n: u64) -> RoomId {
    RoomId::from_random(uuid(3, n))
}

fn custom_policies(scoped: u64, generic: u64, sets: u64, opaque: u64) -> String {
    let mut text = String::new();
    for i in 0..scoped {
        text.push_str(&format!(
            "@id(\"custom.room.{i}\") @reason(\"policy_forbids\")\n\
             forbid (principal, action == Custody::Action::\"file.download\", resource == Custody::Room::\"{}\")\n\
             when {{ context.now_ms < 0 }};\n",
            room_id(i * 7)
        ));
    }
    for i in 0..generic {
        text.push_str(&format!(
            "@id(\"custom.attr.{i}\") @reason(\"policy_forbids\")\n\
             forbid (principal, action in Custody::Action::\"room.content\", resource is Custody::Room)\n\
             when {{ resource.classification == \"restricted\" && principal.party.status == \"x{i}\" }};\n"
        ));
    }
    for i in 0..sets {
        text.push_str(&format!(
            "@id(\"custom.sets.{i}\") @reason(\"policy_forbids\")\n\
             forbid (principal, action in Custody::Action::\"room.content\", resource is Custody::Room)\n\
             when {{ principal.party.status == \"active\" && resource.required_agreements.contains(\"k{i}\") }};\n"
        ));
    }
    for i in 0..opaque {
        text.push_str(&format!(
            "@id(\"custom.opaque.{i}\") @reason(\"policy_forbids\")\n\
             forbid (principal, action in Custody::Action::\"room.content\", resource is Custody::Room)\n\
             when {{ principal.party.status == \"active\" && resource.tags.contains(context.action_name) && context.now_ms > {i} }};\n"
        ));
    }
    text
}

fn main() {
    let decisions: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("DECISIONS is a number"))
        .unwrap_or(200_000);
    let t = Instant::now();
    let mix = std::env::args().nth(2).unwrap_or_else(|| "mixed".into());
    let custom = match mix.as_str() {
        "scoped" => custom_policies(100, 0, 0, 0),
        "generic" => custom_policies(0, 100, 0, 0),
        "sets" => custom_policies(0, 0, 100, 0),
        "opaque" => custom_policies(0, 0, 0, 100),
        "mixed" => custom_policies(50, 50, 0, 0),
        "none" => String::new(),
        other => panic!("MIX is scoped, generic, sets, opaque, mixed or none, not {other}"),
    };
    let policies = Policies::with_custom(&custom).expect("policies load");
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let actions = [
        "room.view",
        "file.list",
        "file.view",
        "file.download",
        "file.upload",
        "grant.create",
        "room.list",
    ];
    let roles = [
        None,
        Some(RoomRole::Viewer),
        Some(RoomRole::Downloader),
        Some(RoomRole::Contributor),
        Some(RoomRole::Manager),
    ];
    let matrix_in_force = model::diligence::RiskMatrix::default();
    let mut draw = Draw(0x9E37_79B9_7F4A_7C15);
    let mut lat = Vec::with_capacity(decisions);
    let (mut allowed, mut denied, mut hidden) = (0_u64, 0_u64, 0_u64);
    for _ in 0..decisions {
        let user = draw.next(USERS);
        let party = user % PARTIES;
        let p = Principal {
            user_id: UserId::from_random(uuid(1, user)),
            email: format!("u{user}@example.com"),
            party_id: PartyId::from_random(uuid(2, party)),
            party_kind: if party == 0 {
                PartyKind::Owner
            } else {
                PartyKind::External
            },
            party_status: PartyStatus::Active,
            system_role: if user.is_multiple_of(50) {
                SystemRole::Admin
            } else {
                SystemRole::Member
            },
            disabled: false,
            mfa_required: party != 0,
            mfa: true,
            // Trained and certified: confidential rooms stay open to them.
            training_until_ms: Some(i64::MAX),
            certified_until_ms: Some(i64::MAX),
            // The sharing risk matrix in force: parties of every tier, a fifth unassessed.
            tier: model::diligence::RiskTier::ALL
                .get((party % 5) as usize)
                .copied(),
            tier_until_ms: Some(i64::MAX),
        };
        let room = draw.next(ROOMS);
        let nda = room.is_multiple_of(4);
        let action = actions[draw.next(actions.len() as u64) as usize];
        let res = if action == "room.list" {
            Resource::System
        } else {
            Resource::Room {
                id: room_id(room),
                classification: Classification::ALL[(room % 4) as usize],
                role: roles[draw.next(roles.len() as u64) as usize],
                expired_grant: false,
                required_agreements: if nda {
                    vec![Requirement {
                        key: "nda".into(),
                        title: "Mutual NDA 2026".into(),
                    }]
                } else {
                    vec![]
                },
                required_certifications: vec![],
                required_courses: vec![],
                tags: vec![],
                window: None,
            }
        };
        let signed = draw.next(2) == 0;
        let (matrix, matrix_controls) = match &res {
            Resource::Room { classification, .. } if p.party_kind != PartyKind::Owner => {
                let (v, c) = matrix_in_force.verdict(*classification, p.tier);
                (Some(v), c.to_vec())
            }
            _ => (None, vec![]),
        };
        let ctx = Context {
            now_ms: 1_750_000_000_000,
            source_addr: Some("192.0.2.1".into()),
            agreements_in_force: if signed { vec!["nda".into()] } else { vec![] },
            agreements_lapsed: vec![],
            matrix,
            matrix_controls,
            ..Context::default()
        };
        let t = Instant::now();
        let d = policies.decide(&p, action, &res, &ctx);
        lat.push(t.elapsed().as_nanos() as u64);
        match d {
            Decision::Allow => allowed += 1,
            Decision::Deny { .. } => denied += 1,
            Decision::Hide { .. } => hidden += 1,
        }
    }
    lat.sort_unstable();
    let pct = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize] as f64 / 1e3;
    let mean = lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1e3;
    println!("mix {mix}");
    println!("decisions {decisions}");
    println!("policies {}", policies.list().len());
    println!("load_ms {load_ms:.1}");
    println!("p50_us {:.1}", pct(0.50));
    println!("p99_us {:.1}", pct(0.99));
    println!("mean_us {mean:.1}");
    println!("max_us {:.1}", pct(1.0));
    println!("allowed {allowed}");
    println!("denied {denied}");
    println!("hidden {hidden}");
}
