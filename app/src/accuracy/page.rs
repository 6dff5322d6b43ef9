//! `/accuracy`: the accuracy scoreboard — for the city and each district, how well each
//! ranking's hot spots predicted the next 28 days, beside the naive baseline.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{get_accuracy, AreaBoard, Metrics, Scoreboard};
use crate::model::Concentration;
use crate::ui::charts::LorenzCurve;

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.0}%", x * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1}"))
}

fn at(m: &[Metrics], percent: f64) -> Option<&Metrics> {
    m.iter().find(|x| (x.percent - percent).abs() < 1e-9)
}

/// The scoreboard page.
#[component]
pub fn AccuracyPage() -> impl IntoView {
    let board = Resource::new(|| (), |_| get_accuracy(None, None));
    view! {
        <Title text="Accuracy · Beatbook"/>
        <section class="page accuracy">
            <h1>"Are our hot spots earning their patrols?"</h1>
            <p class="hint">
                "Each 28-day period, every ranking looks only at what happened before it; the table shows how much of the period's harm fell in its top 1 % and 5 % of places. "
                "PAI above 1 beats chance; PEI is the share of what a perfect forecast would have caught. "
                "In Beatbook's backtests on two cities' records, no ranking beat a trailing count over a long window and the 28-day window was the weakest; the 365-day row shows how that holds here."
            </p>
            <Transition fallback=|| view! { <p class="loading">"Scoring the rolling periods…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(b) => view! { <Board b/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Board(b: Scoreboard) -> impl IntoView {
    let names = b.methods.clone();
    let same = b.harm_table.starts_with("count");
    view! {
        {same.then(|| view! {
            <p class="notice" data-testid="same-as-baseline">
                "With the plain count weights, the missions' ranking is the naive baseline: load a harm weight table to rank by harm."
            </p>
        })}
        {b.areas.into_iter().map(|a| view! { <AreaRows a names=names.clone()/> }).collect_view()}
    }
}

#[component]
fn AreaRows(a: AreaBoard, names: Vec<(String, String)>) -> impl IntoView {
    let latest = a.periods.first().cloned();
    let concentration = Concentration {
        cells: a.cells as u64,
        top_1: a.lorenz.iter().find(|p| (p.0 - 0.01).abs() < 1e-9).map_or(0.0, |p| p.1),
        top_5: a.lorenz.iter().find(|p| (p.0 - 0.05).abs() < 1e-9).map_or(0.0, |p| p.1),
        curve: a.lorenz.clone(),
    };
    let label = |m: &str| names.iter().find(|(k, _)| k == m).map_or(m.to_string(), |(_, l)| l.clone());
    view! {
        <section class="accuracy-area" data-area=a.code.clone()>
            <h2>{format!("{} ({} cells)", a.name, a.cells)}</h2>
            {latest.map(|p| view! {
                <div class="table-wrap">
                    <table class="accuracy-table" data-testid=format!("accuracy-{}", a.code)>
                        <caption>{format!("{} to {} — {:.0} harm in the area", p.from, p.to, p.harm)}</caption>
                        <thead><tr><th>"Ranking"</th><th>"Hit 1%"</th><th>"PAI 1%"</th><th>"PEI 1%"</th><th>"Hit 5%"</th><th>"PAI 5%"</th><th>"PEI 5%"</th></tr></thead>
                        <tbody>
                            {p.methods.iter().map(|m| {
                                let (one, five) = (at(&m.at, 1.0), at(&m.at, 5.0));
                                view! {
                                    <tr data-method=m.method.clone()>
                                        <th scope="row">{label(&m.method)}</th>
                                        <td>{pct(one.and_then(|x| x.hit_rate))}</td><td>{num(one.and_then(|x| x.pai))}</td><td>{pct(one.and_then(|x| x.pei))}</td>
                                        <td>{pct(five.and_then(|x| x.hit_rate))}</td><td>{num(five.and_then(|x| x.pai))}</td><td>{pct(five.and_then(|x| x.pei))}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
            <details>
                <summary>"Rolling periods (PAI at 5 %)"</summary>
                <table class="accuracy-rolling">
                    <thead><tr><th>"Period"</th>{names.iter().map(|(_, l)| view! { <th>{l.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {a.periods.iter().map(|p| view! {
                            <tr>
                                <td>{format!("{} – {}", p.from, p.to)}</td>
                                {p.methods.iter().map(|m| view! { <td>{num(at(&m.at, 5.0).and_then(|x| x.pai))}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
            <LorenzCurve c=concentration/>
        </section>
    }
}
