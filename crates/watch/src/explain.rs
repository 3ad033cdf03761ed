//! The sentence of an alert: its top contributing features, each against the
//! entity's own median and its peers', then the rules that fired.

use crate::watcher::{Contribution, EndSoon, EntityKind, RuleHit};

/// Features named in a sentence at most.
pub const TOP: usize = 3;

/// "user u1 downloaded 212 files (14× this user's median, 9× the party's
/// peers) and took files from 3 rooms (…); the party's nda ends in 5 days".
pub fn sentence(
    kind: EntityKind,
    id: &str,
    contributions: &[Contribution],
    rules: &[RuleHit],
    end: Option<&EndSoon>,
) -> String {
    let who = match kind {
        EntityKind::User => "user",
        EntityKind::Party => "party",
    };
    let parts: Vec<String> = contributions
        .iter()
        .take(TOP)
        .map(|c| clause(kind, c))
        .collect();
    let mut text = format!("{who} `{id}`");
    if !parts.is_empty() {
        text.push(' ');
        text.push_str(&join(&parts));
    }
    let mut said: Vec<String> = rules.iter().map(|r| rule(kind, r)).collect();
    let end_said = rules
        .iter()
        .any(|r| matches!(r, RuleHit::MassBeforeEnd { .. }));
    if let Some(end) = end.filter(|_| !end_said) {
        let whose = match kind {
            EntityKind::User => "the party's",
            EntityKind::Party => "its",
        };
        said.push(format!("{whose} {} ends {}", end.what, when(end.days_left)));
    }
    if !said.is_empty() {
        text.push_str(if parts.is_empty() { ": " } else { "; " });
        text.push_str(&said.join("; "));
    }
    text
}

fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "downloaded 212 files (14× this user's median, 9× the party's peers)".
pub fn clause(kind: EntityKind, c: &Contribution) -> String {
    let (own, peers) = match kind {
        EntityKind::User => ("this user's median", "the party's peers"),
        EntityKind::Party => ("this party's median", "the other parties"),
    };
    let mut against = Vec::new();
    if let Some(m) = c.median {
        against.push(times(c.value, m, own));
    }
    if let Some(m) = c.peer_median {
        against.push(times(c.value, m, peers));
    }
    if against.is_empty() {
        c.feature.phrase(c.value)
    } else {
        format!("{} ({})", c.feature.phrase(c.value), against.join(", "))
    }
}

fn times(value: f64, median: f64, whose: &str) -> String {
    if median < 0.5 {
        return format!("{whose}: 0");
    }
    let r = value / median;
    if r >= 10.0 {
        format!("{r:.0}× {whose}")
    } else {
        format!("{r:.1}× {whose}")
    }
}

/// "today", "in 1 day", "in 5 days".
fn when(days_left: f64) -> String {
    match days_left.floor() {
        d if d < 1.0 => "today".to_owned(),
        d if d < 2.0 => "in 1 day".to_owned(),
        d => format!("in {d:.0} days"),
    }
}

fn rule(kind: EntityKind, r: &RuleHit) -> String {
    let whose = match kind {
        EntityKind::User => "the party's",
        EntityKind::Party => "its",
    };
    match r {
        RuleHit::MassBeforeEnd {
            files,
            days_left,
            what,
        } => format!(
            "{files:.0} files taken while {whose} {what} ends {}",
            when(*days_left)
        ),
        RuleHit::NewCountry { country } => format!("first access from {country}"),
        RuleHit::Trace { mark } => format!("a leaked copy was traced to this mark `{mark}`"),
        RuleHit::Burst { count, seconds } => {
            format!("{count} downloads and views in {seconds:.1} s")
        }
        RuleHit::Probing { count, seconds } => {
            format!("{count} refusals in {:.0} min", seconds / 60.0)
        }
        RuleHit::Spraying { address, users } => {
            format!("sign-ins failed for {users} users from `{address}` within the hour")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Feature;

    fn c(feature: Feature, value: f64, median: Option<f64>, peer: Option<f64>) -> Contribution {
        Contribution {
            feature,
            value,
            median,
            peer_median: peer,
            z: 10.0,
            points: 5.0,
        }
    }

    #[test]
    fn an_end_near_is_said_once() {
        let end = EndSoon {
            days_left: 1.5,
            what: "nda".into(),
        };
        let burst = RuleHit::Burst {
            count: 30,
            seconds: 1.9,
        };
        let mass = RuleHit::MassBeforeEnd {
            files: 40.0,
            days_left: 1.5,
            what: "nda".into(),
        };
        let table = [
            (
                vec![burst.clone()],
                "user `u`: 30 downloads and views in 1.9 s; the party's nda ends in 1 day",
            ),
            (
                vec![burst, mass],
                "user `u`: 30 downloads and views in 1.9 s; 40 files taken while the party's nda ends in 1 day",
            ),
        ];
        for (rules, want) in table {
            assert_eq!(
                sentence(EntityKind::User, "u", &[], &rules, Some(&end)),
                want
            );
        }
    }

    #[test]
    fn sentences_by_hand() {
        let files = c(Feature::DownloadFiles, 212.0, Some(15.0), Some(23.5));
        let rooms = c(Feature::Rooms, 3.0, Some(1.0), None);
        let signins = c(Feature::FailedSignIns, 4.0, None, Some(0.0));
        let nda = RuleHit::MassBeforeEnd {
            files: 212.0,
            days_left: 5.4,
            what: "nda".into(),
        };
        let table = [
            (
                EntityKind::User,
                vec![files.clone(), rooms.clone()],
                vec![nda.clone()],
                "user `u` downloaded 212 files (14× this user's median, 9.0× the party's peers) and took files from 3 rooms (3.0× this user's median); 212 files taken while the party's nda ends in 5 days",
            ),
            (
                EntityKind::User,
                vec![
                    signins.clone(),
                    files.clone(),
                    rooms.clone(),
                    signins.clone(),
                ],
                vec![],
                "user `u` failed to sign in 4 times (the party's peers: 0), downloaded 212 files (14× this user's median, 9.0× the party's peers) and took files from 3 rooms (3.0× this user's median)",
            ),
            (
                EntityKind::Party,
                vec![],
                vec![
                    RuleHit::Probing {
                        count: 15,
                        seconds: 300.0,
                    },
                    nda,
                ],
                "party `u`: 15 refusals in 5 min; 212 files taken while its nda ends in 5 days",
            ),
        ];
        for (kind, contributions, rules, want) in table {
            assert_eq!(sentence(kind, "u", &contributions, &rules, None), want);
        }
    }
}
