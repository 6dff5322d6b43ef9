//! What comes back from the field, and where it goes: each mission's notes in force and its
//! review comment (the board card and the mission's detail), the district's follow-up queue
//! (finished missions whose officer answered "needs follow-up"), and the outcomes added up by
//! template, district, place and week.

use std::collections::{BTreeMap, HashSet};

use protocol::menu::OutcomeKind;
use protocol::mission::{FollowUp, GroupBy, Mission, MissionFeedback, OutcomeRow};
use protocol::sync::Note;
use protocol::MissionStatus;
use serde::{Deserialize, Serialize};

use crate::missions::{MissionError, MissionFilter};
use crate::store::{now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// How a follow-up was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    /// Turned into a new mission.
    Mission,
    /// Closed without one, with a reason.
    Closed,
}

impl Handled {
    fn as_str(self) -> &'static str {
        match self {
            Handled::Mission => "mission",
            Handled::Closed => "closed",
        }
    }
}

/// Adds up finished missions' outcomes by `by`: a pure sum over what was answered — count
/// fields summed, yes/no fields counted when yes, choices left to the mission's own record.
/// Groups sort by name (weeks in time order).
pub fn outcome_rollup(missions: &[Mission], by: GroupBy) -> Vec<OutcomeRow> {
    let mut groups: BTreeMap<String, OutcomeRow> = BTreeMap::new();
    for m in missions {
        if matches!(m.status, MissionStatus::Draft | MissionStatus::Cancelled) {
            continue;
        }
        let key = match by {
            GroupBy::Template => m.template.name.clone(),
            GroupBy::District => m.district.clone(),
            GroupBy::Place => m.place_label.clone(),
            GroupBy::Week => iso_week(&m.shift_date),
        };
        let row = groups.entry(key.clone()).or_insert_with(|| OutcomeRow { group: key, ..OutcomeRow::default() });
        row.missions += 1;
        match m.status {
            MissionStatus::Completed | MissionStatus::Reviewed => row.completed += 1,
            MissionStatus::NotCompleted => row.not_completed += 1,
            _ => {}
        }
        if m.needs_follow_up() {
            row.follow_ups += 1;
        }
        let Some(outcome) = &m.outcome else { continue };
        for f in &m.template.outcome_fields {
            let add = match (f.kind, outcome.get(&f.key)) {
                (OutcomeKind::Count, Some(v)) => v.as_i64().unwrap_or(0),
                (OutcomeKind::YesNo, Some(v)) => i64::from(v.as_bool() == Some(true)),
                _ => continue,
            };
            match row.figures.iter_mut().find(|(label, _)| label == &f.label) {
                Some((_, n)) => *n += add,
                None => row.figures.push((f.label.clone(), add)),
            }
        }
    }
    groups.into_values().collect()
}

