//! Live updates for the command views: `GET /api/live` is a server-sent event stream that says
//! "changed" whenever the Data Bodega's change marker moves (a mission step, a sync, a load, new
//! GPS), so open views refetch without a reload.
//!
//! One task per server polls the marker once a second and publishes it on a `watch` channel;
//! each open stream waits on that channel (no query per viewer). Changes made by another
//! process — `server ingest` from the command line, a second server on the same PostgreSQL —
//! are seen too, because the marker lives in the database. The task ends with the server state.
//!
//! Rooms: [`feed`] (the poller) and [`routes`] (the stream).

pub mod feed;
pub mod routes;
