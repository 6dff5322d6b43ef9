//! `/upload`: an analyst loads an export from the records or dispatch system, district outlines
//! or a harm weight table into the Data Bodega (`POST /api/ingest/{kind}`, the same loaders as
//! `server ingest` and `server weights load --activate`), first as a dry run
//! if they like, and reads what was loaded, updated, unchanged and set aside, row by row.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The incident exports' column-mapping presets (`bodega::mapping::Mapping::PRESETS`; a server
/// test keeps the two lists equal).
pub const PRESETS: &[(&str, &str)] = &[
    ("", "Beatbook's canonical file (id, occurred_at, offense, category, lat, lon)"),
    ("vancouver", "Vancouver Police GeoDASH"),
    ("chicago", "Chicago Data Portal (API names)"),
    ("chicago-portal", "Chicago Data Portal (download names)"),
    ("los-angeles", "Los Angeles Open Data"),
    ("san-francisco", "San Francisco Open Data"),
    ("new-york", "NYPD Complaint Data"),
];

/// What an upload did: `POST /api/ingest/{kind}`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// `incidents`, `calls`, `gps`, `districts` or `harm`.
    pub kind: String,
    /// The file name recorded.
    pub file_name: String,
    /// Nothing was stored.
    pub dry_run: bool,
    /// Rows read.
    pub read: u64,
    /// New records.
    pub loaded: u64,
    /// Changed records updated.
    pub updated: u64,
    /// Records already stored exactly so.
    pub unchanged: u64,
    /// Rows set aside.
    pub rejected: u64,
    /// The first rows set aside: (line, field, reason).
    pub rejected_rows: Vec<(i64, String, String)>,
    /// A harm table: which table is in force now, and which was before.
    #[serde(default)]
    pub in_force: Option<String>,
}

/// The upload screen.
#[component]
pub fn UploadPage() -> impl IntoView {
    let kind = RwSignal::new("incidents".to_string());
    let preset = RwSignal::new(String::new());
    let table = RwSignal::new(String::new());
    let table_version = RwSignal::new(String::new());
    let dry_run = RwSignal::new(true);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<Uploaded, String>>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let send = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let Some(input) = file_input.get_untracked() else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                result.set(Some(Err("Choose a file first.".into())));
                return;
            };
            busy.set(true);
            result.set(None);
            let (k, d) = (kind.get_untracked(), dry_run.get_untracked());
            let extra: Vec<(&str, String)> = match k.as_str() {
                "incidents" => vec![("preset", preset.get_untracked())],
                "harm" => vec![("table", table.get_untracked()), ("table_version", table_version.get_untracked())],
                _ => vec![],
            };
            leptos::task::spawn_local(async move {
                let answer = send_file(&k, &extra, d, file).await;
                result.set(Some(answer));
                busy.set(false);
            });
        }
    };
    view! {
        <Title text="Load data · Beatbook"/>
        <section class="page">
            <h1>"Load data"</h1>
            <p class="hint">"Exports from the records system (incidents), dispatch (calls for service) and vehicle location (GPS), as CSV; district boundaries as GeoJSON. Loading the same file again changes nothing; an overlapping export updates only what changed. Rows that cannot be used are set aside with their line and reason, never dropped."</p>
            <form class="upload-form" on:submit=move |ev| { ev.prevent_default(); send(()); }>
                <label>"What it holds"
                    <select name="kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="incidents">"Incidents (records system)"</option>
                        <option value="calls">"Calls for service (dispatch)"</option>
                        <option value="gps">"GPS fixes (vehicle location)"</option>
                        <option value="districts">"District boundaries (GeoJSON)"</option>
                        <option value="harm">"Harm weights (CSV: offense, weight, note)"</option>
                        <option value="call-weights">"Call weights (CSV: call_type, priority, weight, note)"</option>
                    </select>
                </label>
                <Show when=move || kind.get() == "harm">
                    <p class="hint">"A crime harm index: each offence text's weight (the Cambridge index weighs by the days of prison a first offender would get). Loaded, it is put in force: every ranking after it uses these weights and says so."</p>
                    <label>"Table name"
                        <input name="table" placeholder="cambridge-chi" prop:value=move || table.get() on:input=move |ev| table.set(event_target_value(&ev))/>
                    </label>
                    <label>"Version"
                        <input name="table_version" placeholder="2020" prop:value=move || table_version.get() on:input=move |ev| table_version.set(event_target_value(&ev))/>
                    </label>
                </Show>
                <Show when=move || kind.get() == "call-weights">
                    <p class="hint">"The department's weights for calls for service, by call type and priority (an empty priority weighs every other priority), in days on the harm table's scale. They rank only when command turns the calls track on (Rules → Weight of calls for service), and a call that became an incident counts once, as the incident. Loading replaces the table."</p>
                </Show>
                <Show when=move || kind.get() == "incidents">
                    <label>"Export format"
                        <select name="preset" on:change=move |ev| preset.set(event_target_value(&ev))>
                            {PRESETS.iter().map(|(v, label)| view! { <option value=*v>{*label}</option> }).collect_view()}
                        </select>
                    </label>
                </Show>
                <label>"File"
                    <input type="file" name="file" accept=".csv,.geojson,.json,text/csv,application/geo+json" node_ref=file_input/>
                </label>
                <label class="check">
                    <input type="checkbox" name="dry_run" prop:checked=move || dry_run.get() on:change=move |ev| dry_run.set(event_target_checked(&ev))/>
                    "Dry run: check everything, store nothing"
                </label>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Loading…" } else { "Load" }}
                </button>
            </form>
            {move || result.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert" data-testid="upload-error">{e}</p> }.into_any(),
                Ok(u) => view! { <UploadResult u/> }.into_any(),
            })}
        </section>
    }
    .into_any()
}

