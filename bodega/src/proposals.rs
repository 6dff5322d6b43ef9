//! Officers' proposals: a mission of a Mission Menu template at a place an officer knows, with
//! why, waiting for their sergeant, who approves it (it becomes an issued mission) or declines
//! it with a reason. A record of its own, not a mission state — proposals are made online, so
//! the sync protocol and the mission state machine stay as they are.

use protocol::mission::{MissionProposal, Place, ProposalDraft, ProposalStatus};
use protocol::text::{check, Lines};

use crate::missions::MissionError;
use crate::store::{now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

fn invalid(field: &'static str, reason: impl Into<String>) -> MissionError {
    MissionError::Invalid { field, reason: reason.into() }
}

type ProposalRow = (
    i64,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
);

const PROPOSAL_SELECT: &str = "SELECT p.id, p.district_code, p.template_id, t.name, p.place, p.place_label, p.why, \
     u.display_name, p.proposed_at, p.status, d.display_name, p.decided_at, p.decline_reason, p.mission_id \
     FROM mission_proposals p JOIN mission_templates t ON t.id = p.template_id \
     JOIN users u ON u.id = p.proposed_by LEFT JOIN users d ON d.id = p.decided_by";

fn proposal_of(r: ProposalRow) -> Result<MissionProposal, BodegaError> {
    let place: Place = serde_json::from_str(&r.4)
        .map_err(|e| BodegaError::Query(sqlx::Error::Decode(format!("proposal {} place: {e}", r.0).into())))?;
    Ok(MissionProposal {
        id: r.0,
        district: r.1,
        template_id: r.2,
        template_name: r.3,
        place,
        place_label: r.5,
        why: r.6,
        proposed_by: r.7,
        proposed_at: r.8,
        status: ProposalStatus::parse(&r.9).unwrap_or(ProposalStatus::Pending),
        decided_by: r.10.unwrap_or_default(),
        decided_at: r.11,
        decline_reason: r.12,
        mission_id: r.13,
    })
}

/// Checks a proposal's own fields: an active template, a place on the globe with a radius of 5 to
/// 2,000 metres, a name of at most 200 characters on one line, and a reason of 1 to 1,000
/// characters (a proposal without one gives the sergeant nothing to decide on).
///
/// # Errors
/// [`MissionError::Invalid`] naming the field.
fn check_draft(d: &ProposalDraft) -> Result<(), MissionError> {
    if d.district.trim().is_empty() {
        return Err(invalid("district", "is required"));
    }
    let (lat, lon) = d.place.centre();
    if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return Err(invalid("place", "coordinates are off the globe"));
    }
    let radius = d.place.radius_m();
    if !(radius.is_finite() && (5.0..=2000.0).contains(&radius)) {
        return Err(invalid("place", "radius must be 5 to 2,000 metres"));
    }
    check(&d.place_label, 200, Lines::One).map_err(|r| invalid("place_label", r))?;
    if d.why.trim().is_empty() {
        return Err(invalid("why", "say what you have seen there: your sergeant decides on it"));
    }
    check(&d.why, 1000, Lines::Many).map_err(|r| invalid("why", r))?;
    Ok(())
}

