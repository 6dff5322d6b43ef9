//! `/places`: the busiest micro places of the city, from the overview the device keeps.

use hotspot::{Epsg, Lattice};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::city::WithOverview;
use crate::format::thousands;
use crate::model::CityOverview;

/// One row of the busiest-places list.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRow {
    /// 1-based rank.
    pub rank: usize,
    /// Incidents in the cell.
    pub count: u32,
    /// Cell centre, WGS84 degrees.
    pub lat: f64,
    /// See `lat`.
    pub lon: f64,
}

/// The `n` busiest cells, most incidents first (ties: west to east, then south to north), with
/// their centres projected back to latitude/longitude by the scoring core (in the browser, that
/// is the WebAssembly build of `hotspot`).
pub fn busiest_places(overview: &CityOverview, n: usize) -> Vec<PlaceRow> {
    let Ok(lattice) = Epsg::utm(overview.epsg).and_then(|e| {
        Lattice::new(e, overview.cell_size_m).map_err(|_| hotspot::ProjectionError::NotUtm(overview.epsg))
    }) else {
        return Vec::new();
    };
    let mut cells = overview.cells.clone();
    cells.sort_by(|a, b| b.count.cmp(&a.count).then(a.ix.cmp(&b.ix)).then(a.iy.cmp(&b.iy)));
    let size = f64::from(overview.cell_size_m);
    cells
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, c)| {
            let (lon, lat) = lattice.utm().inverse((c.ix as f64 + 0.5) * size, (c.iy as f64 + 0.5) * size);
            PlaceRow { rank: i + 1, count: c.count, lat, lon }
        })
        .collect()
}

/// `/places`: the busiest micro places.
#[component]
pub fn Places() -> impl IntoView {
    let render = |o: CityOverview| {
        let rows = busiest_places(&o, 25);
        let size = o.cell_size_m;
        view! {
            <p>{format!("Cells of {size} m × {size} m ranked by all recorded incidents.")}</p>
            <ol class="places" data-testid="places">
                {rows
                    .into_iter()
                    .map(|r| view! {
                        <li>
                            <span class="rank">{format!("#{}", r.rank)}</span>
                            <span class="count">{format!("{} incidents", thousands(i64::from(r.count)))}</span>
                            <span class="where">{format!("{:.5}, {:.5}", r.lat, r.lon)}</span>
                        </li>
                    })
                    .collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <Title text="Busiest places · Beatbook"/>
        <section class="page">
            <h1>"Busiest micro places"</h1>
            <WithOverview loading="Loading places…" render/>
        </section>
    }
}
