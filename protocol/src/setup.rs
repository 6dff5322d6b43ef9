//! A department's own setup, checked by one rule wherever it is typed (the setup screens, the
//! command line, the server before storing): the shift patterns (which hours, which days) and
//! the dosage rules that say how much patrol a place gets.
//!
//! A shift is wall-clock times in the department's zone, so on a daylight-saving day a night
//! shift is an hour longer or shorter; the server turns a pattern and a date into instants
//! (`app::shift`). Shifts may cross midnight and may overlap (a power shift laid over two
//! others is normal): overlap is shown, never refused.
//!
//! ```
//! use protocol::setup::{Days, ShiftPattern};
//! let night = ShiftPattern::new("C", "Night", "22:00", "06:00", Days::ALL);
//! assert_eq!(night.check(), Ok(()));
//! assert_eq!(night.length_minutes(), 480);
//! let empty = ShiftPattern::new("D", "Day", "08:00", "08:00", Days::ALL);
//! assert_eq!(empty.check().expect_err("refused").field, "ends_local");
//! ```

use serde::{Deserialize, Serialize};

use crate::menu::FieldError;
use crate::text::Lines;

fn invalid(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError { field, reason: reason.into() }
}

/// The days of the week a shift starts on: bit 0 is Monday, bit 6 Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Days(pub u8);

/// Day names, Monday first (ISO 8601's order, and jiff's `to_monday_zero_offset`).
pub const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl Days {
    /// Every day of the week.
    pub const ALL: Days = Days(0b111_1111);
    /// Monday to Friday.
    pub const WEEKDAYS: Days = Days(0b001_1111);

    /// Whether the shift starts on this day (0 = Monday … 6 = Sunday).
    pub fn has(self, day: u8) -> bool {
        day < 7 && self.0 & (1 << day) != 0
    }

    /// With `day` (0 = Monday) added or taken away.
    #[must_use]
    pub fn with(self, day: u8, on: bool) -> Days {
        if day >= 7 {
            return self;
        }
        Days(if on { self.0 | (1 << day) } else { self.0 & !(1 << day) })
    }

    /// No day at all.
    pub fn is_empty(self) -> bool {
        self.0 & 0b111_1111 == 0
    }

    /// As people write it: "every day", "Mon–Fri", "Fri–Mon", "Sat, Sun", "Mon, Wed, Fri".
    pub fn label(self) -> String {
        if self.0 & 0b111_1111 == 0b111_1111 {
            return "every day".into();
        }
        if self.is_empty() {
            return "no day".into();
        }
        // Read the week from Monday, or from the first day after a gap when a run wraps past
        // Sunday (Fri–Mon is one run). A run of three or more days is a range; shorter runs are
        // listed.
        let first =
            if self.has(0) && self.has(6) { (1..7).find(|d| !self.has(d - 1) && self.has(*d)).unwrap_or(0) } else { 0 };
        let order: Vec<u8> = (0..7).map(|i| (first + i) % 7).collect();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.has(order[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < 7 && self.has(order[i + 1]) {
                i += 1;
            }
            let name = |k: usize| DAY_NAMES[order[k] as usize];
            if i - start >= 2 {
                parts.push(format!("{}–{}", name(start), name(i)));
            } else {
                parts.extend((start..=i).map(|k| name(k).to_string()));
            }
            i += 1;
        }
        parts.join(", ")
    }

    /// Reads "every day", "all", "Mon-Fri", "sat,sun", "Mon Wed Fri" (case-insensitive; a range
    /// may wrap past Sunday, "Fri-Mon").
    ///
    /// # Errors
    /// The word that is not a day.
    pub fn parse(text: &str) -> Result<Days, String> {
        let t = text.trim().to_ascii_lowercase();
        if t == "every day" || t == "all" || t == "daily" {
            return Ok(Days::ALL);
        }
        let day = |w: &str| -> Result<u8, String> {
            let w = w.trim();
            let prefix = w.get(..3).filter(|_| w.is_ascii()).unwrap_or("");
            DAY_NAMES
                .iter()
                .position(|n| !prefix.is_empty() && n.eq_ignore_ascii_case(prefix))
                .map(|p| p as u8)
                .ok_or_else(|| format!("'{w}' is not a day of the week (Mon … Sun)"))
        };
        let mut days = Days(0);
        for part in t.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
            match part.split_once(['-', '–']) {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        days = days.with(d, true);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days = days.with(day(part)?, true),
            }
        }
        Ok(days)
    }
}

