//! Column mappings: how a department's export — or a city's open-data file — becomes Beatbook
//! incidents. The canonical file (`id,occurred_at,offense,category,lat,lon`) is one mapping;
//! presets cover the real exports Beatbook ships tests for (Vancouver GeoDASH, Chicago's CODE
//! extract) and the published open-data schemas of Los Angeles, San Francisco and New York; a
//! department writes its own as a small TOML file:
//!
//! ```toml
//! name = "springfield-rms"
//! id = "CASE_NO"                       # omit to use the 1-based data row number
//! offense = "OFFENSE_DESC"
//! category = "UCR_GROUP"               # optional
//! address = "BLOCK"                    # optional: names the places (see `places`)
//! neighbourhood = "NEIGHBORHOOD"       # optional: added to the place names
//! district = "BEAT"                    # optional
//! [occurred]                           # one of: iso | format | date_time | parts
//! kind = "format"
//! column = "OCCURRED"
//! format = "%m/%d/%Y %H:%M"
//! [location]                           # lat_lon, or utm (easting/northing in an EPSG 326xx/327xx zone)
//! kind = "lat_lon"
//! lat = "LATITUDE"
//! lon = "LONGITUDE"
//! zero_is_missing = true               # (0, 0) means "no location" in this export
//! ```
//!
//! Time formats are jiff's `strftime` directives; `HHMM` as a time format reads a 1–4 digit
//! 24-hour time such as `845` or `2130` (as Los Angeles writes `TIME OCC`).

use jiff::civil::{Date, DateTime, Time};
use serde::Deserialize;

use crate::csvfile::{HeaderIndex, IngestError};

/// How a file's columns map onto an incident.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A name for reports.
    pub name: String,
    /// The column with the records system's id; `None`: the 1-based data row number.
    #[serde(default)]
    pub id: Option<String>,
    /// When it happened (local time).
    pub occurred: TimeSpec,
    /// The offence text column.
    pub offense: String,
    /// A second-level category column.
    #[serde(default)]
    pub category: Option<String>,
    /// Where.
    pub location: LocationSpec,
    /// Block or address column.
    #[serde(default)]
    pub address: Option<String>,
    /// Neighbourhood column (a name people know the area by; not a police district).
    #[serde(default)]
    pub neighbourhood: Option<String>,
    /// District / area column.
    #[serde(default)]
    pub district: Option<String>,
}

/// Where the occurrence time comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeSpec {
    /// ISO-like local date-time: `2020-01-31T13:45`, `2020-01-31 13:45:00`, or a bare date.
    Iso {
        /// The column.
        column: String,
    },
    /// One column read with a strftime format.
    Format {
        /// The column.
        column: String,
        /// e.g. `%m/%d/%Y %I:%M:%S %p`.
        format: String,
    },
    /// A date column and a time column, each with its format (`HHMM` for 1–4 digit times).
    DateTime {
        /// Date column.
        date: String,
        /// Its format (a time part in it is ignored).
        date_format: String,
        /// Time column.
        time: String,
        /// Its format.
        time_format: String,
    },
    /// Separate year, month, day, hour and minute columns.
    Parts {
        /// Year column.
        year: String,
        /// Month column.
        month: String,
        /// Day column.
        day: String,
        /// Hour column.
        hour: String,
        /// Minute column.
        minute: String,
    },
}

/// Where the location comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LocationSpec {
    /// WGS84 latitude and longitude columns.
    LatLon {
        /// Latitude column.
        lat: String,
        /// Longitude column.
        lon: String,
        /// Treat (0, 0) as "no location".
        #[serde(default)]
        zero_is_missing: bool,
    },
    /// UTM easting/northing in metres.
    Utm {
        /// Easting column.
        x: String,
        /// Northing column.
        y: String,
        /// EPSG code of the zone (326xx / 327xx).
        epsg: u32,
        /// Treat (0, 0) as "no location".
        #[serde(default)]
        zero_is_missing: bool,
    },
}

fn iso(column: &str) -> TimeSpec {
    TimeSpec::Iso { column: column.into() }
}

fn lat_lon(lat: &str, lon: &str) -> LocationSpec {
    LocationSpec::LatLon { lat: lat.into(), lon: lon.into(), zero_is_missing: true }
}

