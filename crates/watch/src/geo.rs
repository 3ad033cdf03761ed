//! Where addresses are: IPv4 ranges, their countries and network zones, the
//! caller's own table — in the server, its network zones (each a name, a
//! country and ranges) — for the new-country rule and the new-zone feature.
//! IPv6 ranges are not read yet.

/// IPv4 ranges, their countries and zones.
#[derive(Clone, Debug, Default)]
pub struct Geo {
    ranges: Vec<Range>,
}

#[derive(Clone, Debug)]
struct Range {
    lo: u32,
    hi: u32,
    country: String,
    zone: Option<String>,
}

impl Geo {
    /// Adds `cidr` (`a.b.c.d/n`) as being in `country`.
    pub fn add(&mut self, cidr: &str, country: &str) -> Result<(), String> {
        self.add_range(cidr, country, None)
    }

    /// Adds `cidr` as network zone `zone` in `country`.
    pub fn add_zone(&mut self, cidr: &str, country: &str, zone: &str) -> Result<(), String> {
        self.add_range(cidr, country, Some(zone))
    }

    fn add_range(&mut self, cidr: &str, country: &str, zone: Option<&str>) -> Result<(), String> {
        let (addr, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
        let ip = ipv4(addr).ok_or_else(|| format!("`{cidr}` is not an IPv4 range"))?;
        let bits: u32 = bits
            .parse()
            .ok()
            .filter(|b| *b <= 32)
            .ok_or_else(|| format!("`{cidr}` has a bad prefix length"))?;
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        self.ranges.push(Range {
            lo: ip & mask,
            hi: (ip & mask) | !mask,
            country: country.to_owned(),
            zone: zone.map(str::to_owned),
        });
        Ok(())
    }

    /// The narrowest range holding `addr` (and, with `zoned`, naming a zone).
    fn narrowest(&self, addr: &str, zoned: bool) -> Option<&Range> {
        let ip = ipv4(addr)?;
        self.ranges
            .iter()
            .filter(|r| (r.lo..=r.hi).contains(&ip) && (!zoned || r.zone.is_some()))
            .min_by_key(|r| r.hi - r.lo)
    }

    /// The country of `addr`, the narrowest range first.
    pub fn country(&self, addr: &str) -> Option<&str> {
        self.narrowest(addr, false).map(|r| r.country.as_str())
    }

    /// The network zone of `addr`, the narrowest zoned range first.
    pub fn zone(&self, addr: &str) -> Option<&str> {
        self.narrowest(addr, true).and_then(|r| r.zone.as_deref())
    }
}

fn ipv4(text: &str) -> Option<u32> {
    text.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

impl Geo {
    /// Reads a table of `CIDR COUNTRY` lines (`#` starts a comment).
    pub fn parse(text: &str) -> Result<Geo, String> {
        let mut geo = Geo::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(cidr), Some(country), None) = (words.next(), words.next(), words.next())
            else {
                return Err(format!("line {}: expected `CIDR COUNTRY`", n + 1));
            };
            geo.add(cidr, country)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(geo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geo_picks_the_narrowest_range() {
        let mut geo = Geo::default();
        geo.add("10.0.0.0/8", "AA").unwrap();
        geo.add("10.1.0.0/16", "BB").unwrap();
        geo.add_zone("10.1.2.0/24", "BB", "lab").unwrap();
        geo.add_zone("10.0.0.0/8", "AA", "corp").unwrap();
        let zones = [
            ("10.1.2.3", Some("lab")),
            ("10.1.3.3", Some("corp")),
            ("11.0.0.1", None),
        ];
        for (addr, want) in zones {
            assert_eq!(geo.zone(addr), want, "{addr}");
        }
        let table = [
            ("10.1.2.3", Some("BB")),
            ("10.1.3.3", Some("BB")),
            ("10.2.0.1", Some("AA")),
            ("11.0.0.1", None),
            ("::1", None),
            ("not an address", None),
        ];
        for (addr, want) in table {
            assert_eq!(geo.country(addr), want, "{addr}");
        }
        assert!(geo.add("10.0.0.0/33", "X").is_err());
        assert!(geo.add("ten/8", "X").is_err());
    }

    #[test]
    fn geo_tables() {
        let geo = Geo::parse("# ranges\n10.0.0.0/8 FR\n\n192.0.2.0/24 NG # test\n").unwrap();
        assert_eq!(geo.country("192.0.2.1"), Some("NG"));
        assert_eq!(geo.country("10.9.9.9"), Some("FR"));
        let bad = [
            ("10.0.0.0/8", "line 1: expected `CIDR COUNTRY`"),
            ("x FR", "line 1: `x` is not an IPv4 range"),
            ("1.2.3.4/8 FR GB", "line 1: expected `CIDR COUNTRY`"),
        ];
        for (text, want) in bad {
            assert_eq!(Geo::parse(text).unwrap_err(), want);
        }
    }
}