/// A shift pattern: the hours it runs, local wall-clock, and the days it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftPattern {
    /// Code, e.g. `A` or `days` (in mission records and links).
    pub code: String,
    /// Name, e.g. `Day watch`.
    pub name: String,
    /// Local start, `HH:MM`.
    pub starts_local: String,
    /// Local end, `HH:MM`; earlier than the start when the shift crosses midnight.
    pub ends_local: String,
    /// The days it starts on.
    pub days: Days,
}

/// Minutes after midnight of an `HH:MM` time of day.
///
/// # Errors
/// Why it is not one.
pub fn minute_of_day(t: &str) -> Result<u16, String> {
    let bad = || format!("'{t}' is not a time of day written HH:MM (00:00 to 23:59)");
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 {
        return Err(bad());
    }
    if h > 23 {
        return Err(format!(
            "'{t}' is past midnight: write the end as a time of day (a shift that crosses midnight ends the next \
             morning), and no shift lasts more than 24 hours"
        ));
    }
    Ok(h * 60 + m)
}

/// Minutes in a week.
const WEEK: u32 = 7 * 1440;

impl ShiftPattern {
    /// A pattern from its parts.
    pub fn new(code: &str, name: &str, starts_local: &str, ends_local: &str, days: Days) -> ShiftPattern {
        ShiftPattern {
            code: code.into(),
            name: name.into(),
            starts_local: starts_local.into(),
            ends_local: ends_local.into(),
            days,
        }
    }

    /// Checks every field: a code of letters, digits, `-` and `_`; a name; two times of day
    /// that differ (a shift needs a length, and is shorter than a day); at least one day.
    ///
    /// # Errors
    /// The first bad field and why.
    pub fn check(&self) -> Result<(), FieldError> {
        let code = self.code.trim();
        if code.is_empty() || code.chars().count() > 16 {
            return Err(invalid("code", "must be 1 to 16 characters"));
        }
        if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid("code", format!("'{code}': only letters, digits, '-' and '_'")));
        }
        let name = self.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "must be 1 to 60 characters"));
        }
        crate::text::check(name, 60, Lines::One).map_err(|r| invalid("name", r))?;
        let start = minute_of_day(self.starts_local.trim()).map_err(|r| invalid("starts_local", r))?;
        let end = minute_of_day(self.ends_local.trim()).map_err(|r| invalid("ends_local", r))?;
        if start == end {
            return Err(invalid(
                "ends_local",
                format!("the shift starts and ends at {}: it needs a length (less than 24 hours)", self.starts_local),
            ));
        }
        if self.days.is_empty() {
            return Err(invalid("days", "choose at least one day the shift runs"));
        }
        Ok(())
    }

    /// `(start, end)` as minutes after midnight (both valid after [`ShiftPattern::check`];
    /// midnight when unreadable).
    fn minutes(&self) -> (u32, u32) {
        let m = |t: &str| u32::from(minute_of_day(t.trim()).unwrap_or(0));
        (m(&self.starts_local), m(&self.ends_local))
    }

    /// Its length on a day without a clock change, minutes (1 to 1439 once checked).
    pub fn length_minutes(&self) -> u32 {
        let (s, e) = self.minutes();
        (e + 1440 - s) % 1440
    }

    /// Whether it crosses midnight.
    pub fn crosses_midnight(&self) -> bool {
        let (s, e) = self.minutes();
        e <= s
    }

    /// Its runs in the week, as minute intervals from Monday 00:00 (a run may reach past the
    /// end of Sunday; the overlap test folds it back).
    fn runs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let (s, _) = self.minutes();
        let len = self.length_minutes();
        (0..7u8).filter(|d| self.days.has(*d)).map(move |d| {
            let from = u32::from(d) * 1440 + s;
            (from, from + len)
        })
    }

    /// Whether some run of this shift and some run of `other` share a minute (on wall-clock
    /// time; a week wraps, so Sunday's night shift meets Monday's day shift).
    pub fn overlaps(&self, other: &ShiftPattern) -> bool {
        self.runs().any(|(a0, a1)| {
            other.runs().any(|(b0, b1)| {
                // Compare each pair also shifted by a week either way.
                [0i64, i64::from(WEEK), -i64::from(WEEK)].iter().any(|k| {
                    let (b0, b1) = (i64::from(b0) + k, i64::from(b1) + k);
                    i64::from(a0) < b1 && b0 < i64::from(a1)
                })
            })
        })
    }

    /// "22:00–06:00 (8 h, into the next day), every day".
    pub fn describe(&self) -> String {
        let len = self.length_minutes();
        let hours =
            if len.is_multiple_of(60) { format!("{} h", len / 60) } else { format!("{} h {} min", len / 60, len % 60) };
        let next = if self.crosses_midnight() { ", into the next day" } else { "" };
        format!("{}–{} ({hours}{next}), {}", self.starts_local, self.ends_local, self.days.label())
    }
}

