//! Throwaway stores for tests, on the engine the test run asks for.
//!
//! `BEATBOOK_TEST_DATABASE_URL=postgres://…` makes every test get a fresh PostgreSQL database
//! created on that server; otherwise each test gets a fresh SQLite file in a temporary directory.
//! `make test` runs the integration tests once each way. With `CI=true`, asking for PostgreSQL
//! (`BEATBOOK_TEST_BACKEND=postgres`) without a URL fails instead of quietly testing SQLite.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;

use crate::store::Bodega;

/// A fresh store; keep the guard alive as long as the store (it owns the SQLite directory).
pub struct TestStore {
    /// The store, migrated and empty.
    pub bodega: Bodega,
    /// The URL it was opened with (for starting a server binary against it).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Opens a fresh, migrated, empty store on the engine this test run targets.
///
/// # Panics
/// When the engine cannot be reached: a test that cannot get its database must fail loudly.
pub async fn fresh_store() -> TestStore {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    match std::env::var("BEATBOOK_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(admin_url) => {
            let admin = PgConnectOptions::from_str(&admin_url).expect("BEATBOOK_TEST_DATABASE_URL parses");
            let name = format!(
                "beatbook_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                crate::store::now_seconds()
            );
            let pool =
                PgPoolOptions::new().max_connections(1).connect_with(admin.clone()).await.expect("reach PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create test database");
            pool.close().await;
            let url = admin.database(&name).to_url_lossy().to_string();
            let bodega = Bodega::connect(&url, 8).await.expect("connect to the test database");
            TestStore { bodega, url, _dir: None }
        }
        None => {
            if std::env::var("BEATBOOK_TEST_BACKEND").as_deref() == Ok("postgres") {
                panic!("BEATBOOK_TEST_BACKEND=postgres but BEATBOOK_TEST_DATABASE_URL is not set");
            }
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("beatbook.db").display());
            let bodega = Bodega::connect(&url, 4).await.expect("open the test database");
            TestStore { bodega, url, _dir: Some(dir) }
        }
    }
}

/// Records that `user_id` was signed in on `device` over `[from, to]` (server clock), as if a
/// session had been opened then: the tests that replay a past shift's breadcrumbs need their
/// officer's device to have been signed in during it, which a sign-in today cannot be (fixes
/// outside every session of their user on that device are refused;
/// `protocol::sync::fix_time_refusal`).
///
/// # Panics
/// When the store refuses the row.
pub async fn signed_in_during(bodega: &Bodega, user_id: i64, device: &str, from: i64, to: i64) {
    static SESSIONS: AtomicU32 = AtomicU32::new(0);
    let id = format!("replayed-{}-{user_id}-{from}", SESSIONS.fetch_add(1, Ordering::SeqCst));
    crate::on_writer!(bodega, pool => sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, device_id, auth_method, created_at, last_seen_at, expires_at, ended_at, \
         end_reason) VALUES ($1, $2, $3, 'password', $4, $5, $5, $5, 'logout')")
        .bind(&id).bind(user_id).bind(device).bind(from).bind(to).execute(pool).await.map(|_| ()))
    .expect("a replayed session");
}
