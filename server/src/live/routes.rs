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

/// How often an open stream checks that its session is still open (and how often, with
/// nothing to say, it sends a keep-alive).
pub const SESSION_CHECK: Duration = Duration::from_secs(15);

/// `GET /api/live`: an event (`changed`, the marker as data) each time the Data Bodega changes,
/// and a keep-alive comment every 15 s. Signed-in users who may see hot spots. The stream ends
/// when its session does (signed out, ended by an administrator, past its shift, idle): it is
/// checked at every event and every [`SESSION_CHECK`].
pub async fn events(State(state): State<AppState>, req: Request) -> Response {
    let grant = match gate(&state, asker(&req), Action::ViewHotSpots, Target::City, "/api/live").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let mut rx = state.live.clone();
    rx.mark_unchanged();
    let session = grant.caller.session_hash.clone();
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(async_stream(state, session, rx));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(SESSION_CHECK)).into_response()
}

fn async_stream(
    state: AppState,
    session: String,
    rx: watch::Receiver<i64>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((state, session, rx), |(state, session, mut rx)| async move {
        loop {
            let changed = tokio::select! {
                r = rx.changed() => { r.ok()?; true }
                () = tokio::time::sleep(SESSION_CHECK) => false,
            };
            if !session_open(&state, &session).await {
                return None;
            }
            if changed {
                let marker = *rx.borrow_and_update();
                return Some((Ok(Event::default().event("changed").data(marker.to_string())), (state, session, rx)));
            }
        }
    })
}

/// True while the session is open (`auth::session::lapsed`; read only: the stream itself does
/// not keep a session alive). A store failure ends the stream too; the page reconnects and the
/// gate decides again.
async fn session_open(state: &AppState, session: &str) -> bool {
    let now = jiff::Timestamp::now().as_second();
    matches!(state.ctx.bodega.session(session).await,
        Ok(Some(s)) if crate::auth::session::lapsed(&s, now, &state.auth.config).is_none())
}
