//! Sign-in with OpenID Connect: Microsoft Entra ID or any provider that publishes a discovery
//! document. Authorization code flow with PKCE (S256) and a nonce, as SECURITY.md asks.
//!
//! `GET /api/auth/oidc/start?next=/missions` discovers the provider (cached ten minutes), makes a
//! random `state`, PKCE verifier and nonce, keeps them in the Data Bodega (`oidc_logins`, so any
//! server instance can finish the sign-in) and sends the browser to the provider.
//! `GET /api/auth/oidc/callback?code=…&state=…` takes the state back (once, within ten minutes),
//! redeems the code with the verifier, and checks the ID token: signature against the provider's
//! published keys, issuer, audience, expiry, nonce, and the access-token hash when present. The
//! user is found by (issuer, subject); a first sign-in creates the account. Roles come from the
//! token at every sign-in (the `roles` claim by default, which is where Entra ID puts app roles;
//! `BEATBOOK_OIDC_ROLE_MAP` renames provider values), and so do districts when
//! `BEATBOOK_OIDC_DISTRICTS_CLAIM` names a claim (otherwise an administrator's assignment stays).
//! A token without a Beatbook role is refused; a first sign-in whose username is a local account
//! is refused rather than silently linked. Every outcome is in the audit log (`sign_in`, detail
//! `oidc`), role changes too (`role_change`). Failures count toward the sign-in rate limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{AdditionalClaims, ClientId, ClientSecret, IdToken, IssuerUrl, RedirectUrl};
use protocol::Role;
use serde::{Deserialize, Serialize};

/// How long a sign-in may stay at the provider before its state is refused.
pub const LOGIN_TTL_SECONDS: i64 = 600;
/// How long the provider's discovery document (and so its keys) is kept.
const METADATA_TTL: Duration = Duration::from_secs(600);
/// The route the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

/// The identity provider's settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL (its `/.well-known/openid-configuration` is fetched).
    pub issuer: String,
    /// Beatbook's client (application) id at the provider.
    pub client_id: String,
    /// The client secret, for a confidential client (PKCE is used either way).
    pub client_secret: Option<String>,
    /// This site's public address, e.g. `https://beatbook.example.gov` (the callback is under it).
    pub public_url: String,
    /// What the sign-in button says ("Sign in with …").
    pub label: String,
    /// The ID-token claim holding the user's roles.
    pub roles_claim: String,
    /// Provider role values (compared without case) → Beatbook roles, beside the role names
    /// themselves (`officer`, `sergeant`, `command`, `analyst`, `admin`).
    pub role_map: Vec<(String, Role)>,
    /// The ID-token claim holding district codes, if the provider assigns them (codes this
    /// department does not have are ignored).
    pub districts_claim: Option<String>,
}

impl OidcConfig {
    /// The redirect URI registered at the provider.
    pub fn redirect_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url.trim_end_matches('/'))
    }

    /// Parses `value=role,value=role` (as in `BEATBOOK_OIDC_ROLE_MAP`).
    ///
    /// # Errors
    /// A pair without `=`, or a role Beatbook does not have.
    pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (from, to) =
                    pair.split_once('=').ok_or_else(|| format!("'{pair}' is not value=role in the role map"))?;
                let role = Role::parse(to.trim()).ok_or_else(|| {
                    format!(
                        "'{}' in the role map is not a Beatbook role (officer, sergeant, command, analyst, admin)",
                        to.trim()
                    )
                })?;
                Ok((from.trim().to_lowercase(), role))
            })
            .collect()
    }

    /// The Beatbook roles a token's role values give.
    pub fn roles_from(&self, values: &[String]) -> Vec<Role> {
        let mut roles: Vec<Role> = values
            .iter()
            .filter_map(|v| {
                let v = v.trim().to_lowercase();
                self.role_map.iter().find(|(from, _)| *from == v).map(|(_, r)| *r).or_else(|| Role::parse(&v))
            })
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// Every claim of the ID token beyond the standard ones (roles, groups, districts…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims(pub HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

/// An ID token with its extra claims readable.
pub type BeatbookIdToken =
    IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

impl OtherClaims {
    /// A claim's string values: an array of strings, or one string.
    pub fn strings(&self, claim: &str) -> Vec<String> {
        match self.0.get(claim) {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// The provider, its HTTP client and the cached discovery document.
pub struct Oidc {
    /// Settings.
    pub config: OidcConfig,
    pub(crate) http: openidconnect::reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("issuer", &self.config.issuer).finish_non_exhaustive()
    }
}

impl Oidc {
    /// A provider for these settings (nothing is fetched until the first sign-in).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the server to SSRF (openidconnect's advice).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Oidc { config, http, metadata: tokio::sync::Mutex::new(None) })
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, String> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, md)) = cached.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(md.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| format!("issuer URL: {e}"))?;
        // Checks that the document names the same issuer.
        let md = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("discovery at {}: {}", self.config.issuer, error_chain(&e)))?;
        *cached = Some((Instant::now(), md.clone()));
        Ok(md)
    }

    pub(crate) async fn client(
        &self,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let md = self.metadata().await?;
        let redirect = RedirectUrl::new(self.config.redirect_url()).map_err(|e| format!("redirect URL: {e}"))?;
        Ok(CoreClient::from_provider_metadata(
            md,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