/// How much patrol a place gets: the department's dosage rules, set by command and versioned
/// (each change is a new version, audited; an edit made from an older version is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosageRules {
    /// A stop counts as a Koper visit from this many minutes in place (Koper 1995: about 10 to
    /// 15 minutes is best).
    pub koper_min_minutes: i64,
    /// Minutes in place past which a visit adds nothing (Koper's curve falls off after about
    /// 15 minutes).
    pub koper_max_minutes: i64,
    /// Completed Koper visits per place per shift, the target a plan aims at.
    pub target_visits: i64,
    /// Visits per place per 24 hours past which it is not proposed again.
    pub cap_visits: i64,
    /// Minutes in place per 24 hours past which it is not proposed again.
    pub cap_minutes: i64,
    /// Places a shift's plan proposes per district.
    pub places_per_shift: i64,
    /// The weight of the violent track in the ranking, in percent of the harm table's weight
    /// (100 = as the table says). Command staff weigh the tracks to the department's priorities;
    /// the plan says which weights ranked it.
    #[serde(default = "full_weight")]
    pub violent_weight_pct: i64,
    /// The weight of the property track, in percent.
    #[serde(default = "full_weight")]
    pub property_weight_pct: i64,
    /// The weight of the quality-of-life track, in percent.
    #[serde(default = "full_weight")]
    pub quality_of_life_weight_pct: i64,
    /// The weight of calls for service, an optional quality-of-life track, in percent of the
    /// department's call weight table (docs/HARM.md): 0, the default, leaves calls out. A call
    /// that became an incident counts once, as the incident.
    #[serde(default)]
    pub calls_weight_pct: i64,
}

fn full_weight() -> i64 {
    100
}

/// The harm tracks a department weighs, in the order screens list them: (key, label).
pub const TRACKS: [(&str, &str); 3] =
    [("violent", "violent"), ("property", "property"), ("quality_of_life", "quality of life")];

impl Default for DosageRules {
    /// The rules Beatbook shipped with before a department set its own.
    fn default() -> Self {
        DosageRules {
            koper_min_minutes: 10,
            koper_max_minutes: 16,
            target_visits: 3,
            cap_visits: 6,
            cap_minutes: 90,
            places_per_shift: 20,
            violent_weight_pct: 100,
            property_weight_pct: 100,
            quality_of_life_weight_pct: 100,
            calls_weight_pct: 0,
        }
    }
}

