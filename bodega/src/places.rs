//! Places with names. An officer reads "10XX Alberni St (West End)", not `D1 cell 3276/36392`:
//! each micro place takes its name from the block addresses of the incidents in it, rebuilt after
//! every incident load ([`Bodega::refresh_place_labels`]) and read by every screen that names a
//! place ([`Bodega::place_names`]); a mission stores its place's name when issued, so the
//! officer's device carries it offline.
//!
//! The rule, for each cell of the micro-place lattice (its UTM zone the incident's own):
//! - **block**: the most frequent block among its mapped incidents (coordinates kept, no
//!   location flag), written as people read it ([`readable_block`]); ties go to the block that
//!   sorts first as written, so a name never changes between two rebuilds of the same data.
//!   Placeholders are skipped ([`PLACEHOLDER_BLOCKS`]: VPD's unknown-location block and its
//!   privacy offset), so a cell holding only those has no block.
//! - **neighbourhood**: the most frequent neighbourhood among the same incidents, ties alike.
//! - A cell with neither has no name: screens fall back to the district and a grid reference
//!   ([`fallback_label`]).

use std::collections::HashMap;

use hotspot::{CellSize, Epsg, Lattice};
use serde::{Deserialize, Serialize};

use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Blocks that name no place: VPD's unknown-location placeholder (geocoded near 312 Main
/// Street) and the text VPD writes where it withholds the location. Compared as written, after
/// [`readable_block`]'s spacing is applied, case-insensitively.
pub const PLACEHOLDER_BLOCKS: &[&str] = &["X NK_LOC ST", "OFFSET TO PROTECT PRIVACY"];

/// The micro place's lattice, the one missions, presence and the device's cache use.
pub const MICRO_PLACE: CellSize = CellSize::from_const(protocol::MICRO_PLACE_M);

/// A place's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceName {
    /// The block, as people read it ("10XX Alberni St", "Mission St / 16th St"); empty when
    /// only a neighbourhood is known.
    pub block: String,
    /// The neighbourhood, or empty.
    pub neighbourhood: String,
    /// Incidents at that block in the cell (what the name stands on).
    pub incidents: i64,
}

impl PlaceName {
    /// "10XX Alberni St (West End)", "10XX Alberni St", or "West End".
    pub fn label(&self) -> String {
        match (self.block.is_empty(), self.neighbourhood.is_empty()) {
            (false, false) => format!("{} ({})", self.block, self.neighbourhood),
            (false, true) => self.block.clone(),
            (true, _) => self.neighbourhood.clone(),
        }
    }
}

/// A place without a name: its district and grid reference ("D1 grid 3276/36392").
pub fn fallback_label(district: &str, ix: i64, iy: i64) -> String {
    format!("{district} grid {ix}/{iy}")
}

/// A block as people read it: spaces collapsed, an intersection's parts joined by " / " and
/// each kept whole, words in title case except those that are codes ("10XX", "0000X"), compass
/// points ("W", "SE") and ordinals ("16th"). `None` for an empty block or a placeholder.
pub fn readable_block(raw: &str) -> Option<String> {
    let spaced = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if spaced.is_empty() || PLACEHOLDER_BLOCKS.iter().any(|p| p.eq_ignore_ascii_case(&spaced)) {
        return None;
    }
    let parts: Vec<String> = spaced
        .split(['/', '\\', '&'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| part.split(' ').map(word).collect::<Vec<_>>().join(" "))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

fn word(w: &str) -> String {
    let digits = w.chars().filter(char::is_ascii_digit).count();
    let letters: String = w.chars().filter(|c| c.is_alphabetic()).collect();
    let ordinal = ["ST", "ND", "RD", "TH"].iter().any(|s| letters.eq_ignore_ascii_case(s));
    if digits > 0 && ordinal && w.ends_with(|c: char| c.is_alphabetic()) {
        // 16TH -> 16th
        return w.to_lowercase();
    }
    // Codes, and compass points ("W", "SE") as street names write them.
    let compass = ["NE", "NW", "SE", "SW"].iter().any(|d| w.eq_ignore_ascii_case(d));
    if digits > 0 || w.chars().count() == 1 || compass {
        return w.to_uppercase();
    }
    let mut out = String::with_capacity(w.len());
    let mut start = true;
    for c in w.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        // A hyphen starts a new word ("KING-GEORGE" -> "King-George").
        start = c == '-';
    }
    out
}

/// The most frequent key, ties to the one that sorts first (`None` for no key).
fn most_frequent(counts: &HashMap<String, i64>) -> Option<(String, i64)> {
    counts.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(k, n)| (k.clone(), *n))
}

