//! Who is signed in ([`Me`], `GET /api/me`), and the one gate every server function passes
//! through.
//!
//! The server's session middleware (crate `server`, `auth`) resolves the session cookie into a
//! [`Caller`] and puts it, with the client's address, into the request's extensions. Every server
//! function starts with [`ssr::authorize`] naming its [`protocol::Action`] and target: the
//! decision comes from the declared policy in `protocol::policy`, a denial is answered with 401
//! or 403 and written to the audit log, and an allowed call gets a [`ssr::Grant`] with which it
//! records its own outcome when the action is one the audit log must hold.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

/// The signed-in user as the screens see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<protocol::Role>,
    /// District codes.
    pub districts: Vec<String>,
    /// When the session ends at the latest (UTC seconds): the end of the shift.
    pub session_expires_at: i64,
    /// Idle lock after this many seconds without activity.
    pub idle_lock_seconds: i64,
    /// When what this device keeps for the user expires (UTC seconds): the session's end plus
    /// the department's keep time (default 12 h).
    pub device_data_expires_at: i64,
    /// On the demo city, the day it calls today (`YYYY-MM-DD`, the last day of its data), shown
    /// in the header; `None` on a department's own data.
    #[serde(default)]
    pub demo_today: Option<String>,
}

impl Me {
    /// The policy subject (user id is not sent to the browser; 0 stands for "me").
    pub fn subject(&self) -> protocol::Subject {
        protocol::Subject { user_id: 0, roles: self.roles.clone(), districts: self.districts.clone() }
    }

    /// True when the policy would let this user take `action` somewhere.
    pub fn may(&self, action: protocol::Action) -> bool {
        self.roles.iter().any(|r| protocol::policy::grant(*r, action).is_some())
    }
}

/// A screen: its path, its name in the navigation (`None`: reached from another screen), and
/// the action a role must hold somewhere to use it (`None`: anyone signed in). The navigation
/// shows a screen to the roles that may use it; the server answers a page load by another role
/// 403 (the screen still renders, saying what it is for); the authorization matrix test fails
/// for a route that is not here.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// The route.
    pub path: &'static str,
    /// The navigation's link text.
    pub nav: Option<&'static str>,
    /// What it takes.
    pub needs: Option<protocol::Action>,
}

/// Every screen, in the navigation's order.
pub const PAGES: &[Page] = {
    use protocol::Action as A;
    const fn page(path: &'static str, nav: Option<&'static str>, needs: Option<A>) -> Page {
        Page { path, nav, needs }
    }
    &[
        page("/", None, None),
        page("/signin", None, None),
        page("/missions", Some("My missions"), Some(A::WorkMission)),
        page("/board", Some("Board"), Some(A::AcknowledgeMission)),
        page("/plan", Some("Plan"), Some(A::PlanMissions)),
        page("/menu", Some("Menu"), Some(A::ManageMenu)),
        page("/crime", Some("Crime"), Some(A::ViewHotSpots)),
        page("/places", None, Some(A::ViewHotSpots)),
        page("/accuracy", None, Some(A::ViewHotSpots)),
        page("/followups", Some("Follow-ups"), Some(A::PlanMissions)),
        page("/presence", Some("Presence"), Some(A::ViewPresence)),
        page("/outcomes", Some("Outcomes"), Some(A::ViewPresence)),
        page("/snapshot", Some("Snapshot"), Some(A::ViewSnapshot)),
        page("/upload", Some("Load data"), Some(A::IngestData)),
        page("/rules", Some("Rules"), Some(A::ChangeConfig)),
        page("/setup", Some("Setup"), Some(A::ManageSetup)),
        page("/admin/users", Some("Accounts"), Some(A::ManageUsers)),
        page("/admin/devices", Some("Devices"), Some(A::ManageDevices)),
        page("/admin/audit", Some("Audit"), Some(A::ViewAudit)),
    ]
};

