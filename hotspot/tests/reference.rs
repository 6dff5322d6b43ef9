//! Cross-check against an independent implementation: PySAL (esda `G_Local`, libpysal `lat2W`),
//! pyproj and numpy, on both real incident files in `../shared/data`. The reference numbers are
//! produced by `tests/reference/pysal_reference.py` and committed beside it; this test recomputes
//! everything with the scoring core and must match: identical counts, Gi* within 1e-6, Gaussian
//! KDE within 1e-6 of the reference maximum, identical PAI (same k, n and N; the quotient to 1e-12).

use std::io::Read;
use std::path::PathBuf;

use hotspot::{evaluate, gi_star, kde_at_centres, rank_cells, Epsg, Grid, Kernel, LocalUtm, Utm};

fn shared_data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(file)
}

fn reference(name: &str) -> (serde_json::Value, Vec<(u32, f64, f64)>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("meta")).expect("json");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join(format!("{name}.csv.gz"))).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gunzip");
    let mut rows = Vec::new();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0].parse::<usize>().expect("cell id"), i);
        rows.push((f[1].parse().expect("count"), f[2].parse().expect("gi"), f[3].parse().expect("kde")));
    }
    (meta, rows)
}

/// Located incidents as projected points with their local time (minute precision), projected
/// all at once as the analysts' CLI does (per-tile fits, [`LocalUtm`]).
fn load(file: &str, utm: &Utm) -> Vec<(f64, f64, String)> {
    let mut reader = csv::Reader::from_path(shared_data(file)).expect("the real data beside the repository");
    let located: Vec<(f64, f64, String)> = reader
        .records()
        .filter_map(|r| {
            let r = r.expect("row");
            let (lat, lon) = (r.get(4).unwrap_or(""), r.get(5).unwrap_or(""));
            if lat.is_empty() || lon.is_empty() {
                return None;
            }
            let when: String = r.get(1).expect("time").replacen(' ', "T", 1).chars().take(16).collect();
            Some((lon.parse().expect("lon"), lat.parse().expect("lat"), when))
        })
        .collect();
    let local = LocalUtm::new(*utm, located.iter().map(|p| (p.0, p.1)));
    assert!(local.fitted_tiles() > 0, "{file}: no tile fitted");
    located
        .into_iter()
        .map(|(lon, lat, when)| {
            let (x, y) = local.forward(lon, lat).expect("on the globe");
            (x, y, when)
        })
        .collect()
}

