//! The light-touch guard: how often a customer has been reached lately (by
//! anyone in the store), and whether a promotion may go to them. Consent and
//! do-not-contact cannot be bypassed; caps hold promotions until the window
//! has room again. Service messages (after-sale care, a scheduled follow-up)
//! are never capped, but never carry a promotion either.

use crate::Outreach;
use chrono::{Duration, NaiveDate, NaiveTime};
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GuardSettings {
    /// Promotions at most this many per 7 days.
    pub per_week: u32,
    /// … and this many per 30 days.
    pub per_month: u32,
    /// No outreach from this local time (HH:MM) …
    pub quiet_from: String,
    /// … until this one.
    pub quiet_until: String,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            per_week: 1,
            per_month: 4,
            quiet_from: "21:00".into(),
            quiet_until: "09:00".into(),
        }
    }
}

impl GuardSettings {
    fn time(field: &str, s: &str) -> Result<NaiveTime> {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map_err(|_| BookError::invalid(field, format!("{s:?} is not a time like 21:00")))
    }

    fn validate(&self) -> Result<()> {
        if self.per_week == 0 || self.per_month == 0 {
            return Err(BookError::invalid(
                "per_week",
                "a cap of 0 would silence every customer; use do-not-contact instead",
            ));
        }
        if self.per_month < self.per_week {
            return Err(BookError::invalid(
                "per_month",
                "cannot be lower than the weekly cap",
            ));
        }
        Self::time("quiet_from", &self.quiet_from)?;
        Self::time("quiet_until", &self.quiet_until)?;
        Ok(())
    }

    /// Whether `at` (local time) falls in the quiet hours.
    pub fn is_quiet(&self, at: NaiveTime) -> bool {
        let (Ok(from), Ok(until)) = (
            Self::time("quiet_from", &self.quiet_from),
            Self::time("quiet_until", &self.quiet_until),
        ) else {
            return false;
        };
        if from <= until {
            at >= from && at < until
        } else {
            at >= from || at < until
        }
    }
}

/// Recent contact with one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactPressure {
    /// Promotions in the last 7 days (today included).
    pub last_7_days: u32,
    /// Promotions in the last 30 days.
    pub last_30_days: u32,
    /// The last contact of any kind (YYYY-MM-DD).
    pub last_contact: Option<String>,
}

/// Why a customer gets no promotion now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum HoldReason {
    DoNotContact,
    NoConsent,
    /// Reached `count` times in 7 days; room again on `until`.
    WeeklyCap {
        count: u32,
        until: String,
    },
    MonthlyCap {
        count: u32,
        until: String,
    },
}

impl HoldReason {
    pub fn code(&self) -> &'static str {
        match self {
            HoldReason::DoNotContact => "do_not_contact",
            HoldReason::NoConsent => "no_consent",
            HoldReason::WeeklyCap { .. } => "weekly_cap",
            HoldReason::MonthlyCap { .. } => "monthly_cap",
        }
    }
}

/// Promotions already sent to a customer (their days), and their last contact.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactHistory {
    pub promotions: Vec<NaiveDate>,
    pub last_contact: Option<NaiveDate>,
}

impl ContactHistory {
    pub fn pressure(&self, today: NaiveDate) -> ContactPressure {
        let within = |days: i64| {
            self.promotions
                .iter()
                .filter(|d| **d <= today && (today - **d).num_days() < days)
                .count() as u32
        };
        ContactPressure {
            last_7_days: within(7),
            last_30_days: within(30),
            last_contact: self.last_contact.map(|d| d.format("%Y-%m-%d").to_string()),
        }
    }

    /// The first day from which a window of `days` holds fewer than `cap`.
    fn room_again(&self, today: NaiveDate, days: i64, cap: u32) -> NaiveDate {
        let mut recent: Vec<NaiveDate> = self
            .promotions
            .iter()
            .copied()
            .filter(|d| *d <= today && (today - *d).num_days() < days)
            .collect();
        recent.sort();
        let excess = recent.len() + 1 - cap as usize;
        recent
            .get(excess - 1)
            .map_or(today, |d| *d + Duration::days(days))
    }

    pub fn hold(
        &self,
        consent: bool,
        do_not_contact: bool,
        settings: &GuardSettings,
        today: NaiveDate,
    ) -> Option<HoldReason> {
        if do_not_contact {
            return Some(HoldReason::DoNotContact);
        }
        if !consent {
            return Some(HoldReason::NoConsent);
        }
        let p = self.pressure(today);
        if p.last_7_days >= settings.per_week {
            let until = self.room_again(today, 7, settings.per_week);
            return Some(HoldReason::WeeklyCap {
                count: p.last_7_days,
                until: until.format("%Y-%m-%d").to_string(),
            });
        }
        if p.last_30_days >= settings.per_month {
            let until = self.room_again(today, 30, settings.per_month);
            return Some(HoldReason::MonthlyCap {
                count: p.last_30_days,
                until: until.format("%Y-%m-%d").to_string(),
            });
        }
        None
    }
}

/// Touchpoint kinds that count as a promotion against the caps.
pub(crate) const PROMOTION_KINDS: &[&str] = &["outreach"];

impl Outreach {
    pub fn guard_settings(&self, book: &Book) -> Result<GuardSettings> {
        Ok(book
            .device_value("guard_settings")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub fn update_guard_settings(
        &mut self,
        book: &mut Book,
        s: &GuardSettings,
    ) -> Result<GuardSettings> {
        s.validate()?;
        let json = serde_json::to_string(s).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        book.set_device_value("guard_settings", &json)?;
        book.committed(lighttouch_book::store::Touched::none());
        Ok(s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn caps_hold_promotions_until_the_window_has_room() {
        let s = GuardSettings::default();
        let today = d("2026-11-24");
        let h = ContactHistory {
            promotions: vec![d("2026-11-20")],
            last_contact: Some(d("2026-11-20")),
        };
        assert_eq!(
            h.hold(true, false, &s, today),
            Some(HoldReason::WeeklyCap {
                count: 1,
                until: "2026-11-27".into()
            })
        );
        assert_eq!(h.hold(true, false, &s, d("2026-11-27")), None);
        let month = ContactHistory {
            promotions: vec![
                d("2026-10-30"),
                d("2026-11-06"),
                d("2026-11-12"),
                d("2026-11-16"),
            ],
            last_contact: None,
        };
        assert_eq!(
            month.hold(true, false, &s, today),
            Some(HoldReason::MonthlyCap {
                count: 4,
                until: "2026-11-29".into()
            })
        );
        assert_eq!(month.pressure(today).last_30_days, 4);
    }

    #[test]
    fn consent_and_do_not_contact_come_first() {
        let s = GuardSettings::default();
        let none = ContactHistory::default();
        let today = d("2026-11-24");
        assert_eq!(
            none.hold(false, false, &s, today),
            Some(HoldReason::NoConsent)
        );
        assert_eq!(
            none.hold(true, true, &s, today),
            Some(HoldReason::DoNotContact)
        );
        assert_eq!(none.hold(true, false, &s, today), None);
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let s = GuardSettings::default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(s.is_quiet(t(22, 0)) && s.is_quiet(t(3, 0)) && s.is_quiet(t(21, 0)));
        assert!(!s.is_quiet(t(9, 0)) && !s.is_quiet(t(14, 30)));
        let bad = GuardSettings {
            quiet_from: "9pm".into(),
            ..GuardSettings::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("quiet_from"));
    }
}
