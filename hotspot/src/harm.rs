//! Harm weights: how much each offence counts.
//!
//! A [`HarmTable`] maps offence text (as the department's data writes it, compared
//! case-insensitively with surrounding spaces ignored) to a weight. Every table carries a name
//! and a version, and every score reports the table that produced it. An offence the table does
//! not know weighs 0 in harm — it still counts in `count` — and is reported by
//! [`HarmTable::weigh`]'s caller per offence text, never silently dropped.

use std::collections::BTreeMap;

/// A named, versioned table of offence weights.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmTable {
    name: String,
    version: String,
    /// `None`: every offence weighs 1 (the plain count table).
    weights: Option<BTreeMap<String, f64>>,
}

/// Why a table cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HarmError {
    /// A weight is negative, infinite or not a number.
    #[error("weight for '{offense}' must be a finite number ≥ 0, got {weight}")]
    BadWeight {
        /// The offence.
        offense: String,
        /// The weight given.
        weight: f64,
    },
    /// The same offence appears twice with different weights.
    #[error("'{0}' is listed twice with different weights")]
    Conflict(String),
    /// An empty offence name.
    #[error("an offence name is empty")]
    EmptyOffense,
}

fn normalise(offense: &str) -> String {
    offense.trim().to_lowercase()
}

impl HarmTable {
    /// The plain count table: every offence weighs 1.
    pub fn count() -> Self {
        Self { name: "count".into(), version: "count@1".into(), weights: None }
    }

    /// A table from `(offence, weight)` entries.
    ///
    /// # Errors
    /// [`HarmError`] for negative or non-finite weights, empty names or conflicting duplicates.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        entries: impl IntoIterator<Item = (String, f64)>,
    ) -> Result<Self, HarmError> {
        let mut weights = BTreeMap::new();
        for (offense, weight) in entries {
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(HarmError::BadWeight { offense, weight });
            }
            let key = normalise(&offense);
            if key.is_empty() {
                return Err(HarmError::EmptyOffense);
            }
            if let Some(previous) = weights.insert(key, weight) {
                if previous != weight {
                    return Err(HarmError::Conflict(offense));
                }
            }
        }
        Ok(Self { name: name.into(), version: version.into(), weights: Some(weights) })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version every score produced with this table reports.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The weight of an offence, or `None` when the table does not know it.
    pub fn weigh(&self, offense: &str) -> Option<f64> {
        match &self.weights {
            None => Some(1.0),
            Some(w) => w.get(&normalise(offense)).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_weighs_everything_one() {
        let t = HarmTable::count();
        assert_eq!(t.weigh("anything at all"), Some(1.0));
        assert_eq!(t.version(), "count@1");
    }

    #[test]
    fn lookups_ignore_case_and_spaces_and_unknowns_are_none() {
        let t = HarmTable::new("dept", "dept@abc", [("Robbery".to_string(), 365.0), ("Mischief ".to_string(), 2.0)])
            .expect("table");
        assert_eq!(t.weigh("  ROBBERY"), Some(365.0));
        assert_eq!(t.weigh("mischief"), Some(2.0));
        assert_eq!(t.weigh("Homicide"), None);
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(matches!(HarmTable::new("x", "v", [("A".to_string(), -1.0)]), Err(HarmError::BadWeight { .. })));
        assert!(matches!(HarmTable::new("x", "v", [("A".to_string(), f64::NAN)]), Err(HarmError::BadWeight { .. })));
        assert_eq!(
            HarmTable::new("x", "v", [("A".to_string(), 1.0), ("a".to_string(), 2.0)]),
            Err(HarmError::Conflict("a".into()))
        );
        assert_eq!(HarmTable::new("x", "v", [(" ".to_string(), 1.0)]), Err(HarmError::EmptyOffense));
    }
}