/// Whether `roles` may use the screen at `path` (unknown paths are the not-found page's).
pub fn may_open(path: &str, roles: &[protocol::Role]) -> bool {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    match PAGES.iter().find(|p| p.path == path).and_then(|p| p.needs) {
        None => true,
        Some(action) => roles.iter().any(|r| protocol::policy::grant(*r, action).is_some()),
    }
}

/// The signed-in user, shared by the screens (`None`: nobody, or not known offline).
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Option<Me>>);

/// The endpoints of this module, with the action each needs.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/me", None)];

/// The signed-in user, or `None` without a live session. Public: asking who one is reveals
/// nothing and is not an access attempt worth an audit record.
#[server(prefix = "/api", endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, ApiError> {
    let ctx = crate::context::context()?;
    let demo_today = match ssr::caller() {
        Some(_) => bodega::demo::demo_today(&ctx.bodega).await.map_err(crate::context::unavailable)?,
        None => None,
    };
    Ok(ssr::caller().map(|caller| Me {
        username: caller.user.username.clone(),
        display_name: caller.user.display_name.clone(),
        roles: caller.user.roles.clone(),
        districts: caller.user.districts.clone(),
        session_expires_at: caller.session_expires_at,
        idle_lock_seconds: ctx.idle_lock_seconds,
        device_data_expires_at: caller.session_expires_at + ctx.device_keep_seconds,
        demo_today: demo_today.map(|d| d.to_string()),
    }))
}

