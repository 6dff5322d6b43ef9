//! Calls for service as an optional quality-of-life track of the ranking (docs/HARM.md, "Calls
//! for service"): the department's weights by call type and priority, on the harm table's scale
//! (days), and the located calls that did not become a located incident, so a call that became
//! an incident counts once (as the incident). Off until command gives the track a weight
//! (`DosageRules::calls_weight_pct`, 0 by default); turning it on needs a table loaded here.
//!
//! The table is the department's own: no published index weighs calls, and call types differ
//! from one dispatch system to the next. It is replaced as a whole (a file is the table), every
//! replacement audited by the caller.

use std::collections::HashMap;

use crate::queries::Filter;
use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// One row of a call weight table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallWeight {
    /// The dispatch system's call type, lower case.
    pub call_type: String,
    /// Its priority, lower case; empty for any priority the table does not list.
    pub priority: String,
    /// Days, on the harm table's scale.
    pub weight: f64,
    /// Where the weight comes from.
    pub note: String,
}

/// Why a call weight table is refused (the line and field named).
#[derive(Debug, thiserror::Error)]
pub enum CallWeightsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BodegaError),
    /// The file cannot be the table.
    #[error("call weights: {0}")]
    Invalid(String),
}

fn key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Reads a call weight file: CSV `call_type,priority,weight[,note]` (`priority` may be empty:
/// any priority not listed). Every row checked; the first bad one refuses the file, named by
/// line and field.
///
/// # Errors
/// [`CallWeightsError::Invalid`].
pub fn read_call_weights(bytes: &[u8]) -> Result<Vec<CallWeight>, CallWeightsError> {
    let bad = |m: String| CallWeightsError::Invalid(m);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |n: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
    let (Some(t), Some(p), Some(w), n) = (col("call_type"), col("priority"), col("weight"), col("note")) else {
        return Err(bad("the header needs call_type, priority and weight (and may have note)".into()));
    };
    let mut rows: Vec<CallWeight> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(format!("line {line}: {e}")))?;
        let field = |c: usize| record.get(c).unwrap_or("");
        let call_type = key(field(t));
        if call_type.is_empty() {
            return Err(bad(format!("line {line}, call_type: empty")));
        }
        let priority = key(field(p));
        let text = field(w).trim();
        let weight: f64 = text
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| bad(format!("line {line}, weight: '{text}' is not a number of days, 0 or more")))?;
        if let Some(first) = seen.insert((call_type.clone(), priority.clone()), line) {
            return Err(bad(format!(
                "line {line}: call type '{call_type}' priority '{priority}' is weighed already on line {first}"
            )));
        }
        let note = n.map(field).unwrap_or("").trim().to_string();
        rows.push(CallWeight { call_type, priority, weight, note });
    }
    if rows.is_empty() {
        return Err(bad("the file weighs no call type".into()));
    }
    Ok(rows)
}

/// The table in force, ready to weigh calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallWeights {
    rows: HashMap<(String, String), f64>,
}

impl CallWeights {
    /// From rows (as read or stored).
    pub fn new(rows: &[CallWeight]) -> Self {
        Self { rows: rows.iter().map(|r| ((key(&r.call_type), key(&r.priority)), r.weight)).collect() }
    }

    /// True when no call type is weighed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A call's weight: its type at its priority, else its type at any priority; `None` for a
    /// type the table does not know.
    pub fn weigh(&self, call_type: &str, priority: &str) -> Option<f64> {
        let t = key(call_type);
        self.rows.get(&(t.clone(), key(priority))).or_else(|| self.rows.get(&(t, String::new()))).copied()
    }
}

/// A located call for the ranking: `(lon, lat, received_at, call_type, priority)`.
pub type LocatedCall = (f64, f64, i64, String, String);

impl Bodega {
    /// Replaces the call weight table with `rows` (all or none). Returns how many rows the
    /// table had before.
    ///
    /// # Errors
    /// [`CallWeightsError`].
    pub async fn replace_call_weights(&self, rows: &[CallWeight]) -> Result<usize, CallWeightsError> {
        if rows.is_empty() {
            return Err(CallWeightsError::Invalid("the table weighs no call type".into()));
        }
        let before = self.call_weights().await?.len();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await.map_err(BodegaError::from)?;
            sqlx::query("DELETE FROM call_weights").execute(&mut *tx).await.map_err(BodegaError::from)?;
            for r in rows {
                sqlx::query("INSERT INTO call_weights (call_type, priority, weight, note) VALUES ($1, $2, $3, $4)")
                    .bind(key(&r.call_type)).bind(key(&r.priority)).bind(r.weight).bind(&r.note)
                    .execute(&mut *tx).await.map_err(BodegaError::from)?;
            }
            tx.commit().await.map_err(BodegaError::from)?;
        });
        Ok(before)
    }

    /// The call weight table, by call type and priority.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn call_weights(&self) -> Result<Vec<CallWeight>, BodegaError> {
        let rows: Vec<(String, String, f64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT call_type, priority, weight, note FROM call_weights")
            .fetch_all(pool).await)?;
        let mut rows: Vec<CallWeight> = rows
            .into_iter()
            .map(|(call_type, priority, weight, note)| CallWeight { call_type, priority, weight, note })
            .collect();
        // By bytes here: PostgreSQL's collation would order differently from SQLite's.
        rows.sort_by(|a, b| (&a.call_type, &a.priority).cmp(&(&b.call_type, &b.priority)));
        Ok(rows)
    }

    /// The call types in the Data Bodega the table does not weigh, with how many calls each,
    /// most first: what a department still has to weigh.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn unweighed_call_types(&self) -> Result<Vec<(String, i64)>, BodegaError> {
        let weights = CallWeights::new(&self.call_weights().await?);
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT call_type, priority, COUNT(*) FROM calls_for_service GROUP BY call_type, priority")
            .fetch_all(pool).await)?;
        let mut missing: HashMap<String, i64> = HashMap::new();
        for (t, p, n) in rows {
            if weights.weigh(&t, &p).is_none() {
                *missing.entry(t).or_default() += n;
            }
        }
        let mut missing: Vec<(String, i64)> = missing.into_iter().collect();
        missing.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(missing)
    }

    /// Located calls received in `filter`'s time and box (no geocoding flag), except those that
    /// became an incident the Data Bodega holds with a location: that incident carries the
    /// harm, so the call counts once.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn calls_for_ranking(&self, filter: &Filter) -> Result<Vec<LocatedCall>, BodegaError> {
        let (from, to) = (filter.from.unwrap_or(i64::MIN), filter.to.unwrap_or(i64::MAX));
        let (w, s, e, n) = filter.bbox.unwrap_or((-180.0, -90.0, 180.0, 90.0));
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT c.lon, c.lat, c.received_at, c.call_type, c.priority FROM calls_for_service c \
             WHERE c.lat IS NOT NULL AND c.geo_flag IS NULL AND c.received_at >= $1 AND c.received_at < $2 \
             AND c.lon >= $3 AND c.lat >= $4 AND c.lon <= $5 AND c.lat <= $6 \
             AND NOT EXISTS (SELECT 1 FROM incidents i WHERE c.incident_id IS NOT NULL AND c.incident_id <> '' \
                 AND i.source_id = c.incident_id AND i.lat IS NOT NULL AND i.geo_flag IS NULL)")
            .bind(from).bind(to).bind(w).bind(s).bind(e).bind(n)
            .fetch_all(pool).await)?)
    }
}
