//! The Chief's Daily Snapshot: one CompStat-style page for any date — counts by category
//! against the prior period and last year, the concentration of harm, the top hot spots and how
//! they moved, missions and Koper compliance by district, and notable incidents.
//!
//! The numbers are computed here ([`ssr::snapshot`]) once and rendered four ways: the page at
//! `/snapshot` (prints on one or two sheets), and the server's PDF, CSV and the CLI's
//! `server snapshot --date D --out FILE`.
//!
//! Definitions (shown on the page too):
//! - A day is the department's local day. The windows end with the snapshot date: 24 h (the
//!   date itself), 7 days, 28 days, and the year to date. The prior period is the window of the
//!   same length just before; last year is the same dates a year earlier.
//! - A percentage change is given only when its base is at least [`MIN_BASE`] incidents;
//!   below that a change of one or two incidents would read as a swing.
//! - Hot spots are 150 m cells ranked by harm over the 28 days (the harm table's cells and
//!   weights; the missions rank by their district's chosen method, `crate::shift::choice`);
//!   "moved" compares with their rank over the 28 days before.
//! - Koper compliance: of the completed directed-patrol missions whose officer's device sent
//!   GPS during the shift, the share with a Koper visit (≥ 10 minutes in the place, by
//!   `hotspot::presence`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};
pub use crate::model::Concentration;

pub mod page;

/// Below this many incidents in the base period, no percentage change is shown.
pub const MIN_BASE: i64 = 10;

/// Counts of one category in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowCount {
    /// `24 h`, `7 days`, `28 days`, `Year to date`.
    pub window: String,
    /// This period.
    pub current: i64,
    /// The period of the same length just before (`None` for the year to date).
    pub prior: Option<i64>,
    /// The same dates a year earlier.
    pub last_year: i64,
}

impl WindowCount {
    /// Percentage change against the prior period, when the base allows one.
    pub fn change_prior(&self) -> Option<f64> {
        self.prior.and_then(|p| change(self.current, p))
    }

    /// Percentage change against last year, when the base allows one.
    pub fn change_last_year(&self) -> Option<f64> {
        change(self.current, self.last_year)
    }
}

/// `(current - base) / base` in percent, or `None` when `base < MIN_BASE`.
pub fn change(current: i64, base: i64) -> Option<f64> {
    (base >= MIN_BASE).then(|| (current - base) as f64 * 100.0 / base as f64)
}

/// A percentage change for people: `+12%`, `−8%`, or `—` when the base is too small.
pub fn change_text(change: Option<f64>) -> String {
    match change {
        None => "—".into(),
        Some(c) if c.round() == 0.0 => "0%".into(),
        Some(c) if c > 0.0 => format!("+{:.0}%", c),
        Some(c) => format!("−{:.0}%", -c),
    }
}

/// One category's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryRow {
    /// `violent`, `property`, `quality_of_life`, `calls`, `unclassified`.
    pub key: String,
    /// Label.
    pub label: String,
    /// The four windows.
    pub windows: Vec<WindowCount>,
    /// Daily counts over the 28 days ending with the date (oldest first).
    pub daily: Vec<i64>,
}

/// One of the top hot spots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotSpotRow {
    /// Rank by harm over the 28 days.
    pub rank: u32,
    /// Rank over the 28 days before (`None`: no harm then).
    pub prior_rank: Option<u32>,
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Its name ("10XX Alberni St (West End)"), or the district and grid reference.
    #[serde(default)]
    pub label: String,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// District the centre lies in.
    pub district: Option<String>,
    /// Harm over the 28 days.
    pub harm: f64,
    /// Incidents over the 28 days.
    pub incidents: u32,
    /// The most frequent offence there.
    pub top_offense: String,
}

impl HotSpotRow {
    /// "▲3", "▼2", "=", "new".
    pub fn movement(&self) -> String {
        match self.prior_rank {
            None => "new".into(),
            Some(p) if p == self.rank => "=".into(),
            Some(p) if p > self.rank => format!("▲{}", p - self.rank),
            Some(p) => format!("▼{}", self.rank - p),
        }
    }
}

