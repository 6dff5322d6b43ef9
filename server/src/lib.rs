//! # server — the Beatbook binary
//!
//! A thin binary (`main.rs`: parse and dispatch) over this library:
//! - the command line: [`cli`] (every subcommand and flag), [`config`] (the settings every
//!   command shares, each a flag and an environment variable, and their defaults), [`commands`]
//!   (one module per command family: serve, ingest and watch, analysis, accounts, weights,
//!   snapshot, basemap);
//! - the web server: [`state`] (what every handler shares, built from the settings),
//!   [`router`] (every route in one table, and the layers around them), [`gate`] (the one gate
//!   of the server's own routes), [`limits`] (rate limits);
//! - sign-in: [`auth`] (local accounts, sessions, the guards: CSRF, security headers, the page
//!   guard) and [`oidc`] (single sign-on);
//! - the field devices' routes: [`sync`] (push and pull), [`device_keys`] (the device's
//!   server-held key, the service worker's sealed push) and [`overrides`] (a supervisor's
//!   override code);
//! - the rest of the surface: [`upload`] (the analysts' uploads), [`snapshot`] (the Chief's Daily
//!   Snapshot as PDF and CSV), [`live`] (server-sent events), [`basemap`] (the department's
//!   PMTiles basemap), [`pwa`] (the offline shell and service worker of the running build);
//! - the analysts' one-file work: [`analysis`] (reading, scoring, writing) and [`watch`] (the
//!   folder an export system drops files into); [`accounts`] (accounts and devices for the CLI).
//!
//! Every refusal is the one error envelope, `app::error::ApiError`; every query lives in `bodega`;
//! every screen in `app`. Rooms import their own floor (`state`, `config`, `gate`, …) and never
//! this file, which only declares them (`scripts/module-cycles.py` checks it).

pub mod accounts;
pub mod analysis;
pub mod auth;
pub mod basemap;
pub mod cli;
pub mod commands;
pub mod config;
pub mod device_keys;
pub mod gate;
pub mod limits;
pub mod live;
pub mod oidc;
pub mod overrides;
pub mod pwa;
pub mod router;
pub mod snapshot;
pub mod state;
pub mod sync;
pub mod upload;
pub mod watch;
