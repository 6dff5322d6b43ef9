//! Places with names, on both engines: a cell's name is its most frequent block (ties to the
//! one that sorts first as written), placeholders name nothing, and a reload renames.

use bodega::places::MICRO_PLACE;

use super::*;

/// Rows at one downtown Vancouver point (one 150 m cell) and one in Strathcona.
fn file(rows: &[(&str, &str, &str)]) -> String {
    let mut csv = String::from("id,occurred_at,offense,category,lat,lon,address,neighbourhood\n");
    for (i, (block, hood, place)) in rows.iter().enumerate() {
        let (lat, lon) = if *place == "downtown" { (49.284788, -123.122937) } else { (49.277, -123.097) };
        csv.push_str(&format!("P{i},2020-06-01T10:00,Mischief,,{lat},{lon},{block},{hood}\n"));
    }
    csv
}

async fn name_of(b: &Bodega, lat: f64, lon: f64) -> Option<String> {
    let epsg = hotspot::Epsg::for_lon_lat(lon, lat).expect("zone");
    let key = hotspot::Lattice::of(epsg, MICRO_PLACE).key_of(lon, lat).expect("cell");
    b.place_names(epsg.code(), MICRO_PLACE, &[(key.ix, key.iy)])
        .await
        .expect("names")
        .remove(&(key.ix, key.iy))
        .map(|n| n.label())
}

#[tokio::test]
async fn a_place_is_named_by_its_most_frequent_block_and_renamed_on_reload() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let rows = [
        // Two blocks twice each: the tie goes to "10XX…", which sorts first as written.
        ("11XX ROBSON ST", "West End", "downtown"),
        ("10XX ALBERNI ST", "West End", "downtown"),
        ("11XX ROBSON ST", "West End", "downtown"),
        ("10XX ALBERNI ST", "Downtown", "downtown"),
        // VPD's placeholders name nothing, however many there are.
        ("X NK_LOC ST", "West End", "downtown"),
        ("X NK_LOC ST", "West End", "downtown"),
        ("OFFSET TO PROTECT PRIVACY", "", "strathcona"),
    ];
    ingest(b, &file(&rows), &opts("rms")).await.expect("load");
    assert_eq!(name_of(b, 49.284788, -123.122937).await.as_deref(), Some("10XX Alberni St (West End)"));
    assert_eq!(name_of(b, 49.277, -123.097).await, None, "only a placeholder: no name");

    // A reload that changes the file renames: a third Robson row breaks the tie.
    let mut more = rows.to_vec();
    more.push(("11XX ROBSON ST", "West End", "downtown"));
    ingest(b, &file(&more), &opts("rms")).await.expect("reload");
    assert_eq!(name_of(b, 49.284788, -123.122937).await.as_deref(), Some("11XX Robson St (West End)"));
    let stored: i64 = bodega::on_pool!(b, pool => sqlx::query_scalar("SELECT COUNT(*) FROM place_labels")
        .fetch_one(pool).await)
    .expect("count");
    assert_eq!(stored, 1, "one named place; the placeholder's cell has none");
}

#[tokio::test]
async fn the_demo_names_its_busiest_block_as_the_raw_file_counts_it() {
    let store = fresh_store().await;
    demo::seed_demo(&store.bodega).await.expect("seed");
    // Independently from the demo file: incidents per (cell, block), placeholders skipped.
    let lattice = hotspot::Lattice::of(hotspot::Epsg::utm(32610).expect("zone"), MICRO_PLACE);
    let mut rdr = csv::Reader::from_reader(demo::VANCOUVER_2020_CSV);
    let mut counts: std::collections::BTreeMap<((i64, i64), String), i64> = Default::default();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        let block = rec[6].split_whitespace().collect::<Vec<_>>().join(" ");
        if block.is_empty() || block == "X NK_LOC ST" || block == "OFFSET TO PROTECT PRIVACY" {
            continue;
        }
        let key = lattice.key_of(lon, lat).expect("cell");
        *counts.entry(((key.ix, key.iy), block)).or_default() += 1;
    }
    // The block with the most incidents in the city, and its cell.
    let (((ix, iy), block), n) =
        counts.iter().max_by_key(|(k, n)| (**n, std::cmp::Reverse((*k).clone()))).expect("rows");
    let names = store.bodega.place_names(32610, MICRO_PLACE, &[(*ix, *iy)]).await.expect("names");
    let name = &names[&(*ix, *iy)];
    assert_eq!(name.block.to_uppercase(), *block, "{name:?}");
    assert_eq!(name.incidents, *n);
    assert_eq!(name.label(), "31XX Grandview Hwy (Renfrew-Collingwood)");
}
