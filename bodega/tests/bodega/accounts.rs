//! Accounts, sessions, devices and the audit log on both engines.

use bodega::accounts::{AccountError, NewSession, NewUser};
use bodega::audit::{AuditQuery, AuditRecord, Outcome};
use bodega::testing::fresh_store;
use protocol::Role;

pub(crate) fn user(name: &str, roles: &[Role], districts: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: format!("User {name}"),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        roles: roles.to_vec(),
        districts: districts.iter().map(|d| d.to_string()).collect(),
        oidc: None,
        synthetic: false,
    }
}

#[tokio::test]
async fn users_keep_roles_and_districts_and_names_are_unique_in_any_case() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let id = b.create_user(&user("Sgt.Lee", &[Role::Sergeant, Role::Analyst], &["D2", "D1"])).await.expect("create");
    let u = b.user_by_username("sgt.lee").await.expect("query").expect("found case-insensitively");
    assert_eq!(u.id, id);
    assert_eq!(u.roles, [Role::Sergeant, Role::Analyst]);
    assert_eq!(u.districts, ["D1", "D2"]);
    assert!(matches!(
        b.create_user(&user("SGT.LEE", &[Role::Officer], &[])).await,
        Err(AccountError::UsernameTaken(_))
    ));
    let bad = b.create_user(&user("a b", &[Role::Officer], &[])).await;
    assert!(matches!(bad, Err(AccountError::Invalid { field: "username", .. })), "{bad:?}");
    b.set_roles_and_districts(id, &[Role::Command], &[]).await.expect("set roles");
    let u = b.user_by_id(id).await.expect("query").expect("user");
    assert_eq!((u.roles, u.districts), (vec![Role::Command], Vec::<String>::new()));
    assert_eq!(b.list_users().await.expect("list").len(), 1);
}

#[tokio::test]
async fn failed_sign_ins_lock_after_the_limit_and_a_success_resets() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let id = b.create_user(&user("off", &[Role::Officer], &["D1"])).await.expect("create");
    for n in 1..=4 {
        assert_eq!(b.record_failed_login(id, 5, 600).await.expect("fail"), (n, None));
    }
    let (n, until) = b.record_failed_login(id, 5, 600).await.expect("fail");
    assert_eq!(n, 5);
    assert!(until.expect("locked") > jiff::Timestamp::now().as_second() + 590);
    b.record_successful_login(id).await.expect("reset");
    let u = b.user_by_id(id).await.expect("q").expect("u");
    assert_eq!((u.failed_logins, u.locked_until), (0, None));
}

#[tokio::test]
async fn sessions_are_found_by_hash_touched_and_ended_and_devices_revoked() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let id = b.create_user(&user("off", &[Role::Officer], &["D1"])).await.expect("create");
    let device = b.register_device("dev-1", id, "Pixel").await.expect("register");
    assert_eq!((device.user_id, device.last_seq, device.revoked_at), (id, 0, None));
    let other = b.create_user(&user("off2", &[Role::Officer], &["D1"])).await.expect("create");
    assert!(matches!(b.register_device("dev-1", other, "").await, Err(AccountError::DeviceOfAnotherUser(_))));
    assert!(matches!(b.register_device("../etc", id, "").await, Err(AccountError::Invalid { field: "device_id", .. })));
    let s = NewSession {
        id_hash: "h1",
        user_id: id,
        device_id: Some("dev-1"),
        auth_method: "password",
        expires_at: jiff::Timestamp::now().as_second() + 3600,
        source_ip: "10.0.0.1",
        user_agent: "test",
    };
    b.create_session(&s).await.expect("session");
    let got = b.session("h1").await.expect("q").expect("found");
    assert_eq!((got.user_id, got.device_id.as_deref(), got.ended_at), (id, Some("dev-1"), None));
    b.touch_session("h1", got.last_seen_at + 100).await.expect("touch");
    assert_eq!(b.session("h1").await.expect("q").expect("s").last_seen_at, got.last_seen_at + 100);
    assert!(b.revoke_device("dev-1", None, "lost").await.expect("revoke"));
    assert!(!b.revoke_device("dev-1", None, "again").await.expect("revoke twice is a no-op"));
    assert!(b.session("h1").await.expect("q").expect("s").ended_at.is_some(), "revoking ends the device's sessions");
    assert_eq!(b.list_devices(Some(id)).await.expect("list")[0].revoke_reason.as_deref(), Some("lost"));
    assert!(b.session("nope").await.expect("q").is_none());
    assert!(matches!(b.register_device(" dev-2", id, "").await, Err(AccountError::Invalid { field: "device_id", .. })));
}

