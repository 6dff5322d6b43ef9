//! Native half of the cross-target check: the projection's output bits for a fixed set of
//! inputs are recorded in `fixtures/projection.txt` (point by point) and
//! `fixtures/fitted_projection.txt` (many at once, by the per-tile fits), and a whole scoring run's bits (count, harm,
//! decayed harm, KDE, Gi* and class of every cell) in `fixtures/scores.txt`, and the device's scoring from cached aggregates in `fixtures/cached.txt`, and the self-exciting model's fit and forecast in `fixtures/sepp.txt`; both this test (native) and
//! `frontend/tests/web.rs` (wasm32 in headless Chromium) must reproduce them to the bit.
//!
//! To re-record after an intended change to the maths: `BEATBOOK_UPDATE_FIXTURES=1 cargo test -p
//! hotspot --test cross_target`, then review the diff.

use hotspot::{Epsg, Utm};

mod common {
    pub mod score_bits;
}

const FIXTURE: &str = "tests/fixtures/projection.txt";
const SCORES: &str = "tests/fixtures/scores.txt";
const CACHED: &str = "tests/fixtures/cached.txt";
const FITTED: &str = "tests/fixtures/fitted_projection.txt";
const SEPP: &str = "tests/fixtures/sepp.txt";

fn inputs() -> Vec<(u32, f64, f64)> {
    let mut v = Vec::new();
    for (epsg, lon0, lat0) in common::score_bits::PLACES {
        for k in 0..8 {
            let f = f64::from(k);
            v.push((epsg, lon0 + 0.37 * f - 1.3, lat0 + 0.011 * f * f - 0.2));
        }
    }
    v
}

/// One fixture line: inputs as bits, then forward x/y and inverse lon/lat as bits.
pub fn line(epsg: u32, lon: f64, lat: f64) -> String {
    let utm = Utm::new(Epsg::utm(epsg).expect("zone"));
    let (x, y) = utm.forward(lon, lat).expect("on the globe");
    let (ilon, ilat) = utm.inverse(x, y);
    format!(
        "{epsg} {:016x} {:016x} {:016x} {:016x} {:016x} {:016x}",
        lon.to_bits(),
        lat.to_bits(),
        x.to_bits(),
        y.to_bits(),
        ilon.to_bits(),
        ilat.to_bits()
    )
}

/// Compares `computed` with the fixture at `path` line by line (re-recording it first when
/// `BEATBOOK_UPDATE_FIXTURES=1`).
fn matches_fixture(path: &str, computed: &[String]) {
    if std::env::var("BEATBOOK_UPDATE_FIXTURES").as_deref() == Ok("1") {
        std::fs::write(path, computed.join("\n") + "\n").expect("write fixture");
    }
    let recorded = std::fs::read_to_string(path).expect("fixture present");
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(recorded.len(), computed.len(), "{path}");
    for (r, c) in recorded.iter().zip(computed) {
        assert_eq!(*r, c.as_str(), "{path}");
    }
}

#[test]
fn native_projection_matches_the_recorded_bits() {
    let computed: Vec<String> = inputs().into_iter().map(|(e, lon, lat)| line(e, lon, lat)).collect();
    matches_fixture(FIXTURE, &computed);
}

#[test]
fn native_fitted_projection_matches_the_recorded_bits() {
    let computed = common::score_bits::fitted_projection_lines();
    matches_fixture(FITTED, &computed);
    assert_eq!(computed.len(), 1500);
}

#[test]
fn native_scores_match_the_recorded_bits() {
    let computed = common::score_bits::score_lines();
    matches_fixture(SCORES, &computed);
    assert!(computed.len() > 500, "a grid of {} cells", computed.len());
    assert!(computed.iter().any(|l| l.ends_with(" 99")), "the run has significant hot spots");
}

#[test]
fn native_device_scoring_matches_the_recorded_bits() {
    let computed = common::score_bits::cached_lines();
    matches_fixture(CACHED, &computed);
    assert!(computed.len() > 100, "{} lines", computed.len());
    assert!(computed.iter().filter(|l| l.starts_with("near ")).count() >= 3, "hot spots near the point");
    assert!(computed.iter().any(|l| l.ends_with(" 99")), "the run has significant hot spots");
}

#[test]
fn native_self_exciting_fit_and_forecast_match_the_recorded_bits() {
    let computed = common::score_bits::sepp_lines();
    matches_fixture(SEPP, &computed);
    assert_eq!(computed.len(), 101);
}
