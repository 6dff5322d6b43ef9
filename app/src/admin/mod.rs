//! The administrator's screens' server functions: searching the audit log, accounts (roles,
//! districts, deactivation, lockouts) and devices (revocation). Administrators read who did what
//! and manage who may do it, never crime data (`protocol::policy`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

pub mod accounts;
pub mod audit;

/// A search of the audit log (every field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSearch {
    /// Actor name contains this.
    pub actor: Option<String>,
    /// Exact action (`sign_in`, `view_overview`, …).
    pub action: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    /// Older than this record id (paging).
    pub before_id: Option<i64>,
}

/// The server functions here, for the authorization matrix.
pub const ENDPOINTS: &[(&str, Access)] = &[
    ("/api/admin/audit", Some(protocol::Action::ViewAudit)),
    ("/api/admin/accounts", Some(protocol::Action::ManageUsers)),
    ("/api/admin/account", Some(protocol::Action::ManageUsers)),
    ("/api/admin/temporary_password", Some(protocol::Action::ManageUsers)),
    ("/api/admin/devices", Some(protocol::Action::ManageDevices)),
    ("/api/admin/device_revoke", Some(protocol::Action::ManageDevices)),
];

/// Searches the audit log, newest first, 100 at a time. Each search is itself audited.
#[server(prefix = "/api", endpoint = "admin/audit", input = Json)]
pub async fn search_audit(search: AuditSearch) -> Result<Vec<protocol::audit::AuditRecord>, ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    let ctx = context()?;
    let grant =
        authorize(&ctx, protocol::Action::ViewAudit, protocol::policy::Target::City, "/api/admin/audit").await?;
    let trim = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let outcome = trim(search.outcome);
    if let Some(o) = &outcome {
        if !["success", "denied", "failure"].contains(&o.as_str()) {
            let e = ApiError::invalid("outcome", "must be success, denied or failure");
            crate::error::ssr::respond_with(&e);
            return Err(e);
        }
    }
    let q = bodega::audit::AuditQuery {
        actor: trim(search.actor),
        action: trim(search.action),
        outcome,
        before_id: search.before_id,
        limit: Some(100),
        ..Default::default()
    };
    let rows = ctx.bodega.search_audit(&q).await.map_err(|e| {
        tracing::error!(error = %e, "audit search failed");
        let e = ApiError::Unavailable("the audit log could not be read".into());
        crate::error::ssr::respond_with(&e);
        e
    })?;
    grant
        .audit(&ctx, "audit log", bodega::audit::Outcome::Success, &format!("search returned {} records", rows.len()))
        .await?;
    Ok(rows)
}

/// One account as the administrator's screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// District codes.
    pub districts: Vec<String>,
    /// False once deactivated.
    pub active: bool,
    /// Locked after failed sign-ins until this UTC second.
    pub locked_until: Option<i64>,
    /// `password`, `password + code` or `single sign-on`.
    pub sign_in: String,
}

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRow {
    /// The device's id.
    pub id: String,
    /// Its owner's sign-in name.
    pub owner: String,
    /// What it reported itself as (browser and system).
    pub label: String,
    /// Registered, UTC seconds.
    pub registered_at: i64,
    /// Last sign-in or sync, UTC seconds.
    pub last_seen_at: Option<i64>,
    /// Revoked at, UTC seconds, and why.
    pub revoked: Option<(i64, String)>,
}

/// The accounts screen: every account, the districts one may be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    /// Accounts by name.
    pub accounts: Vec<AccountRow>,
    /// (code, name) of every district.
    pub districts: Vec<(String, String)>,
}

/// A change to one account: its roles, districts and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChange {
    /// Whose.
    pub username: String,
    /// The roles it should have (names).
    pub roles: Vec<String>,
    /// The districts it should belong to (codes).
    pub districts: Vec<String>,
    /// Active or deactivated (deactivating ends its sessions).
    pub active: bool,
    /// Clear a lockout.
    pub unlock: bool,
}

#[cfg(feature = "ssr")]
fn account_row(u: bodega::accounts::User) -> AccountRow {
    AccountRow {
        sign_in: match (&u.password_hash, &u.totp_secret) {
            // An identity provider's account, or an imported roster's before its first
            // temporary password: either way, no local password.
            (None, _) => "single sign-on or none yet",
            (Some(_), Some(_)) => "password + code",
            (Some(_), None) => "password",
        }
        .into(),
        username: u.username,
        display_name: u.display_name,
        roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
        districts: u.districts,
        active: u.active,
        locked_until: u.locked_until.filter(|t| *t > jiff::Timestamp::now().as_second()),
    }
}

