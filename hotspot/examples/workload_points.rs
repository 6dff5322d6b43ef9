//! Writes the benchmark workload's points — the Chicago file resampled to 1,000,000 incidents
//! with ±75 m jitter, exactly as `benches/score.rs` builds them — as little-endian f64
//! `(lon, lat)` pairs, so the Python peer (`bench/python_peer.py`) times the same points.
//!
//! It also writes the located source points themselves (`…-points.f64` beside OUT), which the
//! WebAssembly benchmark embeds and resamples with the same code in the browser.
//!
//! Usage: cargo run --release -p hotspot --example workload_points -- CHICAGO.csv OUT.f64

use std::io::Write;

use hotspot::workload::resample_with_jitter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = match args.as_slice() {
        [_, input, output] => (input, output),
        _ => return Err("usage: workload_points CHICAGO.csv OUT.f64".into()),
    };
    let mut reader = csv::Reader::from_path(input)?;
    let mut points = Vec::new();
    for record in reader.records() {
        let r = record?;
        if let (Some(lat), Some(lon)) = (r.get(4), r.get(5)) {
            if let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) {
                points.push((lon, lat));
            }
        }
    }
    let source = std::path::Path::new(output).with_extension("points.f64");
    let mut raw = std::io::BufWriter::new(std::fs::File::create(&source)?);
    for (lon, lat) in &points {
        raw.write_all(&lon.to_le_bytes())?;
        raw.write_all(&lat.to_le_bytes())?;
    }
    raw.flush()?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    for (lon, lat) in resample_with_jitter(&points, 1_000_000, 75.0, 2026) {
        out.write_all(&lon.to_le_bytes())?;
        out.write_all(&lat.to_le_bytes())?;
    }
    out.flush()?;
    Ok(())
}