/// Server side: the caller and the gate.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::accounts::User;
    use bodega::audit::{AuditRecord, Outcome};
    use leptos::prelude::*;
    use protocol::policy::{decide, Decision, Target};
    use protocol::Action;

    use crate::context::ServerContext;
    use crate::error::ssr::respond_with;
    use crate::error::ApiError;

    /// The client's address and agent, known for every request (signed in or not).
    #[derive(Debug, Clone, Default)]
    pub struct ClientInfo {
        /// Peer address (or the first `X-Forwarded-For` hop behind a trusted proxy).
        pub ip: String,
        /// User agent, truncated.
        pub user_agent: String,
    }

    /// A signed-in caller, resolved from a live session.
    #[derive(Debug, Clone)]
    pub struct Caller {
        /// The user.
        pub user: User,
        /// SHA-256 of the session token.
        pub session_hash: String,
        /// Absolute end of the session.
        pub session_expires_at: i64,
        /// The device the session belongs to, if registered.
        pub device_id: Option<String>,
    }

    /// Why a request carries no caller although it has a cookie.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SessionProblem {
        /// Idle longer than the idle lock.
        IdleLocked,
        /// Past the absolute lifetime.
        Expired,
        /// Ended (logout, rotation, revoked device, deactivated account) or unknown.
        Ended,
    }

    impl SessionProblem {
        /// What the user reads.
        pub fn message(self) -> &'static str {
            match self {
                SessionProblem::IdleLocked => "locked after 30 minutes without activity: sign in again",
                SessionProblem::Expired => "your session reached the end of its shift: sign in again",
                SessionProblem::Ended => "your session has ended: sign in again",
            }
        }
    }

    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    /// The caller of the current request, if signed in.
    pub fn caller() -> Option<Caller> {
        parts().and_then(|p| p.extensions.get::<Caller>().cloned())
    }

    /// The client info of the current request.
    pub fn client() -> ClientInfo {
        parts().and_then(|p| p.extensions.get::<ClientInfo>().cloned()).unwrap_or_default()
    }

    fn session_problem() -> Option<SessionProblem> {
        parts().and_then(|p| p.extensions.get::<SessionProblem>().copied())
    }

    /// Permission to go ahead with one action, with the means to record its outcome.
    #[derive(Debug, Clone)]
    pub struct Grant {
        /// The caller.
        pub caller: Caller,
        /// The action allowed.
        pub action: Action,
        /// District, when the target had one.
        pub district: Option<String>,
        /// Where the request came from.
        pub client: ClientInfo,
    }

    impl Grant {
        /// The user.
        pub fn user(&self) -> &User {
            &self.caller.user
        }

        /// Writes the one audit record this action leaves.
        ///
        /// # Errors
        /// [`ApiError::Unavailable`] when the audit log cannot be written: an action that
        /// cannot be recorded is reported as failed.
        pub async fn audit(
            &self,
            ctx: &ServerContext,
            target: &str,
            outcome: Outcome,
            detail: &str,
        ) -> Result<(), ApiError> {
            let client = self.client.clone();
            let entry = AuditRecord {
                actor_user_id: Some(self.caller.user.id),
                actor: self.caller.user.username.clone(),
                action: self.action.as_str().to_string(),
                target: target.to_string(),
                district_code: self.district.clone(),
                source_ip: client.ip,
                device_id: self.caller.device_id.clone(),
                outcome,
                detail: detail.to_string(),
                ..Default::default()
            };
            ctx.bodega.append_audit(&entry).await.map(|_| ()).map_err(|e| {
                tracing::error!(error = %e, "audit log write failed");
                ApiError::Unavailable("the audit log could not be written; nothing was done".into())
            })
        }
    }

    /// Records a denied attempt (anonymous or forbidden).
    async fn audit_denied(
        ctx: &ServerContext,
        caller: Option<&Caller>,
        client: ClientInfo,
        action: Action,
        target: &str,
        reason: &str,
    ) {
        let entry = AuditRecord {
            actor_user_id: caller.map(|c| c.user.id),
            actor: caller.map(|c| c.user.username.clone()).unwrap_or_else(|| "anonymous".into()),
            action: action.as_str().to_string(),
            target: target.to_string(),
            district_code: None,
            source_ip: client.ip,
            device_id: caller.and_then(|c| c.device_id.clone()),
            outcome: Outcome::Denied,
            detail: reason.to_string(),
            ..Default::default()
        };
        if let Err(e) = ctx.bodega.append_audit(&entry).await {
            tracing::error!(error = %e, "audit log write failed for a denial");
        }
    }

    /// The gate: may the caller take `action` on `target`? `what` names the endpoint or record
    /// for the audit log. Denials are answered (401 without a live session, 403 otherwise) and
    /// recorded.
    ///
    /// # Errors
    /// [`ApiError::Unauthenticated`] or [`ApiError::Forbidden`].
    pub async fn authorize(
        ctx: &ServerContext,
        action: Action,
        target: Target<'_>,
        what: &str,
    ) -> Result<Grant, ApiError> {
        let result = authorize_request(ctx, caller(), client(), session_problem(), action, target, what).await;
        if let Err(e) = &result {
            respond_with(e);
        }
        result
    }

    /// [`authorize`] for a handler outside Leptos (a plain axum route): the caller, client and
    /// session problem come from the request's extensions, and the handler answers the error.
    ///
    /// # Errors
    /// [`ApiError::Unauthenticated`] or [`ApiError::Forbidden`], recorded.
    pub async fn authorize_request(
        ctx: &ServerContext,
        caller: Option<Caller>,
        client: ClientInfo,
        problem: Option<SessionProblem>,
        action: Action,
        target: Target<'_>,
        what: &str,
    ) -> Result<Grant, ApiError> {
        let Some(caller) = caller else {
            let reason = problem.map_or("sign in to continue", SessionProblem::message);
            audit_denied(ctx, None, client, action, what, reason).await;
            return Err(ApiError::Unauthenticated(reason.to_string()));
        };
        match decide(&caller.user.subject(), action, target) {
            Decision::Allow(_) => {
                let district = match target {
                    Target::District(d) | Target::Assignment { district: d, .. } => Some(d.to_string()),
                    Target::City | Target::Own | Target::Reference => None,
                };
                Ok(Grant { caller, action, district, client })
            }
            Decision::Deny(reason) => {
                audit_denied(ctx, Some(&caller), client, action, what, &reason).await;
                Err(ApiError::Forbidden(reason))
            }
        }
    }
}