/// Every account (administrators).
#[server(prefix = "/api", endpoint = "admin/accounts", input = Json)]
pub async fn list_accounts() -> Result<Accounts, ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    let ctx = context()?;
    authorize(&ctx, protocol::Action::ManageUsers, protocol::policy::Target::City, "/api/admin/accounts").await?;
    let users = ctx.bodega.list_users().await.map_err(crate::context::unavailable)?;
    let districts = ctx.bodega.districts().await.map_err(crate::context::unavailable)?;
    Ok(Accounts {
        accounts: users.into_iter().map(account_row).collect(),
        districts: districts.into_iter().filter(|d| d.2 == "district").map(|(code, name, _)| (code, name)).collect(),
    })
}

/// Changes an account's roles, districts and state (administrators). An administrator cannot
/// change their own roles or districts or deactivate themselves: someone must be left to undo a
/// mistake, and an administrator who could grant themselves command or analyst roles would read
/// the crime data administration is kept apart from. Recorded with what changed.
#[server(prefix = "/api", endpoint = "admin/account", input = Json)]
pub async fn update_account(change: AccountChange) -> Result<AccountRow, ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    use crate::context::{invalid, unavailable};
    let ctx = context()?;
    let grant =
        authorize(&ctx, protocol::Action::ManageUsers, protocol::policy::Target::City, "/api/admin/account").await?;
    let name = change.username.trim().to_lowercase();
    let Some(user) = ctx.bodega.user_by_username(&name).await.map_err(unavailable)? else {
        let e = ApiError::NotFound(format!("no account named '{}'", name.chars().take(64).collect::<String>()));
        crate::error::ssr::respond_with(&e);
        return Err(e);
    };
    let mut roles = Vec::new();
    for r in &change.roles {
        match protocol::Role::parse(r.trim()) {
            Some(role) => roles.push(role),
            None => {
                return Err(invalid(
                    "roles",
                    format!(
                        "'{}' is not a role (officer, sergeant, command, analyst, admin)",
                        r.chars().take(40).collect::<String>()
                    ),
                ))
            }
        }
    }
    roles.sort();
    roles.dedup();
    let known: Vec<String> = ctx
        .bodega
        .districts()
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|d| d.2 == "district")
        .map(|d| d.0)
        .collect();
    let mut districts: Vec<String> = change.districts.iter().map(|d| d.trim().to_string()).collect();
    if let Some(d) = districts.iter().find(|d| !known.contains(d)) {
        return Err(invalid("districts", format!("'{}' is not a district", d.chars().take(40).collect::<String>())));
    }
    districts.sort();
    districts.dedup();
    if user.id == grant.user().id && (roles != user.roles || districts != user.districts || !change.active) {
        return Err(invalid(
            "roles",
            "you cannot change your own roles or districts or deactivate yourself; ask another administrator",
        ));
    }
    let mut done = Vec::new();
    if roles != user.roles || districts != user.districts {
        ctx.bodega.set_roles_and_districts(user.id, &roles, &districts).await.map_err(unavailable)?;
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let was: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
        done.push(format!(
            "roles {} (were {}), districts {} (were {})",
            names.join(","),
            was.join(","),
            districts.join(","),
            user.districts.join(",")
        ));
    }
    if change.active != user.active {
        ctx.bodega.set_user_active(user.id, change.active).await.map_err(unavailable)?;
        done.push(if change.active { "activated".into() } else { "deactivated; sessions ended".into() });
    }
    if change.unlock && user.locked_until.is_some() {
        ctx.bodega.unlock_user(user.id).await.map_err(unavailable)?;
        done.push("lockout cleared".into());
    }
    let detail = if done.is_empty() { "no change".to_string() } else { done.join("; ") };
    grant.audit(&ctx, &format!("user {name}"), bodega::audit::Outcome::Success, &detail).await?;
    let u =
        ctx.bodega.user_by_id(user.id).await.map_err(unavailable)?.ok_or_else(|| unavailable("account vanished"))?;
    Ok(account_row(u))
}

/// A temporary password, shown once to the administrator who set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryPassword {
    /// The account.
    pub username: String,
    /// The password, to hand over in person.
    pub password: String,
}

