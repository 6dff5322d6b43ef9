//! The roster import on both engines: a clean file makes accounts, squads and units; one bad
//! row refuses the whole file with each fault named, and nothing of it is stored; a second
//! import updates what it names and keeps what it does not own.

use bodega::roster::RosterError;

use super::*;

const ROSTER: &str = "username,display_name,role,district,squad,badge,unit\n\
    s.diaz,Sgt Ana Diaz,sergeant,D1,1A,4411,1A10\n\
    r.lee,Ofc Ray Lee,officer,D1,1A,5120,1A11\n\
    k.obi,Ofc Kemi Obi,officer,D1,1A,5121,1A11\n\
    m.hart,Ofc Max Hart,officer,2,,6001,\n\
    c.moss,Cmdr Cy Moss,command,,,,\n";

async fn count(b: &Bodega, sql: &'static str) -> i64 {
    bodega::on_pool!(b, pool => sqlx::query_scalar(sql).fetch_one(pool).await).expect("count")
}

async fn with_districts() -> bodega::testing::TestStore {
    let store = fresh_store().await;
    bodega::districts::load_districts(&store.bodega, TWO_DISTRICTS, "district", "code", "name").await.expect("load");
    store
}

#[tokio::test]
async fn a_roster_makes_accounts_squads_and_units_without_passwords() {
    let store = with_districts().await;
    let b = &store.bodega;
    let r = b.import_roster(ROSTER.as_bytes()).await.expect("import");
    assert_eq!(r.created, vec!["s.diaz", "r.lee", "k.obi", "m.hart", "c.moss"]);
    assert!(r.updated.is_empty());
    assert_eq!(r.squads, vec!["1A"]);
    assert_eq!(r.units, vec!["1A10", "1A11"]);
    let squads = b.squads().await.expect("squads");
    assert_eq!(squads.len(), 1);
    assert_eq!(squads[0].sergeant, "Sgt Ana Diaz");
    assert_eq!(squads[0].district, "D1");
    assert_eq!(squads[0].members, vec!["Sgt Ana Diaz", "Ofc Kemi Obi", "Ofc Ray Lee"], "sergeant first, then by name");
    let lee = b.user_by_username("r.lee").await.expect("read").expect("made");
    assert_eq!(lee.roles, vec![protocol::Role::Officer]);
    assert_eq!(lee.districts, vec!["D1"]);
    assert!(lee.password_hash.is_none(), "imported accounts sign in by SSO or a temporary password");
    let moss = b.user_by_username("c.moss").await.expect("read").expect("made");
    assert!(moss.districts.is_empty(), "command works the whole city");
    assert_eq!(count(b, "SELECT COUNT(*) FROM officers WHERE unit_call_sign = '1A11'").await, 2);
    assert_eq!(b.setup_counts().await.expect("counts").field_accounts, 4);
}

#[tokio::test]
async fn one_bad_row_refuses_the_file_naming_every_fault_and_stores_nothing() {
    let store = with_districts().await;
    let b = &store.bodega;
    let users = count(b, "SELECT COUNT(*) FROM users").await;
    let bad = format!(
        "{ROSTER}\
         p.vance,Ofc Pat Vance,officer,D9,,7001,\n\
         t.kim,Ofc Tam Kim,officer,2,2C,7002,\n\
         u.ng,Ofc Uma Ng,officer,2,2C,7003,\n\
         v.roe,Sgt Val Roe,sergeant,2,1A,7004,\n"
    );
    let Err(RosterError::Refused(faults)) = b.import_roster(bad.as_bytes()).await else {
        panic!("a roster with faults must be refused")
    };
    let text: Vec<String> = faults.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        vec![
            "line 7, district: no district 'D9' (the districts are 2, D1)",
            "line 8, squad: squad '2C' has no sergeant (lines 8, 9): give its sergeant a row with role sergeant",
            "line 10, squad: squad '1A' has 2 sergeants (lines 2, 10): one leads it",
        ]
    );
    assert_eq!(count(b, "SELECT COUNT(*) FROM users").await, users, "nothing half-saved");
    assert_eq!(count(b, "SELECT COUNT(*) FROM squads").await, 0);
    assert_eq!(count(b, "SELECT COUNT(*) FROM officers").await, 0);
}

#[tokio::test]
async fn a_second_roster_updates_what_it_names_and_keeps_the_rest() {
    let store = with_districts().await;
    let b = &store.bodega;
    b.import_roster(ROSTER.as_bytes()).await.expect("first");
    // An administrator who also commands keeps the admin role when the roster lists them.
    bodega::on_writer!(b, pool => sqlx::query(
        "INSERT INTO user_roles (user_id, role) SELECT id, 'admin' FROM users WHERE username = 'c.moss'")
        .execute(pool).await.map(|r| r.rows_affected()))
    .expect("admin");
    // Lee joins a new squad in district 2 under a new sergeant; Obi stays in 1A (already led).
    let second = "username,display_name,role,district,squad,badge\n\
        w.park,Sgt Wu Park,sergeant,2,2C,8001\n\
        r.lee,Ofc Ray Lee,officer,2,2C,5120\n\
        k.obi,Ofc Kemi Obi,officer,D1,1A,5121\n\
        c.moss,Cmdr Cy Moss,command,,,\n";
    let r = b.import_roster(second.as_bytes()).await.expect("second");
    assert_eq!(r.created, vec!["w.park"]);
    assert_eq!(r.updated, vec!["r.lee", "k.obi", "c.moss"]);
    let squads = b.squads().await.expect("squads");
    let members: Vec<(&str, Vec<&str>)> =
        squads.iter().map(|s| (s.code.as_str(), s.members.iter().map(String::as_str).collect())).collect();
    assert_eq!(members, vec![("1A", vec!["Sgt Ana Diaz", "Ofc Kemi Obi"]), ("2C", vec!["Sgt Wu Park", "Ofc Ray Lee"])]);
    assert_eq!(b.user_by_username("r.lee").await.expect("read").expect("kept").districts, vec!["2"]);
    let moss = b.user_by_username("c.moss").await.expect("read").expect("kept");
    assert_eq!(moss.roles, vec![protocol::Role::Command, protocol::Role::Admin]);
    // A badge on someone else's record is refused by name.
    let stolen = "username,display_name,role,district,squad,badge\nz.doe,Ofc Zed Doe,officer,D1,1A,5120\n";
    let Err(RosterError::Refused(f)) = b.import_roster(stolen.as_bytes()).await else {
        panic!("a badge on another record must be refused")
    };
    assert_eq!(f[0].to_string(), "line 2, badge: badge '5120' belongs to 'r.lee'");
}
