//! Single sign-on with OpenID Connect (Microsoft Entra ID or any provider), beside local
//! accounts: [`provider`] (the settings, discovery and the token checks) and [`routes`] (the
//! start and callback routes).

pub mod provider;
pub mod routes;
