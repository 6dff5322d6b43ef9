//! The Data Bodega's change marker, read once a second by one task per server and published on
//! a `watch` channel that every open live stream waits on.

use std::time::Duration;

use tokio::sync::watch;

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
