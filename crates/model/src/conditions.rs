//! The facts that the access conditions of the policies are decided on, as
//! validated values: network zones (admin-defined CIDR ranges with the country
//! they are in), a room's access window (days of the week and a time of day at
//! a fixed UTC offset) and field-of-use tags. No clock: times are passed in.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// Most CIDR ranges one zone may hold.
pub const MAX_ZONE_RANGES: usize = 256;
/// Most zones.
pub const MAX_ZONES: usize = 1000;
/// Most field-of-use tags on a room or an agreement.
pub const MAX_TAGS: usize = 32;

/// A value of an access condition that is not well formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("`{0}` is not a CIDR range (an address, `/` and a prefix length, e.g. 192.0.2.0/24)")]
    Cidr(String),
    #[error("{0}")]
    Zone(String),
    #[error("{0}")]
    Window(String),
    #[error("{0}")]
    Tag(String),
}

impl ConditionError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ConditionError::Cidr(_) => ErrorCode::CidrInvalid,
            ConditionError::Zone(_) => ErrorCode::ZoneInvalid,
            ConditionError::Window(_) => ErrorCode::WindowInvalid,
            ConditionError::Tag(_) => ErrorCode::TagInvalid,
        }
    }
}

/// A range of addresses: an address whose bits beyond `prefix` are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside the range. An IPv4 address mapped into IPv6
    /// (`::ffff:a.b.c.d`) is compared as the IPv4 address it is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl FromStr for Cidr {
    type Err = ConditionError;

    /// `a.b.c.d/n` (n ≤ 32) or an IPv6 address and `/n` (n ≤ 128); the
    /// address must have no bits set beyond the prefix, so that what is
    /// written is what is matched. A bare address is a range of one.
    fn from_str(s: &str) -> Result<Cidr, ConditionError> {
        let bad = || ConditionError::Cidr(s.chars().take(64).collect());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        let cidr = Cidr { addr, prefix };
        let network_only = match addr {
            IpAddr::V4(v4) => {
                let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                u32::from(v4) & host == 0
            }
            IpAddr::V6(v6) => {
                let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                u128::from(v6) & host == 0
            }
        };
        if !network_only {
            return Err(ConditionError::Cidr(format!(
                "{} has bits set beyond its /{prefix} prefix",
                s.chars().take(64).collect::<String>()
            )));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A network zone: named address ranges in one country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkZone {
    /// Lowercase letters, digits, `-` and `_`; 1–64 characters; unique.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    pub ranges: Vec<Cidr>,
}

impl NetworkZone {
    /// Checks the name, the country code and the number of ranges.
    pub fn validate(&self) -> Result<(), ConditionError> {
        let name_ok = (1..=64).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(ConditionError::Zone(format!(
                "zone name `{}` must be 1-64 lowercase letters, digits, `-` or `_`",
                self.name.chars().take(64).collect::<String>()
            )));
        }
        if !is_country(&self.country) {
            return Err(ConditionError::Zone(format!(
                "zone `{}`: `{}` is not an ISO 3166-1 alpha-2 country code (two capital letters)",
                self.name,
                self.country.chars().take(8).collect::<String>()
            )));
        }
        if self.ranges.is_empty() || self.ranges.len() > MAX_ZONE_RANGES {
            return Err(ConditionError::Zone(format!(
                "zone `{}` must hold 1 to {MAX_ZONE_RANGES} address ranges",
                self.name
            )));
        }
        Ok(())
    }
}

/// Whether `s` has the shape of an ISO 3166-1 alpha-2 code.
pub fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// The zone a request from `ip` is in: the one with the most specific range
/// that holds it (ties: the first zone by name), or none.
pub fn zone_of(zones: &[NetworkZone], ip: IpAddr) -> Option<&NetworkZone> {
    zones
        .iter()
        .filter_map(|z| {
            z.ranges
                .iter()
                .filter(|r| r.contains(ip))
                .map(Cidr::prefix)
                .max()
                .map(|p| (p, z))
        })
        .max_by(|(pa, za), (pb, zb)| pa.cmp(pb).then_with(|| zb.name.cmp(&za.name)))
        .map(|(_, z)| z)
}

/// Checks field-of-use tags (lowercase letters, digits and `-`, 1–40
/// characters, at most [`MAX_TAGS`]) and returns them sorted, without repeats.
pub fn tags(raw: &[String]) -> Result<Vec<String>, ConditionError> {
    if raw.len() > MAX_TAGS {
        return Err(ConditionError::Tag(format!(
            "at most {MAX_TAGS} field-of-use tags"
        )));
    }
    let mut out = Vec::with_capacity(raw.len());
    for t in raw {
        let ok = (1..=40).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(ConditionError::Tag(format!(
                "field-of-use tag `{}` must be 1-40 lowercase letters, digits or `-`",
                t.chars().take(40).collect::<String>()
            )));
        }
        out.push(t.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// When a room may be reached: on some days of the week, between two times of
/// day, at a fixed offset from UTC. `start < end`, both in minutes after
/// midnight local time; the window is `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessWindow {
    /// ISO weekdays, 1 = Monday … 7 = Sunday; sorted, no repeats.
    pub days: Vec<u8>,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`, after `start`; `24:00` is the end of the day.
    pub end: String,
    /// Minutes east of UTC, −840…840 (e.g. 60 for CET).
    pub utc_offset_min: i32,
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl AccessWindow {
    /// Checks the window and returns it with its days sorted.
    pub fn validated(mut self) -> Result<AccessWindow, ConditionError> {
        let bad = |m: String| Err(ConditionError::Window(m));
        if self.days.is_empty() || self.days.iter().any(|d| !(1..=7).contains(d)) {
            return bad(
                "access window days are ISO weekdays 1 (Monday) to 7 (Sunday), at least one".into(),
            );
        }
        self.days.sort_unstable();
        self.days.dedup();
        let (Some(start), Some(end)) = (minutes(&self.start), minutes(&self.end)) else {
            return bad(format!(
                "access window times are `HH:MM` (00:00 to 24:00), not `{}`-`{}`",
                self.start.chars().take(8).collect::<String>(),
                self.end.chars().take(8).collect::<String>()
            ));
        };
        if start >= end {
            return bad(format!(
                "the access window must start before it ends ({} is not before {})",
                self.start, self.end
            ));
        }
        if !(-840..=840).contains(&self.utc_offset_min) {
            return bad("the access window's UTC offset is -840 to 840 minutes".into());
        }
        Ok(self)
    }

    /// Whether `now_ms` (milliseconds since the Unix epoch) is inside the window.
    pub fn contains(&self, now_ms: i64) -> bool {
        let (Some(start), Some(end)) = (minutes(&self.start), minutes(&self.end)) else {
            return false;
        };
        let local_min = now_ms.div_euclid(60_000) + i64::from(self.utc_offset_min);
        let day = local_min.div_euclid(1440);
        let minute = local_min.rem_euclid(1440);
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let weekday = (day + 3).rem_euclid(7) + 1;
        self.days.iter().any(|d| i64::from(*d) == weekday) && (start..end).contains(&minute)
    }

    /// The window in words, e.g. `Mon, Tue 08:00-18:00 UTC+01:00`.
    pub fn describe(&self) -> String {
        let days: Vec<&str> = self
            .days
            .iter()
            .filter_map(|d| DAY_NAMES.get(usize::from(*d).wrapping_sub(1)).copied())
            .collect();
        let off = self.utc_offset_min;
        let sign = if off < 0 { '-' } else { '+' };
        format!(
            "{} {}-{} UTC{sign}{:02}:{:02}",
            days.join(", "),
            self.start,
            self.end,
            off.abs() / 60,
            off.abs() % 60
        )
    }
}

/// Minutes after midnight of `HH:MM` (00:00–24:00).
fn minutes(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    let total = h * 60 + m;
    (h <= 24 && m < 60 && total <= 1440).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_and_membership() {
        // (range, address, Some(contains) or None when the range is refused)
        let cases: &[(&str, &str, Option<bool>)] = &[
            ("192.0.2.0/24", "192.0.2.77", Some(true)),
            ("192.0.2.0/24", "192.0.3.1", Some(false)),
            ("0.0.0.0/0", "203.0.113.9", Some(true)),
            ("203.0.113.9", "203.0.113.9", Some(true)),
            ("203.0.113.9/32", "203.0.113.8", Some(false)),
            ("10.0.0.0/8", "::ffff:10.1.2.3", Some(true)),
            ("2001:db8::/32", "2001:db8:1::5", Some(true)),
            ("2001:db8::/32", "2001:db9::5", Some(false)),
            ("2001:db8::/32", "192.0.2.1", Some(false)),
            ("::/0", "2001:db8::1", Some(true)),
            ("192.0.2.1/24", "192.0.2.1", None),
            ("192.0.2.0/33", "192.0.2.1", None),
            ("192.0.2.0/", "192.0.2.1", None),
            ("192.0.2.0/+8", "192.0.2.1", None),
            ("192.0.2/24", "192.0.2.1", None),
            ("example.com/24", "192.0.2.1", None),
            ("2001:db8::/129", "2001:db8::1", None),
            ("", "192.0.2.1", None),
        ];
        for (range, ip, want) in cases {
            let got = range
                .parse::<Cidr>()
                .ok()
                .map(|c| c.contains(ip.parse().unwrap()));
            assert_eq!(got, *want, "{range} ∋ {ip}");
        }
    }

    fn zone(name: &str, country: &str, ranges: &[&str]) -> NetworkZone {
        NetworkZone {
            name: name.into(),
            country: country.into(),
            ranges: ranges.iter().map(|r| r.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn the_most_specific_zone_wins() {
        let zones = [
            zone("corp", "DE", &["10.0.0.0/8"]),
            zone("lab-fr", "FR", &["10.20.0.0/16", "198.51.100.0/24"]),
            zone("anywhere", "US", &["0.0.0.0/0"]),
        ];
        let cases = [
            ("10.1.1.1", Some("corp")),
            ("10.20.3.4", Some("lab-fr")),
            ("198.51.100.200", Some("lab-fr")),
            ("203.0.113.1", Some("anywhere")),
            ("2001:db8::1", None),
        ];
        for (ip, want) in cases {
            let got = zone_of(&zones, ip.parse().unwrap()).map(|z| z.name.as_str());
            assert_eq!(got, want, "{ip}");
        }
    }

    #[test]
    fn zones_are_validated() {
        let cases = [
            (zone("corp", "DE", &["10.0.0.0/8"]), None),
            (zone("Corp", "DE", &["10.0.0.0/8"]), Some("zone_invalid")),
            (zone("corp", "de", &["10.0.0.0/8"]), Some("zone_invalid")),
            (zone("corp", "DEU", &["10.0.0.0/8"]), Some("zone_invalid")),
            (zone("corp", "DE", &[]), Some("zone_invalid")),
            (zone("", "DE", &["10.0.0.0/8"]), Some("zone_invalid")),
        ];
        for (z, want) in cases {
            assert_eq!(z.validate().err().map(|e| e.code().as_str()), want, "{z:?}");
        }
    }

    fn window(days: &[u8], start: &str, end: &str, off: i32) -> AccessWindow {
        AccessWindow {
            days: days.to_vec(),
            start: start.into(),
            end: end.into(),
            utc_offset_min: off,
        }
    }

    #[test]
    fn access_windows() {
        // 2026-11-23 is a Monday; 08:30 UTC.
        let monday_0830 = 1_795_422_600_000_i64;
        let hour = 3_600_000;
        let weekdays = [1, 2, 3, 4, 5];
        let cases: &[(&str, AccessWindow, i64, bool)] = &[
            (
                "inside",
                window(&weekdays, "08:00", "18:00", 0),
                monday_0830,
                true,
            ),
            (
                "before",
                window(&weekdays, "09:00", "18:00", 0),
                monday_0830,
                false,
            ),
            (
                "end is open",
                window(&weekdays, "08:00", "08:30", 0),
                monday_0830,
                false,
            ),
            (
                "offset moves it in",
                window(&weekdays, "09:00", "18:00", 60),
                monday_0830,
                true,
            ),
            (
                "weekend only",
                window(&[6, 7], "00:00", "24:00", 0),
                monday_0830,
                false,
            ),
            (
                "sunday late UTC is monday in Tokyo",
                window(&[1], "00:00", "24:00", 540),
                monday_0830 - 10 * hour,
                true,
            ),
            (
                "negative offset: still sunday",
                window(&[1], "00:00", "24:00", -300),
                monday_0830 - 5 * hour,
                false,
            ),
            (
                "before 1970 does not panic",
                window(&[4], "00:00", "24:00", 0),
                -1,
                false,
            ),
        ];
        for (name, w, now, want) in cases {
            let w = w.clone().validated().unwrap();
            assert_eq!(w.contains(*now), *want, "{name}");
        }
        let bad = [
            window(&[], "08:00", "18:00", 0),
            window(&[8], "08:00", "18:00", 0),
            window(&[1], "18:00", "08:00", 0),
            window(&[1], "8:00", "18:00", 0),
            window(&[1], "08:00", "24:01", 0),
            window(&[1], "08:00", "18:00", 900),
        ];
        for w in bad {
            assert_eq!(
                w.clone().validated().err().map(|e| e.code().as_str()),
                Some("window_invalid"),
                "{w:?}"
            );
        }
        assert_eq!(
            window(&[1, 2], "08:00", "18:00", -90).describe(),
            "Mon, Tue 08:00-18:00 UTC-01:30"
        );
    }

    #[test]
    fn tags_are_checked_and_sorted() {
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            tags(&s(&["rail", "automotive", "rail"])).unwrap(),
            s(&["automotive", "rail"])
        );
        for bad in [
            s(&["Automotive"]),
            s(&[""]),
            s(&["a b"]),
            vec!["x".into(); 33],
        ] {
            assert_eq!(
                tags(&bad).err().map(|e| e.code().as_str()),
                Some("tag_invalid")
            );
        }
    }
}