/// The outcome table as CSV (a header row, then one row per group: the group, the counts, then
/// one column per figure), through the one CSV writer whose cells cannot start a formula: place
/// names come from ingested data and template names are typed.
///
/// # Errors
/// The writer's error (none for an in-memory buffer, in practice).
pub fn outcomes_csv(by: GroupBy, rows: &[OutcomeRow]) -> std::io::Result<String> {
    let labels = protocol::mission::figure_labels(rows);
    let mut out = crate::export::CsvExport::new(Vec::new());
    let mut header: Vec<String> =
        [by.key(), "missions", "completed", "not_completed", "follow_ups"].map(str::to_string).to_vec();
    header.extend(labels.iter().cloned());
    out.write_record(&header)?;
    for r in rows {
        let mut cells = vec![
            r.group.clone(),
            r.missions.to_string(),
            r.completed.to_string(),
            r.not_completed.to_string(),
            r.follow_ups.to_string(),
        ];
        cells.extend(labels.iter().map(|l| r.figures.iter().find(|(k, _)| k == l).map_or(0, |(_, n)| *n).to_string()));
        out.write_record(&cells)?;
    }
    let bytes = out.into_inner()?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// "2020-W53" for a `YYYY-MM-DD` date (ISO 8601 weeks start on Monday); the text itself when it
/// is not a date.
pub fn iso_week(date: &str) -> String {
    match date.parse::<jiff::civil::Date>() {
        Ok(d) => {
            let w = d.iso_week_date();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Err(_) => date.to_string(),
    }
}

impl Bodega {
    /// Each mission's notes in force (a note an edit superseded is left out), review comment
    /// and cancellation reason, in the order of `ids`.
    ///
    /// # Errors
    /// A store error.
    pub async fn mission_feedback(&self, ids: &[String]) -> Result<Vec<MissionFeedback>, BodegaError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let rows: Vec<(String, String, String, Option<String>, i64)> = on_pool!(self, pool => sqlx::query_as(
                "SELECT n.id, u.display_name, n.body, n.supersedes, n.server_time FROM mission_notes n \
                 JOIN users u ON u.id = n.author_user_id WHERE n.mission_id = $1 ORDER BY n.server_time, n.id")
                .bind(id).fetch_all(pool).await)?;
            let replaced: HashSet<String> = rows.iter().filter_map(|r| r.3.clone()).collect();
            let notes = rows
                .into_iter()
                .filter(|r| !replaced.contains(&r.0))
                .map(|(note_id, author, body, supersedes, server_time)| Note {
                    id: note_id,
                    mission_id: id.clone(),
                    author,
                    body,
                    supersedes,
                    server_time,
                })
                .collect();
            let steps: Vec<(String, String, String)> = on_pool!(self, pool => sqlx::query_as(
                "SELECT e.transition, u.display_name, e.detail FROM mission_events e \
                 JOIN users u ON u.id = e.actor_user_id \
                 WHERE e.mission_id = $1 AND e.transition IN ('review', 'cancel') ORDER BY e.id")
                .bind(id).fetch_all(pool).await)?;
            let mut fb = MissionFeedback { mission_id: id.clone(), notes, ..MissionFeedback::default() };
            for (transition, who, detail) in steps {
                let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
                let text = |key: &str| detail.get(key).and_then(|v| v.as_str()).map(str::to_string);
                match transition.as_str() {
                    "review" => fb.review_comment = text("note").map(|t| (t, who)),
                    _ => fb.cancel_reason = text("reason").map(|t| (t, who)),
                }
            }
            out.push(fb);
        }
        Ok(out)
    }

    /// A district's follow-up queue (every district's with `None`): finished missions whose
    /// officer answered "needs follow-up" and that nobody has handled yet, newest shift first.
    ///
    /// # Errors
    /// A store error.
    pub async fn follow_ups(&self, district: Option<&str>) -> Result<Vec<FollowUp>, BodegaError> {
        let handled: HashSet<String> = on_pool!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT mission_id FROM mission_follow_ups").fetch_all(pool).await)?
        .into_iter()
        .collect();
        let filter =
            MissionFilter { district: district.map(str::to_string), exclude_drafts: true, ..Default::default() };
        let mut waiting: Vec<Mission> = self
            .missions(&filter)
            .await?
            .into_iter()
            .filter(|m| m.needs_follow_up() && !handled.contains(&m.id))
            .collect();
        waiting.sort_by(|a, b| b.shift_date.cmp(&a.shift_date).then(b.window_start.cmp(&a.window_start)));
        let ids: Vec<String> = waiting.iter().map(|m| m.id.clone()).collect();
        let feedback = self.mission_feedback(&ids).await?;
        Ok(waiting.into_iter().zip(feedback).map(|(mission, feedback)| FollowUp { mission, feedback }).collect())
    }

    /// Records a follow-up as handled: turned into `new_mission` or closed with `reason`. Claim
    /// it before creating the new mission (then point it there with [`Bodega::link_follow_up`]),
    /// so two sergeants cannot both turn it into a mission.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] when the mission needs no follow-up, was handled already, or a
    /// closing has no reason; [`MissionError::NotFound`]; a store error.
    pub async fn handle_follow_up(
        &self,
        mission_id: &str,
        handled: Handled,
        reason: &str,
        by: i64,
    ) -> Result<Mission, MissionError> {
        let m = self
            .mission(mission_id)
            .await?
            .ok_or_else(|| MissionError::NotFound(format!("no mission {mission_id}")))?;
        if !m.needs_follow_up() {
            return Err(MissionError::Invalid {
                field: "mission_id",
                reason: "this mission's officer did not ask for a follow-up".into(),
            });
        }
        let reason = reason.trim();
        if handled == Handled::Closed && reason.is_empty() {
            return Err(MissionError::Invalid { field: "reason", reason: "say why it needs no mission".into() });
        }
        protocol::text::check(reason, 500, protocol::text::Lines::Many)
            .map_err(|r| MissionError::Invalid { field: "reason", reason: r })?;
        let inserted = on_writer!(self, pool => sqlx::query(
            "INSERT INTO mission_follow_ups (mission_id, handled_as, reason, handled_by, handled_at) \
             VALUES ($1, $2, $3, $4, $5)")
            .bind(mission_id).bind(handled.as_str()).bind(reason).bind(by).bind(now_seconds())
            .execute(pool).await.map(|r| r.rows_affected()));
        match inserted {
            Ok(_) => Ok(m),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(MissionError::Invalid { field: "mission_id", reason: "this follow-up was handled already".into() })
            }
            Err(e) => Err(MissionError::Store(BodegaError::Query(e))),
        }
    }

    /// Points a claimed follow-up at the mission made from it.
    ///
    /// # Errors
    /// A store error.
    pub async fn link_follow_up(&self, mission_id: &str, new_mission_id: &str) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query("UPDATE mission_follow_ups SET new_mission_id = $2 WHERE mission_id = $1")
            .bind(mission_id).bind(new_mission_id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Gives a claimed follow-up back to the queue (its new mission could not be created).
    ///
    /// # Errors
    /// A store error.
    pub async fn release_follow_up(&self, mission_id: &str) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "DELETE FROM mission_follow_ups WHERE mission_id = $1 AND new_mission_id IS NULL AND handled_as = 'mission'")
            .bind(mission_id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Missions issued for shifts from `from` to `to` (local dates, inclusive), in a district
    /// or all: what the outcomes page adds up.
    ///
    /// # Errors
    /// A store error.
    pub async fn missions_between(
        &self,
        district: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<Mission>, BodegaError> {
        let filter = MissionFilter {
            district: district.map(str::to_string),
            exclude_drafts: true,
            dates: Some((from.to_string(), to.to_string())),
            ..Default::default()
        };
        self.missions(&filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_csv_cannot_start_a_formula() {
        let row = |group: &str, figures: Vec<(String, i64)>| OutcomeRow {
            group: group.into(),
            missions: 2,
            completed: 1,
            not_completed: 1,
            follow_ups: 0,
            figures,
        };
        let rows = vec![
            row("=HYPERLINK(\"http://x\")", vec![("Contacts made".into(), 3)]),
            row("10XX Alberni St, West End", vec![("Reports taken".into(), 1)]),
        ];
        let csv = outcomes_csv(GroupBy::Place, &rows).expect("csv");
        assert_eq!(
            csv,
            "place,missions,completed,not_completed,follow_ups,Contacts made,Reports taken\n\
             \"'=HYPERLINK(\"\"http://x\"\")\",2,1,1,0,3,0\n\
             \"10XX Alberni St, West End\",2,1,1,0,0,1\n"
        );
    }

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(iso_week("2020-12-31"), "2020-W53");
        assert_eq!(iso_week("2021-01-03"), "2020-W53", "a Sunday belongs to the week of its Monday");
        assert_eq!(iso_week("2021-01-04"), "2021-W01");
        assert_eq!(iso_week("not a date"), "not a date");
    }
}
