//! Small charts drawn as SVG on the server and in the browser alike (no chart library): the
//! snapshot's sparklines and the concentration (Lorenz) curve the snapshot and the accuracy
//! scoreboard share.

use leptos::prelude::*;

use crate::model::Concentration;

/// A 28-day sparkline.
#[component]
pub fn Sparkline(values: Vec<i64>, #[prop(into)] label: String) -> impl IntoView {
    let (w, h) = (112.0, 24.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len().max(2) as f64 - 1.0;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * w / n, h - 2.0 - (*v as f64 / max) * (h - 4.0)))
        .collect();
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {w} {h}") role="img" aria-label=label>
            <polyline points=points.join(" ")/>
        </svg>
    }
}

/// The Lorenz curve of harm over area, with the diagonal of an even spread.
#[component]
pub fn LorenzCurve(c: Concentration) -> impl IntoView {
    let (w, h) = (220.0, 160.0);
    let pts: Vec<String> =
        c.curve.iter().map(|(x, y)| format!("{:.1},{:.1}", 20.0 + x * (w - 30.0), h - 20.0 - y * (h - 30.0))).collect();
    let label = format!(
        "Concentration curve: the top 1% of cells hold {:.0}% of harm, the top 5% hold {:.0}%",
        c.top_1 * 100.0,
        c.top_5 * 100.0
    );
    view! {
        <svg class="lorenz" viewBox=format!("0 0 {w} {h}") role="img" aria-label=label>
            <line class="axis" x1="20" y1=h - 20.0 x2=w - 10.0 y2=h - 20.0/>
            <line class="axis" x1="20" y1="10" x2="20" y2=h - 20.0/>
            <line class="even" x1="20" y1=h - 20.0 x2=w - 10.0 y2="10"/>
            <polyline class="curve" points=pts.join(" ")/>
            <text x="20" y=h - 5.0>"0%"</text>
            <text x=w - 40.0 y=h - 5.0>"100% of area"</text>
            <text x="24" y="20">"100% of harm"</text>
        </svg>
    }
}