/// Missions of one district on the date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictMissions {
    /// District code.
    pub district: String,
    /// Issued for the date (not drafts, not cancelled).
    pub planned: i64,
    /// Acknowledged by the sergeant (or further along).
    pub acknowledged: i64,
    /// Completed.
    pub completed: i64,
    /// Completed directed-patrol missions with GPS during the shift.
    pub koper_with_gps: i64,
    /// …of which had a Koper visit (≥ 10 minutes in the place).
    pub koper_compliant: i64,
}

impl DistrictMissions {
    /// A district with no missions yet.
    pub fn none(district: &str) -> Self {
        DistrictMissions {
            district: district.to_string(),
            planned: 0,
            acknowledged: 0,
            completed: 0,
            koper_with_gps: 0,
            koper_compliant: 0,
        }
    }

    /// Koper compliance in percent, when any completed Koper mission had GPS.
    pub fn koper_compliance(&self) -> Option<f64> {
        (self.koper_with_gps > 0).then(|| self.koper_compliant as f64 * 100.0 / self.koper_with_gps as f64)
    }
}

/// A notable incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notable {
    /// Local date and time as recorded.
    pub when: String,
    /// Offence.
    pub offense: String,
    /// Block or address (may be withheld by the source).
    pub address: String,
    /// District.
    pub district: Option<String>,
}

/// The whole snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// The department's time zone.
    pub time_zone: String,
    /// The newest incident in the Data Bodega (local date), to show how fresh the data is.
    pub data_through: Option<String>,
    /// The oldest (local date): a comparison reaching before it has nothing to compare with.
    #[serde(default)]
    pub data_from: Option<String>,
    /// Counts by category.
    pub categories: Vec<CategoryRow>,
    /// Concentration of harm over the 28 days.
    pub concentration: Concentration,
    /// The weight table the harm figures come from.
    pub harm_table: String,
    /// Top 10 hot spots.
    pub hot_spots: Vec<HotSpotRow>,
    /// Missions by district on the date.
    pub missions: Vec<DistrictMissions>,
    /// Notable incidents over the 7 days ending with the date.
    pub notable: Vec<Notable>,
    /// When it was computed (RFC 3339).
    pub generated_at: String,
}

impl Snapshot {
    /// Why "vs last yr" reads "—": the records start after the same day a year before.
    pub fn last_year_note(&self) -> Option<String> {
        let from = self.data_from.as_deref()?;
        let (year, rest) = self.date.split_once('-')?;
        let year_before = format!("{}-{rest}", year.parse::<i32>().ok()? - 1);
        (from > year_before.as_str()).then(|| {
            format!(
                "“vs last yr” is empty: the records start on {}, so there is no last year to compare with.",
                crate::format::day_text(from)
            )
        })
    }
}

/// The snapshot's server functions.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/snapshot", Some(protocol::Action::ViewSnapshot))];

/// The snapshot for a date (`YYYY-MM-DD`).
#[server(prefix = "/api", endpoint = "snapshot", input = Json)]
pub async fn get_snapshot(date: String) -> Result<Snapshot, ApiError> {
    let ctx = crate::context::context()?;
    crate::auth::ssr::authorize(
        &ctx,
        protocol::Action::ViewSnapshot,
        protocol::policy::Target::City,
        &format!("snapshot {date}"),
    )
    .await?;
    ssr::snapshot(&ctx, &date).await.inspect_err(crate::error::ssr::respond_with)
}

