//! The scoring benchmark in the browser (headless Chromium, release WebAssembly): the same
//! 1,000,000-incident workload as `hotspot/benches/score.rs`, built in the browser from the
//! embedded Chicago points with the same resampling code. Built only with `--features bench`
//! (`bench/run.sh` prepares the embedded file and runs it); it times, it asserts nothing.
#![cfg(feature = "bench")]

use hotspot::workload::{resample_with_jitter, score_points};
use hotspot::{kde_at_centres, Grid, Kernel, LocalUtm, Utm};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

static POINTS: &[u8] = include_bytes!("../../bench/out/chicago_1m.points.f64");

#[wasm_bindgen_test]
fn score_1m_chicago_in_the_browser() {
    let source: Vec<(f64, f64)> = POINTS
        .chunks_exact(16)
        .map(|c| {
            let mut lon = [0u8; 8];
            let mut lat = [0u8; 8];
            lon.copy_from_slice(&c[..8]);
            lat.copy_from_slice(&c[8..]);
            (f64::from_le_bytes(lon), f64::from_le_bytes(lat))
        })
        .collect();
    let points = resample_with_jitter(&source, 1_000_000, 75.0, 2026);
    let epsg = hotspot::Epsg::utm(32616).expect("zone 16N");
    let performance = web_sys::window().and_then(|w| w.performance()).expect("performance clock");
    // Best and median of seven runs of `work`, as the native benchmark's groups report them.
    let time = |name: &str, work: &mut dyn FnMut()| {
        let mut times = Vec::new();
        for _ in 0..7 {
            let start = performance.now();
            work();
            times.push(performance.now() - start);
        }
        times.sort_by(f64::total_cmp);
        console_log!(
            "wasm score_1m_chicago/{name}: best {:.1} ms, median {:.1} ms over {} runs",
            times[0],
            times[times.len() / 2],
            times.len()
        );
    };
    time("all", &mut || {
        let (grid, scores) = score_points(&points, epsg, 150.0, 200.0).expect("scores");
        assert_eq!(scores.count.len(), grid.len());
    });
    let utm = Utm::new(epsg);
    time("project (tile fits, as scored)", &mut || {
        let local = LocalUtm::new(utm, points.iter().copied());
        let xy: Vec<_> = points.iter().map(|(lon, lat)| local.forward(*lon, *lat).expect("ok")).collect();
        assert_eq!(xy.len(), points.len());
    });
    let project = || points.iter().map(|(lon, lat)| utm.forward(*lon, *lat).expect("ok")).collect::<Vec<_>>();
    time("project (series, point by point)", &mut || assert_eq!(project().len(), points.len()));
    let xy = project();
    let grid = Grid::covering(epsg, 150.0, xy.iter().copied()).expect("grid");
    let weighted: Vec<(f64, f64, f64)> = xy.iter().map(|(x, y)| (*x, *y, 1.0)).collect();
    time("gaussian kde", &mut || {
        assert_eq!(kde_at_centres(&grid, &weighted, Kernel::Gaussian, 200.0).expect("kde").len(), grid.len());
    });
}