#[component]
fn UploadResult(u: Uploaded) -> impl IntoView {
    let headline = format!(
        "{}{}: read {}, loaded {}, updated {}, unchanged {}, set aside {}.",
        if u.dry_run { "Dry run, nothing stored — " } else { "" },
        u.file_name,
        u.read,
        u.loaded,
        u.updated,
        u.unchanged,
        u.rejected
    );
    let more = u.rejected > u.rejected_rows.len() as u64;
    view! {
        <div class="notice" role="status" data-testid="upload-result">
            <p>{headline}</p>
            {u.in_force.map(|f| view! { <p data-testid="in-force">{f}</p> })}
            {(!u.rejected_rows.is_empty()).then(|| view! {
                <table class="rejected" data-testid="rejected-rows">
                    <thead><tr><th>"Line"</th><th>"Field"</th><th>"Why it was set aside"</th></tr></thead>
                    <tbody>
                        {u.rejected_rows.into_iter().map(|(line, field, reason)| view! {
                            <tr><td>{line}</td><td>{field}</td><td>{reason}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {more.then(|| view! { <p class="hint">"The batch's other set-aside rows are in the Data Bodega (`rejected_rows`)."</p> })}
        </div>
    }
}

#[cfg(feature = "hydrate")]
async fn send_file(
    kind: &str,
    extra: &[(&str, String)],
    dry_run: bool,
    file: web_sys::File,
) -> Result<Uploaded, String> {
    use crate::net::{answer_message, fetch_body};
    let mut query = format!("file_name={}&dry_run={dry_run}", js_sys::encode_uri_component(&file.name()));
    for (key, value) in extra.iter().filter(|(_, v)| !v.is_empty()) {
        query.push_str(&format!("&{key}={}", js_sys::encode_uri_component(value)));
    }
    let (status, text) = fetch_body("POST", &format!("/api/ingest/{kind}?{query}"), Some((file.as_ref(), None)))
        .await
        .map_err(|e| format!("Not sent ({e})."))?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|e| format!("The server's answer could not be read: {e}"))
    } else {
        Err(format!("Not loaded: {}", answer_message(&text).unwrap_or(text)))
    }
}
