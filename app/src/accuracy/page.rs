//! `/accuracy`: the accuracy scoreboard — for the city and each district, how well each
//! ranking's hot spots predicted the next 28 days, beside the naive baseline.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{get_accuracy, run_backtest, AreaBoard, Metrics, Scoreboard};
use crate::auth::MeResource;
use crate::model::Concentration;
use crate::shift::choice::{label_of, AreaChoice, RankingChoice};
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
    let me = expect_context::<MeResource>().0;
    let message = RwSignal::new(None::<Result<String, String>>);
    let rerun = Action::new(move |_: &()| run_backtest());
    Effect::new(move |_| {
        if let Some(result) = rerun.value().get() {
            message.set(Some(
                result
                    .map(|c| {
                        format!("Backtest run on the data through {}: the ranking below is in force.", c.data_through)
                    })
                    .map_err(|e| e.to_string()),
            ));
            board.refetch();
        }
    });
    view! {
        <Title text="Accuracy · Beatbook"/>
        <section class="page accuracy">
            <h1>"Are our hot spots earning their patrols?"</h1>
            <p class="hint">
                "Each 28-day period, every ranking looks only at what happened before it; the table shows how much of the period's harm fell in its top 1 % and 5 % of places. "
                "PAI above 1 beats chance; PEI is the share of what a perfect forecast would have caught. "
                "In Beatbook's backtests on two cities' records, no ranking beat a trailing count over a long window and the 28-day window was the weakest; the 365-day row shows how that holds here."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.is_some_and(|m| m.may(protocol::Action::ChangeConfig)).then(|| view! {
                        <p>
                            <button type="button" data-testid="run-backtest" disabled=move || rerun.pending().get()
                                on:click=move |_| { rerun.dispatch(()); }>
                                {move || if rerun.pending().get() { "Running the backtest…" } else { "Run the backtest on our data" }}
                            </button>
                            " After new data is loaded: every method is scored again on the last 90 shifts and each district's ranking chosen from the result."
                        </p>
                    })
                })}
            </Transition>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="notice" role="status" data-testid="backtest-message">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert" data-testid="backtest-message">{t}</p> }.into_any(),
            })}
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
                "With the plain count weights, harm over 28 days is the naive baseline: load a harm weight table to rank by harm."
            </p>
        })}
        <Choice choice=b.choice.clone()/>
        {b.areas.into_iter().map(|a| view! { <AreaRows a names=names.clone()/> }).collect_view()}
    }
}

fn interval(v: Option<hotspot::backtest::Interval>) -> String {
    v.map_or("—".into(), |i| format!("{:.0}% ({:.0}–{:.0})", i.mean * 100.0, i.low * 100.0, i.high * 100.0))
}

/// Which ranking ranks each area, and every method's shift backtest.
#[component]
fn Choice(choice: Option<RankingChoice>) -> impl IntoView {
    let Some(c) = choice else {
        return view! {
            <section class="ranking-choice" data-testid="ranking-choice">
                <h2>"Which ranking plans the shifts"</h2>
                <p class="notice">"No backtest has been run on this department's data yet: the missions rank places by harm over 28 days. Command runs it here after loading the records; each district then ranks by whichever method its record supports."</p>
            </section>
        }
        .into_any();
    };
    let head = format!(
        "Every method ranked each of the last {} shifts of {} h to {} from the {} days before it ({}{}). A method replaces the strongest trailing count only when it led on the earlier shifts and the 95% interval of its gain excludes zero on the later ones. PEI at the places a shift plans ({} per shift), mean and 95% interval.",
        c.origins,
        c.horizon_hours,
        c.data_through,
        c.training_days,
        c.harm_table,
        if c.with_model { "; the self-exciting model included" } else { "; the self-exciting model was not run: on two cities' records it never beat the long count, and one fit takes seconds" },
        c.places_per_shift
    );
    view! {
        <section class="ranking-choice" data-testid="ranking-choice">
            <h2>"Which ranking plans the shifts"</h2>
            <p class="hint">{head}</p>
            {c.areas.into_iter().map(|a| view! { <AreaChoiceView a/> }).collect_view()}
        </section>
    }
    .into_any()
}

#[component]
fn AreaChoiceView(a: AreaChoice) -> impl IntoView {
    let chosen = a.method.name();
    view! {
        <div class="area-choice" data-area=a.code.clone()>
            <h3>{format!("{}: ranked by {}", a.name, label_of(&a.method))}</h3>
            <p class="hint" data-testid=format!("choice-reason-{}", a.code)>{format!("{} ({:.1}% of {} cells).", a.reason, a.coverage_percent, a.cells)}</p>
            <details>
                <summary>"Every method's record"</summary>
                <div class="table-wrap">
                    <table class="backtest-table">
                        <thead><tr><th>"Method"</th><th>"PEI, a shift's places"</th><th>"PEI 1%"</th><th>"PAI 1%"</th></tr></thead>
                        <tbody>
                            {a.methods.into_iter().map(|m| {
                                let is_chosen = m.method == chosen;
                                view! {
                                    <tr class:chosen=is_chosen data-method=m.method.clone()>
                                        <th scope="row">{m.method.clone()}{is_chosen.then_some(" ✓")}</th>
                                        <td>{interval(m.pei)}</td>
                                        <td>{interval(m.pei_1)}</td>
                                        <td>{m.pai_1.map_or("—".into(), |i| format!("{:.1} ({:.1}–{:.1})", i.mean, i.low, i.high))}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </div>
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