impl Mapping {
    /// Beatbook's canonical incident file. `category`, `address` and `neighbourhood` are read
    /// when the header has them.
    pub fn canonical(header: &[&str]) -> Self {
        let has = |name: &str| header.iter().any(|h| h.trim().eq_ignore_ascii_case(name));
        Self {
            name: "canonical".into(),
            id: Some("id".into()),
            occurred: iso("occurred_at"),
            offense: "offense".into(),
            category: has("category").then(|| "category".into()),
            location: LocationSpec::LatLon { lat: "lat".into(), lon: "lon".into(), zero_is_missing: false },
            address: has("address").then(|| "address".into()),
            neighbourhood: has("neighbourhood").then(|| "neighbourhood".into()),
            district: None,
        }
    }

    /// A built-in preset by name: `vancouver` (VPD GeoDASH `crimedata_csv_*`), `chicago` (the
    /// CODE extract: `date,loc_cat,longitude,latitude,district`), `chicago-portal` (City of
    /// Chicago "Crimes – 2001 to Present"), `los-angeles` (LAPD "Crime Data from 2020 to
    /// Present"), `san-francisco` (SFPD "Incident Reports: 2018 to Present"), `new-york` (NYPD
    /// "Complaint Data Historic").
    pub fn preset(name: &str) -> Option<Self> {
        let m = match name {
            "vancouver" => Self {
                name: name.into(),
                id: None, // the canonical Vancouver file numbers rows the same way
                occurred: TimeSpec::Parts {
                    year: "YEAR".into(),
                    month: "MONTH".into(),
                    day: "DAY".into(),
                    hour: "HOUR".into(),
                    minute: "MINUTE".into(),
                },
                offense: "TYPE".into(),
                category: None,
                location: LocationSpec::Utm { x: "X".into(), y: "Y".into(), epsg: 32610, zero_is_missing: true },
                address: Some("HUNDRED_BLOCK".into()),
                // A neighbourhood is not a police district: the department's districts come
                // from their outlines.
                neighbourhood: Some("NEIGHBOURHOOD".into()),
                district: None,
            },
            "chicago" => Self {
                name: name.into(),
                id: None,
                occurred: iso("date"),
                offense: "loc_cat".into(), // this extract holds one offence; its loc_cat is the place type
                category: None,
                location: lat_lon("latitude", "longitude"),
                address: None,
                neighbourhood: None,
                district: Some("district".into()),
            },
            "chicago-portal" => Self {
                name: name.into(),
                id: Some("ID".into()),
                occurred: TimeSpec::Format { column: "Date".into(), format: "%m/%d/%Y %I:%M:%S %p".into() },
                offense: "Primary Type".into(),
                category: Some("Description".into()),
                location: lat_lon("Latitude", "Longitude"),
                address: Some("Block".into()),
                neighbourhood: None,
                district: Some("District".into()),
            },
            "los-angeles" => Self {
                name: name.into(),
                id: Some("DR_NO".into()),
                occurred: TimeSpec::DateTime {
                    date: "DATE OCC".into(),
                    date_format: "%m/%d/%Y %I:%M:%S %p".into(),
                    time: "TIME OCC".into(),
                    time_format: "HHMM".into(),
                },
                offense: "Crm Cd Desc".into(),
                category: Some("Part 1-2".into()),
                location: lat_lon("LAT", "LON"),
                address: Some("LOCATION".into()),
                neighbourhood: None,
                district: Some("AREA NAME".into()),
            },
            "san-francisco" => Self {
                name: name.into(),
                id: Some("Row ID".into()),
                occurred: TimeSpec::Format {
                    column: "Incident Datetime".into(),
                    format: "%Y/%m/%d %I:%M:%S %p".into(),
                },
                offense: "Incident Category".into(),
                category: Some("Incident Subcategory".into()),
                location: lat_lon("Latitude", "Longitude"),
                address: Some("Intersection".into()),
                neighbourhood: Some("Analysis Neighborhood".into()),
                district: Some("Police District".into()),
            },
            "new-york" => Self {
                name: name.into(),
                id: Some("CMPLNT_NUM".into()),
                occurred: TimeSpec::DateTime {
                    date: "CMPLNT_FR_DT".into(),
                    date_format: "%m/%d/%Y".into(),
                    time: "CMPLNT_FR_TM".into(),
                    time_format: "%H:%M:%S".into(),
                },
                offense: "OFNS_DESC".into(),
                category: Some("LAW_CAT_CD".into()),
                location: lat_lon("Latitude", "Longitude"),
                address: None,
                neighbourhood: None,
                district: Some("ADDR_PCT_CD".into()),
            },
            _ => return None,
        };
        Some(m)
    }