impl Bodega {
    /// Stores an officer's proposal, pending. The caller has checked the policy for the
    /// district and placed the point inside it.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] naming the field (unknown or retired template, place, name,
    /// reason); a store error.
    pub async fn propose_mission(&self, d: &ProposalDraft, by: i64) -> Result<MissionProposal, MissionError> {
        check_draft(d)?;
        let template = self
            .template(d.template_id)
            .await?
            .ok_or_else(|| invalid("template_id", format!("no template {}", d.template_id)))?;
        if !template.active {
            return Err(invalid("template_id", format!("'{}' is retired", template.name)));
        }
        let place = serde_json::to_string(&d.place).map_err(|e| invalid("place", e.to_string()))?;
        let (lat, lon) = d.place.centre();
        let id: i64 = on_writer!(self, pool => sqlx::query_scalar(
            "INSERT INTO mission_proposals (district_code, template_id, place, lat, lon, place_label, why, proposed_by, \
             proposed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
            .bind(d.district.trim()).bind(template.id).bind(place).bind(lat).bind(lon).bind(d.place_label.trim())
            .bind(d.why.trim()).bind(by).bind(now_seconds())
            .fetch_one(pool).await)
        .map_err(BodegaError::from)?;
        self.proposal(id).await?.ok_or_else(|| MissionError::NotFound(format!("proposal {id}")))
    }

    /// One proposal.
    ///
    /// # Errors
    /// A store error.
    pub async fn proposal(&self, id: i64) -> Result<Option<MissionProposal>, BodegaError> {
        let sql = format!("{PROPOSAL_SELECT} WHERE p.id = $1");
        let row: Option<ProposalRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        row.map(proposal_of).transpose()
    }

    /// A district's proposals: those pending (oldest first: first come, first decided), then
    /// the 50 decided most recently.
    ///
    /// # Errors
    /// A store error.
    pub async fn district_proposals(&self, district: &str) -> Result<Vec<MissionProposal>, BodegaError> {
        let pending = format!("{PROPOSAL_SELECT} WHERE p.district_code = $1 AND p.status = 'pending' ORDER BY p.id");
        let decided = format!(
            "{PROPOSAL_SELECT} WHERE p.district_code = $1 AND p.status <> 'pending' ORDER BY p.decided_at DESC, p.id \
             DESC LIMIT 50"
        );
        let mut rows: Vec<ProposalRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(pending))
            .bind(district).fetch_all(pool).await)?;
        rows.extend(on_pool!(self, pool => sqlx::query_as::<_, ProposalRow>(sqlx::AssertSqlSafe(decided))
            .bind(district).fetch_all(pool).await)?);
        rows.into_iter().map(proposal_of).collect()
    }

    /// An officer's own proposals, newest first (the last 50).
    ///
    /// # Errors
    /// A store error.
    pub async fn proposals_by(&self, user_id: i64) -> Result<Vec<MissionProposal>, BodegaError> {
        let sql = format!("{PROPOSAL_SELECT} WHERE p.proposed_by = $1 ORDER BY p.id DESC LIMIT 50");
        let rows: Vec<ProposalRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(pool).await)?;
        rows.into_iter().map(proposal_of).collect()
    }

    /// Decides a pending proposal: approved as `mission_id` (claim it before creating the
    /// mission, and [`Bodega::reopen_proposal`] if that fails, so two sergeants cannot both
    /// approve it), or declined with `reason`. Only a pending proposal can be decided: the
    /// update names the status it expects.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] when it was decided already or a decline has no reason;
    /// [`MissionError::NotFound`]; a store error.
    pub async fn decide_proposal(
        &self,
        id: i64,
        approved_as: Option<&str>,
        reason: &str,
        by: i64,
    ) -> Result<MissionProposal, MissionError> {
        let reason = reason.trim();
        if approved_as.is_none() && reason.is_empty() {
            return Err(invalid("reason", "say why you decline it: the officer reads it"));
        }
        check(reason, 500, Lines::Many).map_err(|r| invalid("reason", r))?;
        let status = if approved_as.is_some() { ProposalStatus::Approved } else { ProposalStatus::Declined };
        let changed = on_writer!(self, pool => sqlx::query(
            "UPDATE mission_proposals SET status = $2, decided_by = $3, decided_at = $4, decline_reason = $5, \
             mission_id = $6 WHERE id = $1 AND status = 'pending'")
            .bind(id).bind(status.as_str()).bind(by).bind(now_seconds()).bind(reason).bind(approved_as)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(BodegaError::from)?;
        let now = self.proposal(id).await?.ok_or_else(|| MissionError::NotFound(format!("no proposal {id}")))?;
        if changed == 0 {
            return Err(invalid(
                "proposal_id",
                format!("proposal {id} was {} already by {}", now.status.as_str(), now.decided_by),
            ));
        }
        Ok(now)
    }

    /// Gives an approved proposal back to the queue: its mission could not be created.
    ///
    /// # Errors
    /// A store error.
    pub async fn reopen_proposal(&self, id: i64) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "UPDATE mission_proposals SET status = 'pending', decided_by = NULL, decided_at = NULL, mission_id = NULL \
             WHERE id = $1 AND status = 'approved'")
            .bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
