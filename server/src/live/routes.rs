//! `GET /api/live`: the server-sent event stream of the command views.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use protocol::policy::Target;
use protocol::Action;
use tokio::sync::watch;

use crate::gate::{asker, gate};
use crate::state::AppState;

/// `GET /api/live`: an event (`changed`, the marker as data) each time the Data Bodega changes,
/// and a keep-alive comment every 15 s. Signed-in users who may see hot spots.
pub async fn events(State(state): State<AppState>, req: Request) -> Response {
    if let Err(resp) = gate(&state, asker(&req), Action::ViewHotSpots, Target::City, "/api/live").await {
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