    /// The names [`Mapping::preset`] knows.
    pub const PRESETS: &'static [&'static str] =
        &["vancouver", "chicago", "chicago-portal", "los-angeles", "san-francisco", "new-york"];

    /// Reads a department's mapping file (TOML).
    ///
    /// # Errors
    /// [`IngestError::Mapping`] naming what is wrong.
    pub fn from_toml(text: &str) -> Result<Self, IngestError> {
        toml::from_str(text).map_err(|e| IngestError::Mapping(e.to_string().trim().replace('\n', " ")))
    }
}

/// Column positions for one file.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub id: Option<usize>,
    pub occurred: ResolvedTime,
    pub offense: usize,
    pub category: Option<usize>,
    pub location: ResolvedLocation,
    pub address: Option<usize>,
    pub neighbourhood: Option<usize>,
    pub district: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum ResolvedTime {
    Iso(usize),
    Format(usize, String),
    DateTime(usize, String, usize, String),
    Parts([usize; 5]),
}

#[derive(Debug, Clone)]
pub(crate) enum ResolvedLocation {
    LatLon { lat: usize, lon: usize, zero_is_missing: bool },
    Utm { x: usize, y: usize, utm: hotspot::Utm, zero_is_missing: bool },
}

impl Mapping {
    pub(crate) fn resolve(&self, header: &csv::StringRecord) -> Result<Resolved, IngestError> {
        let index = HeaderIndex(header.clone());
        let find = |name: &str| index.need(name);
        let opt = |name: &Option<String>| name.as_deref().map(find).transpose();
        Ok(Resolved {
            id: opt(&self.id)?,
            occurred: match &self.occurred {
                TimeSpec::Iso { column } => ResolvedTime::Iso(find(column)?),
                TimeSpec::Format { column, format } => ResolvedTime::Format(find(column)?, format.clone()),
                TimeSpec::DateTime { date, date_format, time, time_format } => {
                    ResolvedTime::DateTime(find(date)?, date_format.clone(), find(time)?, time_format.clone())
                }
                TimeSpec::Parts { year, month, day, hour, minute } => {
                    ResolvedTime::Parts([find(year)?, find(month)?, find(day)?, find(hour)?, find(minute)?])
                }
            },
            offense: find(&self.offense)?,
            category: opt(&self.category)?,
            location: match &self.location {
                LocationSpec::LatLon { lat, lon, zero_is_missing } => {
                    ResolvedLocation::LatLon { lat: find(lat)?, lon: find(lon)?, zero_is_missing: *zero_is_missing }
                }
                LocationSpec::Utm { x, y, epsg, zero_is_missing } => ResolvedLocation::Utm {
                    x: find(x)?,
                    y: find(y)?,
                    utm: hotspot::Utm::new(hotspot::Epsg::utm(*epsg).map_err(|e| IngestError::Mapping(e.to_string()))?),
                    zero_is_missing: *zero_is_missing,
                },
            },
            address: opt(&self.address)?,
            neighbourhood: opt(&self.neighbourhood)?,
            district: opt(&self.district)?,
        })
    }
}