impl DosageRules {
    /// Checks each figure and that they fit together (a cap is never below the target).
    ///
    /// # Errors
    /// The first bad field and why.
    pub fn check(&self) -> Result<(), FieldError> {
        let range = |field: &'static str, v: i64, lo: i64, hi: i64, unit: &str| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(invalid(field, format!("must be {lo} to {hi} {unit} ({v} given)")))
            }
        };
        range("koper_min_minutes", self.koper_min_minutes, 1, 60, "minutes")?;
        range("koper_max_minutes", self.koper_max_minutes, 1, 240, "minutes")?;
        if self.koper_max_minutes < self.koper_min_minutes {
            return Err(invalid(
                "koper_max_minutes",
                format!(
                    "{} minutes is below the {} minutes a Koper visit starts at",
                    self.koper_max_minutes, self.koper_min_minutes
                ),
            ));
        }
        range("target_visits", self.target_visits, 1, 20, "visits")?;
        range("cap_visits", self.cap_visits, 1, 50, "visits")?;
        if self.cap_visits < self.target_visits {
            return Err(invalid(
                "cap_visits",
                format!(
                    "a cap of {} visits in 24 hours is below the target of {} a shift: the target could never be met",
                    self.cap_visits, self.target_visits
                ),
            ));
        }
        range("cap_minutes", self.cap_minutes, 1, 1440, "minutes")?;
        let needed = self.target_visits * self.koper_min_minutes;
        if self.cap_minutes < needed {
            return Err(invalid(
                "cap_minutes",
                format!(
                    "a cap of {} minutes in 24 hours is below the {needed} minutes the target needs ({} visits of {} \
                     minutes)",
                    self.cap_minutes, self.target_visits, self.koper_min_minutes
                ),
            ));
        }
        range("places_per_shift", self.places_per_shift, 1, 100, "places")?;
        range("violent_weight_pct", self.violent_weight_pct, 0, 500, "percent")?;
        range("property_weight_pct", self.property_weight_pct, 0, 500, "percent")?;
        range("quality_of_life_weight_pct", self.quality_of_life_weight_pct, 0, 500, "percent")?;
        range("calls_weight_pct", self.calls_weight_pct, 0, 500, "percent")?;
        if self.violent_weight_pct + self.property_weight_pct + self.quality_of_life_weight_pct + self.calls_weight_pct
            == 0
        {
            return Err(invalid(
                "violent_weight_pct",
                "at least one track must weigh more than 0 percent: only offences no track map knows would rank",
            ));
        }
        Ok(())
    }

    /// The weight of a harm track as a factor (1.0 = as the harm table says); offences no
    /// track map knows (`unclassified`) keep the table's weight.
    pub fn track_weight(&self, track: &str) -> f64 {
        let pct = match track {
            "violent" => self.violent_weight_pct,
            "property" => self.property_weight_pct,
            "quality_of_life" => self.quality_of_life_weight_pct,
            _ => 100,
        };
        pct as f64 / 100.0
    }

    /// The weight of calls for service as a factor of the call weight table's; 0 = off.
    pub fn calls_weight(&self) -> f64 {
        self.calls_weight_pct as f64 / 100.0
    }

    /// True when every track weighs as the harm table says and calls are left out.
    pub fn weights_are_neutral(&self) -> bool {
        TRACKS.iter().all(|(t, _)| self.track_weight(t) == 1.0) && self.calls_weight_pct == 0
    }

    /// The weights as people read them: "violent ×1.5, property ×1, quality of life ×0.5",
    /// with ", calls for service ×1" when calls are on.
    pub fn weights_label(&self) -> String {
        let mut parts: Vec<String> =
            TRACKS.iter().map(|(t, label)| format!("{label} ×{}", self.track_weight(t))).collect();
        if self.calls_weight_pct > 0 {
            parts.push(format!("calls for service ×{}", self.calls_weight()));
        }
        parts.join(", ")
    }

    /// The rules in one line, as the history, the audit trail and the command line show them.
    pub fn summary(&self) -> String {
        format!(
            "Koper visit {}–{} min; target {} visits a shift; cap {} visits and {} min in 24 h; {} places a shift; \
             track weights {}",
            self.koper_min_minutes,
            self.koper_max_minutes,
            self.target_visits,
            self.cap_visits,
            self.cap_minutes,
            self.places_per_shift,
            self.weights_label()
        )
    }
}