#[derive(Default)]
struct CellTally {
    blocks: HashMap<String, i64>,
    neighbourhoods: HashMap<String, i64>,
}

/// The names of the cells of `incidents` (`(lat, lon, block, neighbourhood)` each), in a lattice
/// of `size` per UTM zone: the rule above, with no store. Keyed by `(epsg, ix, iy)`.
pub fn name_cells(
    incidents: impl IntoIterator<Item = (f64, f64, String, String)>,
    size: CellSize,
) -> HashMap<(u32, i64, i64), PlaceName> {
    let mut lattices: HashMap<Epsg, Lattice> = HashMap::new();
    let mut cells: HashMap<(u32, i64, i64), CellTally> = HashMap::new();
    for (lat, lon, block, neighbourhood) in incidents {
        let Ok(epsg) = Epsg::for_lon_lat(lon, lat) else { continue };
        let lattice = lattices.entry(epsg).or_insert_with(|| Lattice::of(epsg, size));
        let Ok(key) = lattice.key_of(lon, lat) else { continue };
        let tally = cells.entry((epsg.code(), key.ix, key.iy)).or_default();
        if let Some(b) = readable_block(&block) {
            *tally.blocks.entry(b).or_default() += 1;
        }
        let n = neighbourhood.split_whitespace().collect::<Vec<_>>().join(" ");
        if !n.is_empty() {
            *tally.neighbourhoods.entry(n).or_default() += 1;
        }
    }
    cells
        .into_iter()
        .filter_map(|(key, t)| {
            let block = most_frequent(&t.blocks);
            let neighbourhood = most_frequent(&t.neighbourhoods).map(|(n, _)| n).unwrap_or_default();
            if block.is_none() && neighbourhood.is_empty() {
                return None;
            }
            let (block, incidents) = block.unwrap_or_default();
            Some((key, PlaceName { block, neighbourhood, incidents }))
        })
        .collect()
}

type LabelRow = (i64, i64, String, String, i64);

