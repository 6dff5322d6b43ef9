//! Offence classification and district assignment: what turns a records system's offence text
//! and coordinates into the categories and districts every count in Beatbook is cut by.
//!
//! - **Offence map** (`offense_map`, versioned by vocabulary): offence text (lower-cased,
//!   trimmed) → NIBRS code, Group A/B, crimes against person/property/society, and Beatbook's
//!   harm track (violent, property, quality of life). Beatbook ships [`SHIPPED`] — the texts of
//!   the open-data vocabularies it has presets for — as vocabulary [`SHIPPED_VOCABULARY`];
//!   a department's own rows (any other vocabulary name) take precedence for the same text.
//!   NIBRS codes follow the FBI NIBRS User Manual code list (docs/research mission anchors §3.1).
//!   Where a source category spans several NIBRS offences the map takes the most common one and
//!   says so in [`SHIPPED`]'s notes, e.g. Vancouver's "Offence Against a Person" (assaults,
//!   robberies and sexual offences together) → 13B; counts by *harm track* are exact, counts by
//!   NIBRS code are as good as the source's vocabulary.
//! - Offence text the map does not know stays unclassified (NULL) and is listed by
//!   [`Bodega::unclassified_offenses`], never guessed.
//! - **Districts**: an incident without a district code from its source gets the code of the
//!   department district polygon it lies in ([`Bodega::assign_districts`]).
//!
//! Both run after every incident load and at server start, only on rows that need them, so a
//! failed run is finished by the next one and nothing is half-classified.

use geo::{Contains, Coord, Point};

use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The vocabulary name of the shipped rows.
pub const SHIPPED_VOCABULARY: &str = "beatbook";
/// The version of the shipped rows.
pub const SHIPPED_VERSION: &str = "2026.1";

/// One row of an offence map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffenseClass {
    /// Offence text, lower-case.
    pub text: &'static str,
    /// NIBRS offence code (empty when the event is not a crime, e.g. a traffic collision).
    pub nibrs_code: &'static str,
    /// `A` or `B` (empty when not a crime).
    pub nibrs_group: &'static str,
    /// `person`, `property`, `society` or `not_a_crime`.
    pub crime_against: &'static str,
    /// `violent`, `property` or `quality_of_life`.
    pub harm_category: &'static str,
    /// Why, where the mapping is not one-to-one.
    pub note: &'static str,
}

const fn c(
    text: &'static str,
    nibrs_code: &'static str,
    crime_against: &'static str,
    harm_category: &'static str,
    note: &'static str,
) -> OffenseClass {
    let nibrs_group = if nibrs_code.is_empty() {
        ""
    } else if nibrs_code.as_bytes()[0] == b'9' {
        "B"
    } else {
        "A"
    };
    OffenseClass { text, nibrs_code, nibrs_group, crime_against, harm_category, note }
}

