//! The shift a screen shows: district, shift and date pickers kept in the address
//! (`?district=D1&shift=B&date=2020-12-15`), with the department's defaults for what is left
//! empty, and the resource that loads the screen's data for the chosen shift. The planning,
//! board and presence screens share it.

use std::future::Future;

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use crate::shift::{get_shifts, ShiftRef};
use crate::ui::hooks::query_or;

/// What the page's pickers hold (empty where the user has not chosen).
#[derive(Debug, Clone, Copy)]
pub struct ShiftChoice {
    /// District code.
    pub district: RwSignal<String>,
    /// Shift code.
    pub shift: RwSignal<String>,
    /// Local date, `YYYY-MM-DD`.
    pub date: RwSignal<String>,
}

impl ShiftChoice {
    /// The choice as the page's address holds it.
    pub fn from_query() -> Self {
        ShiftChoice {
            district: query_or("district", String::new),
            shift: query_or("shift", String::new),
            date: query_or("date", String::new),
        }
    }

    /// The choice, tracked (a resource's source).
    pub fn get(&self) -> (String, String, String) {
        (self.district.get(), self.shift.get(), self.date.get())
    }
}

/// The screen's shift choice and a resource that loads `load(shift)` for the chosen shift
/// (`None` while the department has no shift or district to choose).
pub fn use_shift_resource<T, F, Fut>(load: F) -> (ShiftChoice, Resource<Option<Result<T, ApiError>>>)
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(ShiftRef) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    let choice = ShiftChoice::from_query();
    let resource = Resource::new(
        move || choice.get(),
        move |c| async move {
            match chosen_shift(c).await {
                Ok(Some(s)) => Some(load(s).await),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        },
    );
    (choice, resource)
}

/// District, shift and date pickers shared by the planning and board screens.
#[component]
pub fn ShiftPicker(choice: ShiftChoice) -> impl IntoView {
    let ShiftChoice { district, shift, date } = choice;
    let options = Resource::new(|| (), |_| get_shifts());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading shifts…"</p> }>
            {move || Suspend::new(async move {
                match options.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(o) => {
                        // Shown with the department's defaults for what the page's query left
                        // empty; the signals keep only what the user chose.
                        let first_district = o.districts.first().map(|d| d.0.clone()).unwrap_or_default();
                        let first_shift = o.shifts.first().map(|s| s.0.clone()).unwrap_or_default();
                        let today = o.today.clone();
                        fn or(v: String, d: &str) -> String {
                            if v.is_empty() { d.to_string() } else { v }
                        }
                        view! {
                            <div class="picker">
                                <label>"District"
                                    <select prop:value=move || or(district.get(), &first_district) on:change=move |ev| district.set(event_target_value(&ev))>
                                        {o.districts.iter().map(|(c, n)| view! { <option value=c.clone()>{n.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Shift"
                                    <select prop:value=move || or(shift.get(), &first_shift) on:change=move |ev| shift.set(event_target_value(&ev))>
                                        {o.shifts.iter().map(|(c, n, a, b)| view! { <option value=c.clone()>{format!("{n} ({a}–{b})")}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Date"
                                    <input type="date" prop:value=move || or(date.get(), &today) on:change=move |ev| date.set(event_target_value(&ev))/>
                                </label>
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// The shift a planning page shows: the page's choice, with the department's defaults (the first
/// district the caller may see, the first shift, today) for whatever is still empty. Resolved
/// inside the page's resource — never by writing signals while rendering — so the server's render
/// and the hydrating browser's always agree on it.
async fn chosen_shift((district, shift, date): (String, String, String)) -> Result<Option<ShiftRef>, ApiError> {
    if !district.is_empty() && !shift.is_empty() && !date.is_empty() {
        return Ok(Some(ShiftRef { district, shift, shift_date: date }));
    }
    let o = get_shifts().await?;
    let pick = |v: String, d: Option<&String>| if v.is_empty() { d.cloned().unwrap_or_default() } else { v };
    let d = pick(district, o.districts.first().map(|d| &d.0));
    let s = pick(shift, o.shifts.first().map(|s| &s.0));
    let t = pick(date, Some(&o.today));
    Ok((!d.is_empty() && !s.is_empty() && !t.is_empty()).then_some(ShiftRef { district: d, shift: s, shift_date: t }))
}
