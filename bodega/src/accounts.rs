//! Users, roles, district membership, sessions and devices.
//!
//! The Data Bodega stores; the server decides. Password hashing (argon2id), token generation and
//! the policy live in the server and in `protocol`; this module keeps the records and answers
//! the questions the sign-in and session code asks, on both engines. Session tokens arrive here
//! already hashed (SHA-256): the cookie value itself is never stored.

use protocol::Role;
use serde::Serialize;

use crate::store::{begin_write, now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// A sign-in with OpenID Connect between the redirect to the identity provider and its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// The PKCE code verifier (its S256 challenge went to the provider).
    pub pkce_verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// Where the user was going, a path on this site.
    pub next_path: String,
    /// When the sign-in started, UTC seconds.
    pub created_at: i64,
}

/// A user as the server needs them: identity, roles, districts and sign-in state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Lower-case sign-in name.
    pub username: String,
    /// Name shown in the app and the audit log.
    pub display_name: String,
    /// The argon2id hash; `None` when the account has no local sign-in (SSO only).
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Base32 TOTP secret; `None` when no second factor is enrolled.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// Locked until this UTC second, if locked.
    pub locked_until: Option<i64>,
    /// False once deactivated.
    pub active: bool,
    /// Roles, sorted.
    pub roles: Vec<Role>,
    /// District codes, sorted.
    pub districts: Vec<String>,
}

impl User {
    /// The policy subject for this user.
    pub fn subject(&self) -> protocol::Subject {
        protocol::Subject { user_id: self.id, roles: self.roles.clone(), districts: self.districts.clone() }
    }
}

/// A new account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Sign-in name (stored lower-case).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// argon2id PHC string, for local sign-in.
    pub password_hash: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// District codes.
    pub districts: Vec<String>,
    /// Identity-provider issuer and subject, for single sign-on accounts.
    pub oidc: Option<(String, String)>,
    /// True for demo accounts.
    pub synthetic: bool,
}

/// Errors particular to accounts.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The username is taken.
    #[error("the username '{0}' is already taken")]
    UsernameTaken(String),
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such user.
    #[error("no user '{0}'")]
    NoSuchUser(String),
    /// The device belongs to someone else.
    #[error("device {0} is registered to another user")]
    DeviceOfAnotherUser(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        AccountError::Store(BodegaError::Query(e))
    }
}

/// Checks a username: 2–64 characters of letters, digits, `.`, `_`, `-`, `@`.
///
/// # Errors
/// [`AccountError::Invalid`] naming the rule broken.
pub fn validate_username(name: &str) -> Result<String, AccountError> {
    let n = name.trim().to_lowercase();
    if n.chars().count() < 2 || n.chars().count() > 64 {
        return Err(AccountError::Invalid { field: "username", reason: "must be 2 to 64 characters".into() });
    }
    if let Some(c) = n.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))) {
        return Err(AccountError::Invalid {
            field: "username",
            reason: format!("'{c}' is not allowed (letters, digits, '.', '_', '-', '@')"),
        });
    }
    Ok(n)
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    password_hash: Option<String>,
    totp_secret: Option<String>,
    failed_logins: i64,
    locked_until: Option<i64>,
    active: i64,
}

const USER_COLUMNS: &str =
    "id, username, display_name, password_hash, totp_secret, failed_logins, locked_until, active FROM users";