#[tokio::test]
async fn a_new_password_or_second_factor_ends_every_session_of_the_account() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let id = b.create_user(&user("off", &[Role::Officer], &["D1"])).await.expect("create");
    let other = b.create_user(&user("off2", &[Role::Officer], &["D1"])).await.expect("create");
    let open = |hash: &'static str, user_id: i64| NewSession {
        id_hash: hash,
        user_id,
        device_id: None,
        auth_method: "password",
        expires_at: jiff::Timestamp::now().as_second() + 3600,
        source_ip: "10.0.0.1",
        user_agent: "test",
    };
    for (hash, who) in [("a1", id), ("a2", id), ("b1", other)] {
        b.create_session(&open(hash, who)).await.expect("session");
    }
    b.set_password_hash(id, Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"))
        .await
        .expect("reset");
    for hash in ["a1", "a2"] {
        let s = b.session(hash).await.expect("q").expect("s");
        assert!(s.ended_at.is_some(), "{hash} stays open after a password reset");
    }
    assert!(b.session("b1").await.expect("q").expect("s").ended_at.is_none(), "another account's session is untouched");
    b.create_session(&open("a3", id)).await.expect("session");
    b.set_totp_secret(id, Some("JBSWY3DPEHPK3PXP")).await.expect("enrol");
    assert!(b.session("a3").await.expect("q").expect("s").ended_at.is_some(), "enrolling a second factor ends it");
}

#[tokio::test]
async fn the_audit_log_searches_by_actor_action_outcome_and_time() {
    let store = fresh_store().await;
    let b = &store.bodega;
    for (actor, action, outcome) in [
        ("off1", "sign_in", Outcome::Success),
        ("off1", "view_incidents", Outcome::Denied),
        ("ana", "export_data", Outcome::Success),
        ("anonymous", "sign_in", Outcome::Failure),
    ] {
        b.append_audit(&AuditRecord { actor: actor.into(), action: action.into(), outcome, ..Default::default() })
            .await
            .expect("append");
    }
    let q = |f: AuditQuery| async move { b.search_audit(&f).await.expect("search") };
    assert_eq!(q(AuditQuery::default()).await.len(), 4);
    assert_eq!(q(AuditQuery { actor: Some("OFF".into()), ..Default::default() }).await.len(), 2);
    assert_eq!(q(AuditQuery { action: Some("sign_in".into()), ..Default::default() }).await.len(), 2);
    let denied = q(AuditQuery { outcome: Some("denied".into()), ..Default::default() }).await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].action, "view_incidents");
    let newest = q(AuditQuery { limit: Some(1), ..Default::default() }).await;
    assert_eq!(newest[0].actor, "anonymous", "newest first");
    let older = q(AuditQuery { before_id: Some(newest[0].id), ..Default::default() }).await;
    assert_eq!(older.len(), 3);
    let future = q(AuditQuery { from: Some(jiff::Timestamp::now().as_second() + 60), ..Default::default() }).await;
    assert!(future.is_empty());
}

/// The actor filter matches what was typed: `_` and `%` are letters, not LIKE's wildcards
/// (docs/SECURITY.md), on both engines.
#[tokio::test]
async fn the_audit_actor_filter_is_literal() {
    let store = fresh_store().await;
    let b = &store.bodega;
    for actor in ["a_b", "axb", "100%", "back\\slash"] {
        b.append_audit(&AuditRecord { actor: actor.into(), action: "sign_in".into(), ..Default::default() })
            .await
            .expect("append");
    }
    let actors = |typed: &str| {
        let q = AuditQuery { actor: Some(typed.into()), ..Default::default() };
        async move { b.search_audit(&q).await.expect("search").into_iter().map(|r| r.actor).collect::<Vec<_>>() }
    };
    assert_eq!(actors("a_b").await, ["a_b"], "`_` is not any one character");
    assert_eq!(actors("%").await, ["100%"], "`%` is not any text");
    assert_eq!(actors("\\").await, ["back\\slash"]);
    assert_eq!(actors("X").await, ["axb"], "still a case-insensitive substring match");
}