/// Reads a local date-time from one row as the mapping says. Errors name the text.
pub(crate) fn read_time<'a>(spec: &ResolvedTime, get: &dyn Fn(usize) -> &'a str) -> Result<DateTime, String> {
    match spec {
        ResolvedTime::Iso(c) => crate::csvfile::parse_iso_local(get(*c)),
        ResolvedTime::Format(c, format) => {
            let t = get(*c);
            DateTime::strptime(format, t.trim())
                .map_err(|_| format!("'{}' does not match the format '{format}'", t.trim()))
        }
        ResolvedTime::DateTime(dc, date_format, tc, time_format) => {
            let d = get(*dc);
            let date: Date = jiff::fmt::strtime::parse(date_format, d.trim())
                .and_then(|b| b.to_date())
                .map_err(|_| format!("date '{}' does not match the format '{date_format}'", d.trim()))?;
            let t = get(*tc);
            let t = t.trim();
            let time: Time = if time_format == "HHMM" {
                let n: u32 = t.parse().map_err(|_| format!("time '{t}' is not a 24-hour HHMM number"))?;
                let not_a_time = || format!("time '{t}' is not a time of day");
                let (hour, minute) = (i8::try_from(n / 100).map_err(|_| not_a_time())?, (n % 100) as i8);
                Time::new(hour, minute, 0, 0).map_err(|_| not_a_time())?
            } else {
                jiff::fmt::strtime::parse(time_format, t)
                    .and_then(|b| b.to_time())
                    .map_err(|_| format!("time '{t}' does not match the format '{time_format}'"))?
            };
            Ok(date.to_datetime(time))
        }
        ResolvedTime::Parts(cols) => {
            let mut v = [0i64; 5];
            for (slot, c) in v.iter_mut().zip(cols) {
                let t = get(*c);
                *slot = t.trim().parse().map_err(|_| format!("'{}' is not a whole number", t.trim()))?;
            }
            let narrow = |x: i64| i8::try_from(x).map_err(|_| format!("{x} is out of range"));
            let year = i16::try_from(v[0]).map_err(|_| format!("year {} is out of range", v[0]))?;
            DateTime::new(year, narrow(v[1])?, narrow(v[2])?, narrow(v[3])?, narrow(v[4])?, 0, 0)
                .map_err(|_| format!("{}-{}-{} {}:{} is not a date and time", v[0], v[1], v[2], v[3], v[4]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cols.to_vec())
    }

    #[test]
    fn a_department_mapping_file_reads_and_resolves() {
        let m = Mapping::from_toml(
            r#"
name = "springfield"
id = "CASE_NO"
offense = "OFFENSE_DESC"
[occurred]
kind = "format"
column = "OCCURRED"
format = "%m/%d/%Y %H:%M"
[location]
kind = "lat_lon"
lat = "LATITUDE"
lon = "LONGITUDE"
"#,
        )
        .expect("mapping");
        let r =
            m.resolve(&header(&["CASE_NO", "OCCURRED", "OFFENSE_DESC", "LATITUDE", "LONGITUDE"])).expect("resolves");
        let row = ["A1", "03/08/2020 14:05", "Robbery", "49.2", "-123.1"];
        let get = |i: usize| row[i];
        assert_eq!(read_time(&r.occurred, &get).expect("time").to_string(), "2020-03-08T14:05:00");
    }

    #[test]
    fn a_bad_mapping_file_is_named() {
        let err = Mapping::from_toml("name = 'x'\noffense = 'o'\n[occurred]\nkind = 'sundial'\ncolumn = 'c'")
            .expect_err("bad");
        assert!(err.to_string().contains("sundial"), "{err}");
        let m = Mapping::preset("los-angeles").expect("preset");
        let err = m.resolve(&header(&["DR_NO", "DATE OCC"])).expect_err("missing columns");
        assert!(err.to_string().contains("'TIME OCC'"), "{err}");
    }

    #[test]
    fn time_shapes_of_the_presets() {
        let la = Mapping::preset("los-angeles").expect("la");
        let r = la
            .resolve(&header(&[
                "DR_NO",
                "DATE OCC",
                "TIME OCC",
                "Crm Cd Desc",
                "Part 1-2",
                "LAT",
                "LON",
                "LOCATION",
                "AREA NAME",
            ]))
            .expect("la");
        for (date, time, want) in [
            ("03/01/2020 12:00:00 AM", "845", "2020-03-01T08:45:00"),
            ("12/31/2021 12:00:00 AM", "2130", "2021-12-31T21:30:00"),
        ] {
            let row = ["1", date, time];
            let got = read_time(&r.occurred, &|i: usize| row.get(i).copied().unwrap_or("")).expect("time");
            assert_eq!(got.to_string(), want);
        }
        let row = ["1", "not a date", "2130"];
        assert!(read_time(&r.occurred, &|i: usize| row.get(i).copied().unwrap_or(""))
            .expect_err("bad")
            .contains("not a date"));
        // 25630 once wrapped to 00:30 (hour 256 cast to a byte); 2460 is no time either.
        for bad in ["25630", "2460", "2400"] {
            let row = ["1", "03/01/2020 12:00:00 AM", bad];
            assert!(read_time(&r.occurred, &|i: usize| row.get(i).copied().unwrap_or(""))
                .expect_err(bad)
                .contains("not a time of day"));
        }
        let parts = ResolvedTime::Parts([0, 1, 2, 3, 4]);
        let row = ["2020", "2", "30", "1", "0"];
        assert!(read_time(&parts, &|i: usize| row[i]).expect_err("no Feb 30").contains("not a date"));
    }
}
