//! The Mission Menu's records: templates, their outcome fields, and the checks a template must
//! pass — run by the editor in the browser before it sends, and by the server before it stores.

use crate::text::Lines;
use serde::{Deserialize, Serialize};

/// A field that failed a check, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field, as named in the request.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// Most outcome fields in a template, and most choices in one.
pub const MAX_LIST: usize = 20;

fn invalid(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError { field, reason: reason.into() }
}

/// How an outcome field is answered (no typing for the common cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A number, entered with − / + buttons.
    Count,
    /// Yes or no.
    YesNo,
    /// One of a short list.
    Choice,
}

/// One field the officer fills in on completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeField {
    /// Key in the stored outcome.
    pub key: String,
    /// Label on the form.
    pub label: String,
    /// How it is answered.
    pub kind: OutcomeKind,
    /// The choices, for [`OutcomeKind::Choice`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// The tactics the Mission Menu offers.
pub const TACTICS: &[(&str, &str)] = &[
    ("directed_patrol", "Directed patrol (Koper visit)"),
    ("park_and_walk", "Park and walk"),
    ("business_check", "Business check"),
    ("traffic_safety", "Traffic safety"),
    ("community_contact", "Community contact"),
    ("problem_solving", "Problem-solving follow-up"),
];

/// Crime types a template can suit.
pub const CRIME_TYPES: &[&str] = &["violent", "property", "quality_of_life", "calls"];

/// A Mission Menu template, one version of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Row id of this version.
    pub id: i64,
    /// Stable key across versions.
    pub key: String,
    /// Version number, from 1.
    pub version: i64,
    /// Name.
    pub name: String,
    /// What success looks like.
    pub goal: String,
    /// One of [`TACTICS`].
    pub tactic: String,
    /// Default minutes in place per visit.
    pub dwell_minutes: i64,
    /// Visits per shift.
    pub visits_per_shift: i64,
    /// Crime types it suits (from [`CRIME_TYPES`]).
    pub crime_types: Vec<String>,
    /// Fields filled in on completion.
    pub outcome_fields: Vec<OutcomeField>,
    /// Why this tactic, with sources.
    pub evidence_note: String,
    /// False once retired.
    pub active: bool,
}

/// What a template is made of (for creating or revising one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDraft {
    /// Name.
    pub name: String,
    /// What success looks like.
    pub goal: String,
    /// One of [`TACTICS`].
    pub tactic: String,
    /// Default minutes in place per visit (1–240).
    pub dwell_minutes: i64,
    /// Visits per shift (1–12).
    pub visits_per_shift: i64,
    /// Crime types it suits.
    pub crime_types: Vec<String>,
    /// Fields filled in on completion.
    pub outcome_fields: Vec<OutcomeField>,
    /// Why this tactic, with sources.
    pub evidence_note: String,
    /// False to retire it.
    pub active: bool,
}

/// The stable key a template's name gives (lower-case words joined by '-').
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').chars().take(48).collect()
}

impl TemplateDraft {
    /// Checks every field.
    ///
    /// # Errors
    /// [`FieldError`] naming the first bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let text = |field: &'static str, value: &str, max: usize, lines: Lines| {
            crate::text::check(value, max, lines).map_err(|reason| invalid(field, reason))
        };
        let name = self.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "must be 1 to 80 characters"));
        }
        text("name", name, 80, Lines::One)?;
        if slug(name).is_empty() {
            return Err(invalid("name", "needs at least one letter or digit"));
        }
        if self.goal.trim().is_empty() {
            return Err(invalid("goal", "must be 1 to 500 characters"));
        }
        text("goal", &self.goal, 500, Lines::Many)?;
        if !TACTICS.iter().any(|(k, _)| *k == self.tactic) {
            let known: Vec<&str> = TACTICS.iter().map(|(k, _)| *k).collect();
            return Err(invalid("tactic", format!("'{}' is not one of {}", self.tactic, known.join(", "))));
        }
        if !(1..=240).contains(&self.dwell_minutes) {
            return Err(invalid("dwell_minutes", "must be 1 to 240 minutes"));
        }
        if !(1..=12).contains(&self.visits_per_shift) {
            return Err(invalid("visits_per_shift", "must be 1 to 12"));
        }
        if let Some(t) = self.crime_types.iter().find(|t| !CRIME_TYPES.contains(&t.as_str())) {
            return Err(invalid("crime_types", format!("'{t}' is not one of {}", CRIME_TYPES.join(", "))));
        }
        let mut keys = std::collections::BTreeSet::new();
        if self.outcome_fields.len() > MAX_LIST {
            return Err(invalid("outcome_fields", format!("at most {MAX_LIST} fields")));
        }
        for (i, f) in self.outcome_fields.iter().enumerate() {
            if f.label.trim().is_empty() {
                return Err(invalid("outcome_fields", format!("field {} needs a label", i + 1)));
            }
            text("outcome_fields", &f.label, 80, Lines::One)
                .map_err(|e| invalid("outcome_fields", format!("field {} label: {}", i + 1, e.reason)))?;
            if f.choices.len() > MAX_LIST {
                return Err(invalid("outcome_fields", format!("'{}' has more than {MAX_LIST} choices", f.key)));
            }
            for c in &f.choices {
                text("outcome_fields", c, 80, Lines::One)
                    .map_err(|e| invalid("outcome_fields", format!("a choice of '{}': {}", f.key, e.reason)))?;
            }
            if f.key.chars().count() > 40 {
                return Err(invalid("outcome_fields", format!("field {} key: at most 40 characters", i + 1)));
            }
            if f.key.is_empty() || !f.key.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()) {
                return Err(invalid(
                    "outcome_fields",
                    format!("key '{}' must be lower-case letters, digits and '_'", f.key),
                ));
            }
            if !keys.insert(f.key.clone()) {
                return Err(invalid("outcome_fields", format!("key '{}' is listed twice", f.key)));
            }
            if f.kind == OutcomeKind::Choice && f.choices.len() < 2 {
                return Err(invalid("outcome_fields", format!("'{}' needs at least two choices", f.key)));
            }
        }
        text("evidence_note", &self.evidence_note, 2000, Lines::Many)?;
        Ok(())
    }
}