fn check(name: &str) {
    let (meta, rows) = reference(name);
    let epsg = Epsg::utm(meta["epsg"].as_u64().expect("epsg") as u32).expect("zone");
    let utm = Utm::new(epsg);
    let points = load(meta["file"].as_str().expect("file"), &utm);
    assert_eq!(points.len() as u64, meta["located"].as_u64().expect("located"));

    let size = meta["cell_size"].as_f64().expect("size");
    let grid = Grid::covering(epsg, size, points.iter().map(|p| (p.0, p.1))).expect("grid");
    assert_eq!((grid.x0, grid.y0), (meta["x0"].as_f64().expect("x0"), meta["y0"].as_f64().expect("y0")));
    assert_eq!(
        (grid.ncols as u64, grid.nrows as u64),
        (meta["ncols"].as_u64().expect("c"), meta["nrows"].as_u64().expect("r"))
    );
    assert_eq!(grid.len(), rows.len());

    let window = |key: &str| {
        let w = &meta[key];
        (w[0].as_str().expect("from").to_string(), w[1].as_str().expect("to").to_string())
    };
    let (train, test) = (window("train"), window("test"));
    let mut c_train = vec![0.0; grid.len()];
    let mut c_test = vec![0.0; grid.len()];
    let mut train_points = Vec::new();
    for (x, y, when) in &points {
        let cell = grid.cell_of(*x, *y).expect("every point is on its grid");
        if *when >= train.0 && *when < train.1 {
            c_train[cell] += 1.0;
            train_points.push((*x, *y, 1.0));
        } else if *when >= test.0 && *when < test.1 {
            c_test[cell] += 1.0;
        }
    }

    // Counts: identical.
    for (cell, (count, _, _)) in rows.iter().enumerate() {
        assert_eq!(c_train[cell], f64::from(*count), "{name}: count of cell {cell}");
    }
    // Gi*: within 1e-6.
    let z = gi_star(&grid, &c_train);
    let worst_gi = rows.iter().zip(&z).map(|((_, r, _), z)| (r - z).abs()).fold(0.0, f64::max);
    assert!(worst_gi <= 1e-6, "{name}: Gi* differs by up to {worst_gi}");
    // KDE: within 1e-6 of the reference maximum.
    let bandwidth = meta["bandwidth"].as_f64().expect("h");
    let kde = kde_at_centres(&grid, &train_points, Kernel::Gaussian, bandwidth).expect("kde");
    let max_ref = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    let worst_kde = rows.iter().zip(&kde).map(|((_, _, r), k)| (r - k).abs()).fold(0.0, f64::max);
    assert!(worst_kde <= 1e-6 * max_ref, "{name}: KDE differs by up to {worst_kde} (max {max_ref})");
    // PAI of the count ranking over the whole grid: identical.
    let all: Vec<usize> = (0..grid.len()).collect();
    let ranked = rank_cells(&all, &c_train);
    let expected = meta["pai_count"].as_array().expect("pai");
    let percents: Vec<f64> = expected.iter().map(|e| e["percent"].as_f64().expect("p")).collect();
    for (got, want) in evaluate(&ranked, &c_train, &c_test, &percents).iter().zip(expected) {
        assert_eq!(got.k as u64, want["k"].as_u64().expect("k"), "{name} at {}%", got.percent);
        assert_eq!(got.n, want["n"].as_f64().expect("n"), "{name} at {}%", got.percent);
        assert_eq!(got.total, want["total"].as_f64().expect("total"));
        // Same k, n, N, so the same PAI; the division order may differ in the last bit.
        let (pai, want_pai) = (got.pai.expect("defined"), want["pai"].as_f64().expect("pai"));
        assert!((pai - want_pai).abs() <= 1e-12 * want_pai, "{name} PAI at {}%: {pai} vs {want_pai}", got.percent);
    }
    eprintln!("{name}: {} cells; worst Gi* difference {worst_gi:.2e}; worst KDE difference {worst_kde:.2e} of max {max_ref:.1}", grid.len());
}

/// Projection against PROJ (through pyproj): every 50th located row of the file, sub-millimetre.
fn check_projection(name: &str, epsg: u32) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join(format!("{name}-projection.csv.gz"))).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gunzip");
    let utm = Utm::new(Epsg::utm(epsg).expect("zone"));
    let rows: Vec<Vec<f64>> =
        text.lines().skip(1).map(|line| line.split(',').map(|v| v.parse().expect("number")).collect()).collect();
    assert!(rows.len() > 600, "{name}: {} points checked", rows.len());
    // Point by point (the series) and all at once (the per-tile fits).
    let local = LocalUtm::new(utm, rows.iter().map(|f| (f[0], f[1])));
    assert!(local.fitted_tiles() > 0, "{name}: no tile fitted");
    let (mut worst, mut worst_fitted): (f64, f64) = (0.0, 0.0);
    for f in &rows {
        let (x, y) = utm.forward(f[0], f[1]).expect("on the globe");
        worst = worst.max((x - f[2]).abs()).max((y - f[3]).abs());
        let (x, y) = local.forward(f[0], f[1]).expect("on the globe");
        worst_fitted = worst_fitted.max((x - f[2]).abs()).max((y - f[3]).abs());
    }
    assert!(worst < 1e-3, "{name}: projection differs from PROJ by up to {worst} m");
    assert!(worst_fitted < 1e-3, "{name}: fitted projection differs from PROJ by up to {worst_fitted} m");
    eprintln!(
        "{name}: {} points, worst projection difference from PROJ {worst:.2e} m (series), {worst_fitted:.2e} m (tile fits)",
        rows.len()
    );
}

#[test]
fn projection_matches_proj_to_the_millimetre() {
    check_projection("vancouver", 32610);
    check_projection("chicago", 32616);
}

#[test]
fn vancouver_2020_matches_pysal() {
    check("vancouver");
}

#[test]
fn chicago_2018_to_2019_matches_pysal() {
    check("chicago");
}