/// A server-side session joined with its user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// SHA-256 of the cookie token (hex).
    #[serde(skip)]
    pub id_hash: String,
    /// The user.
    pub user_id: i64,
    /// The device the session was opened on, if it said.
    pub device_id: Option<String>,
    /// `password`, `password+totp` or `oidc`.
    pub auth_method: String,
    /// Opened at, UTC seconds.
    pub created_at: i64,
    /// Last request, UTC seconds.
    pub last_seen_at: i64,
    /// Absolute end, UTC seconds.
    pub expires_at: i64,
    /// Ended at, if ended.
    pub ended_at: Option<i64>,
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// SHA-256 of the token (hex).
    pub id_hash: &'a str,
    /// The user.
    pub user_id: i64,
    /// The device, if known.
    pub device_id: Option<&'a str>,
    /// How the user proved who they are.
    pub auth_method: &'a str,
    /// Absolute end, UTC seconds.
    pub expires_at: i64,
    /// Client address.
    pub source_ip: &'a str,
    /// Client user agent (truncated).
    pub user_agent: &'a str,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Device {
    /// Client-generated id.
    pub id: String,
    /// Owner.
    pub user_id: i64,
    /// What the user called it.
    pub label: String,
    /// Registered at, UTC seconds.
    pub registered_at: i64,
    /// Last sync or sign-in, UTC seconds.
    pub last_seen_at: Option<i64>,
    /// Highest applied sync sequence.
    pub last_seq: i64,
    /// Revoked at, if revoked.
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// Ends every open session of a user inside the transaction `tx`, with the reason on record.
macro_rules! end_user_sessions {
    ($tx:ident, $user_id:expr, $now:expr, $reason:expr) => {
        sqlx::query("UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE user_id = $1 AND ended_at IS NULL")
            .bind($user_id)
            .bind($now)
            .bind($reason)
            .execute(&mut *$tx)
            .await?;
    };
}

impl Bodega {
    /// Replaces `user_id`'s supervisor override code (only its PBKDF2 verifier is stored).
    ///
    /// # Errors
    /// A store error.
    pub async fn set_override_code(
        &self,
        user_id: i64,
        salt_hex: &str,
        iterations: u32,
        verifier_hex: &str,
        now: i64,
    ) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO override_codes (user_id, salt, iterations, verifier, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations, \
             verifier = excluded.verifier, created_at = excluded.created_at")
            .bind(user_id).bind(salt_hex).bind(i32::try_from(iterations).unwrap_or(i32::MAX)).bind(verifier_hex).bind(now)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The override verifiers of the active sergeants of `districts` and of command staff: what
    /// those districts' devices keep to accept a supervisor's override with no signal.
    ///
    /// # Errors
    /// A store error.
    pub async fn override_verifiers(
        &self,
        districts: &[String],
    ) -> Result<Vec<protocol::sync::OverrideVerifier>, BodegaError> {
        let rows: Vec<(i64, String, String, String, i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.username, u.display_name, o.salt, CAST(o.iterations AS BIGINT), o.verifier \
             FROM override_codes o JOIN users u ON u.id = o.user_id WHERE u.active <> 0 \
             ORDER BY u.username")
            .fetch_all(pool).await)?;
        let mut out = Vec::new();
        for (id, username, display_name, salt, iterations, verifier) in rows {
            let Some(user) = self.user_by_id(id).await? else { continue };
            let command = user.roles.contains(&protocol::Role::Command);
            let sergeant_here =
                user.roles.contains(&protocol::Role::Sergeant) && user.districts.iter().any(|d| districts.contains(d));
            if command || sergeant_here {
                out.push(protocol::sync::OverrideVerifier {
                    username,
                    display_name,
                    salt,
                    iterations: u32::try_from(iterations).unwrap_or(0),
                    verifier,
                });
            }
        }
        Ok(out)
    }

    /// Creates an account with its roles and districts, in one transaction.
    ///
    /// # Errors
    /// [`AccountError::UsernameTaken`], [`AccountError::Invalid`] or a store error.
    pub async fn create_user(&self, new: &NewUser) -> Result<i64, AccountError> {
        let username = validate_username(&new.username)?;
        let display = new.display_name.trim();
        if display.is_empty() {
            return Err(AccountError::Invalid { field: "display_name", reason: "must be 1 to 120 characters".into() });
        }
        protocol::text::check(display, 120, protocol::text::Lines::One)
            .map_err(|reason| AccountError::Invalid { field: "display_name", reason })?;
        let now = now_seconds();
        let (issuer, subject) = new.oidc.clone().unzip();
        let id = on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(&username)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(AccountError::UsernameTaken(username));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (username, display_name, password_hash, oidc_issuer, oidc_subject, synthetic, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(&username)
            .bind(display)
            .bind(&new.password_hash)
            .bind(&issuer)
            .bind(&subject)
            .bind(i64::from(new.synthetic))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for role in &new.roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for d in &new.districts {
                sqlx::query("INSERT INTO user_districts (user_id, district_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(d.trim())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    async fn complete_user_opt(&self, row: Option<UserRow>) -> Result<Option<User>, BodegaError> {
        match row {
            Some(r) => Ok(Some(self.complete_user(r).await?)),
            None => Ok(None),
        }
    }

    async fn complete_user(&self, row: UserRow) -> Result<User, BodegaError> {
        let (roles, districts): (Vec<String>, Vec<String>) = on_pool!(self, pool => {
            let roles = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(row.id)
                .fetch_all(pool)
                .await?;
            let districts =
                sqlx::query_scalar("SELECT district_code FROM user_districts WHERE user_id = $1 ORDER BY district_code")
                    .bind(row.id)
                    .fetch_all(pool)
                    .await?;
            (roles, districts)
        });
        let mut roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
        roles.sort();
        Ok(User {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            password_hash: row.password_hash,
            totp_secret: row.totp_secret,
            failed_logins: row.failed_logins,
            locked_until: row.locked_until,
            active: row.active != 0,
            roles,
            districts,
        })
    }

    /// The user with this sign-in name (any case), if any.
    ///
    /// # Errors
    /// A store error.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, BodegaError> {
        let name = username.trim().to_lowercase();
        let sql = format!("SELECT {USER_COLUMNS} WHERE username = $1");
        let row: Option<UserRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&name).fetch_optional(pool).await)?;
        self.complete_user_opt(row).await
    }

    /// The user with this id, if any.
    ///
    /// # Errors
    /// A store error.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, BodegaError> {
        let sql = format!("SELECT {USER_COLUMNS} WHERE id = $1");
        let row: Option<UserRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        self.complete_user_opt(row).await
    }