impl Bodega {
    /// Rebuilds every place name of the `size` lattice from the incidents, in one transaction
    /// (a reader sees the old names or the new, never half). Returns how many places are named.
    ///
    /// # Errors
    /// A store error.
    pub async fn refresh_place_labels(&self, size: CellSize) -> Result<usize, BodegaError> {
        let rows: Vec<(f64, f64, String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT lat, lon, address, neighbourhood FROM incidents \
             WHERE lat IS NOT NULL AND lon IS NOT NULL AND geo_flag IS NULL AND (address <> '' OR neighbourhood <> '')")
            .fetch_all(pool).await)?;
        let names = name_cells(rows, size);
        let size_m = i64::from(size.m());
        let mut sorted: Vec<_> = names.into_iter().collect();
        sorted.sort_by_key(|(k, _)| *k);
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query("DELETE FROM place_labels WHERE size_m = $1").bind(size_m).execute(&mut *tx).await?;
            // 7 binds a row: 1000 rows a statement stays under both engines' limits.
            for chunk in sorted.chunks(1000) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO place_labels (epsg, size_m, ix, iy, block, neighbourhood, incidents) ");
                qb.push_values(chunk, |mut b, ((epsg, ix, iy), name)| {
                    b.push_bind(i64::from(*epsg)).push_bind(size_m).push_bind(*ix).push_bind(*iy)
                        .push_bind(name.block.clone()).push_bind(name.neighbourhood.clone()).push_bind(name.incidents);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(sorted.len())
    }

    /// The names of these cells of the `epsg`/`size` lattice (cells without one are left out).
    ///
    /// # Errors
    /// A store error.
    pub async fn place_names(
        &self,
        epsg: u32,
        size: CellSize,
        cells: &[(i64, i64)],
    ) -> Result<HashMap<(i64, i64), PlaceName>, BodegaError> {
        let (Some(x0), Some(x1)) = (cells.iter().map(|c| c.0).min(), cells.iter().map(|c| c.0).max()) else {
            return Ok(HashMap::new());
        };
        let (y0, y1) = (cells.iter().map(|c| c.1).min().unwrap_or(0), cells.iter().map(|c| c.1).max().unwrap_or(0));
        // One read of the cells' bounding box, then the cells asked for.
        let rows: Vec<LabelRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT ix, iy, block, neighbourhood, incidents FROM place_labels \
             WHERE epsg = $1 AND size_m = $2 AND ix BETWEEN $3 AND $4 AND iy BETWEEN $5 AND $6")
            .bind(i64::from(epsg)).bind(i64::from(size.m())).bind(x0).bind(x1).bind(y0).bind(y1)
            .fetch_all(pool).await)?;
        let wanted: std::collections::HashSet<(i64, i64)> = cells.iter().copied().collect();
        Ok(rows
            .into_iter()
            .filter(|(ix, iy, ..)| wanted.contains(&(*ix, *iy)))
            .map(|(ix, iy, block, neighbourhood, incidents)| ((ix, iy), PlaceName { block, neighbourhood, incidents }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_read_as_people_write_them_and_placeholders_name_nothing() {
        assert_eq!(readable_block("10XX ALBERNI ST").as_deref(), Some("10XX Alberni St"));
        assert_eq!(readable_block("7XX W  GEORGIA ST").as_deref(), Some("7XX W Georgia St"));
        assert_eq!(readable_block("MISSION ST \\ 16TH ST").as_deref(), Some("Mission St / 16th St"));
        assert_eq!(readable_block("Main St / E 2nd Ave").as_deref(), Some("Main St / E 2nd Ave"));
        assert_eq!(readable_block("0000X W JACKSON BLVD").as_deref(), Some("0000X W Jackson Blvd"));
        assert_eq!(readable_block("31XX GRANDVIEW HWY").as_deref(), Some("31XX Grandview Hwy"));
        assert_eq!(readable_block("3XX SE MARINE DR").as_deref(), Some("3XX SE Marine Dr"));
        assert_eq!(readable_block("KING-GEORGE BLVD").as_deref(), Some("King-George Blvd"));
        assert_eq!(readable_block("X NK_LOC ST"), None);
        assert_eq!(readable_block("OFFSET TO PROTECT PRIVACY"), None);
        assert_eq!(readable_block("  "), None);
    }

    fn at(block: &str, neighbourhood: &str) -> (f64, f64, String, String) {
        // One point of Vancouver's downtown: every incident here falls in one 150 m cell.
        (49.284788, -123.122937, block.into(), neighbourhood.into())
    }

    #[test]
    fn a_cell_is_named_by_its_most_frequent_block_ties_to_the_first_as_written() {
        let size = CellSize::from_const(150);
        let one = |rows: Vec<(f64, f64, String, String)>| {
            let names = name_cells(rows, size);
            assert_eq!(names.len(), 1);
            names.into_values().next().expect("one cell")
        };
        let name = one(vec![
            at("10XX ALBERNI ST", "West End"),
            at("10XX ALBERNI ST", "West End"),
            at("11XX ROBSON ST", "Downtown"),
            at("X NK_LOC ST", "Downtown"),
            at("X NK_LOC ST", "Downtown"),
            at("X NK_LOC ST", "Downtown"),
        ]);
        // The placeholder is the most frequent text and names nothing; the neighbourhood counts
        // every incident of the cell.
        assert_eq!(name.label(), "10XX Alberni St (Downtown)");
        assert_eq!(name.incidents, 2);
        // A tie of two blocks goes to the one that sorts first as written, whatever the order.
        let a = one(vec![at("11XX ROBSON ST", ""), at("10XX ALBERNI ST", "")]);
        let b = one(vec![at("10XX ALBERNI ST", ""), at("11XX ROBSON ST", "")]);
        assert_eq!((a.label(), b.label()), ("10XX Alberni St".to_string(), "10XX Alberni St".to_string()));
        // Only placeholders, no neighbourhood: no name.
        assert!(name_cells(vec![at("OFFSET TO PROTECT PRIVACY", "")], size).is_empty());
        assert_eq!(one(vec![at("X NK_LOC ST", "Strathcona")]).label(), "Strathcona");
        assert_eq!(fallback_label("D1", 3276, 36392), "D1 grid 3276/36392");
    }
}
