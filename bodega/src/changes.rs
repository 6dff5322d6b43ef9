//! The global change counter (`sync_state.change_version`): every change a device must see
//! (a mission step, a note) takes its next value in the transaction that makes the change, and a
//! pull returns what is stamped above the device's cookie.

/// Takes the next value of the global change counter inside a write transaction.
pub(crate) trait ChangeCounter {
    /// The next change version.
    async fn next_change(&mut self) -> Result<i64, sqlx::Error>;
}

const NEXT_CHANGE: &str =
    "UPDATE sync_state SET change_version = change_version + 1 WHERE id = 1 RETURNING change_version";

impl ChangeCounter for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn next_change(&mut self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(NEXT_CHANGE).fetch_one(&mut **self).await
    }
}

impl ChangeCounter for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn next_change(&mut self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(NEXT_CHANGE).fetch_one(&mut **self).await
    }
}

/// The next change version (what `record_step!` calls).
pub(crate) async fn next_change<T: ChangeCounter>(tx: &mut T) -> Result<i64, sqlx::Error> {
    tx.next_change().await
}
