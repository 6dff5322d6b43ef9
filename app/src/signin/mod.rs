//! `/signin`: signing in with a local account or the department's identity provider.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::error::{Access, ApiError};

/// The sign-in screen's server function.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/sign_in_options", None)];

/// How one may sign in here: with a local account always, and with the department's identity
/// provider (its name) when single sign-on is configured. Public: the sign-in page asks.
#[server(prefix = "/api", endpoint = "sign_in_options")]
pub async fn get_sign_in_options() -> Result<Option<String>, ApiError> {
    let ctx = crate::context::context()?;
    Ok(ctx.sign_in_with.clone())
}

/// What a sign-in error code means to the person at the keyboard.
pub fn signin_message(code: &str) -> &'static str {
    match code {
        "bad_credentials" => "Wrong username or password.",
        "locked" => {
            "This account is locked after repeated failed sign-ins. Try again in 10 minutes or ask an administrator."
        }
        "rate_limited" => "Too many failed sign-ins. Wait a minute, then try again.",
        "totp_required" => "Enter the 6-digit code from your authenticator app.",
        "bad_totp" => "That code is wrong or has expired. Enter the current one.",
        "invalid" => "Enter your username and password.",
        "device_revoked" => {
            "This device was revoked by an administrator. Use another device or ask for it to be restored."
        }
        "device_in_use" => "This device is registered to another user. Sign out there first.",
        "unavailable" => "Beatbook cannot reach its database right now. Try again shortly.",
        "oidc_unavailable" => "Beatbook cannot reach the department's sign-in service right now. Try again shortly, or use a local account.",
        "oidc_state" => "That sign-in was already used or took too long. Start again.",
        "oidc_denied" => "The department's sign-in service did not sign you in.",
        "oidc_expired" => "The sign-in service's answer had expired (is this device's clock right?). Start again.",
        "oidc_issuer" | "oidc_audience" | "oidc_nonce" | "oidc_token" => {
            "The sign-in service's answer could not be trusted, so it was refused. Start again; if it keeps happening, tell an administrator."
        }
        "oidc_no_role" => "Your department account has no Beatbook role. Ask an administrator to give you one.",
        "oidc_conflict" => "A Beatbook account with your name already exists. Ask an administrator to link it to your department account.",
        "oidc_disabled" => "Your Beatbook account is disabled. Ask an administrator.",
        _ => "Sign-in failed. Try again.",
    }
}

/// The sign-in screen: a plain form that works before the app has loaded (and without it).
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let next = move || {
        query.read().get("next").filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or_else(|| "/".into())
    };
    let reason = move || match query.read().get("reason").as_deref() {
        Some("idle") => {
            Some("Locked after 30 minutes without activity. Sign in again; nothing on this device is lost.")
        }
        Some("expired") => Some("Your session reached the end of its shift. Sign in again."),
        _ => None,
    };
    let wants_code = move || matches!(error().as_deref(), Some("totp_required" | "bad_totp"));
    let sso = Resource::new(|| (), |_| get_sign_in_options());
    view! {
        <Title text="Sign in · Beatbook"/>
        <section class="page signin">
            <h1>"Sign in"</h1>
            <p class="hint">"Use your department account. Sessions lock after 30 minutes without activity and end with your shift."</p>
            {move || reason().map(|r| view! { <p class="notice" role="status" data-testid="signin-reason">{r}</p> })}
            {move || error().map(|code| view! {
                <p class="error" role="alert" data-testid="signin-error">{signin_message(&code)}</p>
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    sso.await.ok().flatten().map(|name| view! {
                        <form method="get" action="/api/auth/oidc/start" class="signin-sso">
                            <input type="hidden" name="next" value=next/>
                            <button type="submit" class="primary" data-testid="signin-sso">{format!("Sign in with {name}")}</button>
                        </form>
                        <p class="hint">"Or with a local account:"</p>
                    })
                })}
            </Suspense>
            <form method="post" action="/api/auth/login" class="signin-form">
                <input type="hidden" name="next" value=next/>
                <label>"Username"
                    <input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required/>
                </label>
                <label>"Password"
                    <input name="password" type="password" autocomplete="current-password" required/>
                </label>
                <Show when=wants_code>
                    <label>"6-digit code"
                        <input name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"/>
                    </label>
                </Show>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </section>
    }
}
