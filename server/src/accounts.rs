//! Account administration from the command line (`server user …`, `server device …`) and the
//! demo accounts. The first administrator of a real department is created here; everything
//! after that can also be done in the app by an administrator. Every change is audited with
//! the actor `command-line`.

use anyhow::Context;
use bodega::accounts::NewUser;
use bodega::audit::{AuditRecord, Outcome};
use bodega::Bodega;
use protocol::Role;

use crate::auth::password::{check_new_password, hash_password};
use crate::auth::token::new_token;

/// Environment variable with the demo accounts' password.
pub const DEMO_PASSWORD_ENV: &str = "BEATBOOK_DEMO_PASSWORD";

/// Creates the demo accounts when they are missing. Their password comes from
/// `BEATBOOK_DEMO_PASSWORD`; without it a random one is drawn and returned so the caller can
/// show it once (it is not stored anywhere in clear).
///
/// # Errors
/// A store or hashing failure, or a demo password shorter than 8 characters.
pub async fn ensure_demo_accounts(bodega: &Bodega) -> anyhow::Result<Option<String>> {
    if bodega::demo::has_demo_accounts(bodega).await? {
        return Ok(None);
    }
    let (password, drawn) = match std::env::var(DEMO_PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (new_token()[..16].to_string(), true),
    };
    check_new_password(&password).map_err(|e| anyhow::anyhow!("{DEMO_PASSWORD_ENV}: {e}"))?;
    let hash = hash_password(password.clone()).await?;
    let created = bodega::demo::seed_demo_accounts(bodega, &hash).await?;
    audit_cli(bodega, "manage_users", "demo accounts", &format!("{created} synthetic demo accounts created")).await?;
    Ok(drawn.then_some(password))
}

async fn audit_cli(bodega: &Bodega, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
    let entry = AuditRecord {
        actor: "command-line".into(),
        action: action.into(),
        target: target.into(),
        source_ip: "local".into(),
        outcome: Outcome::Success,
        detail: detail.into(),
        ..Default::default()
    };
    bodega.append_audit(&entry).await.context("the audit log could not be written")?;
    Ok(())
}

/// Reads a new password from `BEATBOOK_NEW_PASSWORD`, or one line of standard input.
fn read_new_password() -> anyhow::Result<String> {
    let password = match std::env::var("BEATBOOK_NEW_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            eprintln!("new password (one line on standard input):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    check_new_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(password)
}

fn parse_roles(roles: &[String]) -> anyhow::Result<Vec<Role>> {
    roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                anyhow::anyhow!("--role '{r}' is not a role; the roles are officer, sergeant, command, analyst, admin")
            })
        })
        .collect()
}

async fn user(bodega: &Bodega, username: &str) -> anyhow::Result<bodega::accounts::User> {
    bodega.user_by_username(username).await?.ok_or_else(|| anyhow::anyhow!("no user '{username}'"))
}

/// `server user add`.
///
/// # Errors
/// Bad input (role, username, password) or a store failure.
pub async fn add_user(
    bodega: &Bodega,
    username: &str,
    display_name: &str,
    roles: &[String],
    districts: &[String],
) -> anyhow::Result<i64> {
    let roles = parse_roles(roles)?;
    if roles.is_empty() {
        anyhow::bail!("give at least one --role (officer, sergeant, command, analyst, admin)");
    }
    let hash = hash_password(read_new_password()?).await?;
    let new = NewUser {
        username: username.into(),
        display_name: display_name.into(),
        password_hash: Some(hash),
        roles: roles.clone(),
        districts: districts.to_vec(),
        oidc: None,
        synthetic: false,
    };
    let id = bodega.create_user(&new).await?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    audit_cli(
        bodega,
        "manage_users",
        username,
        &format!("created; roles {}; districts {}", roles.join(","), districts.join(",")),
    )
    .await?;
    Ok(id)
}

/// `server user passwd`.
///
/// # Errors
/// Unknown user, a too-short password or a store failure.
pub async fn set_password(bodega: &Bodega, username: &str) -> anyhow::Result<()> {
    let u = user(bodega, username).await?;
    let hash = hash_password(read_new_password()?).await?;
    bodega.set_password_hash(u.id, Some(&hash)).await?;
    audit_cli(bodega, "manage_users", username, "password set; lockout cleared").await
}

/// `server user unlock`.
///
/// # Errors
/// Unknown user or a store failure.
pub async fn unlock(bodega: &Bodega, username: &str) -> anyhow::Result<()> {
    let u = user(bodega, username).await?;
    bodega.unlock_user(u.id).await?;
    audit_cli(bodega, "manage_users", username, "lockout cleared").await
}

/// `server user deactivate` / `activate`.
///
/// # Errors
/// Unknown user or a store failure.
pub async fn set_active(bodega: &Bodega, username: &str, active: bool) -> anyhow::Result<()> {
    let u = user(bodega, username).await?;
    bodega.set_user_active(u.id, active).await?;
    audit_cli(bodega, "manage_users", username, if active { "activated" } else { "deactivated; sessions ended" }).await
}

/// `server user totp`: enrols a new second factor and returns the `otpauth://` URL to scan.
///
/// # Errors
/// Unknown user or a store failure.
pub async fn enrol_totp(bodega: &Bodega, username: &str) -> anyhow::Result<String> {
    let u = user(bodega, username).await?;
    let mut bytes = [0u8; 20];
    {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        OsRng.fill_bytes(&mut bytes);
    }
    let encoded = totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string();
    let url = format!(
        "otpauth://totp/Beatbook:{}?secret={encoded}&issuer=Beatbook&algorithm=SHA1&digits=6&period=30",
        u.username
    );
    bodega.set_totp_secret(u.id, Some(&encoded)).await?;
    audit_cli(bodega, "manage_users", username, "second factor enrolled").await?;
    Ok(url)
}

/// `server user list`: one line per account.
///
/// # Errors
/// A store failure.
pub async fn list_users(bodega: &Bodega) -> anyhow::Result<Vec<String>> {
    Ok(bodega
        .list_users()
        .await?
        .into_iter()
        .map(|u| {
            let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
            format!(
                "{}\t{}\t{}\t{}\t{}{}",
                u.username,
                u.display_name,
                roles.join(","),
                u.districts.join(","),
                if u.active { "active" } else { "inactive" },
                if u.locked_until.is_some_and(|t| t > jiff::Timestamp::now().as_second()) { ", locked" } else { "" }
            )
        })
        .collect())
}

/// `server device revoke`.
///
/// # Errors
/// Unknown device or a store failure.
pub async fn revoke_device(bodega: &Bodega, id: &str, reason: &str) -> anyhow::Result<()> {
    let Some(device) = bodega.device(id).await? else {
        anyhow::bail!("no device '{id}'");
    };
    bodega.revoke_device(&device.id, None, reason).await?;
    audit_cli(bodega, "manage_devices", id, &format!("revoked: {reason}")).await
}
