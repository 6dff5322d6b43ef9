//! The roster: who works where. A roster CSV (one row per person: username, name, role,
//! district, squad, badge, unit) becomes accounts, officer records, squads and units in one
//! transaction — every row is checked first against the file and the store, and one bad row
//! refuses the whole file with each fault named by line and column, so nothing is half-saved.
//!
//! Imported accounts have no password: they sign in through the department's single sign-on,
//! or an administrator gives each a temporary password on Accounts (`server user passwd`).
//! A squad is a sergeant and their officers in one district; the file names the sergeant with
//! role `sergeant`, or the squad already has one in the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use protocol::setup::{RosterReport, Squad};
use protocol::Role;
use serde::{Deserialize, Serialize};

use crate::store::{begin_write, now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The columns a roster file has (any order, any case); the first four are required.
pub const ROSTER_COLUMNS: [&str; 7] = ["username", "display_name", "role", "district", "squad", "badge", "unit"];

/// Rows a roster file may hold: a large department's sworn staff, with room to spare.
pub const MAX_ROWS: usize = 20_000;

/// One fault in a roster file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFault {
    /// 1-based line in the file (the header is line 1; 0: the file as a whole).
    pub line: u64,
    /// The column at fault.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for RowFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.field, self.reason)
        } else {
            write!(f, "line {}, {}: {}", self.line, self.field, self.reason)
        }
    }
}

/// Why a roster file was refused. Nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file's faults, in file order.
    #[error("{}", summarize(.0))]
    Refused(Vec<RowFault>),
    /// The store failed; the import was rolled back.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<sqlx::Error> for RosterError {
    fn from(e: sqlx::Error) -> Self {
        RosterError::Store(BodegaError::Query(e))
    }
}

/// The first faults, one per line of text, and how many more there are.
fn summarize(faults: &[RowFault]) -> String {
    const SHOWN: usize = 10;
    let mut s = faults.iter().take(SHOWN).map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if faults.len() > SHOWN {
        s.push_str(&format!("; and {} more", faults.len() - SHOWN));
    }
    format!("the roster was not imported: {s}")
}

/// One line saying what an import did ("3 accounts created, 1 updated; squads 1A; units 1A10").
pub fn describe(r: &RosterReport) -> String {
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    format!(
        "{} account{} created, {} updated; squads: {}; units: {}",
        r.created.len(),
        if r.created.len() == 1 { "" } else { "s" },
        r.updated.len(),
        list(&r.squads),
        list(&r.units)
    )
}

/// One checked row.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    username: String,
    display_name: String,
    role: Role,
    district: Option<String>,
    squad: Option<String>,
    badge: Option<String>,
    unit: Option<String>,
}

/// A short code (squad, badge, call sign): 1 to 32 letters, digits, spaces, `.`, `-`, `_`, `/`.
fn code_field(value: &str) -> Result<(), String> {
    if value.chars().count() > 32 {
        return Err(format!("at most 32 characters ({} given)", value.chars().count()));
    }
    match value.chars().find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '/'))) {
        Some(c) => Err(format!("'{c}' is not allowed (letters, digits, spaces, '.', '-', '_', '/')")),
        None => Ok(()),
    }
}

