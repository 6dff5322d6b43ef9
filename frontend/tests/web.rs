//! Browser tests, run in headless Chromium by wasm-bindgen-test (`make test`).

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[path = "../../hotspot/tests/common/score_bits.rs"]
mod score_bits;

/// The recorded fixture and the lines computed here are the same, line by line.
fn same_lines(recorded: &str, computed: &[String]) {
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(recorded.len(), computed.len());
    for (r, c) in recorded.iter().zip(computed) {
        assert_eq!(*r, c.as_str());
    }
}

/// A whole scoring run — count, harm, decayed harm, Gaussian KDE, Gi* and FDR class of every
/// cell — gives the same bits in the browser as natively (`hotspot/tests/cross_target.rs`).
#[wasm_bindgen_test]
fn scoring_is_bit_identical_to_native() {
    same_lines(include_str!("../../hotspot/tests/fixtures/scores.txt"), &score_bits::score_lines());
}

/// The device's scoring from cached aggregates — the ranking, scores and nearby hot spots an
/// officer sees offline — gives the same bits in the browser as natively.
#[wasm_bindgen_test]
fn device_scoring_from_cached_aggregates_is_bit_identical_to_native() {
    same_lines(include_str!("../../hotspot/tests/fixtures/cached.txt"), &score_bits::cached_lines());
}

/// Many points projected at once by the per-tile fits (`hotspot::LocalUtm`) give the same bits
/// in the browser as natively.
#[wasm_bindgen_test]
fn fitted_projection_is_bit_identical_to_native() {
    same_lines(
        include_str!("../../hotspot/tests/fixtures/fitted_projection.txt"),
        &score_bits::fitted_projection_lines(),
    );
}

/// The self-exciting model's EM fit and its forecast give the same bits in the browser as
/// natively.
#[wasm_bindgen_test]
fn self_exciting_fit_and_forecast_are_bit_identical_to_native() {
    same_lines(include_str!("../../hotspot/tests/fixtures/sepp.txt"), &score_bits::sepp_lines());
}

fn parse_bits(hex: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(hex, 16).expect("hex bits"))
}

/// The scoring core gives the same bits in WebAssembly as natively: every line of the fixture
/// the native test (`hotspot/tests/cross_target.rs`) also checks is reproduced exactly here.
#[wasm_bindgen_test]
fn projection_is_bit_identical_to_native() {
    let fixture = include_str!("../../hotspot/tests/fixtures/projection.txt");
    let mut checked = 0;
    for line in fixture.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let epsg: u32 = f[0].parse().expect("epsg");
        let (lon, lat) = (parse_bits(f[1]), parse_bits(f[2]));
        let utm = hotspot::Utm::new(hotspot::Epsg::utm(epsg).expect("zone"));
        let (x, y) = utm.forward(lon, lat).expect("on the globe");
        let (ilon, ilat) = utm.inverse(x, y);
        let got = [x, y, ilon, ilat].map(f64::to_bits);
        let want = [f[3], f[4], f[5], f[6]].map(|h| u64::from_str_radix(h, 16).expect("hex"));
        assert_eq!(got, want, "EPSG:{epsg} lon {lon} lat {lat}");
        checked += 1;
    }
    assert_eq!(checked, 40);
}

fn sample_overview() -> app::model::CityOverview {
    app::model::CityOverview {
        incidents: 12,
        located: 10,
        geo_flagged: 0,
        first_day: Some("2020-01-01".into()),
        last_day: Some("2020-12-31".into()),
        by_offense: vec![app::model::OffenseTotal { offense: "Mischief".into(), total: 12, located: 10 }],
        epsg: 32610,
        cell_size_m: 250,
        cells: vec![app::model::MapCell { ix: 1964, iy: 21_836, count: 10 }],
        generated_at: "2026-11-28T00:00:00Z".into(),
    }
}

/// What the device stores survives a round trip through IndexedDB unchanged.
#[wasm_bindgen_test]
async fn the_device_store_keeps_the_overview() {
    let overview = sample_overview();
    app::device::store::save_overview(&overview).await.expect("save");
    let loaded = app::device::store::load_overview().await.expect("load");
    assert_eq!(loaded, Some(overview.clone()));
    let mut newer = overview;
    newer.incidents = 13;
    app::device::store::save_overview(&newer).await.expect("overwrite");
    assert_eq!(app::device::store::load_overview().await.expect("load").map(|o| o.incidents), Some(13));
}

/// The busiest-places list computed in the browser puts the cell centre back where it belongs.
#[wasm_bindgen_test]
fn busiest_places_project_back_to_latitude_longitude() {
    let rows = app::places::busiest_places(&sample_overview(), 5);
    assert_eq!(rows.len(), 1);
    // Cell (1964, 21836) of 250 m in zone 10N is centred on E 491125, N 5459125: 65.5 m east and
    // 2.6 m north of VPD's first 2020 incident (E 491059.5, N 5459122.4 = 49.284788 N, 123.122937 W).
    // At this latitude a metre is 1/72616 degree of longitude and 1/111200 of latitude.
    let (lat, lon) = (49.284_788 + 2.58 / 111_200.0, -123.122_937 + 65.52 / 72_616.0);
    assert!((rows[0].lat - lat).abs() < 2e-5 && (rows[0].lon - lon).abs() < 2e-5, "{:?} vs {lat}, {lon}", rows[0]);
}
