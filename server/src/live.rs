//! Live updates for the command views: `GET /api/live` is a server-sent event stream that says
//! "changed" whenever the Data Bodega's change marker moves (a mission step, a sync, a load, new
//! GPS), so open views refetch without a reload.
//!
//! One task per server polls the marker once a second and publishes it on a `watch` channel;
//! each open stream waits on that channel (no query per viewer). Changes made by another
//! process — `server ingest` from the command line, a second server on the same PostgreSQL —
//! are seen too, because the marker lives in the database. The task ends with the server state.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use protocol::policy::Target;
use protocol::Action;
use tokio::sync::watch;

use crate::AppState;

/// How often the marker is read.
pub const POLL: Duration = Duration::from_secs(1);

/// Starts the poller; the receiver it returns is what streams wait on.
pub fn start(bodega: bodega::Bodega) -> watch::Receiver<i64> {
    let (tx, rx) = watch::channel(0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first reading is the baseline, not a change.
        let mut first = true;
        loop {
            tokio::select! {
                () = tx.closed() => break,
                _ = tick.tick() => {
                    match bodega.change_marker().await {
                        Ok(marker) => {
                            tx.send_if_modified(|m| {
                                let changed = *m != marker && !first;
                                *m = marker;
                                changed
                            });
                            first = false;
                        }
                        Err(e) => tracing::warn!(error = %e, "live updates: the change marker could not be read"),
                    }
                }
            }
        }
    });
    rx
}

/// `GET /api/live`: an event (`changed`, the marker as data) each time the Data Bodega changes,
/// and a keep-alive comment every 15 s. Signed-in users who may see hot spots.
pub async fn events(State(state): State<AppState>, req: Request) -> Response {
    if let Err(resp) = crate::gate(&state, crate::asker(&req), Action::ViewHotSpots, Target::City, "/api/live").await {
        return resp;
    }
    let mut rx = state.live.clone();
    rx.mark_unchanged();
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> = Box::pin(async_stream(rx));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn async_stream(rx: watch::Receiver<i64>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let marker = *rx.borrow_and_update();
        Some((Ok(Event::default().event("changed").data(marker.to_string())), rx))
    })
}