/// Reads and checks the file on its own (what needs no store). Returns the rows, or every fault.
fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, Vec<RowFault>> {
    let whole = |field: &str, reason: String| vec![RowFault { line: 0, field: field.into(), reason }];
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let header = reader.headers().map_err(|e| whole("file", format!("cannot read the header: {e}")))?.clone();
    let names: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let column = |name: &str| names.iter().position(|h| h == name);
    let mut faults = Vec::new();
    for required in &ROSTER_COLUMNS[..4] {
        if column(required).is_none() {
            faults.push(RowFault {
                line: 1,
                field: (*required).into(),
                reason: format!(
                    "the header has no '{required}' column (found: {}); the columns are {}",
                    names.join(", "),
                    ROSTER_COLUMNS.join(", ")
                ),
            });
        }
    }
    if !faults.is_empty() {
        return Err(faults);
    }
    let at = |name: &str| column(name);
    let mut rows = Vec::new();
    let mut usernames: HashMap<String, u64> = HashMap::new();
    let mut badges: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                faults.push(RowFault { line, field: "row".into(), reason: format!("cannot be read: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() + faults.len() >= MAX_ROWS {
            return Err(whole("file", format!("more than {MAX_ROWS} rows; split the roster")));
        }
        let get = |name: &str| at(name).and_then(|i| record.get(i)).map(str::trim).filter(|v| !v.is_empty());
        let mut fault = |field: &str, reason: String| faults.push(RowFault { line, field: field.into(), reason });
        let username = match get("username").map(crate::accounts::validate_username) {
            None => {
                fault("username", "is empty".into());
                None
            }
            Some(Err(crate::accounts::AccountError::Invalid { reason, .. })) => {
                fault("username", reason);
                None
            }
            Some(Err(e)) => {
                fault("username", e.to_string());
                None
            }
            Some(Ok(u)) => {
                if let Some(first) = usernames.insert(u.clone(), line) {
                    fault("username", format!("'{u}' is on line {first} already"));
                }
                Some(u)
            }
        };
        let display_name = get("display_name").map(str::to_string);
        match &display_name {
            None => fault("display_name", "is empty".into()),
            Some(d) => {
                if let Err(reason) = protocol::text::check(d, 120, protocol::text::Lines::One) {
                    fault("display_name", reason);
                }
            }
        }
        let role = match get("role") {
            None => {
                fault("role", "is empty (officer, sergeant, command or analyst)".into());
                None
            }
            Some(r) => match Role::parse(r) {
                Some(Role::Admin) => {
                    fault("role", "administrators are not imported from a roster (server user add makes one)".into());
                    None
                }
                Some(role) => Some(role),
                None => {
                    fault("role", format!("'{r}' is not a role (officer, sergeant, command or analyst)"));
                    None
                }
            },
        };
        let district = get("district").map(str::to_string);
        let squad = get("squad").map(str::to_string);
        let badge = get("badge").map(str::to_string);
        let unit = get("unit").map(str::to_string);
        let field_role = matches!(role, Some(Role::Officer | Role::Sergeant));
        if field_role && district.is_none() {
            fault("district", "an officer or sergeant needs the district they work".into());
        }
        if field_role && badge.is_none() {
            fault("badge", "an officer or sergeant needs a badge number".into());
        }
        if squad.is_some() && role.is_some() && !field_role {
            fault("squad", "only officers and sergeants belong to a squad".into());
        }
        for (field, value) in [("squad", &squad), ("badge", &badge), ("unit", &unit)] {
            if let Some(v) = value {
                if let Err(reason) = code_field(v) {
                    fault(field, reason);
                }
            }
        }
        if let Some(b) = &badge {
            if let Some(first) = badges.insert(b.clone(), line) {
                fault("badge", format!("badge '{b}' is on line {first} already"));
            }
        }
        if let (Some(username), Some(display_name), Some(role)) = (username, display_name, role) {
            rows.push(Row { line, username, display_name, role, district, squad, badge, unit });
        }
    }
    if rows.is_empty() && faults.is_empty() {
        return Err(whole("file", "has a header and no rows".into()));
    }
    if faults.is_empty() {
        Ok(rows)
    } else {
        faults.sort_by_key(|f| f.line);
        Err(faults)
    }
}

impl Bodega {
    /// Imports a roster CSV: creates or updates each row's account (its field role, district,
    /// squad, badge and unit follow the file; its password, second factor and other roles
    /// stay), writes the file's squads and units — all in one transaction, or nothing.
    ///
    /// # Errors
    /// [`RosterError::Refused`] with every fault by line and column (an unknown district, a
    /// squad without a sergeant or with two, a squad member outside the squad's district, a
    /// badge or username twice, …); a store error.
    pub async fn import_roster(&self, bytes: &[u8]) -> Result<RosterReport, RosterError> {
        let rows = read_rows(bytes).map_err(RosterError::Refused)?;
        let mut faults = Vec::new();
        let districts: BTreeSet<String> = on_pool!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT code FROM districts WHERE kind = 'district'").fetch_all(pool).await)?
        .into_iter()
        .collect();
        for r in &rows {
            if let Some(d) = &r.district {
                if !districts.contains(d) {
                    let known = if districts.is_empty() {
                        "none are loaded yet: load the district boundaries first".to_string()
                    } else {
                        format!("the districts are {}", districts.iter().cloned().collect::<Vec<_>>().join(", "))
                    };
                    faults.push(RowFault {
                        line: r.line,
                        field: "district".into(),
                        reason: format!("no district '{d}' ({known})"),
                    });
                }
            }
        }
        // Squads: each has exactly one sergeant (in the file, or already in the store) and one
        // district, which every member works.
        let existing: HashMap<String, (String, String)> = self
            .squad_heads()
            .await?
            .into_iter()
            .map(|(code, district, sergeant)| (code, (district, sergeant)))
            .collect();
        let mut squads: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
        for r in &rows {
            if let Some(s) = &r.squad {
                squads.entry(s.as_str()).or_default().push(r);
            }
        }
        for (code, members) in &squads {
            let sergeants: Vec<&&Row> = members.iter().filter(|r| r.role == Role::Sergeant).collect();
            let district = match (sergeants.as_slice(), existing.get(*code)) {
                ([], None) => {
                    let lines: Vec<String> = members.iter().map(|r| r.line.to_string()).collect();
                    faults.push(RowFault {
                        line: members[0].line,
                        field: "squad".into(),
                        reason: format!(
                            "squad '{code}' has no sergeant (lines {}): give its sergeant a row with role sergeant",
                            lines.join(", ")
                        ),
                    });
                    continue;
                }
                ([one], _) => one.district.clone(),
                ([], Some((district, _))) => Some(district.clone()),
                (many, _) => {
                    let lines: Vec<String> = many.iter().map(|r| r.line.to_string()).collect();
                    faults.push(RowFault {
                        line: many[1].line,
                        field: "squad".into(),
                        reason: format!(
                            "squad '{code}' has {} sergeants (lines {}): one leads it",
                            many.len(),
                            lines.join(", ")
                        ),
                    });
                    continue;
                }
            };
            for r in members {
                if r.district.is_some() && r.district != district {
                    faults.push(RowFault {
                        line: r.line,
                        field: "district".into(),
                        reason: format!(
                            "squad '{code}' works district {}, this row says {}",
                            district.as_deref().unwrap_or("?"),
                            r.district.as_deref().unwrap_or("?")
                        ),
                    });
                }
            }
        }
        // A badge already on another person's record.
        let badge_owners: HashMap<String, String> = on_pool!(self, pool => sqlx::query_as::<_, (String, String)>(
            "SELECT o.badge, u.username FROM officers o JOIN users u ON u.officer_id = o.id")
            .fetch_all(pool).await)?
        .into_iter()
        .collect();
        for r in &rows {
            if let Some(owner) = r.badge.as_ref().and_then(|b| badge_owners.get(b)) {
                if owner != &r.username {
                    faults.push(RowFault {
                        line: r.line,
                        field: "badge".into(),
                        reason: format!("badge '{}' belongs to '{owner}'", r.badge.as_deref().unwrap_or_default()),
                    });
                }
            }
        }
        if !faults.is_empty() {
            faults.sort_by_key(|f| f.line);
            return Err(RosterError::Refused(faults));
        }
        self.write_roster(&rows, &squads.keys().map(|s| s.to_string()).collect::<Vec<_>>()).await
    }

    async fn write_roster(&self, rows: &[Row], squad_codes: &[String]) -> Result<RosterReport, RosterError> {
        let now = now_seconds();
        let mut report = RosterReport { squads: squad_codes.to_vec(), ..RosterReport::default() };
        let mut units = BTreeSet::new();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let mut ids: HashMap<&str, i64> = HashMap::new();
            for r in rows {
                let officer_id: Option<i64> = match &r.badge {
                    Some(badge) => Some(
                        sqlx::query_scalar(
                            "INSERT INTO officers (badge, display_name, rank, district_code, unit_call_sign) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (badge) DO UPDATE SET \
                             display_name = excluded.display_name, rank = excluded.rank, \
                             district_code = excluded.district_code, unit_call_sign = excluded.unit_call_sign, \
                             active = 1 RETURNING id",
                        )
                        .bind(badge)
                        .bind(&r.display_name)
                        .bind(r.role.as_str())
                        .bind(&r.district)
                        .bind(&r.unit)
                        .fetch_one(&mut *tx)
                        .await?,
                    ),
                    None => None,
                };
                let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                    .bind(&r.username)
                    .fetch_optional(&mut *tx)
                    .await?;
                let id = match found {
                    Some(id) => {
                        sqlx::query(
                            "UPDATE users SET display_name = $2, officer_id = COALESCE($3, officer_id), \
                             updated_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(&r.display_name)
                        .bind(officer_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        report.updated.push(r.username.clone());
                        id
                    }
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO users (username, display_name, officer_id, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $4) RETURNING id",
                        )
                        .bind(&r.username)
                        .bind(&r.display_name)
                        .bind(officer_id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                        report.created.push(r.username.clone());
                        id
                    }
                };
                // The roster owns the field role; command, analyst and admin roles stay.
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role IN ('officer', 'sergeant')")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(r.role.as_str())
                    .execute(&mut *tx)
                    .await?;
                if let Some(d) = &r.district {
                    sqlx::query("DELETE FROM user_districts WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO user_districts (user_id, district_code) VALUES ($1, $2)")
                        .bind(id)
                        .bind(d)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(u) = &r.unit {
                    sqlx::query(
                        "INSERT INTO units (call_sign, district_code) VALUES ($1, $2) ON CONFLICT (call_sign) \
                         DO UPDATE SET district_code = excluded.district_code, active = 1",
                    )
                    .bind(u)
                    .bind(&r.district)
                    .execute(&mut *tx)
                    .await?;
                    units.insert(u.clone());
                }
                sqlx::query("DELETE FROM squad_members WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                ids.insert(r.username.as_str(), id);
            }
            for code in squad_codes {
                let members: Vec<&Row> = rows.iter().filter(|r| r.squad.as_deref() == Some(code.as_str())).collect();
                let sergeant = members.iter().find(|r| r.role == Role::Sergeant);
                match sergeant {
                    Some(s) => {
                        sqlx::query(
                            "INSERT INTO squads (code, district_code, sergeant_user_id, updated_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO UPDATE SET \
                             district_code = excluded.district_code, sergeant_user_id = excluded.sergeant_user_id, \
                             updated_at = excluded.updated_at",
                        )
                        .bind(code)
                        .bind(&s.district)
                        .bind(ids[s.username.as_str()])
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("UPDATE squads SET updated_at = $2 WHERE code = $1")
                            .bind(code)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for m in members {
                    sqlx::query("INSERT INTO squad_members (user_id, squad_code) VALUES ($1, $2)")
                        .bind(ids[m.username.as_str()])
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        report.units = units.into_iter().collect();
        Ok(report)
    }

    /// Each squad's code, district and sergeant's username.
    async fn squad_heads(&self) -> Result<Vec<(String, String, String)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT s.code, s.district_code, u.username FROM squads s JOIN users u ON u.id = s.sergeant_user_id \
             ORDER BY s.code")
            .fetch_all(pool).await)?)
    }

    /// The squads with their sergeants and members, by code.
    ///
    /// # Errors
    /// A store error.
    pub async fn squads(&self) -> Result<Vec<Squad>, BodegaError> {
        let heads: Vec<(String, String, i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT s.code, s.district_code, s.sergeant_user_id, u.display_name FROM squads s \
             JOIN users u ON u.id = s.sergeant_user_id ORDER BY s.code")
            .fetch_all(pool).await)?;
        let members: Vec<(String, i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT m.squad_code, u.id, u.display_name FROM squad_members m JOIN users u ON u.id = m.user_id \
             WHERE u.active = 1 ORDER BY u.display_name")
            .fetch_all(pool).await)?;
        Ok(heads
            .into_iter()
            .map(|(code, district, sergeant_id, sergeant)| {
                let mut names = vec![sergeant.clone()];
                names.extend(members.iter().filter(|(c, id, _)| c == &code && *id != sergeant_id).map(|m| m.2.clone()));
                Squad { code, district, sergeant, members: names }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(csv: &str) -> Vec<String> {
        read_rows(csv.as_bytes()).err().unwrap_or_default().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_clean_file_reads_every_row() {
        let rows = read_rows(
            b"Username,Display_Name,Role,District,Squad,Badge,Unit\n\
              s.diaz,Sgt Diaz,sergeant,D1,1A,4411,1A10\n\
              r.lee,Ofc Lee,officer,D1,1A,5120,\n\
              c.moss,Cmdr Moss,command,,,,\n",
        )
        .expect("clean");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].role, Role::Sergeant);
        assert_eq!(rows[1].unit, None);
        assert_eq!(rows[2].line, 4);
    }

    #[test]
    fn every_fault_is_named_by_line_and_column() {
        let f = faults(
            "username,display_name,role,district,squad,badge\n\
             r.lee,Ofc Lee,officer,,1A,5120\n\
             r.lee,Ofc Lee Again,captain,D1,,5120\n\
             c.moss,Cmdr Moss,command,,1A,\n\
             x,Admin,admin,,,\n",
        );
        assert_eq!(
            f,
            vec![
                "line 2, district: an officer or sergeant needs the district they work",
                "line 3, username: 'r.lee' is on line 2 already",
                "line 3, role: 'captain' is not a role (officer, sergeant, command or analyst)",
                "line 3, badge: badge '5120' is on line 2 already",
                "line 4, squad: only officers and sergeants belong to a squad",
                "line 5, username: must be 2 to 64 characters",
                "line 5, role: administrators are not imported from a roster (server user add makes one)",
            ]
        );
    }

    #[test]
    fn a_missing_column_names_what_the_header_had() {
        let f = faults("user,name,role\nr.lee,Ofc Lee,officer\n");
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[0].starts_with("line 1, username: the header has no 'username' column (found: user, name, role)"));
        assert_eq!(faults("username,display_name,role,district\n"), vec!["file: has a header and no rows"]);
    }
}