/// The shipped offence map: Vancouver (VPD GeoDASH `TYPE`), Chicago (`Primary Type` /
/// the aggravated-assault extract), Los Angeles (`Crm Cd Desc`), San Francisco
/// (`Incident Category`) and New York (`OFNS_DESC`), the vocabularies of Beatbook's presets.
pub const SHIPPED: &[OffenseClass] = &[
    // Vancouver (VPD GeoDASH): all 11 TYPE values.
    c("homicide", "09A", "person", "violent", ""),
    c(
        "offence against a person",
        "13B",
        "person",
        "violent",
        "VPD groups assaults, robberies and sexual offences; 13B (simple assault) is the most common",
    ),
    c("break and enter commercial", "220", "property", "property", ""),
    c("break and enter residential/other", "220", "property", "property", ""),
    c("theft from vehicle", "23F", "property", "property", ""),
    c("theft of vehicle", "240", "property", "property", ""),
    c("theft of bicycle", "23H", "property", "property", "NIBRS has no bicycle code: all other larceny"),
    c("other theft", "23H", "property", "property", "VPD's remaining thefts; 23H (all other larceny)"),
    c("mischief", "290", "property", "property", "Canadian mischief to property = destruction/vandalism"),
    c(
        "vehicle collision or pedestrian struck (with injury)",
        "",
        "not_a_crime",
        "quality_of_life",
        "a traffic event, not a crime",
    ),
    c(
        "vehicle collision or pedestrian struck (with fatality)",
        "",
        "not_a_crime",
        "quality_of_life",
        "a traffic event, not a crime",
    ),
    // Chicago.
    c("aggravated assault", "13A", "person", "violent", ""),
    c("robbery", "120", "property", "violent", "NIBRS counts robbery against property; harm treats it as violent"),
    c("battery", "13B", "person", "violent", "Illinois battery is mostly simple assault"),
    c("assault", "13B", "person", "violent", ""),
    c("burglary", "220", "property", "property", ""),
    c("theft", "23H", "property", "property", ""),
    c("motor vehicle theft", "240", "property", "property", ""),
    c("criminal damage", "290", "property", "property", ""),
    c("arson", "200", "property", "property", ""),
    c("narcotics", "35A", "society", "quality_of_life", ""),
    c("weapons violation", "520", "society", "quality_of_life", ""),
    c("criminal trespass", "90J", "society", "quality_of_life", ""),
    c("public peace violation", "90C", "society", "quality_of_life", ""),
    c("liquor law violation", "90G", "society", "quality_of_life", ""),
    c("prostitution", "40A", "society", "quality_of_life", ""),
    // Los Angeles.
    c("battery - simple assault", "13B", "person", "violent", ""),
    c("assault with deadly weapon, aggravated assault", "13A", "person", "violent", ""),
    c("intimate partner - simple assault", "13B", "person", "violent", ""),
    c("criminal homicide", "09A", "person", "violent", ""),
    c("vehicle - stolen", "240", "property", "property", ""),
    c("burglary from vehicle", "23F", "property", "property", ""),
    c("theft plain - petty ($950 & under)", "23H", "property", "property", ""),
    c("theft from motor vehicle - petty ($950 & under)", "23F", "property", "property", ""),
    c("vandalism - felony ($400 & over, all church vandalisms)", "290", "property", "property", ""),
    c("vandalism - misdeameanor ($399 or under)", "290", "property", "property", ""),
    c("shoplifting - petty theft ($950 & under)", "23C", "property", "property", ""),
    // San Francisco.
    c("larceny theft", "23H", "property", "property", ""),
    c("malicious mischief", "290", "property", "property", ""),
    c("motor vehicle theft?", "240", "property", "property", "SF's own spelling for uncertain vehicle thefts"),
    c("drug offense", "35A", "society", "quality_of_life", ""),
    c("disorderly conduct", "90C", "society", "quality_of_life", ""),
    // New York.
    c("murder & non-negl. manslaughter", "09A", "person", "violent", ""),
    c("felony assault", "13A", "person", "violent", ""),
    c("assault 3 & related offenses", "13B", "person", "violent", ""),
    c("harrassment 2", "13C", "person", "violent", "NYPD's spelling; harassment = intimidation"),
    c("petit larceny", "23H", "property", "property", ""),
    c("grand larceny", "23H", "property", "property", ""),
    c("grand larceny of motor vehicle", "240", "property", "property", ""),
    c("criminal mischief & related of", "290", "property", "property", "NYPD truncates the text"),
    c("dangerous drugs", "35A", "society", "quality_of_life", ""),
    c("dangerous weapons", "520", "society", "quality_of_life", ""),
];

/// What a classification run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassifySummary {
    /// Incidents given a class.
    pub classified: u64,
    /// Incidents given a district.
    pub districted: u64,
}

/// Lower-cased, trimmed offence text: the key of the map.
pub fn offense_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// An offence's class as the offence map gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClass {
    /// NIBRS offence code, e.g. `13A`.
    pub nibrs_code: String,
    /// `A` or `B`.
    pub nibrs_group: String,
    /// `person`, `property`, `society` or `not_a_crime`.
    pub crime_against: String,
    /// `violent`, `property` or `quality_of_life`.
    pub harm_category: String,
}

impl Bodega {
    /// Every offence text the offence map knows (by [`offense_key`]) with the class that wins: a
    /// department's own vocabulary before the shipped one, then the newest version.
    ///
    /// # Errors
    /// A store error.
    pub async fn offense_classes(
        &self,
    ) -> Result<std::collections::HashMap<String, std::sync::Arc<StoredClass>>, BodegaError> {
        self.ensure_offense_map().await?;
        let rows: Vec<(String, String, String, String, String, String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT offense_text, vocabulary, version, nibrs_code, nibrs_group, crime_against, harm_category \
             FROM offense_map")
            .fetch_all(pool).await)?;
        type Rank = (bool, std::cmp::Reverse<String>);
        let mut best: std::collections::HashMap<String, (Rank, std::sync::Arc<StoredClass>)> =
            std::collections::HashMap::new();
        for (text, vocabulary, version, nibrs_code, nibrs_group, crime_against, harm_category) in rows {
            // Lower ranks first: the department's (false) before the shipped (true), then newer.
            let rank: Rank = (vocabulary == SHIPPED_VOCABULARY, std::cmp::Reverse(version));
            let wins = best.get(&text).is_none_or(|(r, _)| rank < *r);
            if wins {
                let class = StoredClass { nibrs_code, nibrs_group, crime_against, harm_category };
                best.insert(text, (rank, std::sync::Arc::new(class)));
            }
        }
        Ok(best.into_iter().map(|(k, (_, c))| (k, c)).collect())
    }

