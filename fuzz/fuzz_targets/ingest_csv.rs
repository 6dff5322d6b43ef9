//! The ingest parsers: incident CSV through the canonical shape and every city preset, a
//! department's TOML mapping, and district GeoJSON. Any input ends in rows, rejections with
//! reasons, or a clear error — never a panic.
#![no_main]

use bodega::ingest::IncidentReader;
use bodega::mapping::Mapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tz) = jiff::tz::TimeZone::get("America/Vancouver") else { return };
    let mut mappings: Vec<Option<Mapping>> = vec![None];
    mappings.extend(Mapping::PRESETS.iter().filter_map(|p| Mapping::preset(p)).map(Some));
    for mapping in &mappings {
        if let Ok(mut reader) = IncidentReader::new(data, mapping.as_ref(), tz.clone()) {
            for _ in 0..10_000 {
                if reader.next_row().is_none() {
                    break;
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Mapping::from_toml(text);
        let _ = bodega::geocode::parse_area(text);
    }
});
