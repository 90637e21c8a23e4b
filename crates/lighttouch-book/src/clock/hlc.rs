//! Hybrid logical clock: wall time in milliseconds, a counter for events in the
//! same millisecond (or while the wall clock stands behind the last stamp), and
//! the device ID to break ties. Its string form sorts like the clock itself, so
//! SQL can compare stamps with `>`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub node: Uuid,
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:013}-{:06}-{}",
            self.millis,
            self.counter,
            self.node.simple()
        )
    }
}

impl FromStr for Hlc {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a hybrid logical clock stamp: {s:?}");
        let mut parts = s.splitn(3, '-');
        let millis = parts.next().ok_or_else(bad)?;
        let counter = parts.next().ok_or_else(bad)?;
        let node = parts.next().ok_or_else(bad)?;
        if millis.len() != 13 || counter.len() != 6 {
            return Err(bad());
        }
        Ok(Hlc {
            millis: millis.parse().map_err(|_| bad())?,
            counter: counter.parse().map_err(|_| bad())?,
            node: Uuid::parse_str(node).map_err(|_| bad())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Issues strictly increasing stamps for one device.
#[derive(Debug, Clone)]
pub struct HlcGenerator {
    last: Hlc,
}

impl HlcGenerator {
    pub fn new(node: Uuid, last_seen: Option<Hlc>) -> Self {
        HlcGenerator {
            last: last_seen.unwrap_or(Hlc {
                millis: 0,
                counter: 0,
                node,
            }),
        }
        .with_node(node)
    }

    fn with_node(mut self, node: Uuid) -> Self {
        self.last.node = node;
        self
    }

    /// A new stamp, later than every stamp issued or observed so far.
    pub fn tick(&mut self, wall_millis: u64) -> Hlc {
        if wall_millis > self.last.millis {
            self.last.millis = wall_millis;
            self.last.counter = 0;
        } else {
            self.bump_counter();
        }
        self.last
    }

    /// Takes a remote stamp into account so that later local stamps sort after it.
    pub fn observe(&mut self, remote: &Hlc) {
        if (remote.millis, remote.counter) > (self.last.millis, self.last.counter) {
            self.last.millis = remote.millis;
            self.last.counter = remote.counter;
        }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    fn bump_counter(&mut self) {
        // A counter overflow would need four billion writes in one millisecond;
        // moving on to the next millisecond keeps the order anyway.
        match self.last.counter.checked_add(1) {
            Some(c) if c < 1_000_000 => self.last.counter = c,
            _ => {
                self.last.millis += 1;
                self.last.counter = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn stamps_increase_even_when_the_wall_clock_goes_back() {
        let mut g = HlcGenerator::new(node(1), None);
        let a = g.tick(1_000);
        let b = g.tick(1_000);
        let c = g.tick(500);
        let d = g.tick(2_000);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(c.millis, 1_000);
        assert_eq!(c.counter, 2);
    }

    #[test]
    fn string_form_sorts_like_the_clock() {
        let mut g = HlcGenerator::new(node(7), None);
        let mut stamps: Vec<Hlc> = (0..50).map(|i| g.tick(1_700_000_000_000 + i / 7)).collect();
        stamps.push(Hlc {
            millis: 9,
            counter: 0,
            node: node(1),
        });
        let mut by_string = stamps.clone();
        by_string.sort_by_key(|h| h.to_string());
        stamps.sort();
        assert_eq!(stamps, by_string);
        for h in &stamps {
            assert_eq!(h.to_string().parse::<Hlc>().unwrap(), *h);
        }
    }

    #[test]
    fn observing_a_remote_stamp_moves_local_stamps_past_it() {
        let mut g = HlcGenerator::new(node(1), None);
        g.tick(1_000);
        let remote = Hlc {
            millis: 5_000,
            counter: 3,
            node: node(2),
        };
        g.observe(&remote);
        let next = g.tick(1_001);
        assert!(next > remote);
        assert_eq!(next.node, node(1));
    }

    #[test]
    fn malformed_stamps_are_rejected() {
        for s in ["", "1-2-3", "0000000001000-000000-zz", "x"] {
            assert!(s.parse::<Hlc>().is_err(), "{s}");
        }
    }
}