    /// Adds the shipped offence map (idempotent).
    ///
    /// # Errors
    /// A store error.
    pub async fn ensure_offense_map(&self) -> Result<(), BodegaError> {
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            for c in SHIPPED {
                sqlx::query(
                    "INSERT INTO offense_map (vocabulary, version, offense_text, nibrs_code, nibrs_group, crime_against, \
                     harm_category) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (vocabulary, version, offense_text) DO NOTHING",
                )
                .bind(SHIPPED_VOCABULARY)
                .bind(SHIPPED_VERSION)
                .bind(offense_key(c.text))
                .bind(c.nibrs_code)
                .bind(c.nibrs_group)
                .bind(c.crime_against)
                .bind(c.harm_category)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<(), BodegaError>(())
        })
    }

    /// Classifies every incident that has no class yet from the offence map (a department's own
    /// vocabulary first, then the newest version), and gives every located incident without a
    /// district the district polygon it lies in.
    ///
    /// # Errors
    /// A store error; the rows done before it stay done.
    pub async fn classify_incidents(&self) -> Result<ClassifySummary, BodegaError> {
        let pending: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT DISTINCT offense FROM incidents WHERE nibrs_code IS NULL")
            .fetch_all(pool).await)?;
        // Loads classify as they write: usually nothing is pending, and the map is not read.
        let classes = if pending.is_empty() { Default::default() } else { self.offense_classes().await? };
        let mut summary = ClassifySummary::default();
        for offense in pending {
            let Some(c) = classes.get(&offense_key(&offense)) else { continue };
            let done = on_writer!(self, pool => sqlx::query(
                "UPDATE incidents SET nibrs_code = $1, nibrs_group = $2, crime_against = $3, harm_category = $4 \
                 WHERE nibrs_code IS NULL AND offense = $5")
                .bind(&c.nibrs_code).bind(&c.nibrs_group).bind(&c.crime_against).bind(&c.harm_category).bind(&offense)
                .execute(pool).await.map(|r| r.rows_affected()))?;
            summary.classified += done;
        }
        summary.districted = self.assign_districts().await?;
        Ok(summary)
    }

    /// The harm track (`violent`, `property`, `quality_of_life`) of every classified offence text
    /// in the incidents.
    ///
    /// # Errors
    /// A store error.
    pub async fn offense_tracks(&self) -> Result<std::collections::HashMap<String, String>, BodegaError> {
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT offense, MAX(harm_category) FROM incidents WHERE harm_category IS NOT NULL GROUP BY offense")
            .fetch_all(pool).await)?;
        Ok(rows.into_iter().collect())
    }

    /// Offence texts no map knows, with how many incidents carry each, most first.
    ///
    /// # Errors
    /// A store error.
    pub async fn unclassified_offenses(&self) -> Result<Vec<(String, i64)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT offense, COUNT(*) FROM incidents WHERE nibrs_code IS NULL GROUP BY offense ORDER BY COUNT(*) DESC, offense")
            .fetch_all(pool).await)?)
    }

    /// Gives located incidents without a district code the district whose outline holds them.
    /// Returns how many were given one (incidents outside every district keep none).
    ///
    /// # Errors
    /// A store error.
    pub async fn assign_districts(&self) -> Result<u64, BodegaError> {
        let areas = self.district_areas().await?;
        if areas.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(i64, f64, f64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, lon, lat FROM incidents WHERE district_code IS NULL AND lat IS NOT NULL AND geo_flag IS NULL")
            .fetch_all(pool).await)?;
        let mut by_district: Vec<Vec<i64>> = vec![Vec::new(); areas.len()];
        for (id, lon, lat) in rows {
            let p = Point(Coord { x: lon, y: lat });
            if let Some(i) = areas.iter().position(|a| a.area.contains(&p)) {
                by_district[i].push(id);
            }
        }
        let mut done = 0;
        for (area, ids) in areas.iter().zip(by_district) {
            if ids.is_empty() {
                continue;
            }
            // The district's rows and its counter move together (see crate::aggregates).
            done += on_writer!(self, pool => {
                let mut tx = begin_write(pool).await?;
                let mut n = 0;
                for chunk in ids.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::new("UPDATE incidents SET district_code = ");
                    qb.push_bind(area.code.clone()).push(" WHERE district_code IS NULL AND id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    n += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                crate::bump_cell_days!(tx, [&area.code]);
                tx.commit().await?;
                n
            });
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_map_is_consistent() {
        let mut seen = std::collections::BTreeSet::new();
        for c in SHIPPED {
            assert!(seen.insert(offense_key(c.text)), "{} is listed twice", c.text);
            assert!(["person", "property", "society", "not_a_crime"].contains(&c.crime_against), "{c:?}");
            assert!(["violent", "property", "quality_of_life"].contains(&c.harm_category), "{c:?}");
            assert_eq!(c.nibrs_code.is_empty(), c.crime_against == "not_a_crime", "{c:?}");
            // Group B offences are the 90-series.
            assert_eq!(c.nibrs_group == "B", c.nibrs_code.starts_with('9'), "{c:?}");
        }
    }
}