/// Gives an account a new, random password (administrators): how an imported roster's people
/// sign in the first time, and how a forgotten password is replaced. The account's sessions end
/// and its lockout clears; the password is shown once and never stored or logged in the clear.
/// It is temporary by intent — handed over in person, to be changed by its owner — though
/// Beatbook does not yet force the change. Refused for an account of the identity provider (a
/// local password would round it, and its second factor) and for an administrator's own
/// password (theirs to change).
#[server(prefix = "/api", endpoint = "admin/temporary_password", input = Json)]
pub async fn set_temporary_password(username: String) -> Result<TemporaryPassword, ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    use crate::context::{invalid, unavailable};
    let ctx = context()?;
    let grant =
        authorize(&ctx, protocol::Action::ManageUsers, protocol::policy::Target::City, "/api/admin/temporary_password")
            .await?;
    let name = username.trim().to_lowercase();
    let Some(user) = ctx.bodega.user_by_username(&name).await.map_err(unavailable)? else {
        let e = ApiError::NotFound(format!("no account named '{}'", name.chars().take(64).collect::<String>()));
        crate::error::ssr::respond_with(&e);
        return Err(e);
    };
    if user.id == grant.user().id {
        return Err(invalid("username", "your own password is yours to change (server user passwd)"));
    }
    if ctx.bodega.signs_in_with_provider(user.id).await.map_err(unavailable)? {
        return Err(invalid(
            "username",
            "this account signs in with the department's identity provider: a local password would go round it",
        ));
    }
    let make = ctx.temporary_password.ok_or_else(|| unavailable("this server cannot make passwords"))?;
    let (password, hash) = make().await.map_err(unavailable)?;
    ctx.bodega.set_password_hash(user.id, Some(&hash)).await.map_err(unavailable)?;
    grant
        .audit(
            &ctx,
            &format!("user {name}"),
            bodega::audit::Outcome::Success,
            "temporary password set; sessions ended, lockout cleared",
        )
        .await?;
    Ok(TemporaryPassword { username: name, password })
}

/// Every registered device, newest first (administrators).
#[server(prefix = "/api", endpoint = "admin/devices", input = Json)]
pub async fn list_devices() -> Result<Vec<DeviceRow>, ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    let ctx = context()?;
    authorize(&ctx, protocol::Action::ManageDevices, protocol::policy::Target::City, "/api/admin/devices").await?;
    let devices = ctx.bodega.list_devices(None).await.map_err(crate::context::unavailable)?;
    let users = ctx.bodega.list_users().await.map_err(crate::context::unavailable)?;
    let owner = |id: i64| users.iter().find(|u| u.id == id).map(|u| u.username.clone()).unwrap_or_default();
    Ok(devices
        .into_iter()
        .map(|d| DeviceRow {
            owner: owner(d.user_id),
            revoked: d.revoked_at.map(|t| (t, d.revoke_reason.clone().unwrap_or_default())),
            id: d.id,
            label: d.label,
            registered_at: d.registered_at,
            last_seen_at: d.last_seen_at,
        })
        .collect())
}

/// Revokes a device (administrators): its sessions end at once, it cannot sign in or get its
/// key again, and its next sync is refused with its outbox reported.
#[server(prefix = "/api", endpoint = "admin/device_revoke", input = Json)]
pub async fn revoke_device(id: String, reason: String) -> Result<(), ApiError> {
    use crate::auth::ssr::authorize;
    use crate::context::context;
    use crate::context::{invalid, unavailable};
    let ctx = context()?;
    let grant =
        authorize(&ctx, protocol::Action::ManageDevices, protocol::policy::Target::City, "/api/admin/device_revoke")
            .await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("reason", "say why in 1 to 200 characters (it goes in the audit log)"));
    }
    protocol::text::check(reason, 200, protocol::text::Lines::One).map_err(|r| invalid("reason", r))?;
    let Some(device) = ctx.bodega.device(id.trim()).await.map_err(unavailable)? else {
        let e = ApiError::NotFound("no such device".into());
        crate::error::ssr::respond_with(&e);
        return Err(e);
    };
    if device.revoked_at.is_some() {
        return Err(invalid("id", "this device is already revoked"));
    }
    ctx.bodega.revoke_device(&device.id, Some(grant.user().id), reason).await.map_err(unavailable)?;
    grant
        .audit(&ctx, &format!("device {}", device.id), bodega::audit::Outcome::Success, &format!("revoked: {reason}"))
        .await
}