/// Server side: computing the snapshot.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::{BTreeMap, HashMap};

    use hotspot::{Epsg, HarmTable, Lattice};
    use jiff::civil::Date;
    use jiff::tz::TimeZone;
    use protocol::MissionStatus;

    use super::*;
    use crate::context::{unavailable, ServerContext};
    use crate::geo::MICRO_PLACE;
    use crate::shift::dosage::mission_presence;
    /// NIBRS codes the snapshot lists as notable: homicide, robbery.
    pub const NOTABLE_CODES: &[&str] = &["09A", "120"];

    /// Start of a local day, UTC seconds.
    fn day_start(d: Date, tz: &TimeZone) -> Result<i64, ApiError> {
        d.to_zoned(tz.clone()).map(|z| z.timestamp().as_second()).map_err(unavailable)
    }

    fn local_day(t: i64, tz: &TimeZone) -> Option<Date> {
        jiff::Timestamp::from_second(t).ok().map(|ts| ts.to_zoned(tz.clone()).date())
    }

    fn add_days(d: Date, n: i64) -> Result<Date, ApiError> {
        d.checked_add(jiff::Span::new().days(n)).map_err(unavailable)
    }

    /// A window of local days `[first, last]`.
    #[derive(Debug, Clone, Copy)]
    struct Days {
        first: Date,
        last: Date,
    }

    impl Days {
        fn count(&self, daily: &BTreeMap<Date, i64>) -> i64 {
            daily.range(self.first..=self.last).map(|(_, n)| n).sum()
        }

        /// The window a year earlier, ending on the same date a year before (29 February:
        /// the 28th). A window of a fixed length keeps its length, so the 28 days to 1 March
        /// are compared with 28 days even when last year's span holds a 29 February; the year
        /// to date (`calendar`) runs from 1 January.
        fn a_year_earlier(&self, calendar: bool) -> Result<Days, ApiError> {
            let last = year_earlier(self.last)?;
            let first = if calendar {
                year_earlier(self.first)?
            } else {
                add_days(last, -self.first.until(self.last).map_err(unavailable)?.get_days() as i64)?
            };
            Ok(Days { first, last })
        }
    }

    fn year_earlier(d: Date) -> Result<Date, ApiError> {
        d.checked_sub(jiff::Span::new().years(1)).map_err(unavailable)
    }

    /// Computes the snapshot for `date` (`YYYY-MM-DD`).
    ///
    /// # Errors
    /// [`ApiError::Invalid`] naming `date` when it is not a date; 503 when the store fails.
    pub async fn snapshot(ctx: &ServerContext, date: &str) -> Result<Snapshot, ApiError> {
        let tz = TimeZone::get(&ctx.time_zone).map_err(unavailable)?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let data_through = summary.last_at.and_then(|t| local_day(t, &tz));
        // No date: the newest day with data (a demo city's data ends long before today).
        let day: Date = if date.trim().is_empty() {
            data_through.unwrap_or_else(|| jiff::Zoned::now().with_time_zone(tz.clone()).date())
        } else {
            crate::context::parse_day("date", date)?
        };

        // Windows of local days ending with `day`.
        let windows: Vec<(&str, Days, Option<Days>)> = {
            let span = |n: i64| -> Result<Days, ApiError> { Ok(Days { first: add_days(day, 1 - n)?, last: day }) };
            let before = |d: Days, n: i64| -> Result<Days, ApiError> {
                Ok(Days { first: add_days(d.first, -n)?, last: add_days(d.first, -1)? })
            };
            let d1 = span(1)?;
            let d7 = span(7)?;
            let d28 = span(28)?;
            let ytd = Days { first: day.first_of_year(), last: day };
            vec![
                ("24 h", d1, Some(before(d1, 1)?)),
                ("7 days", d7, Some(before(d7, 7)?)),
                ("28 days", d28, Some(before(d28, 28)?)),
                ("Year to date", ytd, None),
            ]
        };
        // Everything the windows touch: from last year's Jan 1 (or the prior 28 days, if that is
        // earlier) to the end of the date.
        let earliest = [year_earlier(day.first_of_year())?, add_days(day, -56)?, year_earlier(add_days(day, -56)?)?]
            .into_iter()
            .min()
            .unwrap_or(day);
        let from = day_start(earliest, &tz)?;
        let to = day_start(add_days(day, 1)?, &tz)?;

        let mut daily: BTreeMap<String, BTreeMap<Date, i64>> = BTreeMap::new();
        for (category, bucket, n) in ctx.bodega.incident_buckets(from, to).await.map_err(unavailable)? {
            let key = if category.is_empty() { "unclassified".to_string() } else { category };
            if let Some(d) = local_day(bucket, &tz) {
                *daily.entry(key).or_default().entry(d).or_default() += n;
            }
        }
        for (bucket, n) in ctx.bodega.call_buckets(from, to).await.map_err(unavailable)? {
            if let Some(d) = local_day(bucket, &tz) {
                *daily.entry("calls".into()).or_default().entry(d).or_default() += n;
            }
        }
        let labels = [
            ("violent", "Violent crime"),
            ("property", "Property crime"),
            ("quality_of_life", "Quality of life (incl. traffic)"),
            ("calls", "Calls for service"),
            ("unclassified", "Unclassified offences"),
        ];
        let empty = BTreeMap::new();
        let mut categories = Vec::new();
        for (key, label) in labels {
            let counts = daily.get(key).unwrap_or(&empty);
            if key == "unclassified" && counts.is_empty() {
                continue;
            }
            let mut rows = Vec::new();
            for (name, current, prior) in &windows {
                // The year to date is the one window without a prior period.
                let last_year = current.a_year_earlier(prior.is_none())?.count(counts);
                rows.push(WindowCount {
                    window: (*name).to_string(),
                    current: current.count(counts),
                    prior: prior.map(|p| p.count(counts)),
                    last_year,
                });
            }
            let mut spark = Vec::with_capacity(28);
            for i in (0..28).rev() {
                let d = add_days(day, -i)?;
                spark.push(counts.get(&d).copied().unwrap_or(0));
            }
            categories.push(CategoryRow { key: key.into(), label: label.into(), windows: rows, daily: spark });
        }

        // Hot spots: harm per cell over the 28 days, and the 28 days before.
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let d28_from = day_start(add_days(day, -27)?, &tz)?;
        let prior_from = day_start(add_days(day, -55)?, &tz)?;
        let filter = |a: i64, b: i64| bodega::queries::Filter { from: Some(a), to: Some(b), ..Default::default() };
        let recent = ctx.bodega.mappable_incidents(&filter(d28_from, to)).await.map_err(unavailable)?;
        let before = ctx.bodega.mappable_incidents(&filter(prior_from, d28_from)).await.map_err(unavailable)?;
        let bbox = study_box(&areas, &recent);
        let epsg = Epsg::for_lon_lat((bbox.0 + bbox.2) / 2.0, (bbox.1 + bbox.3) / 2.0).map_err(unavailable)?;
        let lattice = Lattice::of(epsg, MICRO_PLACE);
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let recent_cells = harm_by_cell(&lattice, &table, &recent);
        let prior_ranks: HashMap<(i64, i64), u32> = rank(&harm_by_cell(&lattice, &table, &before))
            .into_iter()
            .enumerate()
            .map(|(i, (k, _))| (k, i as u32 + 1))
            .collect();
        let ranked = rank(&recent_cells);
        let cells_in_area = cells_in_box(&lattice, bbox);
        let concentration = concentration(&ranked, cells_in_area);
        let top: Vec<(i64, i64)> = ranked.iter().take(10).map(|(k, _)| *k).collect();
        let names = ctx.bodega.place_names(epsg.code(), MICRO_PLACE, &top).await.map_err(unavailable)?;
        let mut hot_spots = Vec::new();
        for (i, (k, (harm, by))) in ranked.iter().take(10).enumerate() {
            let b = lattice.bounds(hotspot::CellKey { epsg, size_m: MICRO_PLACE.m(), ix: k.0, iy: k.1 });
            let (lon, lat) = lattice.utm().inverse((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
            let p = geo::Point::new(lon, lat);
            let district = areas.iter().find(|a| geo::Contains::contains(&a.area, &p)).map(|a| a.code.clone());
            let top_offense = by.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(o, _)| o.clone());
            hot_spots.push(HotSpotRow {
                rank: i as u32 + 1,
                prior_rank: prior_ranks.get(k).copied(),
                ix: k.0,
                iy: k.1,
                label: names
                    .get(k)
                    .map(bodega::places::PlaceName::label)
                    .unwrap_or_else(|| bodega::places::fallback_label(district.as_deref().unwrap_or("city"), k.0, k.1)),
                lat,
                lon,
                district,
                harm: *harm,
                incidents: by.values().sum(),
                top_offense: top_offense.unwrap_or_default(),
            });
        }

        let missions = district_missions(ctx, &day.to_string(), &areas).await?;
        let notable = ctx
            .bodega
            .notable_incidents(day_start(add_days(day, -6)?, &tz)?, to, NOTABLE_CODES, 50)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|n| Notable {
                when: n.occurred_local.replace('T', " "),
                offense: n.offense,
                address: n.address,
                district: n.district_code,
            })
            .collect();
        Ok(Snapshot {
            date: day.to_string(),
            time_zone: ctx.time_zone.clone(),
            data_through: data_through.map(|d| d.to_string()),
            data_from: summary.first_at.and_then(|t| local_day(t, &tz)).map(|d| d.to_string()),
            categories,
            concentration,
            // Versions read `name@version` (e.g. `count@1`).
            harm_table: table.version().to_string(),
            hot_spots,
            missions,
            notable,
            generated_at: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
        })
    }

    /// Harm and incidents by offence, per cell.
    type CellHarm = HashMap<(i64, i64), (f64, BTreeMap<String, u32>)>;
    /// A cell and its harm, in rank order.
    pub type Ranked = ((i64, i64), (f64, BTreeMap<String, u32>));

    fn harm_by_cell(lattice: &Lattice, table: &HarmTable, points: &[(f64, f64, i64, String)]) -> CellHarm {
        let mut cells: CellHarm = HashMap::new();
        for (lon, lat, _t, offense) in points {
            let Ok(key) = lattice.key_of(*lon, *lat) else { continue };
            let entry = cells.entry((key.ix, key.iy)).or_default();
            entry.0 += table.weigh(offense).unwrap_or(0.0);
            *entry.1.entry(offense.clone()).or_default() += 1;
        }
        cells
    }

    /// Cells by harm, most first; ties by incidents, then by key (deterministic).
    fn rank(cells: &CellHarm) -> Vec<Ranked> {
        let mut v: Vec<_> = cells.iter().map(|(k, v)| (*k, v.clone())).collect();
        v.sort_by(|a, b| {
            b.1 .0
                .total_cmp(&a.1 .0)
                .then_with(|| b.1 .1.values().sum::<u32>().cmp(&a.1 .1.values().sum::<u32>()))
                .then_with(|| a.0.cmp(&b.0))
        });
        v
    }

    /// The study area: the districts' extent, or the incidents' when there are no districts.
    fn study_box(areas: &[bodega::missions::DistrictArea], points: &[(f64, f64, i64, String)]) -> (f64, f64, f64, f64) {
        let mut b = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut grow = |w: f64, s: f64, e: f64, n: f64| {
            b = (b.0.min(w), b.1.min(s), b.2.max(e), b.3.max(n));
        };
        if areas.is_empty() {
            for (lon, lat, _, _) in points {
                grow(*lon, *lat, *lon, *lat);
            }
        } else {
            for a in areas {
                grow(a.bbox.0, a.bbox.1, a.bbox.2, a.bbox.3);
            }
        }
        if b.0.is_finite() {
            b
        } else {
            (-123.2, 49.2, -123.0, 49.3)
        }
    }

    /// Lattice cells covering the box.
    fn cells_in_box(lattice: &Lattice, (w, s, e, n): (f64, f64, f64, f64)) -> u64 {
        match (lattice.key_of(w, s), lattice.key_of(e, n), lattice.key_of(w, n), lattice.key_of(e, s)) {
            (Ok(sw), Ok(ne), Ok(nw), Ok(se)) => {
                let cols = (ne.ix.max(se.ix) - sw.ix.min(nw.ix) + 1).max(1);
                let rows = (ne.iy.max(nw.iy) - sw.iy.min(se.iy) + 1).max(1);
                (cols * rows) as u64
            }
            _ => 1,
        }
    }

    /// Share of harm in the top 1% / 5% of the study area's cells, and the Lorenz curve.
    pub fn concentration(ranked: &[Ranked], cells: u64) -> Concentration {
        let cells = cells.max(ranked.len() as u64).max(1) as usize;
        let harms: Vec<f64> = ranked.iter().map(|r| r.1 .0).collect();
        Concentration {
            cells: cells as u64,
            top_1: hotspot::evaluate::share_of_top(&harms, cells, 0.01),
            top_5: hotspot::evaluate::share_of_top(&harms, cells, 0.05),
            curve: hotspot::evaluate::lorenz_of(&harms, cells),
        }
    }

    async fn district_missions(
        ctx: &ServerContext,
        date: &str,
        areas: &[bodega::missions::DistrictArea],
    ) -> Result<Vec<DistrictMissions>, ApiError> {
        let all = ctx
            .bodega
            .missions(&bodega::missions::MissionFilter {
                shift_date: Some(date.trim().to_string()),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut by: BTreeMap<String, DistrictMissions> =
            areas.iter().map(|a| (a.code.clone(), DistrictMissions::none(&a.code))).collect();
        let params = crate::shift::ssr::visit_params(&crate::shift::ssr::dosage_rules(ctx).await?);
        for m in all {
            if matches!(m.status, MissionStatus::Draft | MissionStatus::Cancelled) {
                continue;
            }
            let row = by.entry(m.district.clone()).or_insert_with(|| DistrictMissions::none(&m.district));
            row.planned += 1;
            if m.status.rank() >= MissionStatus::Acknowledged.rank() {
                row.acknowledged += 1;
            }
            let completed = m.status == MissionStatus::Completed
                || (m.status == MissionStatus::Reviewed && m.not_completed_reason.is_none());
            if completed {
                row.completed += 1;
                if m.template.tactic == "directed_patrol" {
                    if let Some(p) = mission_presence(ctx, &m, &params).await? {
                        row.koper_with_gps += 1;
                        if p.koper_visits(&params) > 0 {
                            row.koper_compliant += 1;
                        }
                    }
                }
            }
        }
        Ok(by.into_values().collect())
    }

    #[cfg(test)]
    mod tests {
        use jiff::civil::date;

        use super::Days;

        #[test]
        fn the_last_year_column_says_why_it_is_empty() {
            let at = |date: &str, from: Option<&str>| super::super::Snapshot {
                date: date.into(),
                time_zone: "America/Vancouver".into(),
                data_through: None,
                data_from: from.map(str::to_string),
                categories: vec![],
                concentration: Default::default(),
                harm_table: String::new(),
                hot_spots: vec![],
                missions: vec![],
                notable: vec![],
                generated_at: String::new(),
            };
            let note = at("2020-11-30", Some("2020-01-01")).last_year_note().expect("no 2019 data");
            assert!(note.contains("the records start on 1 Jan 2020"), "{note}");
            assert_eq!(at("2021-03-01", Some("2020-01-01")).last_year_note(), None, "2020 is there to compare");
            assert_eq!(at("2021-03-01", None).last_year_note(), None, "no data at all: nothing to explain");
        }

        #[test]
        fn last_years_window_keeps_its_length_across_a_leap_day() {
            let d28 = Days { first: date(2025, 2, 2), last: date(2025, 3, 1) };
            let ly = d28.a_year_earlier(false).expect("dates");
            assert_eq!((ly.first, ly.last), (date(2024, 2, 3), date(2024, 3, 1)), "28 days, not 29");
            let d7 = Days { first: date(2024, 2, 24), last: date(2024, 3, 1) };
            let ly = d7.a_year_earlier(false).expect("dates");
            assert_eq!((ly.first, ly.last), (date(2023, 2, 23), date(2023, 3, 1)), "7 days, not 6");
            let ytd = Days { first: date(2025, 1, 1), last: date(2025, 3, 1) };
            let ly = ytd.a_year_earlier(true).expect("dates");
            assert_eq!((ly.first, ly.last), (date(2024, 1, 1), date(2024, 3, 1)), "the calendar's year to date");
        }
    }
}