/// One version of the dosage rules, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosageVersion {
    /// 1, 2, …; 0 is Beatbook's defaults, in force until command sets rules.
    pub version: i64,
    /// The rules.
    pub rules: DosageRules,
    /// Who set them (display name; empty for the defaults or the command line).
    pub set_by: String,
    /// When, UTC seconds (0 for the defaults).
    pub set_at: i64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterReport {
    /// Accounts created (usernames).
    pub created: Vec<String>,
    /// Existing accounts whose role, district, squad or unit now follow the roster.
    pub updated: Vec<String>,
    /// Squads written (codes).
    pub squads: Vec<String>,
    /// Units written (call signs).
    pub units: Vec<String>,
}

/// A squad as the setup screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Squad {
    /// Its code ("2B").
    pub code: String,
    /// The district it works.
    pub district: String,
    /// The sergeant's display name.
    pub sergeant: String,
    /// The members' display names (the sergeant first), by name.
    pub members: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift(code: &str, s: &str, e: &str, days: Days) -> ShiftPattern {
        ShiftPattern::new(code, "Watch", s, e, days)
    }

    #[test]
    fn a_shift_needs_a_length_under_a_day_a_code_and_a_day() {
        assert_eq!(shift("A", "06:00", "14:00", Days::ALL).check(), Ok(()));
        assert_eq!(shift("C", "22:00", "06:00", Days::ALL).check(), Ok(()), "crossing midnight is valid");
        let zero = shift("A", "06:00", "06:00", Days::ALL).check().expect_err("refused");
        assert_eq!(zero.field, "ends_local");
        assert!(zero.reason.contains("needs a length"), "{zero}");
        let long = shift("A", "06:00", "30:00", Days::ALL).check().expect_err("refused");
        assert_eq!(long.field, "ends_local");
        assert!(long.reason.contains("more than 24 hours"), "{long}");
        assert_eq!(shift("A", "6:00", "14:00", Days::ALL).check().expect_err("refused").field, "starts_local");
        assert_eq!(shift("A", "06:60", "14:00", Days::ALL).check().expect_err("refused").field, "starts_local");
        assert_eq!(shift("A", "06:00", "14:00", Days(0)).check().expect_err("refused").field, "days");
        assert_eq!(shift("", "06:00", "14:00", Days::ALL).check().expect_err("refused").field, "code");
        assert_eq!(shift("A B", "06:00", "14:00", Days::ALL).check().expect_err("refused").field, "code");
        let mut nameless = shift("A", "06:00", "14:00", Days::ALL);
        nameless.name = "  ".into();
        assert_eq!(nameless.check().expect_err("refused").field, "name");
        nameless.name = "Day\u{202E}".into();
        assert_eq!(nameless.check().expect_err("refused").field, "name");
    }

    #[test]
    fn lengths_and_descriptions_read_as_a_person_would_say_them() {
        assert_eq!(shift("C", "22:00", "06:00", Days::ALL).length_minutes(), 480);
        assert_eq!(shift("D", "07:30", "17:45", Days::ALL).length_minutes(), 615);
        assert_eq!(shift("E", "00:00", "23:59", Days::ALL).length_minutes(), 1439);
        assert_eq!(
            shift("C", "22:00", "06:00", Days::WEEKDAYS).describe(),
            "22:00–06:00 (8 h, into the next day), Mon–Fri"
        );
        assert_eq!(shift("D", "07:30", "17:45", Days(0b110_0000)).describe(), "07:30–17:45 (10 h 15 min), Sat, Sun");
        assert_eq!(Days(0b001_0101).label(), "Mon, Wed, Fri");
        assert_eq!(Days::ALL.label(), "every day");
        assert_eq!(Days(0b111_0001).label(), "Fri–Mon", "a run across the week's end is one range");
        assert_eq!(Days(0b100_0001).label(), "Sun, Mon");
        assert_eq!(Days(0b100_0101).label(), "Wed, Sun, Mon");
    }

    #[test]
    fn days_parse_names_lists_and_ranges_that_wrap() {
        assert_eq!(Days::parse("every day"), Ok(Days::ALL));
        assert_eq!(Days::parse("Mon-Fri"), Ok(Days::WEEKDAYS));
        assert_eq!(Days::parse("sat, sun"), Ok(Days(0b110_0000)));
        assert_eq!(Days::parse("Fri-Mon"), Ok(Days(0b111_0001)));
        assert_eq!(Days::parse("Monday Wednesday"), Ok(Days(0b000_0101)));
        assert!(Days::parse("Funday").expect_err("refused").contains("'funday'"));
        assert_eq!(Days::parse(""), Ok(Days(0)), "nothing parses to no day, which check refuses");
    }

    #[test]
    fn overlap_is_found_across_midnight_and_across_the_week_end() {
        let day = shift("A", "06:00", "14:00", Days::ALL);
        let evening = shift("B", "14:00", "22:00", Days::ALL);
        let night = shift("C", "22:00", "06:00", Days::ALL);
        let power = shift("P", "18:00", "02:00", Days(0b011_0000)); // Fri, Sat
        assert!(!day.overlaps(&evening), "back to back is not overlap");
        assert!(!night.overlaps(&day), "the night ends as the day starts");
        assert!(power.overlaps(&evening) && power.overlaps(&night) && !power.overlaps(&day));
        // Sunday's night shift runs into Monday morning: it overlaps a Monday-only early shift.
        let sunday_night = shift("S", "23:00", "07:00", Days(0b100_0000));
        let monday_early = shift("M", "05:00", "09:00", Days(0b000_0001));
        assert!(sunday_night.overlaps(&monday_early) && monday_early.overlaps(&sunday_night));
        let tuesday_early = shift("T", "05:00", "09:00", Days(0b000_0010));
        assert!(!sunday_night.overlaps(&tuesday_early));
    }

    #[test]
    fn dosage_caps_never_fall_below_the_target() {
        assert_eq!(DosageRules::default().check(), Ok(()));
        let cap =
            DosageRules { cap_visits: 2, target_visits: 3, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!(cap.field, "cap_visits");
        assert!(cap.reason.contains("below the target of 3"), "{cap}");
        let minutes = DosageRules { cap_minutes: 20, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!(minutes.field, "cap_minutes");
        assert!(minutes.reason.contains("30 minutes the target needs"), "{minutes}");
        let koper = DosageRules { koper_max_minutes: 5, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!(koper.field, "koper_max_minutes");
        let nothing = DosageRules {
            violent_weight_pct: 0,
            property_weight_pct: 0,
            quality_of_life_weight_pct: 0,
            ..DosageRules::default()
        };
        assert_eq!(nothing.check().expect_err("refused").field, "violent_weight_pct");
        let heavy = DosageRules { property_weight_pct: 501, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!(heavy.field, "property_weight_pct");
        let tilted = DosageRules { violent_weight_pct: 150, quality_of_life_weight_pct: 50, ..DosageRules::default() };
        assert_eq!(tilted.check(), Ok(()));
        assert_eq!(tilted.weights_label(), "violent ×1.5, property ×1, quality of life ×0.5");
        assert_eq!(tilted.track_weight("unclassified"), 1.0);
        assert!(DosageRules::default().weights_are_neutral() && !tilted.weights_are_neutral());
        let calls = DosageRules { calls_weight_pct: 50, ..DosageRules::default() };
        assert_eq!(calls.weights_label(), "violent ×1, property ×1, quality of life ×1, calls for service ×0.5");
        assert!(!calls.weights_are_neutral(), "calls on is a choice the plan names");
        let calls_only = DosageRules { calls_weight_pct: 100, ..nothing };
        assert_eq!(calls_only.check(), Ok(()), "calls alone can rank");
        let loud = DosageRules { calls_weight_pct: 501, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!(loud.field, "calls_weight_pct");
        let places = DosageRules { places_per_shift: 0, ..DosageRules::default() }.check().expect_err("refused");
        assert_eq!((places.field, places.reason.as_str()), ("places_per_shift", "must be 1 to 100 places (0 given)"));
    }
}