    /// The user signed in through this identity provider, if known.
    ///
    /// # Errors
    /// A store error.
    pub async fn user_by_oidc(&self, issuer: &str, subject: &str) -> Result<Option<User>, BodegaError> {
        let sql = format!("SELECT {USER_COLUMNS} WHERE oidc_issuer = $1 AND oidc_subject = $2");
        let row: Option<UserRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issuer).bind(subject).fetch_optional(pool).await)?;
        self.complete_user_opt(row).await
    }

    /// Records a sign-in with OpenID Connect under way (see the `oidc_logins` migration), and
    /// forgets the ones started before `stale_before` (UTC seconds) that were never finished, so
    /// the table holds only the last few minutes' sign-ins however often the route is called.
    ///
    /// # Errors
    /// A store error (a state already under way is one: states are random).
    pub async fn begin_oidc_login(
        &self,
        state_hash: &str,
        login: &OidcLogin,
        stale_before: i64,
    ) -> Result<(), BodegaError> {
        let stale = stale_before;
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1").bind(stale).execute(pool).await?;
            sqlx::query(
                "INSERT INTO oidc_logins (state_hash, pkce_verifier, nonce, next_path, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(state_hash)
            .bind(&login.pkce_verifier)
            .bind(&login.nonce)
            .bind(&login.next_path)
            .bind(login.created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Takes back (and deletes) the sign-in under way with this state: each state is good for
    /// one callback only.
    ///
    /// # Errors
    /// A store error.
    pub async fn take_oidc_login(&self, state_hash: &str) -> Result<Option<OidcLogin>, BodegaError> {
        let row: Option<(String, String, String, i64)> = on_writer!(self, pool => sqlx::query_as(
            "DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING pkce_verifier, nonce, next_path, created_at",
        )
        .bind(state_hash)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|(pkce_verifier, nonce, next_path, created_at)| OidcLogin {
            pkce_verifier,
            nonce,
            next_path,
            created_at,
        }))
    }

    /// All users, by username.
    ///
    /// # Errors
    /// A store error.
    pub async fn list_users(&self) -> Result<Vec<User>, BodegaError> {
        let sql = format!("SELECT {USER_COLUMNS} ORDER BY username");
        let rows: Vec<UserRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.complete_user(r).await?);
        }
        Ok(out)
    }

    /// Replaces a user's roles and districts (the identity provider's roles at each sign-in, or
    /// an administrator's change).
    ///
    /// # Errors
    /// A store error.
    pub async fn set_roles_and_districts(
        &self,
        user_id: i64,
        roles: &[Role],
        districts: &[String],
    ) -> Result<(), BodegaError> {
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM user_districts WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            for role in roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user_id).bind(role.as_str()).execute(&mut *tx).await?;
            }
            for d in districts {
                sqlx::query("INSERT INTO user_districts (user_id, district_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user_id).bind(d.trim()).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
                .bind(user_id).bind(now_seconds()).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// True when the user signs in through the department's identity provider (an account the
    /// provider made or linked): a local password would let them round it.
    ///
    /// # Errors
    /// A store error.
    pub async fn signs_in_with_provider(&self, user_id: i64) -> Result<bool, BodegaError> {
        let linked: Option<i64> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM users WHERE id = $1 AND oidc_subject IS NOT NULL").bind(user_id).fetch_optional(pool).await)?;
        Ok(linked.is_some())
    }

    /// Sets (or clears) a user's password hash and resets the lockout. Every session of the
    /// user ends with it (a password is reset after a compromise: whoever held it must not
    /// stay signed in).
    ///
    /// # Errors
    /// A store error.
    pub async fn set_password_hash(&self, user_id: i64, hash: Option<&str>) -> Result<(), BodegaError> {
        let now = now_seconds();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query(
                "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1")
                .bind(user_id).bind(hash).bind(now).execute(&mut *tx).await?;
            end_user_sessions!(tx, user_id, now, "credentials_changed");
            tx.commit().await?;
        });
        Ok(())
    }

    /// Enrols (or removes) a TOTP second factor; every session of the user ends with it.
    ///
    /// # Errors
    /// A store error.
    pub async fn set_totp_secret(&self, user_id: i64, secret: Option<&str>) -> Result<(), BodegaError> {
        let now = now_seconds();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query("UPDATE users SET totp_secret = $2, updated_at = $3 WHERE id = $1")
                .bind(user_id).bind(secret).bind(now).execute(&mut *tx).await?;
            end_user_sessions!(tx, user_id, now, "credentials_changed");
            tx.commit().await?;
        });
        Ok(())
    }

    /// Activates or deactivates an account; deactivating ends its sessions.
    ///
    /// # Errors
    /// A store error.
    pub async fn set_user_active(&self, user_id: i64, active: bool) -> Result<(), BodegaError> {
        let now = now_seconds();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query("UPDATE users SET active = $2, updated_at = $3 WHERE id = $1")
                .bind(user_id).bind(i64::from(active)).bind(now).execute(&mut *tx).await?;
            if !active {
                end_user_sessions!(tx, user_id, now, "deactivated");
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Counts a failed sign-in; after `lock_after` consecutive failures the account is locked
    /// until `now + lock_seconds`. Returns (consecutive failures, locked until).
    ///
    /// # Errors
    /// A store error.
    pub async fn record_failed_login(
        &self,
        user_id: i64,
        lock_after: i64,
        lock_seconds: i64,
    ) -> Result<(i64, Option<i64>), BodegaError> {
        let now = now_seconds();
        let row: (i64, Option<i64>) = on_writer!(self, pool => sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1, \
               locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, updated_at = $4 \
             WHERE id = $1 RETURNING failed_logins, locked_until")
            .bind(user_id).bind(lock_after).bind(now + lock_seconds).bind(now).fetch_one(pool).await)?;
        Ok(row)
    }

    /// Clears the failure count after a successful sign-in.
    ///
    /// # Errors
    /// A store error.
    pub async fn record_successful_login(&self, user_id: i64) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Lifts a lockout (an administrator's reset).
    ///
    /// # Errors
    /// A store error.
    pub async fn unlock_user(&self, user_id: i64) -> Result<(), BodegaError> {
        self.record_successful_login(user_id).await
    }

    // ---- sessions ------------------------------------------------------------------------------

    /// Opens a session.
    ///
    /// # Errors
    /// A store error.
    pub async fn create_session(&self, s: &NewSession<'_>) -> Result<(), BodegaError> {
        let now = now_seconds();
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, device_id, auth_method, created_at, last_seen_at, expires_at, \
             source_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)")
            .bind(s.id_hash).bind(s.user_id).bind(s.device_id).bind(s.auth_method).bind(now)
            .bind(s.expires_at).bind(s.source_ip).bind(s.user_agent).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The session with this token hash, ended or not.
    ///
    /// # Errors
    /// A store error.
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>, BodegaError> {
        type Row = (String, i64, Option<String>, String, i64, i64, i64, Option<i64>);
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id_hash, user_id, device_id, auth_method, created_at, last_seen_at, expires_at, ended_at \
             FROM sessions WHERE id_hash = $1")
            .bind(id_hash).fetch_optional(pool).await)?;
        Ok(row.map(|(id_hash, user_id, device_id, auth_method, created_at, last_seen_at, expires_at, ended_at)| {
            Session { id_hash, user_id, device_id, auth_method, created_at, last_seen_at, expires_at, ended_at }
        }))
    }

    /// When `user_id` was signed in on device `device_id`: each of those sessions as `(signed
    /// in, signed out or its absolute end, whichever came first)`, server clock. Sessions are
    /// kept when they end, so this is the whole history; a device's breadcrumbs are believed only
    /// inside it (`protocol::sync::fix_time_refusal`) — a session at a desk is no cover for a
    /// phone's track.
    ///
    /// # Errors
    /// A store error.
    pub async fn session_spans(&self, user_id: i64, device_id: &str) -> Result<Vec<(i64, i64)>, BodegaError> {
        let rows: Vec<(i64, i64, Option<i64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT created_at, expires_at, ended_at FROM sessions WHERE user_id = $1 AND device_id = $2 \
             ORDER BY created_at")
            .bind(user_id).bind(device_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(from, expires, ended)| (from, ended.map_or(expires, |e| e.min(expires)))).collect())
    }

    /// Marks activity on a session (the idle lock counts from the last touch).
    ///
    /// # Errors
    /// A store error.
    pub async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND ended_at IS NULL AND last_seen_at < $2")
            .bind(id_hash).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a session (logout, rotation, idle or absolute expiry).
    ///
    /// # Errors
    /// A store error.
    pub async fn end_session(&self, id_hash: &str, reason: &str) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(id_hash).bind(now_seconds()).bind(reason).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    // ---- devices -------------------------------------------------------------------------------

    /// Registers a device to a user, or refreshes its label and last-seen time when it is
    /// already theirs.
    ///
    /// # Errors
    /// [`AccountError::DeviceOfAnotherUser`], [`AccountError::Invalid`] or a store error.
    pub async fn register_device(&self, id: &str, user_id: i64, label: &str) -> Result<Device, AccountError> {
        // Checked as sent, not trimmed: the sync routes lock and log the id exactly as given.
        if protocol::sync::check_device_id(id).is_err() {
            return Err(AccountError::Invalid {
                field: "device_id",
                reason: "must be 1 to 64 letters, digits or '-' (a UUID)".into(),
            });
        }
        let label: String = label.trim().chars().take(80).collect();
        let now = now_seconds();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            // Insert-if-absent first: two first syncs of one device racing on PostgreSQL must
            // not both try to create it.
            sqlx::query("INSERT INTO devices (id, user_id, label, registered_at, last_seen_at) \
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING")
                .bind(id).bind(user_id).bind(&label).bind(now).execute(&mut *tx).await?;
            let owner: i64 = sqlx::query_scalar("SELECT user_id FROM devices WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            if owner != user_id {
                return Err(AccountError::DeviceOfAnotherUser(id.to_string()));
            }
            sqlx::query("UPDATE devices SET last_seen_at = $2, label = CASE WHEN $3 = '' THEN label ELSE $3 END \
                         WHERE id = $1")
                .bind(id).bind(now).bind(&label).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.device(id).await?.ok_or_else(|| AccountError::NoSuchUser(id.to_string()))
    }

    /// The server-held key of device `id` for `user_id` (registered on first use): `new_key_hex`
    /// becomes it when the device has none yet. Refused for another user's or a revoked device.
    ///
    /// # Errors
    /// [`AccountError::DeviceOfAnotherUser`], [`AccountError::Invalid`] (bad id, or revoked) or a
    /// store error.
    pub async fn device_key(&self, id: &str, user_id: i64, new_key_hex: &str) -> Result<String, AccountError> {
        let device = self.register_device(id, user_id, "").await?;
        if device.revoked_at.is_some() {
            return Err(AccountError::Invalid { field: "device_id", reason: "this device was revoked".into() });
        }
        on_writer!(self, pool => {
            sqlx::query("UPDATE devices SET server_key = $2 WHERE id = $1 AND server_key IS NULL")
                .bind(&device.id).bind(new_key_hex).execute(pool).await?;
            let key: Option<String> = sqlx::query_scalar("SELECT server_key FROM devices WHERE id = $1")
                .bind(&device.id).fetch_one(pool).await?;
            Ok(key.unwrap_or_default())
        })
    }

    /// Ties a session that began without naming its device (a sign-in from the web form) to
    /// the device it turned out to run on, so that revoking the device ends the session too.
    /// A session already tied to a device keeps it.
    ///
    /// # Errors
    /// A store error.
    pub async fn bind_session_device(&self, session_hash: &str, device_id: &str) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "UPDATE sessions SET device_id = $2 WHERE id_hash = $1 AND device_id IS NULL \
             AND EXISTS (SELECT 1 FROM devices WHERE id = $2 AND revoked_at IS NULL)")
            .bind(session_hash).bind(device_id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The server-held key of device `id` if it has one and is not revoked.
    ///
    /// # Errors
    /// A store error.
    pub async fn device_server_key(&self, id: &str) -> Result<Option<String>, BodegaError> {
        let key: Option<Option<String>> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT server_key FROM devices WHERE id = $1 AND revoked_at IS NULL")
            .bind(id).fetch_optional(pool).await)?;
        Ok(key.flatten())
    }

    /// The device with this id, if registered.
    ///
    /// # Errors
    /// A store error.
    pub async fn device(&self, id: &str) -> Result<Option<Device>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, label, registered_at, last_seen_at, last_seq, revoked_at, revoke_reason \
             FROM devices WHERE id = $1")
            .bind(id).fetch_optional(pool).await)?)
    }

    /// Devices, optionally of one user, newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn list_devices(&self, user_id: Option<i64>) -> Result<Vec<Device>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, label, registered_at, last_seen_at, last_seq, revoked_at, revoke_reason \
             FROM devices WHERE ($1 IS NULL OR user_id = $1) ORDER BY registered_at DESC, id")
            .bind(user_id).fetch_all(pool).await)?)
    }

    /// Revokes a device (`by_user`: the administrator, `None` from the command line): its
    /// sessions end and its next sync is refused. Returns false when the device was not
    /// registered or already revoked.
    ///
    /// # Errors
    /// A store error.
    pub async fn revoke_device(&self, id: &str, by_user: Option<i64>, reason: &str) -> Result<bool, BodegaError> {
        let now = now_seconds();
        let changed = on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let n = sqlx::query("UPDATE devices SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 \
                                 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).bind(now).bind(by_user).bind(reason).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE sessions SET ended_at = $2, end_reason = 'revoked' WHERE device_id = $1 AND ended_at IS NULL")
                .bind(id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(changed > 0)
    }
}
