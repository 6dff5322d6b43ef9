//! Where things are from here, on the device and the server alike: distance and compass bearing
//! to a place (projected by the scoring core), and a place as an area for presence.

use protocol::mission::Place;

/// The micro place's cell: [`protocol::MICRO_PLACE_M`] as a checked [`hotspot::CellSize`] (an
/// out-of-range constant would not compile).
pub const MICRO_PLACE: hotspot::CellSize = hotspot::CellSize::from_const(protocol::MICRO_PLACE_M);

/// Straight-line distance (metres) and compass bearing (degrees from grid north) from a
/// position to a place, projected in the place's UTM zone by the scoring core.
pub fn distance_and_bearing(lat: f64, lon: f64, place: &Place) -> Option<(f64, f64)> {
    let (plat, plon) = place.centre();
    let epsg = match place {
        Place::Cell { epsg, .. } => hotspot::Epsg::utm(*epsg).ok()?,
        _ => hotspot::Epsg::for_lon_lat(plon, plat).ok()?,
    };
    let utm = hotspot::Utm::new(epsg);
    let (px, py) = utm.forward(plon, plat).ok()?;
    let (x, y) = utm.forward(lon, lat).ok()?;
    let found = hotspot::nearby(&[(px, py)], x, y, f64::INFINITY);
    found.first().map(|n| (n.distance_m, n.bearing_deg))
}

/// Eight-point compass name of a bearing.
pub fn compass(bearing: f64) -> &'static str {
    const NAMES: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    NAMES[((bearing.rem_euclid(360.0) + 22.5) / 45.0) as usize % 8]
}

/// "350 m", "1.2 km".
pub fn distance_text(m: f64) -> String {
    if m < 1000.0 {
        format!("{} m", (m / 10.0).round() * 10.0)
    } else {
        format!("{:.1} km", m / 1000.0)
    }
}

/// A mission's place as an area in the metres of its UTM zone (for `hotspot::presence`).
pub fn place_area(place: &Place) -> Option<(hotspot::Utm, hotspot::Area)> {
    match place {
        Place::Cell { epsg, size_m, ix, iy, .. } => {
            let utm = hotspot::Utm::new(hotspot::Epsg::utm(*epsg).ok()?);
            let s = f64::from(*size_m);
            let (x0, y0) = (*ix as f64 * s, *iy as f64 * s);
            Some((utm, hotspot::Area::Rect { min_x: x0, min_y: y0, max_x: x0 + s, max_y: y0 + s }))
        }
        Place::Point { lat, lon, radius_m } | Place::Segment { lat, lon, radius_m, .. } => {
            let utm = hotspot::Utm::new(hotspot::Epsg::for_lon_lat(*lon, *lat).ok()?);
            let (x, y) = utm.forward(*lon, *lat).ok()?;
            Some((utm, hotspot::Area::Circle { x, y, r: *radius_m }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> Place {
        Place::Point { lat, lon, radius_m: 100.0 }
    }

    #[test]
    fn distance_and_bearing_point_the_right_way() {
        // 0.009° of latitude is about 1 km; due north.
        let (d, b) = distance_and_bearing(49.280, -123.120, &point(49.289, -123.120)).expect("projects");
        assert!((d - 1000.0).abs() < 5.0, "{d}");
        assert!(!(2.0..=358.0).contains(&b), "{b}");
        assert_eq!(compass(b), "N");
        let (_, b) = distance_and_bearing(49.28, -123.12, &point(49.28, -123.10)).expect("projects");
        assert_eq!(compass(b), "E");
        assert_eq!(distance_text(349.0), "350 m");
        assert_eq!(distance_text(1234.0), "1.2 km");
    }
}
